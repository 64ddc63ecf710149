//! query.rs owns the query endpoints: `POST /query` (v1: a JSON array streamed in chunks —
//! header, rows, final message), `POST /query-stream` (v2: a metadata line then one JSON
//! array per row, `application/vnd.ksqlapi.delimited.v1`; or one JSON array for
//! `Accept: application/json`) and `POST /close-query`.
//!
//! A pull query runs to completion under the engine's lock. A push query is set up under
//! the lock, then streamed by a tokio task of its own (no thread: idle push queries are
//! cheap) that never takes the lock: it polls the
//! query, sends each row to the response body as soon as it comes out, and stops at LIMIT,
//! on `/close-query`, at shutdown, or when the client goes away (the body's channel
//! closes: a closed connection or a reset HTTP/2 stream).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::{Field, Schema as ArrowSchema};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use brook_engine::catalog::sql_to_arrow;
use brook_engine::conformance::proto_response::proto_schema;
use brook_engine::conformance::rest::rest_parse_error;
use brook_engine::formats::{self, FormatOptions};
use brook_engine::runtime::results::{batch_values, final_message, query_response, QueryShape};
use brook_engine::runtime::{PushQuery, QueryRows, StatementResult};
use brook_engine::sql::ast::StatementKind;
use brook_engine::sql::plan::Schema;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::entities::type_name;
use crate::error::ApiError;
use crate::request::{read_json, scoped};
use crate::state::AppState;

/// Media type of the v2 API's delimited rows.
pub const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";

/// Media type asking for a pull query's rows as protobuf messages (ksqlDB's
/// `KSQL_V1_PROTOBUF`): a JSON array as `/query` writes it, with the header's `protoSchema`
/// and each row's `protobufBytes` (base64 of the bare message).
pub const PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";

/// How long a push query's task waits for new records between checks of `/close-query`
/// and shutdown (a closed connection and an append wake it at once).
const PUSH_WAIT: Duration = Duration::from_millis(100);

/// Requests that run on the engine (under its lock) at once on tokio's blocking pool: they
/// queue for the lock anyway, and without a bound a burst of requests (1,000 push queries
/// opened together) grows the pool by a thread each, whose stacks and allocator caches stay
/// resident. Shared by the servers of a process (they run one at a time but in tests).
pub(crate) static ENGINE_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Chunks a push query may have written ahead of a slow client.
const PUSH_BUFFER: usize = 64;

/// The body of `POST /query`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryV1Request {
    pub ksql: String,
    #[serde(default)]
    pub streams_properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
}

/// The body of `POST /query-stream`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryV2Request {
    pub sql: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
}

/// The form of a query's response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// `/query`: `[{"header":...},\n{"row":...},\n{"finalMessage":...}]`.
    V1,
    /// `/query-stream`, delimited: a metadata line, then a JSON array per row.
    V2Lines,
    /// `/query-stream` with `Accept: application/json`: `[metadata, row, ...]`.
    V2Array,
    /// Either endpoint with `Accept: application/vnd.ksql.v1+protobuf` (pull queries only).
    Protobuf,
}

