//! query_errors.rs owns a background thread that logs the errors persistent queries hit
//! (the engine runs each query on threads of its own; a failed query stops with status
//! ERROR, shown by SHOW QUERIES and EXPLAIN): each failure once, at error level.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use brook_engine::runtime::Engine;

/// How often the engine is asked for new query errors.
const CHECK_EVERY: Duration = Duration::from_millis(500);

/// The running thread; stops when dropped.
pub struct QueryErrorLog {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl QueryErrorLog {
    /// Starts watching `engine`'s queries.
    pub fn start(engine: Arc<Mutex<Engine>>) -> std::io::Result<QueryErrorLog> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::Builder::new()
            .name("brook-query-errors".into())
            .spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    let errors = engine
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .take_query_errors();
                    for e in errors {
                        tracing::error!("persistent query {} failed: {}", e.query_id, e.message);
                    }
                    std::thread::sleep(CHECK_EVERY);
                }
            })?;
        Ok(QueryErrorLog {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops the thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for QueryErrorLog {
    fn drop(&mut self) {
        self.stop();
    }
}
