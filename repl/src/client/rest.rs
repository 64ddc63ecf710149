//! rest.rs owns the HTTP side of talking to a Brook (or ksqlDB) server through ksqlDB's REST
//! API: `POST /ksql` for statements, `POST /query-stream` for queries (the v2 API, rows as
//! delimited JSON lines), `POST /close-query`, `POST /query` for PRINT, `GET /info` —
//! over http or https (rustls: the system's roots plus a CA file of the user's), with HTTP
//! Basic credentials when given ([`ClientOptions`]).
//! It knows the wire format, not how anything is shown (see `entities.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Map, Value};
use thiserror::Error;

/// The media type of ksqlDB's v2 query API with one JSON value per line.
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
/// The media type of ksqlDB's statement API.
const KSQL_V1: &str = "application/vnd.ksql.v1+json";

/// What can go wrong between the shell and the server.
#[derive(Debug, Error)]
pub enum RestError {
    /// The server answered with one of ksqlDB's error entities.
    #[error("{message}")]
    Server {
        status: u16,
        error_code: Option<i64>,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server at {url}: {cause}")]
    Connection { url: String, cause: String },
    /// The server answered something that is not ksqlDB's REST API.
    #[error("the server at {url} answered something unexpected: {what}")]
    Protocol { url: String, what: String },
    #[error("{0}")]
    Usage(String),
}

/// How to reach a server: its address, what to trust for https, and who the user is.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `http://host:port` or `https://host:port` (a bare `host:port` means http).
    pub url: String,
    /// A PEM file of certificates to trust besides the system's roots (a private CA, or a
    /// server's self-signed certificate).
    pub ca_file: Option<PathBuf>,
    /// HTTP Basic credentials (ksqlDB's `authentication.method=BASIC`).
    pub user: Option<String>,
    pub password: Option<String>,
}

impl ClientOptions {
    /// Options for `url` alone.
    pub fn new(url: &str) -> ClientOptions {
        ClientOptions {
            url: url.to_string(),
            ..ClientOptions::default()
        }
    }
}

/// A client for one server.
#[derive(Debug, Clone)]
pub struct RestClient {
    base: String,
    http: reqwest::blocking::Client,
    /// HTTP Basic credentials sent with every request.
    credentials: Option<(String, String)>,
}

/// One statement request's properties and variables, sent with every request as ksqlDB's CLI
/// does (`SET` and `DEFINE` live in the client).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    pub properties: BTreeMap<String, String>,
    pub variables: BTreeMap<String, String>,
}

/// The header of a query's response.
#[derive(Debug, Clone, Default)]
pub struct QueryHeader {
    pub query_id: Option<String>,
    pub column_names: Vec<String>,
    pub column_types: Vec<String>,
}

/// What a running query's stream yields.
#[derive(Debug)]
pub enum QueryEvent {
    Row(Vec<Value>),
    /// An error the server sent in the stream (the query stopped).
    Error(String),
    /// The server ended the stream (LIMIT reached, pull query done).
    End,
}

/// A query's response being read: the header, then events from a reader thread (so the shell
/// can watch for Ctrl-C while waiting for rows).
pub struct QueryStream {
    pub header: QueryHeader,
    events: Receiver<QueryEvent>,
}

impl QueryStream {
    /// The next event, or None when none came within `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Option<QueryEvent> {
        match self.events.recv_timeout(timeout) {
            Ok(e) => Some(e),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(QueryEvent::End),
        }
    }
}

impl RestClient {
    /// A client for the server at `url` (`http://host:port`; a bare `host:port` means http).
    pub fn new(url: &str) -> Result<RestClient, RestError> {
        RestClient::with_options(&ClientOptions::new(url))
    }

