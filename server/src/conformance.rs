//! conformance.rs runs the REST conformance cases against a real server over HTTP (`brook
//! test --http`), so that the wire format itself is checked against ksqlDB's expected
//! responses with the comparison the in-process runner uses
//! (`brook_engine::conformance::rest`).
//!
//! Isolation: each case gets a fresh engine in a temporary directory (as in process) and a
//! fresh server over it, on an ephemeral loopback port, stopped after the case. Statements
//! go over HTTP as ksqlDB's CLI sends them: `/ksql` for everything but queries, `/query`
//! for SELECT; SET and DEFINE are kept client-side and sent with each request
//! (`streamsProperties`, `sessionVariables`). Cases that check PROTOBUF responses send each
//! query again to `/query` with `Accept: application/vnd.ksql.v1+protobuf` and decode the
//! rows' `protobufBytes` with the header's schema into protobuf's text format, as ksqlDB's
//! harness prints them. The case's input records are appended to the log directly and its
//! outputs read from it, as ksqlDB's harness reaches its Kafka.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::datatypes::{Field, Schema as ArrowSchema};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use brook_engine::catalog::sql_to_arrow;
use brook_engine::conformance::proto_response::proto_row;
use brook_engine::conformance::rest::{
    create_harness_topics, Response, RestTarget, StatementOutcome,
};
use brook_engine::conformance::{run_case_with, CaseResult};
use brook_engine::formats::{self, FormatOptions};
use brook_engine::runtime::Engine;
use brook_engine::sql::ast::StatementKind;
use brook_engine::sql::plan::{Column, ColumnRole, Schema, SqlType};
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
        self.post_accepting(path, body, None)
    }

    fn post_accepting(
        &self,
        path: &str,
        body: Value,
        accept: Option<&str>,
    ) -> Result<(u16, String), String> {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/vnd.ksql.v1+json");
        if let Some(a) = accept {
            request = request.header("Accept", a);
        }
        let mut r = request
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

/// A `/query` response in PROTOBUF as ksqlDB's harness shows it: each row's
/// `protobufBytes` decoded with the header's schema and printed in protobuf's text format
/// (see `brook_engine::conformance::proto_response`).
fn decode_protobuf_response(items: &[Value]) -> Result<Vec<Value>, String> {
    let header = items
        .iter()
        .find_map(|i| i.get("header"))
        .ok_or("the PROTOBUF response has no header")?;
    let proto_schema = header
        .get("protoSchema")
        .and_then(Value::as_str)
        .ok_or("the PROTOBUF response's header has no protoSchema")?;
    let schema = parse_header_schema(
        header
            .get("schema")
            .and_then(Value::as_str)
            .ok_or("the PROTOBUF response's header has no schema")?,
    )?;
    let arrow = ArrowSchema::new(
        schema
            .columns
            .iter()
            .map(|c| Field::new(c.name.clone(), sql_to_arrow(&c.ty), true))
            .collect::<Vec<_>>(),
    );
    let options = FormatOptions {
        provided_schema: Some(Value::String(proto_schema.to_string())),
        ..FormatOptions::value()
    };
    let format = formats::create("PROTOBUF_NOSR", &options, &arrow).map_err(|e| e.to_string())?;
    let mut out = vec![json!({"header": {
        "queryId": header.get("queryId").cloned().unwrap_or(Value::Null),
        "protoSchema": proto_schema,
    }})];
    for item in items {
        if let Some(row) = item.get("row") {
            let bytes = row
                .get("protobufBytes")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("a row without protobufBytes: {row}"))?;
            let bytes = BASE64
                .decode(bytes)
                .map_err(|e| format!("protobufBytes is not base64: {e}"))?;
            let decoded = format.decode(&[Some(bytes.as_slice())]);
            if let Some(e) = decoded.errors.first() {
                return Err(format!("a row does not decode: {e:?}"));
            }
            out.push(json!({"row": proto_row(&schema, &decoded.batch, 0)}));
        } else if item.get("finalMessage").is_some() || item.get("errorMessage").is_some() {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// The columns of a header's `schema` (`` `K` INTEGER KEY, `V` STRUCT<`A` STRING> ``).
fn parse_header_schema(text: &str) -> Result<Schema, String> {
    let mut pieces = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (i, ch) in text.char_indices() {
        match ch {
            '`' => quoted = !quoted,
            '<' | '(' if !quoted => depth += 1,
            '>' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&text[start..]);
    let mut columns = Vec::new();
    for piece in pieces.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let bad = || format!("cannot read the column {piece:?} of the header's schema");
        let rest = piece.strip_prefix('`').ok_or_else(bad)?;
        let (name, ty) = rest.split_once('`').ok_or_else(bad)?;
        let mut ty = ty.trim();
        if let Some(i) = ty.find(" HEADER") {
            ty = &ty[..i];
        }
        let ty = ty.strip_suffix(" KEY").unwrap_or(ty);
        let ast = brook_engine::sql::parse_type(ty).map_err(|e| format!("{}: {e}", bad()))?;
        let ty = SqlType::from_ast(&ast, &|_| None).map_err(|e| format!("{}: {e}", bad()))?;
        columns.push(Column::new(name, ty, ColumnRole::Value));
    }
    Ok(Schema::new(columns))
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
            let body = json!({
                "ksql": sql,
                "streamsProperties": self.properties,
                "sessionVariables": self.variables,
            });
            return match self.post_accepting("/query", body, Some(crate::query::PROTOBUF)) {
                Ok((200, text)) => match serde_json::from_str::<Value>(&text) {
                    Ok(Value::Array(items)) => match decode_protobuf_response(&items) {
                        Ok(r) => StatementOutcome::Response(Response::QueryProto(r)),
                        Err(e) => StatementOutcome::Error(e),
                    },
                    _ => StatementOutcome::Error(format!("/query answered {text}")),
                },
                Ok((_, text)) => StatementOutcome::Error(error_message(&text)),
                Err(e) => StatementOutcome::Error(e),
            };
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