impl Wire {
    fn content_type(self) -> &'static str {
        match self {
            Wire::V1 | Wire::V2Array => "application/json",
            Wire::V2Lines => DELIMITED,
            Wire::Protobuf => PROTOBUF,
        }
    }

    /// The first chunk: the header (v1) or metadata (v2).
    fn head(self, query_id: &str, schema: &Schema, shape: QueryShape) -> String {
        match self {
            Wire::V1 | Wire::Protobuf => format!(
                "[{}",
                json!({"header": {"queryId": query_id, "schema": shape.header_schema(schema)}})
            ),
            Wire::V2Lines => format!("{}\n", metadata(query_id, schema)),
            Wire::V2Array => format!("[{}", metadata(query_id, schema)),
        }
    }

    /// One row's chunk.
    fn row(self, columns: Vec<Value>) -> String {
        match self {
            Wire::V1 | Wire::Protobuf => format!(",\n{}", json!({"row": {"columns": columns}})),
            Wire::V2Lines => format!("{}\n", Value::Array(columns)),
            Wire::V2Array => format!(",\n{}", Value::Array(columns)),
        }
    }

    /// A push query's row deleting its key (only its key columns set): v1 marks it
    /// `"tombstone": true`, as ksqlDB's `StreamedRow`; the v2 rows have no such mark, so
    /// none is sent there.
    fn tombstone(self, columns: Vec<Value>) -> Option<String> {
        match self {
            Wire::V1 | Wire::Protobuf => Some(format!(
                ",\n{}",
                json!({"row": {"columns": columns, "tombstone": true}})
            )),
            Wire::V2Lines | Wire::V2Array => None,
        }
    }

    /// The last chunk.
    fn tail(self, final_message: Option<&str>) -> String {
        match (self, final_message) {
            (Wire::V1 | Wire::Protobuf, Some(m)) => {
                format!(",\n{}]\n", json!({ "finalMessage": m }))
            }
            (Wire::V1 | Wire::Protobuf | Wire::V2Array, _) => "]\n".into(),
            (Wire::V2Lines, _) => String::new(),
        }
    }

    /// An error after the response started.
    fn error(self, message: &str) -> String {
        let e = json!({"@type": "generic_error", "error_code": 50000, "message": message});
        match self {
            Wire::V1 | Wire::Protobuf => format!(",\n{}]\n", json!({ "errorMessage": e })),
            Wire::V2Lines => format!("{e}\n"),
            Wire::V2Array => format!(",\n{e}]\n"),
        }
    }
}

fn metadata(query_id: &str, schema: &Schema) -> Value {
    json!({
        "queryId": query_id,
        "columnNames": schema.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "columnTypes": schema.columns.iter().map(|c| type_name(&c.ty)).collect::<Vec<_>>(),
    })
}

/// A query ready to answer.
enum Prepared {
    Pull {
        rows: QueryRows,
        shape: QueryShape,
    },
    Push {
        query: Box<PushQuery>,
        shape: QueryShape,
    },
}

pub async fn v1(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let req: QueryV1Request = match read_json(body, state.config().max_body_bytes).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let wire = if accepts(&headers, PROTOBUF) {
        Wire::Protobuf
    } else {
        Wire::V1
    };
    answer(
        state,
        req.ksql,
        req.streams_properties,
        req.session_variables,
        wire,
    )
    .await
}

/// Whether the request's `Accept` header names `media_type`.
fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(media_type))
}

pub async fn v2(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let req: QueryV2Request = match read_json(body, state.config().max_body_bytes).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let wire = if accepts(&headers, PROTOBUF) {
        Wire::Protobuf
    } else if accept.contains("application/json") && !accept.contains(DELIMITED) {
        Wire::V2Array
    } else {
        Wire::V2Lines
    };
    answer(state, req.sql, req.properties, req.session_variables, wire).await
}

async fn answer(
    state: AppState,
    sql: String,
    properties: Map<String, Value>,
    variables: Map<String, Value>,
    wire: Wire,
) -> Response {
    let st = state.clone();
    let text = sql.clone();
    let permit = ENGINE_WORK.acquire().await;
    let prepared =
        tokio::task::spawn_blocking(move || prepare(&st, &text, &properties, &variables)).await;
    drop(permit);
    let prepared = match prepared {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::server(e.to_string()).into_response(),
    };
    match prepared {
        Prepared::Pull { rows, shape } => pull_response(&rows, shape, wire),
        Prepared::Push { .. } if wire == Wire::Protobuf => ApiError::statement(
            "PROTOBUF responses are supported for pull queries only (ksqlDB's own limit); ask for application/json",
            &sql,
        )
        .into_response(),
        Prepared::Push { query, shape } => push_response(state, &sql, *query, shape, wire),
    }
}

