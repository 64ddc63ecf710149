//! error.rs owns [`ApiError`]: every failure the server answers, as ksqlDB's error entities
//! (`statement_error` for a statement that failed, `generic_error` otherwise) with ksqlDB's
//! error codes (the HTTP status times 100, plus a detail digit).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// ksqlDB's error codes.
pub mod code {
    pub const BAD_REQUEST: u32 = 40000;
    pub const BAD_STATEMENT: u32 = 40001;
    pub const QUERY_ENDPOINT: u32 = 40002;
    pub const UNAUTHORIZED: u32 = 40100;
    pub const NOT_FOUND: u32 = 40400;
    pub const METHOD_NOT_ALLOWED: u32 = 40500;
    pub const PAYLOAD_TOO_LARGE: u32 = 41300;
    pub const ASSERTION_FAILED: u32 = 41700;
    pub const SERVER_ERROR: u32 = 50000;
}

/// An error the server answers with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// A statement failed: HTTP 400 `statement_error`, with the entities of the statements
    /// of the same request that ran before it.
    #[error("{message}")]
    Statement {
        code: u32,
        message: String,
        statement: String,
        entities: Vec<Value>,
    },
    /// Anything else: `generic_error` with this status.
    #[error("{message}")]
    Generic {
        status: StatusCode,
        code: u32,
        message: String,
    },
}

impl ApiError {
    pub fn statement(message: impl Into<String>, statement: impl Into<String>) -> ApiError {
        ApiError::Statement {
            code: code::BAD_STATEMENT,
            message: message.into(),
            statement: statement.into(),
            entities: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::Generic {
            status: StatusCode::BAD_REQUEST,
            code: code::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::Generic {
            status: StatusCode::NOT_FOUND,
            code: code::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn server(message: impl Into<String>) -> ApiError {
        ApiError::Generic {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: code::SERVER_ERROR,
            message: message.into(),
        }
    }

    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Statement { .. } => StatusCode::BAD_REQUEST,
            ApiError::Generic { status, .. } => *status,
        }
    }

    /// The error entity.
    pub fn entity(&self) -> Value {
        match self {
            ApiError::Statement {
                code,
                message,
                statement,
                entities,
            } => json!({
                "@type": "statement_error",
                "error_code": code,
                "message": message,
                "statementText": statement,
                "entities": entities,
            }),
            ApiError::Generic { code, message, .. } => json!({
                "@type": "generic_error",
                "error_code": code,
                "message": message,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.entity())).into_response()
    }
}