    /// A client for the server `options` names, trusting its CA file, sending its
    /// credentials.
    pub fn with_options(options: &ClientOptions) -> Result<RestClient, RestError> {
        let url = options.url.trim().trim_end_matches('/');
        let base = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RestError::Usage(format!(
                "{base}: the server address must start with http:// or https://"
            )));
        }
        let mut builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Push queries run until cancelled: no overall timeout.
            .timeout(None);
        if let Some(file) = &options.ca_file {
            for cert in read_ca_file(file)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| RestError::Connection {
            url: base.clone(),
            cause: error_chain(&e),
        })?;
        let credentials = options
            .user
            .as_ref()
            .map(|u| (u.clone(), options.password.clone().unwrap_or_default()));
        Ok(RestClient {
            base,
            http,
            credentials,
        })
    }

    /// The server's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    fn connection_error(&self, e: reqwest::Error) -> RestError {
        let mut cause = error_chain(&e);
        if cause.contains("CaUsedAsEndEntity") {
            cause.push_str(
                " (the server's certificate is a CA certificate, as `openssl req -x509` makes by default; rustls accepts only end-entity certificates: make it with `-addext basicConstraints=critical,CA:FALSE`, or sign it with a CA)",
            );
        } else if cause.contains("certificate") || cause.contains("UnknownIssuer") {
            cause.push_str(
                " (to trust the server's certificate or its CA, pass --ca-file FILE.pem)",
            );
        }
        RestError::Connection {
            url: self.base.clone(),
            cause,
        }
    }

    /// A request to `path`, with the credentials.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.credentials {
            Some((user, password)) => r.basic_auth(user, Some(password)),
            None => r,
        }
    }

    /// `GET /info`: the server's `KsqlServerInfo`.
    pub fn info(&self) -> Result<Value, RestError> {
        let resp = self
            .request(reqwest::Method::GET, "/info")
            .header("Accept", KSQL_V1)
            .send()
            .map_err(|e| self.connection_error(e))?;
        self.json_body(resp)
    }

    /// `POST /ksql`: runs `sql` (one or more statements) and returns the entities.
    pub fn ksql(&self, sql: &str, ctx: &RequestContext) -> Result<Vec<Value>, RestError> {
        let body = json!({
            "ksql": sql,
            "streamsProperties": ctx.properties,
            "sessionVariables": ctx.variables,
        });
        let resp = self.post("/ksql", KSQL_V1, KSQL_V1, &body)?;
        match self.json_body(resp)? {
            Value::Array(entities) => Ok(entities),
            other => Err(RestError::Protocol {
                url: self.base.clone(),
                what: format!("/ksql answered {other} instead of an array of entities"),
            }),
        }
    }

    /// `POST /query-stream`: starts a query; rows arrive on the returned stream.
    pub fn query_stream(&self, sql: &str, ctx: &RequestContext) -> Result<QueryStream, RestError> {
        let body = json!({
            "sql": sql,
            "properties": ctx.properties,
            "sessionVariables": ctx.variables,
        });
        let resp = self.post("/query-stream", DELIMITED, "application/json", &body)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(self.error_of(status.as_u16(), &resp.text().unwrap_or_default()));
        }
        let mut reader = BufReader::new(resp);
        let mut first = String::new();
        reader
            .read_line(&mut first)
            .map_err(|e| RestError::Connection {
                url: self.base.clone(),
                cause: e.to_string(),
            })?;
        let header_value: Value = parse_line(&first).ok_or_else(|| RestError::Protocol {
            url: self.base.clone(),
            what: format!("the query's first line is not its header: {first:?}"),
        })?;
        if let Some(e) = entity_error(&header_value) {
            return Err(RestError::Server {
                status: status.as_u16(),
                error_code: header_value.get("error_code").and_then(Value::as_i64),
                message: e,
            });
        }
        let header = QueryHeader {
            query_id: header_value
                .get("queryId")
                .and_then(Value::as_str)
                .map(str::to_string),
            column_names: strings(header_value.get("columnNames")),
            column_types: strings(header_value.get("columnTypes")),
        };
        let rx = spawn_reader(reader, "brook-query-stream", |line| {
            match parse_line(line) {
                None => None,
                Some(Value::Array(cols)) => Some(QueryEvent::Row(cols)),
                // Other objects (e.g. a final message) carry no row.
                Some(v) => entity_error(&v).map(QueryEvent::Error),
            }
        })?;
        Ok(QueryStream { header, events: rx })
    }

    /// `POST /close-query`: ends a push query on the server.
    pub fn close_query(&self, query_id: &str) -> Result<(), RestError> {
        let resp = self
            .request(reqwest::Method::POST, "/close-query")
            .header("Content-Type", "application/json")
            .body(json!({ "queryId": query_id }).to_string())
            .send()
            .map_err(|e| self.connection_error(e))?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(self.error_of(status.as_u16(), &resp.text().unwrap_or_default()))
        }
    }

    /// `POST /query` with a PRINT statement: the topic's records as lines of text, read on a
    /// thread like a query's rows (each line arrives as a one-column row).
    pub fn print(&self, sql: &str, ctx: &RequestContext) -> Result<QueryStream, RestError> {
        let body = json!({ "ksql": sql, "streamsProperties": ctx.properties });
        let resp = self.post("/query", KSQL_V1, KSQL_V1, &body)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(self.error_of(status.as_u16(), &resp.text().unwrap_or_default()));
        }
        let rx = spawn_reader(BufReader::new(resp), "brook-print", |line| {
            let text = line.trim_end_matches(['\r', '\n']);
            (!text.trim().is_empty()).then(|| QueryEvent::Row(vec![Value::String(text.into())]))
        })?;
        Ok(QueryStream {
            header: QueryHeader::default(),
            events: rx,
        })
    }

    /// POSTs `body` as JSON text to `path`, asking for `accept`.
    fn post(
        &self,
        path: &str,
        accept: &str,
        content_type: &str,
        body: &Value,
    ) -> Result<reqwest::blocking::Response, RestError> {
        self.request(reqwest::Method::POST, path)
            .header("Accept", accept)
            .header("Content-Type", content_type)
            .body(body.to_string())
            .send()
            .map_err(|e| self.connection_error(e))
    }

    fn json_body(&self, resp: reqwest::blocking::Response) -> Result<Value, RestError> {
        let status = resp.status();
        let text = resp.text().map_err(|e| self.connection_error(e))?;
        if !status.is_success() {
            return Err(self.error_of(status.as_u16(), &text));
        }
        serde_json::from_str(&text).map_err(|e| RestError::Protocol {
            url: self.base.clone(),
            what: format!("{e} in {}", clip(&text)),
        })
    }

    /// The error a failed response carries: ksqlDB's error entity's message, else the body.
    fn error_of(&self, status: u16, body: &str) -> RestError {
        match serde_json::from_str::<Value>(body) {
            Ok(v) if v.get("message").is_some() => RestError::Server {
                status,
                error_code: v.get("error_code").and_then(Value::as_i64),
                message: entity_error(&v).unwrap_or_default(),
            },
            _ => RestError::Server {
                status,
                error_code: None,
                message: match status {
                    401 => "Unauthorized: the server wants credentials".to_string(),
                    403 => "Forbidden: these credentials may not do that".to_string(),
                    404 => format!(
                        "{} has no such endpoint (is it a ksqlDB-compatible server?)",
                        self.base
                    ),
                    _ => format!("HTTP {status}: {}", clip(body)),
                },
            },
        }
    }
}