/// Parses and starts the one query of `sql`, with the request's properties.
fn prepare(
    state: &AppState,
    sql: &str,
    properties: &Map<String, Value>,
    variables: &Map<String, Value>,
) -> Result<Prepared, ApiError> {
    let mut engine = state.lock_engine();
    scoped(&mut engine, properties, variables, |engine| {
        let pieces = brook_engine::sql::split_statements(sql)
            .map_err(|e| ApiError::statement(rest_parse_error(&e, sql), sql))?;
        let [piece] = pieces.as_slice() else {
            return Err(ApiError::statement(
                format!("Expected exactly one statement, got {}", pieces.len()),
                sql,
            ));
        };
        let st = engine
            .parse_piece(piece)
            .map_err(|e| ApiError::statement(rest_parse_error(&e, sql), sql))?;
        let shape = match &st.kind {
            StatementKind::Query(_) => QueryShape::of(engine.catalog(), &st.kind),
            StatementKind::Print(_) => {
                return Err(ApiError::statement(
                    "PRINT over the query endpoints is not supported yet (use `brook` or `brook consume`)",
                    sql,
                ))
            }
            _ => {
                return Err(ApiError::statement(
                    "The query endpoints take one SELECT statement; send other statements to /ksql",
                    sql,
                ))
            }
        }
        .expect("a query has a shape");
        let result = engine
            .execute_statement(&st, piece.text, sql, "<input>")
            .map_err(|e| ApiError::statement(e.to_string(), sql))?;
        match result {
            StatementResult::Rows(rows) => Ok(Prepared::Pull { rows, shape }),
            StatementResult::Push(query) => Ok(Prepared::Push { query, shape }),
            _ => Err(ApiError::server("the query returned no rows")),
        }
    })
}

fn with_type(wire: Wire, body: Body) -> Response {
    let mut r = Response::new(body);
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wire.content_type()),
    );
    r
}

fn pull_response(rows: &QueryRows, shape: QueryShape, wire: Wire) -> Response {
    let query_id = "transient";
    let body = match wire {
        Wire::Protobuf => match protobuf_response(rows, shape) {
            Ok(items) => {
                let parts: Vec<String> = items.iter().map(Value::to_string).collect();
                format!("[{}]\n", parts.join(",\n"))
            }
            Err(e) => return ApiError::server(e).into_response(),
        },
        Wire::V1 => match query_response(rows, shape) {
            Ok(items) => {
                let parts: Vec<String> = items.iter().map(Value::to_string).collect();
                format!("[{}]\n", parts.join(",\n"))
            }
            Err(e) => return ApiError::server(e).into_response(),
        },
        _ => {
            let values = match batch_values(&rows.batches) {
                Ok(v) => v,
                Err(e) => return ApiError::server(e).into_response(),
            };
            let mut s = wire.head(query_id, &rows.schema, shape);
            for columns in values {
                s.push_str(&wire.row(columns));
            }
            s.push_str(&wire.tail(None));
            s
        }
    };
    with_type(wire, Body::from(body))
}

/// A pull query's response in PROTOBUF (see [`PROTOBUF`]): the rows encoded with the schema
/// the header carries.
fn protobuf_response(rows: &QueryRows, shape: QueryShape) -> Result<Vec<Value>, String> {
    let proto_schema = proto_schema(&rows.schema)?;
    let mut out = vec![json!({"header": {
        "queryId": "transient",
        "schema": shape.header_schema(&rows.schema),
        "protoSchema": proto_schema,
    }})];
    let arrow = ArrowSchema::new(
        rows.schema
            .columns
            .iter()
            .map(|c| Field::new(c.name.clone(), sql_to_arrow(&c.ty), true))
            .collect::<Vec<_>>(),
    );
    let options = FormatOptions {
        provided_schema: Some(Value::String(proto_schema)),
        ..FormatOptions::value()
    };
    let format = formats::create("PROTOBUF_NOSR", &options, &arrow).map_err(|e| e.to_string())?;
    let mut n = 0;
    for batch in &rows.batches {
        let batch = RecordBatch::try_new(Arc::new(arrow.clone()), batch.columns().to_vec())
            .map_err(|e| e.to_string())?;
        for payload in format.encode(&batch).map_err(|e| e.to_string())? {
            let bytes = BASE64.encode(payload.unwrap_or_default());
            out.push(json!({"row": {"protobufBytes": bytes}}));
            n += 1;
        }
    }
    if let Some(m) = final_message(shape, n) {
        out.push(json!({ "finalMessage": m }));
    }
    Ok(out)
}

