//! conformance.rs runs the REST conformance cases against a real server over HTTP (`brook
//! test --http`), so that the wire format itself is checked against ksqlDB's expected
//! responses with the comparison the in-process runner uses
//! (`brook_engine::conformance::rest`).
//!
//! Isolation: each case gets a fresh engine in a temporary directory (as in process) and a
//! fresh server over it, on an ephemeral loopback port, stopped after the case. Statements
//! go over HTTP as ksqlDB's CLI sends them: `/ksql` for everything but queries, `/query`
//! for SELECT; SET and DEFINE are kept client-side and sent with each request
//! (`streamsProperties`, `sessionVariables`). The case's input records are appended to the
//! log directly and its outputs read from it, as ksqlDB's harness reaches its Kafka.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brook_engine::conformance::rest::{
    create_harness_topics, Response, RestTarget, StatementOutcome,
};
use brook_engine::conformance::{run_case_with, CaseResult};
use brook_engine::runtime::Engine;
use brook_engine::sql::ast::StatementKind;
use brook_qtt::CaseVariant;
use serde_json::{json, Map, Value};

use crate::{RunningServer, ServerConfig};

/// How long one request may take (a push query that never reaches its LIMIT fails).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `case` with a fresh server per case on `runtime`.
pub fn run_case_http(case: &CaseVariant, runtime: &tokio::runtime::Handle) -> CaseResult {
    let mut connect = |engine: Engine| -> Result<Box<dyn RestTarget>, String> {
        let target = HttpTarget::start(engine, runtime).map_err(|e| e.to_string())?;
        Ok(Box::new(target))
    };
    run_case_with(case, &mut connect)
}

/// A case's server and the client talking to it.
pub struct HttpTarget {
    engine: Arc<Mutex<Engine>>,
    server: RunningServer,
    client: reqwest::blocking::Client,
    properties: Map<String, Value>,
    variables: Map<String, Value>,
}

impl HttpTarget {
    pub fn start(engine: Engine, runtime: &tokio::runtime::Handle) -> std::io::Result<Self> {
        let engine = Arc::new(Mutex::new(engine));
        let config = ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServerConfig::default()
        };
        let server = RunningServer::start(engine.clone(), config, runtime)?;
        let client = reqwest::blocking::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(HttpTarget {
            engine,
            server,
            client,
            properties: Map::new(),
            variables: Map::new(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr)
    }

    /// Keeps SET/UNSET/DEFINE/UNDEFINE client-side, as ksqlDB's CLI does; returns whether
    /// the last statement of `sql` gets no response (those, and INSERT VALUES).
    fn track_session(&mut self, sql: &str) -> bool {
        let Ok(pieces) = brook_engine::sql::split_statements(sql) else {
            return false;
        };
        let mut vars: HashMap<String, String> = self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        let mut silent_last = false;
        for piece in &pieces {
            let Ok(st) = brook_engine::sql::parse_script_statement(piece, &mut vars) else {
                return false;
            };
            silent_last = true;
            match st.kind {
                StatementKind::SetProperty { name, value } => {
                    self.properties.insert(name, Value::String(value));
                }
                StatementKind::UnsetProperty { name } => {
                    self.properties.remove(&name);
                }
                StatementKind::Define { name, value } => {
                    self.variables.insert(name, Value::String(value));
                }
                StatementKind::Undefine { name } => {
                    self.variables.retain(|k, _| !k.eq_ignore_ascii_case(&name));
                }
                StatementKind::InsertValues(_) => {}
                _ => silent_last = false,
            }
        }
        silent_last
    }

    fn post(&self, path: &str, body: Value) -> Result<(u16, String), String> {
        let mut r = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/vnd.ksql.v1+json")
            .json(&body)
            .send()
            .map_err(|e| format!("POST {path} failed: {e}"))?;
        let status = r.status().as_u16();
        // Read piecewise, so that a stream that stalls shows what came before it stalled.
        let mut body = Vec::new();
        if let Err(e) = std::io::Read::read_to_end(&mut r, &mut body) {
            return Err(format!(
                "reading the answer of POST {path} failed: {e}; it had sent:\n{}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The message of an error entity (or the whole answer when it is not one).
fn error_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| text.to_string())
}

impl RestTarget for HttpTarget {
    fn engine(&self) -> &Mutex<Engine> {
        &self.engine
    }

    fn execute(&mut self, sql: &str, proto: bool) -> StatementOutcome {
        let vars: HashMap<String, String> = self
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        {
            let engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
            create_harness_topics(&engine, sql, &vars);
        }
        let is_query = sql
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"));
        if proto {
            return StatementOutcome::Error(
                "PROTOBUF query responses are not supported over HTTP yet".into(),
            );
        }
        if is_query {
            let body = json!({
                "ksql": sql,
                "streamsProperties": self.properties,
                "sessionVariables": self.variables,
            });
            return match self.post("/query", body) {
                Ok((200, text)) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Array(items)) => {
                        // A query that failed after its header reports the error in-stream.
                        if let Some(e) = items.iter().find_map(|i| i.get("errorMessage")) {
                            return StatementOutcome::Error(
                                e.get("message")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .into(),
                            );
                        }
                        StatementOutcome::Response(Response::Query(items))
                    }
                    _ => StatementOutcome::Error(format!("/query answered {text}")),
                },
                Ok((_, text)) => StatementOutcome::Error(error_message(&text)),
                Err(e) => StatementOutcome::Error(e),
            };
        }
        let body = json!({
            "ksql": sql,
            "streamsProperties": self.properties,
            "sessionVariables": self.variables,
        });
        let silent_last = self.track_session(sql);
        match self.post("/ksql", body) {
            Ok((200, text)) => match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(mut entities)) => match entities.pop() {
                    Some(e) if !silent_last => StatementOutcome::Response(Response::Admin(e)),
                    _ => StatementOutcome::NoResponse,
                },
                _ => StatementOutcome::Error(format!("/ksql answered {text}")),
            },
            Ok((_, text)) => StatementOutcome::Error(error_message(&text)),
            Err(e) => StatementOutcome::Error(e),
        }
    }
}
