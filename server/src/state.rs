//! state.rs owns what every request handler shares ([`AppState`]): the engine behind its
//! mutex, the push queries being streamed (so that SHOW QUERIES lists them and
//! `/close-query` ends them), the command sequence and each command's status, and the
//! server's identity.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use brook_engine::runtime::Engine;

use crate::config::ServerConfig;
use crate::entities::PushQueryInfo;

/// A push query being streamed to a client.
#[derive(Debug)]
pub struct OpenPush {
    pub sql: String,
    /// Set to end it (`/close-query`, shutdown).
    pub cancel: Arc<AtomicBool>,
}

/// The status of a command `/ksql` ran, for `/status`.
#[derive(Debug, Clone)]
pub struct CommandStatus {
    pub status: &'static str,
    pub message: String,
}

/// What the request handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    engine: Arc<Mutex<Engine>>,
    config: ServerConfig,
    push: Mutex<HashMap<String, OpenPush>>,
    commands: Mutex<BTreeMap<String, CommandStatus>>,
    sequence: AtomicU64,
    push_counter: AtomicU64,
    /// `host:port` this server listens on.
    host: Mutex<String>,
    shutting_down: AtomicBool,
    shutdown: tokio::sync::Notify,
}

impl AppState {
    pub fn new(engine: Arc<Mutex<Engine>>, config: ServerConfig) -> AppState {
        let host = config.listen.to_string();
        AppState(Arc::new(Inner {
            engine,
            config,
            push: Mutex::new(HashMap::new()),
            commands: Mutex::new(BTreeMap::new()),
            sequence: AtomicU64::new(0),
            push_counter: AtomicU64::new(0),
            host: Mutex::new(host),
            shutting_down: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
        }))
    }

    pub fn engine(&self) -> &Arc<Mutex<Engine>> {
        &self.0.engine
    }

    /// Locks the engine (a panic elsewhere does not make it unusable).
    pub fn lock_engine(&self) -> MutexGuard<'_, Engine> {
        self.0.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// `host:port` the server listens on.
    pub fn host(&self) -> String {
        self.0
            .host
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_host(&self, host: String) {
        *self.0.host.lock().unwrap_or_else(|p| p.into_inner()) = host;
    }

    /// The next command sequence number.
    pub fn next_sequence(&self) -> u64 {
        self.0.sequence.fetch_add(1, Ordering::SeqCst)
    }

    pub fn record_command(&self, id: &str, status: CommandStatus) {
        self.0
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), status);
    }

    pub fn command_statuses(&self) -> BTreeMap<String, CommandStatus> {
        self.0
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Registers a push query; returns its id and its cancel flag.
    pub fn open_push(&self, sql: &str, scalable: bool) -> (String, Arc<AtomicBool>) {
        let n = self.0.push_counter.fetch_add(1, Ordering::SeqCst);
        // ksqlDB names a scalable push query SCALABLE_PUSH_QUERY_<unique>.
        let id = if scalable {
            format!("SCALABLE_PUSH_QUERY_{n}_{}", std::process::id())
        } else {
            format!("transient_{n}_{}", std::process::id())
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.0
            .push
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id.clone(),
                OpenPush {
                    sql: sql.to_string(),
                    cancel: cancel.clone(),
                },
            );
        (id, cancel)
    }

    /// Forgets a push query that ended.
    pub fn close_push(&self, id: &str) {
        self.0
            .push
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Asks a push query to end; false when there is none with that id.
    pub fn cancel_push(&self, id: &str) -> bool {
        let map = self.0.push.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(id) {
            Some(p) => {
                p.cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// The push queries being streamed.
    pub fn push_queries(&self) -> Vec<PushQueryInfo> {
        let map = self.0.push.lock().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<PushQueryInfo> = map
            .iter()
            .map(|(id, p)| PushQueryInfo {
                id: id.clone(),
                sql: p.sql.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Ends every push query and tells the server to stop accepting connections.
    pub fn begin_shutdown(&self) {
        self.0.shutting_down.store(true, Ordering::SeqCst);
        for p in self
            .0
            .push
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            p.cancel.store(true, Ordering::SeqCst);
        }
        self.0.shutdown.notify_waiters();
    }

    pub fn is_shutting_down(&self) -> bool {
        self.0.shutting_down.load(Ordering::SeqCst)
    }

    /// Resolves once [`AppState::begin_shutdown`] was called.
    pub async fn shutdown_requested(&self) {
        loop {
            let notified = self.0.shutdown.notified();
            if self.is_shutting_down() {
                return;
            }
            notified.await;
        }
    }
}
