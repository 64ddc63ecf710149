//! ksql.rs owns `POST /ksql`: every statement but queries, run in order, answered with one
//! entity each (see `entities.rs`); the first that fails ends the request with a
//! `statement_error` carrying the entities before it. Also `POST /ksql/terminate`.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use brook_engine::conformance::rest::{run_rest_statements, RequestFailure, StatementFailure};
use brook_engine::runtime::{Engine, StatementResult};
use brook_engine::sql::ast::{QueryTarget, SourceKind, StatementKind};
use brook_engine::sql::Statement;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::entities::{self, CommandInfo};
use crate::error::{code, ApiError};
use crate::request::{read_json, scoped};
use crate::state::{AppState, CommandStatus};

/// The body of `POST /ksql`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlRequest {
    pub ksql: String,
    #[serde(default)]
    pub streams_properties: Map<String, Value>,
    #[serde(default)]
    pub session_variables: Map<String, Value>,
    /// Accepted for compatibility: this server runs commands as they arrive.
    #[serde(default)]
    pub command_sequence_number: Option<i64>,
}

pub async fn handle(State(state): State<AppState>, body: Body) -> Response {
    let req: KsqlRequest = match read_json(body, state.config().max_body_bytes).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let st = state.clone();
    let permit = crate::query::ENGINE_WORK.acquire().await;
    let ran = tokio::task::spawn_blocking(move || run(&st, &req)).await;
    drop(permit);
    match ran {
        Ok(Ok(entities)) => Json(Value::Array(entities)).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::server(format!("the statement's task failed: {e}")).into_response(),
    }
}

/// Runs a request's statements; the entities of those that succeeded, or the error.
pub fn run(state: &AppState, req: &KsqlRequest) -> Result<Vec<Value>, ApiError> {
    let mut engine = state.lock_engine();
    scoped(
        &mut engine,
        &req.streams_properties,
        &req.session_variables,
        |engine| run_statements(state, engine, &req.ksql),
    )
}

fn run_statements(
    state: &AppState,
    engine: &mut Engine,
    sql: &str,
) -> Result<Vec<Value>, ApiError> {
    let host = state.host();
    // Queries and PRINT belong to the query endpoints; RUN SCRIPT only where allowed.
    let mut before = |_: &Engine, st: &Statement| -> Result<String, (String, u32)> {
        match &st.kind {
            StatementKind::Query(_) | StatementKind::Print(_) => Err((
                "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT".into(),
                code::QUERY_ENDPOINT,
            )),
            StatementKind::RunScript { .. } if !state.config().allow_run_script => Err((
                "RUN SCRIPT is not allowed on this server: it would read a file on the server's machine (set brook.server.run.script.enabled=true in its configuration to allow it)".into(),
                code::BAD_STATEMENT,
            )),
            kind => Ok(command_id(kind)),
        }
    };
    let mut after = |_: &Engine,
                     statement_text: &str,
                     command_id: String,
                     result: StatementResult|
     -> Result<Option<Value>, String> {
        let command = CommandInfo {
            id: command_id,
            sequence: state.next_sequence(),
        };
        if let StatementResult::Message(m) | StatementResult::QueryStarted { message: m, .. } =
            &result
        {
            state.record_command(
                &command.id,
                CommandStatus {
                    status: "SUCCESS",
                    message: m.clone(),
                },
            );
        }
        let push = state.push_queries();
        Ok(entities::entity(
            &result,
            statement_text,
            &command,
            &host,
            &push,
        ))
    };
    match run_rest_statements(engine, sql, &mut before, &mut after) {
        Ok(entities) => Ok(entities.into_iter().flatten().collect()),
        Err(RequestFailure {
            failure,
            statement_text,
            responses,
        }) => {
            let (message, code) = match failure {
                StatementFailure::Parse(m) | StatementFailure::Failed(m) => {
                    (m, code::BAD_STATEMENT)
                }
                StatementFailure::Refused(refused) => refused,
                // ksqlDB answers a failed ASSERT with 417 and a generic error entity.
                StatementFailure::AssertionFailed(message) => {
                    return Err(ApiError::Generic {
                        status: axum::http::StatusCode::EXPECTATION_FAILED,
                        code: code::ASSERTION_FAILED,
                        message,
                    })
                }
            };
            Err(ApiError::Statement {
                code,
                message,
                statement: statement_text,
                entities: responses.into_iter().flatten().collect(),
            })
        }
    }
}

