//! connect.rs owns Brook's Kafka Connect client. Like ksqlDB, Brook runs no connectors: the
//! connector statements (CREATE SOURCE|SINK CONNECTOR, DROP / DESCRIBE CONNECTOR, SHOW
//! CONNECTORS) are forwarded to a Connect cluster's REST API at `ksql.connect.url`. The client
//! is a small blocking HTTP/1.1 one over std's TcpStream with timeouts, so a statement never
//! hangs on a dead Connect worker and no async runtime is needed inside the engine.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::{json, Value};

/// Where ksqlDB looks for Kafka Connect when `ksql.connect.url` is not set.
pub const DEFAULT_CONNECT_URL: &str = "http://localhost:8083";

/// How long a connect, read or write to Connect may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong talking to Kafka Connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("Kafka Connect at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("not supported yet: ksql.connect.url '{0}': only http:// URLs")]
    BadUrl(String),
    #[error("{message}")]
    Status { status: u16, message: String },
    #[error("Kafka Connect at {url} sent an unreadable answer: {reason}")]
    Malformed { url: String, reason: String },
}

/// A connector as SHOW CONNECTORS lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorSummary {
    pub name: String,
    /// `SOURCE`, `SINK` or `UNKNOWN`.
    pub kind: String,
    pub class: String,
    /// ksqlDB's summary: `RUNNING (1/1 tasks RUNNING)`.
    pub state: String,
}

/// A task of a connector in DESCRIBE CONNECTOR.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskState {
    pub id: i64,
    pub state: String,
    pub worker_id: String,
    pub trace: Option<String>,
}

/// DESCRIBE CONNECTOR.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorDescription {
    pub name: String,
    pub class: String,
    pub kind: String,
    pub state: String,
    pub worker_id: String,
    pub trace: Option<String>,
    pub tasks: Vec<TaskState>,
}

/// One Kafka Connect cluster's REST API.
pub struct ConnectClient {
    url: String,
    host: String,
    port: u16,
    base: String,
}

