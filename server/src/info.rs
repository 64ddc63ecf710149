//! info.rs owns the server's informational endpoints: `GET /info`, `/healthcheck`,
//! `/clusterStatus`, `/status`, `/status/{type}/{entity}/{action}` and
//! `/is_valid_property/{name}`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The service id ksqlDB reports by default.
pub const SERVICE_ID: &str = "default_";

/// The cluster id of the embedded log.
pub const CLUSTER_ID: &str = "brook-embedded-log";

pub async fn info(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"KsqlServerInfo": {
        "version": env!("CARGO_PKG_VERSION"),
        "kafkaClusterId": CLUSTER_ID,
        "ksqlServiceId": SERVICE_ID,
        "serverStatus": if state.is_shutting_down() { "TERMINATING" } else { "RUNNING" },
    }}))
}

pub async fn healthcheck(State(state): State<AppState>) -> Response {
    let st = state.clone();
    // The engine answers when its lock can be taken; the log when its topics can be listed.
    let healthy = tokio::task::spawn_blocking(move || {
        let engine = st.lock_engine();
        let _ = engine.log().topics();
        true
    })
    .await
    .unwrap_or(false);
    let body = json!({
        "isHealthy": healthy,
        "details": {
            "metastore": {"isHealthy": healthy},
            "kafka": {"isHealthy": healthy},
            "commandRunner": {"isHealthy": healthy},
        },
    });
    let status = if healthy {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub async fn cluster_status(State(state): State<AppState>) -> Json<Value> {
    let now = now_ms();
    let mut hosts = Map::new();
    hosts.insert(
        state.host(),
        json!({
            "hostAlive": true,
            "lastStatusUpdateMs": now,
            "activeStandbyPerQuery": {},
            "hostStoreLags": {"stateStoreLags": {}, "updateTimeMs": now},
        }),
    );
    Json(json!({ "clusterStatus": hosts }))
}

pub async fn statuses(State(state): State<AppState>) -> Json<Value> {
    let map: Map<String, Value> = state
        .command_statuses()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v.status.to_string())))
        .collect();
    Json(json!({ "commandStatuses": map }))
}

pub async fn status(
    State(state): State<AppState>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Response {
    let id = format!("{kind}/{entity}/{action}");
    match state.command_statuses().get(&id) {
        Some(s) => Json(json!({"status": s.status, "message": s.message})).into_response(),
        None => ApiError::not_found(format!("Command not found: {id}")).into_response(),
    }
}

/// Properties a client may set for its queries, besides every `ksql.` one.
const KNOWN_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "cache.max.bytes.buffering",
    "commit.interval.ms",
    "processing.guarantee",
    "num.stream.threads",
    "buffered.records.per.partition",
];

pub async fn is_valid_property(Path(name): Path<String>) -> Response {
    let stripped = name
        .strip_prefix("ksql.streams.")
        .or_else(|| name.strip_prefix("ksql.streams.consumer."))
        .unwrap_or(&name);
    if name.starts_with("ksql.") || KNOWN_PROPERTIES.contains(&stripped) {
        Json(Value::Bool(true)).into_response()
    } else {
        ApiError::bad_request(format!(
            "Not recognizable as ksql, streams, consumer, or producer property: '{name}'"
        ))
        .into_response()
    }
}