/// The certificates of a PEM file to trust.
fn read_ca_file(file: &std::path::Path) -> Result<Vec<reqwest::Certificate>, RestError> {
    let name = file.display();
    let pem = std::fs::read(file)
        .map_err(|e| RestError::Usage(format!("--ca-file {name}: cannot read it: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| RestError::Usage(format!("--ca-file {name}: not PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(RestError::Usage(format!(
            "--ca-file {name}: no certificate (-----BEGIN CERTIFICATE-----) in it"
        )));
    }
    Ok(certs)
}

/// Reads a streamed response line by line on a thread of its own, turning each line into an
/// event with `event_of` (None skips the line); ends with [`QueryEvent::End`] or an error.
/// When the receiver is dropped (Ctrl-C), the thread ends and the response with it, which
/// closes the connection and so the query on the server.
fn spawn_reader(
    mut reader: BufReader<reqwest::blocking::Response>,
    name: &str,
    event_of: fn(&str) -> Option<QueryEvent>,
) -> Result<Receiver<QueryEvent>, RestError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let mut line = String::new();
            loop {
                line.clear();
                let event = match reader.read_line(&mut line) {
                    Ok(0) => QueryEvent::End,
                    Ok(_) => match event_of(&line) {
                        Some(e) => e,
                        None => continue,
                    },
                    Err(e) => QueryEvent::Error(format!("the response's stream broke: {e}")),
                };
                let last = !matches!(event, QueryEvent::Row(_));
                if tx.send(event).is_err() || last {
                    return;
                }
            }
        })
        .map_err(|e| RestError::Usage(format!("cannot start a reader thread: {e}")))?;
    Ok(rx)
}

