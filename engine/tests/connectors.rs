//! The connector statements (CREATE SOURCE|SINK CONNECTOR, DROP / DESCRIBE CONNECTOR, SHOW
//! CONNECTORS) through the engine against a tiny fake Kafka Connect REST server on
//! 127.0.0.1: it records each request and answers as Connect does (201 on create, 409 on a
//! duplicate, 404 for an unknown connector, the `expand=info&expand=status` listing). Checks
//! the request bodies, the rendered results, and the error when Connect is unreachable.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use brook_engine::runtime::{Engine, EngineError, Listing, StatementResult};
use serde_json::{json, Value};

/// One request the fake Connect received: method, path with query, body.
type Seen = Arc<Mutex<Vec<(String, String, Value)>>>;

/// A running fake Connect: its URL and the requests it saw. Dropping it (also when a test
/// fails) stops its thread.
struct FakeConnect {
    url: String,
    seen: Seen,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for FakeConnect {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts a fake Connect on 127.0.0.1.
fn fake_connect() -> FakeConnect {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        // name -> (type, config)
        let mut connectors: BTreeMap<String, (String, Value)> = BTreeMap::new();
        for stream in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            let mut length = 0;
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            log.lock()
                .unwrap()
                .push((method.clone(), path.clone(), body.clone()));
            let not_found = |name: &str| {
                (
                    404,
                    json!({"error_code": 404, "message": format!("Connector {name} not found")}),
                )
            };
            let (status, answer) = match (method.as_str(), path.as_str()) {
                ("POST", "/connectors") => {
                    let name = body["name"].as_str().unwrap().to_string();
                    if connectors.contains_key(&name) {
                        (
                            409,
                            json!({"error_code": 409, "message": format!("Connector {name} already exists")}),
                        )
                    } else {
                        let class = body["config"]["connector.class"].as_str().unwrap_or("");
                        let ty = if class.contains("Sink") {
                            "sink"
                        } else {
                            "source"
                        };
                        connectors.insert(name.clone(), (ty.into(), body["config"].clone()));
                        (
                            201,
                            json!({"name": name, "config": body["config"], "tasks": [], "type": ty}),
                        )
                    }
                }
                ("GET", "/connectors?expand=info&expand=status") => {
                    let mut all = serde_json::Map::new();
                    for (name, (ty, config)) in &connectors {
                        all.insert(
                            name.clone(),
                            json!({
                                "info": {"name": name, "config": config, "tasks": [], "type": ty},
                                "status": {"name": name,
                                    "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
                                    "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"},
                                              {"id": 1, "state": "FAILED", "worker_id": "w1:8083",
                                               "trace": "boom"}],
                                    "type": ty},
                            }),
                        );
                    }
                    (200, Value::Object(all))
                }
                (m, p) => {
                    let rest = p.strip_prefix("/connectors/").unwrap_or("");
                    let (name, status_path) = match rest.strip_suffix("/status") {
                        Some(n) => (n.to_string(), true),
                        None => (rest.to_string(), false),
                    };
                    match (m, connectors.get(&name).cloned()) {
                        (_, None) => not_found(&name),
                        ("DELETE", Some(_)) => {
                            connectors.remove(&name);
                            (204, Value::Null)
                        }
                        ("GET", Some((ty, _))) if status_path => (
                            200,
                            json!({"name": name,
                                "connector": {"state": "RUNNING", "worker_id": "w1:8083"},
                                "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w1:8083"}],
                                "type": ty}),
                        ),
                        ("GET", Some((ty, config))) => (
                            200,
                            json!({"name": name, "config": config, "tasks": [], "type": ty}),
                        ),
                        _ => (405, json!({"error_code": 405, "message": "HTTP 405"})),
                    }
                }
            };
            let text = if answer.is_null() {
                String::new()
            } else {
                answer.to_string()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    FakeConnect {
        url: format!("http://{addr}"),
        seen,
        addr,
        stop,
        thread: Some(thread),
    }
}

fn engine_at(url: &str) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), common::options()).unwrap();
    engine
        .execute(&format!("SET 'ksql.connect.url' = '{url}';"))
        .unwrap();
    (dir, engine)
}

fn one(engine: &mut Engine, sql: &str) -> StatementResult {
    let mut results = engine.execute(sql).unwrap();
    assert_eq!(results.len(), 1, "{sql}");
    results.remove(0)
}