impl ConnectClient {
    /// A client for `url` (`http://host[:port][/path]`).
    pub fn new(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim().trim_end_matches('/').to_string();
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ConnectError::BadUrl(url.clone()))?;
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, String::new()),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse().map_err(|_| ConnectError::BadUrl(url.clone()))?,
            ),
            None => (authority.to_string(), 80),
        };
        if host.is_empty() {
            return Err(ConnectError::BadUrl(url));
        }
        Ok(Self {
            url,
            host,
            port,
            base,
        })
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POST /connectors: creates `name` with `config`. Ok(false) when it already exists.
    pub fn create(&self, name: &str, config: &[(String, String)]) -> Result<bool, ConnectError> {
        let mut cfg = serde_json::Map::new();
        for (k, v) in config {
            cfg.insert(k.clone(), Value::String(v.clone()));
        }
        cfg.insert("name".into(), Value::String(name.to_string()));
        let body = json!({ "name": name, "config": cfg });
        match self.request("POST", "/connectors", Some(&body))? {
            (200..=299, _) => Ok(true),
            (409, _) => Ok(false),
            (status, v) => Err(failure(status, &v)),
        }
    }

    /// DELETE /connectors/name. Ok(false) when there is no such connector.
    pub fn delete(&self, name: &str) -> Result<bool, ConnectError> {
        match self.request("DELETE", &format!("/connectors/{}", encode(name)), None)? {
            (200..=299, _) => Ok(true),
            (404, _) => Ok(false),
            (status, v) => Err(failure(status, &v)),
        }
    }

    /// GET /connectors/name/status and /connectors/name: None when there is no such connector.
    pub fn describe(&self, name: &str) -> Result<Option<ConnectorDescription>, ConnectError> {
        let path = format!("/connectors/{}", encode(name));
        let status = match self.request("GET", &format!("{path}/status"), None)? {
            (200..=299, v) => v,
            (404, _) => return Ok(None),
            (s, v) => return Err(failure(s, &v)),
        };
        let info = match self.request("GET", &path, None)? {
            (200..=299, v) => v,
            (404, _) => return Ok(None),
            (s, v) => return Err(failure(s, &v)),
        };
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let connector = status.get("connector").cloned().unwrap_or(Value::Null);
        let tasks = status
            .get("tasks")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .map(|t| TaskState {
                        id: t.get("id").and_then(Value::as_i64).unwrap_or(0),
                        state: text(t, "state").unwrap_or_default(),
                        worker_id: text(t, "worker_id").unwrap_or_default(),
                        trace: text(t, "trace"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(ConnectorDescription {
            name: text(&status, "name").unwrap_or_else(|| name.to_string()),
            class: info
                .get("config")
                .and_then(|c| text(c, "connector.class"))
                .unwrap_or_default(),
            kind: kind_word(
                text(&info, "type")
                    .or_else(|| text(&status, "type"))
                    .as_deref(),
            ),
            state: text(&connector, "state").unwrap_or_default(),
            worker_id: text(&connector, "worker_id").unwrap_or_default(),
            trace: text(&connector, "trace"),
            tasks,
        }))
    }

    /// GET /connectors?expand=info&expand=status: every connector, sorted by name.
    pub fn list(&self) -> Result<Vec<ConnectorSummary>, ConnectError> {
        let v = match self.request("GET", "/connectors?expand=info&expand=status", None)? {
            (200..=299, v) => v,
            (s, v) => return Err(failure(s, &v)),
        };
        let map = v.as_object().ok_or_else(|| ConnectError::Malformed {
            url: self.url.clone(),
            reason: "the connector list is not a JSON object".into(),
        })?;
        let mut out: Vec<ConnectorSummary> = map
            .iter()
            .map(|(name, entry)| {
                let info = entry.get("info").cloned().unwrap_or(Value::Null);
                let status = entry.get("status").cloned().unwrap_or(Value::Null);
                ConnectorSummary {
                    name: name.clone(),
                    kind: kind_word(info.get("type").and_then(Value::as_str)),
                    class: info
                        .get("config")
                        .and_then(|c| c.get("connector.class"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    state: summary_state(&status),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One request; the status code and the body as JSON (Null when empty).
    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ConnectError> {
        let unreachable = |e: std::io::Error| ConnectError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        };
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| ConnectError::Unreachable {
                url: self.url.clone(),
                reason: format!("no address for {}", self.host),
            })?;
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;
        stream
            .set_write_timeout(Some(TIMEOUT))
            .map_err(unreachable)?;
        let payload = body.map(Value::to_string).unwrap_or_default();
        let mut req = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\nConnection: close\r\n",
            self.base, self.host, self.port
        );
        if body.is_some() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!(
            "Content-Length: {}\r\n\r\n{payload}",
            payload.len()
        ));
        stream.write_all(req.as_bytes()).map_err(unreachable)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(unreachable)?;
        self.parse_response(&raw)
    }

    fn parse_response(&self, raw: &[u8]) -> Result<(u16, Value), ConnectError> {
        let malformed = |reason: &str| ConnectError::Malformed {
            url: self.url.clone(),
            reason: reason.to_string(),
        };
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| malformed("no end of headers"))?;
        let head = String::from_utf8_lossy(&raw[..split]);
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| malformed("no status line"))?;
        let chunked = lines.any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") && l.contains("chunked")
        });
        if chunked {
            body = dechunk(&body).ok_or_else(|| malformed("bad chunked body"))?;
        }
        let text = String::from_utf8_lossy(&body);
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.trim().to_string()))
        };
        Ok((status, value))
    }
}

/// A chunked transfer-encoded body, decoded.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// Connect's error body `{"error_code":..,"message":..}` as an error.
fn failure(status: u16, body: &Value) -> ConnectError {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| match body {
            Value::Null => format!("Kafka Connect answered HTTP {status}"),
            other => format!("Kafka Connect answered HTTP {status}: {other}"),
        });
    ConnectError::Status { status, message }
}

/// A connector name in a URL path.
fn encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Connect's `type` (`source` / `sink`) as ksqlDB shows it.
fn kind_word(ty: Option<&str>) -> String {
    match ty.map(str::to_ascii_lowercase).as_deref() {
        Some("source") => "SOURCE".into(),
        Some("sink") => "SINK".into(),
        _ => "UNKNOWN".into(),
    }
}

/// ksqlDB's state column: the connector's state and how many tasks run, e.g.
/// `RUNNING (1/2 tasks RUNNING)`.
fn summary_state(status: &Value) -> String {
    let state = status
        .get("connector")
        .and_then(|c| c.get("state"))
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN");
    let tasks = status
        .get("tasks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let running = tasks
        .iter()
        .filter(|t| t.get("state").and_then(Value::as_str) == Some("RUNNING"))
        .count();
    format!("{state} ({running}/{} tasks RUNNING)", tasks.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let c = ConnectClient::new("http://connect:9000/base/").unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.base.as_str()),
            ("connect", 9000, "/base")
        );
        assert!(matches!(
            ConnectClient::new("https://x"),
            Err(ConnectError::BadUrl(_))
        ));
    }

    #[test]
    fn chunked_bodies_decode() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde".to_vec()
        );
    }

    #[test]
    fn state_summary_counts_running_tasks() {
        let status = json!({"connector":{"state":"RUNNING"},
            "tasks":[{"state":"RUNNING"},{"state":"FAILED"}]});
        assert_eq!(summary_state(&status), "RUNNING (1/2 tasks RUNNING)");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
