//! request.rs owns reading request bodies (any content type ksqlDB accepts; a size limit;
//! malformed JSON answered with ksqlDB's error entity) and running a request's statements
//! with its own properties and variables (`streamsProperties`, `sessionVariables`): the
//! engine's are put back after, as ksqlDB scopes them to the request.

use std::collections::{BTreeMap, HashMap};

use axum::body::Body;
use axum::http::StatusCode;
use brook_engine::runtime::Engine;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{code, ApiError};

/// Reads a whole body (up to `limit` bytes) and parses it as `T`.
pub async fn read_json<T: DeserializeOwned>(body: Body, limit: usize) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| too_large_or_bad(&e.to_string(), limit))?;
    parse_json(&bytes)
}

/// Parses a JSON body as `T`, answering ksqlDB's 40000 error when it is not.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "Invalid JSON in request: the body is empty",
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Invalid JSON in request: {e}")))
}

/// A body read failed: too long, or the connection broke.
pub fn too_large_or_bad(detail: &str, limit: usize) -> ApiError {
    if detail.contains("length limit") {
        ApiError::Generic {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: code::PAYLOAD_TOO_LARGE,
            message: format!("Request body larger than the server's limit of {limit} bytes"),
        }
    } else {
        ApiError::bad_request(format!("Cannot read the request body: {detail}"))
    }
}

/// A JSON property value as the engine keeps it (strings as they are, others as JSON).
pub fn property_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs `f` with the request's properties over the server's, and its variables; puts the
/// engine's own back after.
pub fn scoped<R>(
    engine: &mut Engine,
    properties: &Map<String, Value>,
    variables: &Map<String, Value>,
    f: impl FnOnce(&mut Engine) -> R,
) -> R {
    let mut props: BTreeMap<String, String> = engine.properties().clone();
    for (k, v) in properties {
        props.insert(k.clone(), property_text(v));
    }
    let mut vars: HashMap<String, String> = engine.variables().clone();
    for (k, v) in variables {
        vars.insert(k.clone(), property_text(v));
    }
    let old_props = engine.replace_properties(props);
    let old_vars = engine.replace_variables(vars);
    let r = f(engine);
    engine.replace_properties(old_props);
    engine.replace_variables(old_vars);
    r
}