fn message(r: StatementResult) -> String {
    match r {
        StatementResult::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn connector_statements_go_to_kafka_connect() {
    let connect = fake_connect();
    let (url, seen) = (&connect.url, &connect.seen);
    let (_dir, mut engine) = engine_at(url);

    let created = one(
        &mut engine,
        "CREATE SOURCE CONNECTOR `jdbc-src` WITH ('connector.class' = 'io.example.JdbcSource', \
         'tasks.max' = 2, 'Mode' = 'bulk');",
    );
    assert_eq!(message(created), "Created connector jdbc-src");
    {
        let seen = seen.lock().unwrap();
        let (method, path, body) = seen.last().unwrap();
        assert_eq!((method.as_str(), path.as_str()), ("POST", "/connectors"));
        // Keys keep their case; every value is a string, as Connect's config is.
        assert_eq!(
            body,
            &json!({"name": "jdbc-src", "config": {
                "connector.class": "io.example.JdbcSource",
                "tasks.max": "2",
                "Mode": "bulk",
                "name": "jdbc-src",
            }})
        );
    }
    one(
        &mut engine,
        "CREATE SINK CONNECTOR snk WITH ('connector.class' = 'io.example.FileSink');",
    );

    // A second CREATE fails, unless IF NOT EXISTS.
    let err = engine
        .execute("CREATE SOURCE CONNECTOR `jdbc-src` WITH ('connector.class' = 'x');")
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    let again = one(
        &mut engine,
        "CREATE SOURCE CONNECTOR IF NOT EXISTS `jdbc-src` WITH ('connector.class' = 'x');",
    );
    assert_eq!(message(again), "Connector jdbc-src already exists");

    // SHOW lists both with ksqlDB's state summary; SHOW SINK CONNECTORS filters.
    match one(&mut engine, "SHOW CONNECTORS;") {
        StatementResult::Listing(Listing::Connectors { connectors, .. }) => {
            let rows: Vec<_> = connectors
                .iter()
                .map(|c| {
                    (
                        c.name.as_str(),
                        c.kind.as_str(),
                        c.class.as_str(),
                        c.state.as_str(),
                    )
                })
                .collect();
            assert_eq!(
                rows,
                vec![
                    (
                        "SNK",
                        "SINK",
                        "io.example.FileSink",
                        "RUNNING (1/2 tasks RUNNING)"
                    ),
                    (
                        "jdbc-src",
                        "SOURCE",
                        "io.example.JdbcSource",
                        "RUNNING (1/2 tasks RUNNING)"
                    ),
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        seen.lock().unwrap().last().unwrap().1,
        "/connectors?expand=info&expand=status"
    );
    match one(&mut engine, "LIST SINK CONNECTORS;") {
        StatementResult::Listing(Listing::Connectors { connectors, .. }) => {
            assert_eq!(connectors.len(), 1);
            assert_eq!(connectors[0].name, "SNK");
        }
        other => panic!("{other:?}"),
    }

    // DESCRIBE reads the status and the config.
    match one(&mut engine, "DESCRIBE CONNECTOR `jdbc-src`;") {
        StatementResult::Listing(Listing::ConnectorDescription(d)) => {
            assert_eq!(d.name, "jdbc-src");
            assert_eq!(d.class, "io.example.JdbcSource");
            assert_eq!(d.kind, "SOURCE");
            assert_eq!(d.state, "RUNNING");
            assert_eq!(d.worker_id, "w1:8083");
            assert_eq!(d.tasks.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let err = engine.execute("DESCRIBE CONNECTOR nope;").unwrap_err();
    assert!(err.to_string().contains("NOPE not found"), "{err}");

    // DROP deletes; a second DROP fails unless IF EXISTS.
    let dropped = one(&mut engine, "DROP CONNECTOR `jdbc-src`;");
    assert_eq!(message(dropped), "Dropped connector \"jdbc-src\"");
    assert_eq!(
        &seen.lock().unwrap().last().unwrap().0[..],
        "DELETE",
        "DROP sends DELETE"
    );
    let err = engine.execute("DROP CONNECTOR `jdbc-src`;").unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let none = one(&mut engine, "DROP CONNECTOR IF EXISTS `jdbc-src`;");
    assert_eq!(message(none), "Connector jdbc-src does not exist.");
}

#[test]
fn create_without_a_connector_class_is_rejected_before_connect() {
    let connect = fake_connect();
    let (url, seen) = (&connect.url, &connect.seen);
    let (_dir, mut engine) = engine_at(url);
    let err = engine
        .execute("CREATE SOURCE CONNECTOR c WITH ('tasks.max' = 1);")
        .unwrap_err();
    assert!(err.to_string().contains("connector.class"), "{err}");
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn unreachable_connect_is_a_clear_error() {
    // A port nothing listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (_dir, mut engine) = engine_at(&url);
    for sql in [
        "SHOW CONNECTORS;",
        "DESCRIBE CONNECTOR c;",
        "DROP CONNECTOR c;",
        "CREATE SINK CONNECTOR c WITH ('connector.class' = 'x');",
    ] {
        let err = engine.execute(sql).unwrap_err();
        assert!(matches!(err, EngineError::Connect(_)), "{sql}: {err:?}");
        assert!(
            err.to_string()
                .starts_with(&format!("Kafka Connect at {url} is unreachable: ")),
            "{sql}: {err}"
        );
    }
    // Only plain HTTP is spoken.
    engine
        .execute("SET 'ksql.connect.url' = 'https://connect:8083';")
        .unwrap();
    let err = engine.execute("SHOW CONNECTORS;").unwrap_err();
    assert!(err.to_string().contains("not supported yet"), "{err}");
}
