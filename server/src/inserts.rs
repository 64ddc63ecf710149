//! inserts.rs owns `POST /inserts-stream`: the request body is a stream of JSON lines, the
//! first `{"target": "S"}`, then one object per row (column names as keys); each row is
//! inserted as INSERT VALUES would insert it and acknowledged on the response stream as it
//! is, `{"status":"ok","seq":N}` or `{"status":"error","seq":N,"error_code":...,"message":...}`.

use std::convert::Infallible;

use axum::body::{Body, BodyDataStream};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use brook_engine::sql::analyzer::SourceEntry;
use brook_engine::sql::plan::SqlType;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::error::{code, ApiError};
use crate::query::DELIMITED;
use crate::state::AppState;

/// Reads lines off a request body.
struct Lines {
    stream: BodyDataStream,
    buf: Vec<u8>,
    done: bool,
    limit: usize,
}

impl Lines {
    /// The next non-empty line; None at the end of the body.
    async fn next(&mut self) -> Result<Option<Vec<u8>>, ApiError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(line));
            }
            if self.done {
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.buf)));
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => {
                    if self.buf.len() + chunk.len() > self.limit {
                        return Err(crate::request::too_large_or_bad("length limit", self.limit));
                    }
                    self.buf.extend_from_slice(&chunk);
                }
                Some(Err(e)) => {
                    return Err(ApiError::bad_request(format!(
                        "Cannot read the request body: {e}"
                    )))
                }
                None => self.done = true,
            }
        }
    }
}

pub async fn handle(State(state): State<AppState>, body: Body) -> Response {
    let mut lines = Lines {
        stream: body.into_data_stream(),
        buf: Vec::new(),
        done: false,
        limit: state.config().max_body_bytes,
    };
    let first = match lines.next().await {
        Ok(Some(l)) => l,
        Ok(None) => {
            return ApiError::bad_request("Invalid JSON in request: the body is empty")
                .into_response()
        }
        Err(e) => return e.into_response(),
    };
    let target = match serde_json::from_slice::<Value>(&first) {
        Ok(v) => match v.get("target").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None => {
                return ApiError::bad_request("The first line must be {\"target\": \"<stream>\"}")
                    .into_response()
            }
        },
        Err(e) => {
            return ApiError::bad_request(format!("Invalid JSON in request: {e}")).into_response()
        }
    };
    let entry = {
        let engine = state.lock_engine();
        let found = engine
            .catalog()
            .sources
            .values()
            .find(|s| s.name == target || s.name.eq_ignore_ascii_case(&target))
            .cloned();
        match found {
            Some(e) => e,
            None => {
                return ApiError::Statement {
                    code: code::BAD_STATEMENT,
                    message: format!("Cannot insert values into an unknown stream/table: {target}"),
                    statement: String::new(),
                    entities: vec![],
                }
                .into_response()
            }
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        let mut seq = 0u64;
        loop {
            let line = match lines.next().await {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(ack_error(seq, &e.to_string())).await;
                    break;
                }
            };
            let ack = match serde_json::from_slice::<Value>(&line) {
                Ok(Value::Object(row)) => {
                    let st = state.clone();
                    let entry = entry.clone();
                    let r = tokio::task::spawn_blocking(move || insert(&st, &entry, &row)).await;
                    match r {
                        Ok(Ok(())) => ack_ok(seq),
                        Ok(Err(e)) => ack_error(seq, &e),
                        Err(e) => ack_error(seq, &e.to_string()),
                    }
                }
                Ok(_) => ack_error(seq, "Each row must be a JSON object"),
                Err(e) => ack_error(seq, &format!("Invalid JSON in request: {e}")),
            };
            seq += 1;
            if tx.send(ack).await.is_err() {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(DELIMITED));
    r
}

fn ack_ok(seq: u64) -> Bytes {
    Bytes::from(format!("{}\n", json!({"status": "ok", "seq": seq})))
}

fn ack_error(seq: u64, message: &str) -> Bytes {
    Bytes::from(format!(
        "{}\n",
        json!({"status": "error", "seq": seq, "error_code": code::BAD_REQUEST, "message": message})
    ))
}

fn insert(state: &AppState, entry: &SourceEntry, row: &Map<String, Value>) -> Result<(), String> {
    let sql = insert_sql(entry, row)?;
    let mut engine = state.lock_engine();
    engine.execute(&sql).map(|_| ()).map_err(|e| e.to_string())
}

/// The INSERT VALUES statement that inserts `row` into `entry`.
pub fn insert_sql(entry: &SourceEntry, row: &Map<String, Value>) -> Result<String, String> {
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for (k, v) in row {
        let (name, ty) = match entry.columns.iter().find(|c| c.name == *k).or_else(|| {
            entry
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(k))
        }) {
            Some(c) => (c.name.clone(), c.ty.clone()),
            None if k.eq_ignore_ascii_case("ROWTIME") => ("ROWTIME".to_string(), SqlType::BigInt),
            None => return Err(format!("Column {k} does not exist in {}", entry.name)),
        };
        cols.push(format!("`{}`", name.replace('`', "``")));
        vals.push(literal(v, &ty)?);
    }
    Ok(format!(
        "INSERT INTO `{}` ({}) VALUES ({});",
        entry.name.replace('`', "``"),
        cols.join(", "),
        vals.join(", ")
    ))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A JSON value as a SQL literal of type `ty`.
fn literal(v: &Value, ty: &SqlType) -> Result<String, String> {
    Ok(match (v, ty) {
        (Value::Null, _) => "NULL".into(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::Number(n), SqlType::String) => quote(&n.to_string()),
        (Value::Number(n), _) => n.to_string(),
        (Value::String(s), SqlType::Bytes) => format!("FROM_BASE64({})", quote(s)),
        (Value::String(s), _) => quote(s),
        (Value::Array(items), SqlType::Array(t)) => format!(
            "ARRAY[{}]",
            items
                .iter()
                .map(|i| literal(i, t))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        ),
        (Value::Object(o), SqlType::Map(_, vt)) => format!(
            "MAP({})",
            o.iter()
                .map(|(k, v)| Ok(format!("{} := {}", quote(k), literal(v, vt)?)))
                .collect::<Result<Vec<_>, String>>()?
                .join(", ")
        ),
        (Value::Object(o), SqlType::Struct(fields)) => format!(
            "STRUCT({})",
            o.iter()
                .map(|(k, v)| {
                    let (name, t) = fields
                        .iter()
                        .find(|(n, _)| n == k || n.eq_ignore_ascii_case(k))
                        .ok_or_else(|| format!("Struct field {k} does not exist"))?;
                    Ok(format!("`{name}` := {}", literal(v, t)?))
                })
                .collect::<Result<Vec<_>, String>>()?
                .join(", ")
        ),
        (other, ty) => return Err(format!("Cannot insert {other} into a column of type {ty}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_follow_the_column_type() {
        assert_eq!(
            literal(&json!("it's"), &SqlType::String).unwrap(),
            "'it''s'"
        );
        assert_eq!(
            literal(&json!([1, 2]), &SqlType::array(SqlType::Int)).unwrap(),
            "ARRAY[1, 2]"
        );
        assert_eq!(
            literal(
                &json!({"a": 1}),
                &SqlType::map(SqlType::String, SqlType::Int)
            )
            .unwrap(),
            "MAP('a' := 1)"
        );
        assert!(literal(&json!([1]), &SqlType::Int).is_err());
    }
}