/// ksqlDB's command id of a statement: `stream/`S`/create`, `terminate/Q/execute`...
pub fn command_id(kind: &StatementKind) -> String {
    let word = |k: &SourceKind| match k {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    };
    match kind {
        StatementKind::CreateSource(c) => format!("{}/`{}`/create", word(&c.kind), c.name.value),
        StatementKind::CreateAsSelect(c) => {
            format!("{}/`{}`/create", word(&c.kind), c.name.value)
        }
        StatementKind::DropSource { kind, name, .. } => {
            format!("{}/`{}`/drop", word(kind), name.value)
        }
        StatementKind::Terminate(QueryTarget::Query(id)) => {
            format!("terminate/{}/execute", id.value)
        }
        StatementKind::Terminate(QueryTarget::All) => "terminate/ALL/execute".into(),
        StatementKind::CreateType { name, .. } => format!("type/`{}`/create", name.value),
        StatementKind::DropType { name, .. } => format!("type/`{}`/drop", name.value),
        StatementKind::InsertInto(i) => format!("stream/`{}`/insert", i.target.value),
        _ => "cluster/CONFIG/execute".into(),
    }
}

/// The body of `POST /ksql/terminate`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TerminateRequest {
    /// Topics to delete with their sources (exact names or regular-expression-free
    /// patterns ending in `.*`).
    #[serde(default)]
    pub delete_topic_list: Vec<String>,
}

/// `POST /ksql/terminate`: terminates every persistent query, drops every source (deleting
/// the topics the request lists), then stops the server, as ksqlDB's cluster terminate.
pub async fn terminate(State(state): State<AppState>, body: Body) -> Response {
    let bytes = match axum::body::to_bytes(body, state.config().max_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            return crate::request::too_large_or_bad(&e.to_string(), state.config().max_body_bytes)
                .into_response()
        }
    };
    let req: TerminateRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        TerminateRequest::default()
    } else {
        match crate::request::parse_json(&bytes) {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        }
    };
    let st = state.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        let mut engine = st.lock_engine();
        engine
            .execute("TERMINATE ALL;")
            .map_err(|e| ApiError::server(e.to_string()))?;
        let sources: Vec<(String, SourceKind, String)> = engine
            .catalog()
            .sources
            .values()
            .filter(|s| !s.name.starts_with("KSQL_PROCESSING_LOG"))
            .map(|s| (s.name.clone(), s.kind, s.topic.clone()))
            .collect();
        for (name, kind, topic) in sources {
            let delete = req
                .delete_topic_list
                .iter()
                .any(|p| match p.strip_suffix(".*") {
                    Some(prefix) => topic.starts_with(prefix),
                    None => *p == topic,
                });
            let kind = match kind {
                SourceKind::Stream => "STREAM",
                SourceKind::Table => "TABLE",
            };
            let sql = format!(
                "DROP {kind} IF EXISTS `{name}`{};",
                if delete { " DELETE TOPIC" } else { "" }
            );
            engine
                .execute(&sql)
                .map_err(|e| ApiError::server(format!("{sql}: {e}")))?;
        }
        Ok(())
    })
    .await;
    match result {
        Ok(Ok(())) => {
            state.begin_shutdown();
            Json(json!({
                "@type": "currentStatus",
                "statementText": "TERMINATE CLUSTER;",
                "commandId": "cluster/TERMINATE/execute",
                "commandStatus": {"status": "SUCCESS", "message": "Cluster terminated", "queryId": null},
                "commandSequenceNumber": state.next_sequence(),
                "warnings": [],
            }))
            .into_response()
        }
        Ok(Err(e)) => e.into_response(),
        Err(e) => ApiError::server(e.to_string()).into_response(),
    }
}
