//! Shared by the server's end-to-end tests: a server on a loopback port over an engine in a
//! temporary directory (stopped when the fixture drops, also when a test fails), and the
//! `/ksql` request every test makes.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use brook_engine::runtime::{Engine, EngineOptions};
use brook_server::{RunningServer, ServerConfig};
use reqwest::blocking::Client;
use serde_json::{json, Value};

pub struct Fixture {
    _dir: tempfile::TempDir,
    pub engine: Arc<Mutex<Engine>>,
    pub server: RunningServer,
    _runtime: tokio::runtime::Runtime,
}

impl Fixture {
    /// A server with `config` (its listen address replaced by a free loopback port).
    pub fn start(config: ServerConfig) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(
            dir.path(),
            EngineOptions {
                fsync_state: false,
                ..EngineOptions::default()
            },
        )
        .unwrap();
        let engine = Arc::new(Mutex::new(engine));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..config
        };
        let server = RunningServer::start(engine.clone(), config, runtime.handle()).unwrap();
        Fixture {
            _dir: dir,
            engine,
            server,
            _runtime: runtime,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    /// POST /ksql: the status and the JSON answer.
    pub fn ksql(&self, client: &Client, sql: &str) -> (u16, Value) {
        let r = client
            .post(self.url("/ksql"))
            .header("Content-Type", "application/vnd.ksql.v1+json")
            .body(json!({ "ksql": sql }).to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap())
    }
}