fn push_response(
    state: AppState,
    sql: &str,
    query: PushQuery,
    shape: QueryShape,
    wire: Wire,
) -> Response {
    let (id, cancel) = state.open_push(sql, query.is_scalable());
    tracing::debug!(query_id = %id, "push query started");
    let (tx, rx) = mpsc::channel::<Bytes>(PUSH_BUFFER);
    let head = wire.head(&id, query.schema(), shape);
    // The header goes first, before any row.
    let _ = tx.try_send(Bytes::from(head));
    let st = state.clone();
    // A task, not a thread: an idle push query costs only its state and its wait.
    tokio::spawn(async move {
        stream_push(&st, &cancel, query, &tx, wire).await;
        st.close_push(&id);
        tracing::debug!(query_id = %id, "push query ended");
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    with_type(wire, Body::from_stream(stream))
}

/// Polls a push query and sends its rows until it ends (see the module's comment): between
/// polls it waits for an append to a partition it reads, for its client to go away, or for
/// [`PUSH_WAIT`] (to see `/close-query` and shutdown).
async fn stream_push(
    state: &AppState,
    cancel: &AtomicBool,
    mut query: PushQuery,
    tx: &mpsc::Sender<Bytes>,
    wire: Wire,
) {
    let send = |s: String| async move { tx.send(Bytes::from(s)).await.is_ok() };
    // Resolves once a partition it reads has unread records (at once when one has): the
    // query is polled only then, so an idle one costs no work.
    let mut input = Box::pin(query.changed());
    loop {
        if cancel.load(Ordering::SeqCst) || tx.is_closed() || state.is_shutting_down() {
            let _ = send(wire.tail(None)).await;
            return;
        }
        tokio::select! {
            _ = &mut input => {}
            _ = tx.closed() => continue,
            _ = tokio::time::sleep(PUSH_WAIT) => continue,
        }
        // A poll processes at most a bounded read per partition; it runs on this worker.
        match query.poll_changes() {
            Ok(changes) => {
                for change in changes {
                    let rows = match batch_values(std::slice::from_ref(&change.batch)) {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = send(wire.error(&e)).await;
                            return;
                        }
                    };
                    for (columns, deletes) in rows.into_iter().zip(&change.tombstones) {
                        let chunk = if *deletes {
                            wire.tombstone(columns)
                        } else {
                            Some(wire.row(columns))
                        };
                        if let Some(c) = chunk {
                            if !send(c).await {
                                return;
                            }
                        }
                    }
                }
            }
            Err(e) => {
                let _ = send(wire.error(&e.to_string())).await;
                return;
            }
        }
        if query.finished() {
            let _ = send(wire.tail(Some("Limit Reached"))).await;
            return;
        }
        input = Box::pin(query.changed());
    }
}

/// The body of `POST /close-query`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseQueryRequest {
    pub query_id: String,
}

pub async fn close(State(state): State<AppState>, body: Body) -> Response {
    let req: CloseQueryRequest = match read_json(body, state.config().max_body_bytes).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if state.cancel_push(&req.query_id) {
        StatusCode::OK.into_response()
    } else {
        ApiError::bad_request(format!("No query with id {}", req.query_id)).into_response()
    }
}