/// The message of one of ksqlDB's error entities (`statement_error`, `generic_error`...),
/// with the statement it names; None for other values.
pub fn entity_error(v: &Value) -> Option<String> {
    let obj: &Map<String, Value> = v.as_object()?;
    let is_error = obj
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("_error") || t == "error")
        || (obj.contains_key("error_code") && obj.contains_key("message"));
    if !is_error {
        return None;
    }
    Some(
        obj.get("message")
            .and_then(Value::as_str)
            .unwrap_or("the server reported an error without a message")
            .to_string(),
    )
}

/// One line of a delimited (or JSON-array) stream as a value; None for blank lines and the
/// array's own brackets.
fn parse_line(line: &str) -> Option<Value> {
    let t = line.trim().trim_end_matches(',');
    let t = t
        .strip_prefix('[')
        .filter(|r| r.trim_start().starts_with('{'))
        .unwrap_or(t);
    let t = t
        .strip_suffix(']')
        .filter(|r| r.trim_end().ends_with('}'))
        .unwrap_or(t);
    if t.is_empty() || t == "[" || t == "]" {
        return None;
    }
    serde_json::from_str(t).ok()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| s.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn clip(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

/// reqwest's error with its causes (the cause says e.g. "Connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_both_stream_forms_parse() {
        assert_eq!(parse_line("[1,\"a\"]\n"), Some(json!([1, "a"])));
        assert_eq!(
            parse_line("{\"queryId\":\"q\"}"),
            Some(json!({"queryId": "q"}))
        );
        // The JSON-array form: `[{header},` then `[row],` then `]`.
        assert_eq!(
            parse_line("[{\"queryId\":\"q\"},"),
            Some(json!({"queryId": "q"}))
        );
        assert_eq!(parse_line("[1,2],"), Some(json!([1, 2])));
        assert_eq!(parse_line("]"), None);
        assert_eq!(parse_line("  \n"), None);
    }

    #[test]
    fn error_entities_are_recognised() {
        let e = json!({"@type": "statement_error", "error_code": 40001, "message": "bad"});
        assert_eq!(entity_error(&e).as_deref(), Some("bad"));
        let g = json!({"@type": "generic_error", "error_code": 50000, "message": "boom"});
        assert_eq!(entity_error(&g).as_deref(), Some("boom"));
        assert_eq!(entity_error(&json!({"@type": "currentStatus"})), None);
        assert_eq!(entity_error(&json!([1, 2])), None);
    }

    #[test]
    fn addresses_need_http() {
        assert_eq!(
            RestClient::new("localhost:8088").unwrap().url(),
            "http://localhost:8088"
        );
        assert_eq!(RestClient::new("http://h:1/").unwrap().url(), "http://h:1");
        assert!(RestClient::new("ftp://h").is_err());
        assert_eq!(RestClient::new("https://h:1").unwrap().url(), "https://h:1");
    }

    #[test]
    fn a_bad_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("brook-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        for (file, expected) in [
            (dir.join("missing.pem"), "cannot read"),
            (junk.clone(), "no certificate"),
        ] {
            let options = ClientOptions {
                url: "https://127.0.0.1:9".into(),
                ca_file: Some(file.clone()),
                ..ClientOptions::default()
            };
            let e = RestClient::with_options(&options).unwrap_err().to_string();
            assert!(
                e.contains(&file.display().to_string()) && e.contains(expected),
                "{e}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreachable_server_is_a_connection_error() {
        // Port 9 (discard) on loopback is closed here; nothing listens.
        let c = RestClient::new("http://127.0.0.1:9").unwrap();
        match c.ksql("SHOW STREAMS;", &RequestContext::default()) {
            Err(RestError::Connection { url, .. }) => assert_eq!(url, "http://127.0.0.1:9"),
            other => panic!("expected a connection error, got {other:?}"),
        }
    }
}
