//! rest.rs runs the REST conformance cases (`rest-query-validation-tests`): statements whose
//! responses are checked, as ksqlDB's `RestTestExecutor` runs them against a server.
//!
//! The steps, in ksqlDB's order:
//! Statements run through [`run_rest_statements`], the loop brook-server's `/ksql` runs too
//! (only the rendering of results differs: here the fields the harness checks).
//!
//! 1. The statements before the first one starting with `SELECT ` are "admin" statements,
//!    run in order. Each yields one `admin` response (an entity such as `currentStatus`),
//!    except `INSERT ... VALUES`, `SET`/`UNSET` and `DEFINE`/`UNDEFINE`, which yield none (as
//!    ksqlDB's server returns no entity for them). A failing admin statement ends the case:
//!    it passes when the case expects that error (`expectedError.message` contained in ours).
//! 2. The inputs are appended and the persistent queries run until idle.
//! 3. Each query statement yields a `query` response: a `header` (`schema` in ksqlDB's form:
//!    key columns marked `KEY` for pull queries over tables, none for streams and push
//!    queries), one `row` per result row (`columns`, and `tombstone` for deletions), and a
//!    `finalMessage`: `Limit Reached` after a push query or a pull query over a stream that
//!    hit its `LIMIT`, else `Query Completed` after a pull query over a stream. A failing
//!    query must be the expected error.
//!    Statements that do not parse fail as the REST API words it (`line L:C: ...`).
//! 4. Expected `outputs` are checked like the query-validation runner checks them, then each
//!    expected response against the actual one at the same index. As ksqlDB's harness does,
//!    an expected object only names the fields it checks (`key|startsWith` compares a
//!    prefix), a query response must have exactly as many entries, and — unless the case sets
//!    `outputConditions.verifyOrder` — the rows' `columns` are compared as a multiset.
//!
//! Cases with `testPullWithProtoFormat` then run each query again for its `/query-stream`
//! response in PROTOBUF (`queryProto`, see `proto_response`): the header's `protoSchema`
//! and the final message must be equal, the rows' text equal as sorted lists.

use std::convert::Infallible;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use brook_log::TopicConfig;
use brook_qtt::CaseVariant;
use brook_sql::ast::{Literal, StatementKind};

use super::compare::json_equal;
use super::proto_response::{proto_row, proto_schema};
use super::{check_outputs, feed_inputs, indent, open_case_engine, Outcome};
use crate::runtime::results::{final_message, query_response, QueryShape};
use crate::runtime::{Engine, EngineError, QueryRows, StatementResult};

/// Partitions of the topics ksqlDB's REST harness creates for a case's statements.
const HARNESS_PARTITIONS: u32 = 4;

/// Whether a case is a REST case: it expects responses or a REST error, or runs queries.
pub fn is_rest_case(case: &CaseVariant) -> bool {
    case.case.get("responses").is_some()
        || case.case.get("expectedError").is_some()
        || case.statements.iter().any(|s| s.starts_with("SELECT "))
}

/// One response of the server, as ksqlDB's REST API writes it.
#[derive(Debug, Clone)]
pub enum Response {
    Admin(Value),
    Query(Vec<Value>),
    /// A query's `/query-stream` response in PROTOBUF: rows in protobuf text format.
    QueryProto(Vec<Value>),
}

impl Response {
    fn kind(&self) -> &'static str {
        match self {
            Response::Admin(_) => "admin",
            Response::Query(_) => "query",
            Response::QueryProto(_) => "queryProto",
        }
    }

    fn render(&self) -> String {
        match self {
            Response::Admin(v) => format!("admin {v}"),
            Response::Query(rows) | Response::QueryProto(rows) => {
                let mut s = format!("{} [", self.kind());
                for r in rows {
                    s.push_str("\n  ");
                    s.push_str(&r.to_string());
                }
                s.push_str("\n]");
                s
            }
        }
    }
}

/// What one statement did: a response, no response, or an error.
pub enum StatementOutcome {
    Response(Response),
    NoResponse,
    Error(String),
}

/// Where a REST case's statements go: the engine in this process ([`InProcess`]), or a
/// server over HTTP (brook-server's). Inputs are appended and outputs read through
/// [`RestTarget::engine`] either way, as ksqlDB's harness reaches its Kafka directly.
pub trait RestTarget {
    /// The case's engine.
    fn engine(&self) -> &Mutex<Engine>;
    /// Runs one statement of the case (`proto`: a query asking for PROTOBUF rows) and turns
    /// the reply into the response ksqlDB's server would give.
    fn execute(&mut self, sql: &str, proto: bool) -> StatementOutcome;
}

/// Statements run on the engine directly, answered as the server would answer them.
pub struct InProcess(pub Mutex<Engine>);

impl RestTarget for InProcess {
    fn engine(&self) -> &Mutex<Engine> {
        &self.0
    }

    fn execute(&mut self, sql: &str, proto: bool) -> StatementOutcome {
        let mut engine = self.0.lock().unwrap_or_else(|p| p.into_inner());
        execute(&mut engine, sql, proto)
    }
}

fn lock(t: &dyn RestTarget) -> std::sync::MutexGuard<'_, Engine> {
    t.engine().lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs a REST case in this process.
pub fn run(case: &CaseVariant) -> Outcome {
    run_with(case, &mut |engine| {
        Ok(Box::new(InProcess(Mutex::new(engine))))
    })
}

/// Runs a REST case through the target `connect` makes of the case's fresh engine (a
/// fresh engine, hence a fresh server, per case).
pub fn run_with(
    case: &CaseVariant,
    connect: &mut dyn FnMut(Engine) -> Result<Box<dyn RestTarget>, String>,
) -> Outcome {
    let c = &case.case;
    // The statements create their topics (see `create_harness_topics`), as ksqlDB's
    // harness does.
    let (_dir, mut engine) = match open_case_engine(case, false) {
        Ok(x) => x,
        Err(o) => return o,
    };
    // ksqlDB's REST harness runs its server with `auto.offset.reset=earliest`, so push
    // queries see the inputs produced before them.
    let offset_set = ["auto.offset.reset", "ksql.streams.auto.offset.reset"]
        .iter()
        .any(|k| c.get("properties").and_then(|p| p.get(*k)).is_some());
    if !offset_set {
        engine.set_property("auto.offset.reset", "earliest");
    }
    let expected_error = case
        .expected_error()
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let error_matches = |e: &str| expected_error.as_deref().is_some_and(|m| e.contains(m));
    let first_query = case
        .statements
        .iter()
        .position(|s| s.starts_with("SELECT "))
        .unwrap_or(case.statements.len());
    if let Some(i) = case.statements[first_query..]
        .iter()
        .position(|s| !s.starts_with("SELECT "))
    {
        return Outcome::Skip(format!(
            "statement {} follows queries but is not a query (ksqlDB's harness refuses such cases)",
            first_query + i
        ));
    }

    let mut target = match connect(engine) {
        Ok(t) => t,
        Err(e) => return Outcome::Fail(format!("cannot start the case's server: {e}")),
    };
    let mut responses: Vec<Response> = Vec::new();
    for sql in &case.statements[..first_query] {
        match target.execute(sql, false) {
            StatementOutcome::Response(r) => responses.push(r),
            StatementOutcome::NoResponse => {}
            StatementOutcome::Error(e) => {
                return match &expected_error {
                    Some(_) if error_matches(&e) => Outcome::Pass,
                    Some(m) => Outcome::Fail(format!(
                        "expected an error containing:\n  {}\ngot:\n  {}",
                        indent(m),
                        indent(&e)
                    )),
                    None => Outcome::Fail(format!("statement failed: {sql}\n  {}", indent(&e))),
                };
            }
        }
    }

    if let Err(e) = feed_inputs(&mut lock(target.as_ref()), c) {
        return Outcome::Fail(e);
    }

    let mut query_succeeded = false;
    let mut query_failed = false;
    for sql in &case.statements[first_query..] {
        match target.execute(sql, false) {
            StatementOutcome::Response(r) => {
                query_succeeded = true;
                responses.push(r);
            }
            StatementOutcome::NoResponse => {}
            StatementOutcome::Error(e) => {
                query_failed = true;
                match &expected_error {
                    Some(_) if error_matches(&e) => {}
                    Some(m) => {
                        return Outcome::Fail(format!(
                            "expected an error containing:\n  {}\ngot:\n  {}",
                            indent(m),
                            indent(&e)
                        ))
                    }
                    None => return Outcome::Fail(format!("query failed: {sql}\n  {}", indent(&e))),
                }
            }
        }
    }
    // ksqlDB's harness then sends each query again to /query-stream asking for PROTOBUF;
    // the queries that fail give no response.
    if c.get("testPullWithProtoFormat") == Some(&Value::Bool(true)) {
        for sql in &case.statements[first_query..] {
            if let StatementOutcome::Response(r) = target.execute(sql, true) {
                responses.push(r);
            }
        }
    }
    if let Some(m) = &expected_error {
        if query_succeeded || !query_failed {
            return Outcome::Fail(format!(
                "expected the last statement to fail with an error containing:\n  {}\nbut it succeeded",
                indent(m)
            ));
        }
    }
    if let Err(e) = check_outputs(&lock(target.as_ref()), c) {
        return Outcome::Fail(e);
    }
    let verify_order = c
        .get("outputConditions")
        .and_then(|o| o.get("verifyOrder"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expected: Vec<&Value> = c
        .get("responses")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    match verify_responses(&responses, &expected, &case.statements, verify_order) {
        Ok(()) => Outcome::Pass,
        Err(e) => Outcome::Fail(e),
    }
}

/// Why a REST request's statements stopped (see [`run_rest_statements`]).
#[derive(Debug)]
pub enum StatementFailure<E> {
    /// A statement did not parse: ksqlDB's `line L:C: ...` wording ([`rest_parse_error`]).
    Parse(String),
    /// The caller refused the statement before it ran.
    Refused(E),
    /// The statement failed when it ran.
    Failed(String),
    /// An `ASSERT` did not hold (ksqlDB answers 417 rather than a statement error).
    AssertionFailed(String),
}

/// The failure of a request: what failed, the statement it failed at (its text with the
/// `;`, or the whole request when it could not be split), and the responses of the
/// statements before it.
#[derive(Debug)]
pub struct RequestFailure<R, E> {
    pub failure: StatementFailure<E>,
    pub statement_text: String,
    pub responses: Vec<Option<R>>,
}

/// What [`run_rest_statements`] calls before a statement runs: refuses it (`E`) or notes
/// what its response needs (`T`).
pub type BeforeStatement<'a, T, E> = dyn FnMut(&Engine, &brook_sql::Statement) -> Result<T, E> + 'a;

/// What [`run_rest_statements`] calls with a statement's text (with its `;`), the note of
/// `before` and its result: the response, or None for none.
pub type AfterStatement<'a, T, R> =
    dyn FnMut(&Engine, &str, T, StatementResult) -> Result<Option<R>, String> + 'a;

/// Runs the statements of a request as ksqlDB's `/ksql` endpoint runs them, in order, and
/// turns each result into its response — the one loop the server (`/ksql`) and the
/// in-process REST runner share. Each statement is parsed (with the engine's variables);
/// `before` sees it first and may refuse it (or note what its response needs, `T`); it
/// runs; `after` turns its result into the response, None for a statement ksqlDB answers
/// with no entity. SET/UNSET/DEFINE/UNDEFINE get no response and skip `after`. One entry
/// per statement; the first failure ends the request.
pub fn run_rest_statements<T, R, E>(
    engine: &mut Engine,
    sql: &str,
    before: &mut BeforeStatement<'_, T, E>,
    after: &mut AfterStatement<'_, T, R>,
) -> Result<Vec<Option<R>>, RequestFailure<R, E>> {
    let pieces = brook_sql::split_statements(sql).map_err(|e| RequestFailure {
        failure: StatementFailure::Parse(rest_parse_error(&e, sql)),
        statement_text: sql.to_string(),
        responses: Vec::new(),
    })?;
    let mut responses: Vec<Option<R>> = Vec::new();
    for piece in &pieces {
        // ksqlDB's statement text is the statement with its `;`.
        let statement_text = format!("{};", piece.text);
        let st = match engine.parse_piece(piece) {
            Ok(st) => st,
            Err(e) => {
                return Err(RequestFailure {
                    failure: StatementFailure::Parse(rest_parse_error(&e, sql)),
                    statement_text,
                    responses,
                })
            }
        };
        let noted = match before(engine, &st) {
            Ok(t) => t,
            Err(e) => {
                return Err(RequestFailure {
                    failure: StatementFailure::Refused(e),
                    statement_text,
                    responses,
                })
            }
        };
        let silent = matches!(
            st.kind,
            StatementKind::SetProperty { .. }
                | StatementKind::UnsetProperty { .. }
                | StatementKind::Define { .. }
                | StatementKind::Undefine { .. }
        );
        let outcome = match engine.execute_statement(&st, piece.text, sql, "<input>") {
            Err(EngineError::AssertionFailed(m)) => Err(StatementFailure::AssertionFailed(m)),
            Err(e) => Err(StatementFailure::Failed(e.to_string())),
            Ok(_) if silent => Ok(None),
            Ok(result) => {
                after(engine, &statement_text, noted, result).map_err(StatementFailure::Failed)
            }
        };
        match outcome {
            Ok(r) => responses.push(r),
            Err(failure) => {
                return Err(RequestFailure {
                    failure,
                    statement_text,
                    responses,
                })
            }
        }
    }
    Ok(responses)
}

/// Runs one statement and turns its result into the response ksqlDB's server would give:
/// the last statement's, when `sql` holds several.
fn execute(engine: &mut Engine, sql: &str, proto: bool) -> StatementOutcome {
    let mut before = |engine: &Engine, st: &brook_sql::Statement| -> Result<_, Infallible> {
        create_harness_topic(engine, &st.kind);
        Ok((
            QueryShape::of(engine.catalog(), &st.kind),
            entity_type(&st.kind),
        ))
    };
    let mut after = |_: &Engine,
                     text: &str,
                     (query, entity): (Option<QueryShape>, &'static str),
                     result: StatementResult|
     -> Result<Option<Response>, String> {
        // The harness's expected statement texts carry no `;`.
        let text = text.strip_suffix(';').unwrap_or(text);
        Ok(match (result, query) {
            (StatementResult::Rows(rows), Some(shape)) if proto => {
                Some(Response::QueryProto(proto_query_response(&rows, shape)?))
            }
            (StatementResult::Rows(rows), Some(shape)) => {
                Some(Response::Query(query_response(&rows, shape)?))
            }
            (StatementResult::Inserted { .. }, _) => None,
            (StatementResult::Listing(_), _) => Some(Response::Admin(
                json!({"@type": entity, "statementText": text}),
            )),
            (StatementResult::Push(_) | StatementResult::Print(_), _) => {
                return Err("a live query or PRINT has no REST response in this runner".into())
            }
            (StatementResult::Message(m), _)
            | (StatementResult::QueryStarted { message: m, .. }, _) => {
                Some(Response::Admin(current_status(text, &m)))
            }
            (StatementResult::Nothing, _) | (StatementResult::Rows(_), None) => {
                Some(Response::Admin(current_status(text, "")))
            }
        })
    };
    match run_rest_statements(engine, sql, &mut before, &mut after) {
        Ok(responses) => match responses.into_iter().last().flatten() {
            Some(r) => StatementOutcome::Response(r),
            None => StatementOutcome::NoResponse,
        },
        Err(RequestFailure { failure, .. }) => StatementOutcome::Error(match failure {
            StatementFailure::Parse(m)
            | StatementFailure::Failed(m)
            | StatementFailure::AssertionFailed(m) => m,
            StatementFailure::Refused(never) => match never {},
        }),
    }
}

/// ksqlDB's REST harness creates the topics statements name with 4 partitions unless told
/// otherwise (a case's `topics`, or PARTITIONS in the statement).
pub fn create_harness_topic(engine: &Engine, kind: &StatementKind) {
    if let StatementKind::CreateSource(cs) = kind {
        if let (Some(Literal::String(topic)), None) = (
            cs.properties.get("KAFKA_TOPIC"),
            cs.properties.get("PARTITIONS"),
        ) {
            if engine.log().topic(topic).is_err() {
                let _ = engine
                    .log()
                    .topic_or_create(topic, TopicConfig::new(HARNESS_PARTITIONS));
            }
        }
    }
}

/// [`create_harness_topic`] for every statement of `sql` that parses (with `variables`,
/// left as they are).
pub fn create_harness_topics(
    engine: &Engine,
    sql: &str,
    variables: &std::collections::HashMap<String, String>,
) {
    let Ok(pieces) = brook_sql::split_statements(sql) else {
        return;
    };
    let mut vars = variables.clone();
    for piece in &pieces {
        if let Ok(st) = brook_sql::parse_script_statement(piece, &mut vars) {
            create_harness_topic(engine, &st.kind);
        }
    }
}

/// A statement that does not parse, as ksqlDB's REST API words it: `line L:C: ...` and the
/// statement, then Brook's detail (what was expected).
pub fn rest_parse_error(e: &brook_sql::ParseError, sql: &str) -> String {
    match e.kind {
        brook_sql::ParseErrorKind::Syntax => format!(
            "line {}:{}: Syntax Error\n\nStatement: {sql}\n({})",
            e.line, e.column, e.message
        ),
        _ if e.prepare => format!(
            "Failed to prepare statement: {}\n\nStatement: {sql}",
            e.message
        ),
        _ => format!(
            "line {}:{}: {}\n\nStatement: {sql}",
            e.line, e.column, e.message
        ),
    }
}

fn current_status(statement: &str, message: &str) -> Value {
    json!({
        "@type": "currentStatus",
        "statementText": statement,
        "commandStatus": {"status": "SUCCESS", "message": message},
    })
}

/// The `@type` of the entity ksqlDB returns for a listing statement.
fn entity_type(kind: &StatementKind) -> &'static str {
    use brook_sql::ast::ShowKind;
    match kind {
        StatementKind::Show(ShowKind::Streams { .. }) => "streams",
        StatementKind::Show(ShowKind::Tables { .. }) => "tables",
        StatementKind::Show(ShowKind::Topics { .. }) => "kafka_topics",
        StatementKind::Show(ShowKind::Queries { .. }) => "queries",
        StatementKind::Show(ShowKind::Properties) => "properties",
        StatementKind::Show(ShowKind::Types) => "type_list",
        StatementKind::Show(ShowKind::Variables) => "variables",
        StatementKind::Show(ShowKind::Functions) => "function_names",
        _ => "queryDescription",
    }
}

/// The `/query-stream` response of a query in PROTOBUF: the schema, rows as text.
fn proto_query_response(rows: &QueryRows, shape: QueryShape) -> Result<Vec<Value>, String> {
    let schema = proto_schema(&rows.schema)?;
    let mut out = vec![json!({"header": {"queryId": "transient", "protoSchema": schema}})];
    for batch in &rows.batches {
        for i in 0..batch.num_rows() {
            out.push(json!({ "row": proto_row(&rows.schema, batch, i) }));
        }
    }
    if let Some(m) = final_message(shape, rows.num_rows()) {
        out.push(json!({ "finalMessage": m }));
    }
    Ok(out)
}

/// Compares the responses with the expected ones, as ksqlDB's `RestTestExecutor` does.
fn verify_responses(
    actual: &[Response],
    expected: &[&Value],
    statements: &[String],
    verify_order: bool,
) -> Result<(), String> {
    for (idx, exp) in expected.iter().enumerate() {
        let Some((kind, payload)) = exp.as_object().and_then(|o| o.iter().next()) else {
            return Err(format!("responses[{idx}] is not an object with one entry"));
        };
        let Some(act) = actual.get(idx) else {
            return Err(format!(
                "not enough responses: expected {}, got {}\nexpected responses[{idx}]: {}",
                expected.len(),
                actual.len(),
                payload
            ));
        };
        if kind != act.kind() {
            return Err(format!(
                "responses[{idx}]: expected a {kind} response, got:\n  {}",
                indent(&act.render())
            ));
        }
        let mismatch = |why: String| {
            format!(
                "{why}\nexpected responses[{idx}]: {}\nactual:   {}",
                render_expected(kind, payload),
                indent(&act.render())
            )
        };
        let mut rows = RowMultiset::default();
        match (act, payload) {
            (Response::Admin(a), Value::Object(e)) => {
                match_fields(
                    a,
                    e,
                    statements,
                    idx,
                    &format!("responses[{idx}]->admin"),
                    verify_order,
                    &mut rows,
                )
                .map_err(mismatch)?;
            }
            (Response::Query(a), Value::Array(e)) => {
                if a.len() != e.len() {
                    return Err(mismatch(format!(
                        "row count mismatch: expected {} entries, got {}",
                        e.len(),
                        a.len()
                    )));
                }
                for (i, (ar, er)) in a.iter().zip(e).enumerate() {
                    let Value::Object(er) = er else {
                        return Err(format!("responses[{idx}]->query[{i}] is not an object"));
                    };
                    match_fields(
                        ar,
                        er,
                        statements,
                        idx,
                        &format!("responses[{idx}]->query[{i}]"),
                        verify_order,
                        &mut rows,
                    )
                    .map_err(mismatch)?;
                }
            }
            (Response::QueryProto(a), Value::Array(e)) => {
                verify_proto(a, e, verify_order).map_err(mismatch)?;
            }
            _ => {
                return Err(format!(
                    "responses[{idx}]: malformed expected {kind} payload"
                ))
            }
        }
        rows.verify().map_err(mismatch)?;
    }
    Ok(())
}

/// ksqlDB's check of a PROTOBUF response: as many entries; the header's schema and the
/// final message equal; the rows' text equal, sorted unless order is verified.
fn verify_proto(actual: &[Value], expected: &[Value], verify_order: bool) -> Result<(), String> {
    if actual.len() != expected.len() {
        return Err(format!(
            "row count mismatch: expected {} entries, got {}",
            expected.len(),
            actual.len()
        ));
    }
    let find = |items: &[Value], key: &str| items.iter().find_map(|r| r.get(key).cloned());
    let schema_of = |h: Option<Value>| h.and_then(|h| h.get("protoSchema").cloned());
    let (a_schema, e_schema) = (
        schema_of(find(actual, "header")),
        schema_of(find(expected, "header")),
    );
    if e_schema.is_some() && a_schema != e_schema {
        return Err(format!(
            "Response mismatch at header->protoSchema: expected {}, got {}",
            e_schema.unwrap_or(Value::Null),
            a_schema.unwrap_or(Value::Null)
        ));
    }
    if let Some(a) = find(actual, "finalMessage") {
        let e = find(expected, "finalMessage");
        if e.as_ref() != Some(&a) {
            return Err(format!(
                "Response mismatch at finalMessage: expected {}, got {a}",
                e.unwrap_or(Value::Null)
            ));
        }
    }
    let rows = |items: &[Value]| -> Vec<String> {
        items
            .iter()
            .filter_map(|r| r.get("row"))
            .map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect()
    };
    let (mut a, mut e) = (rows(actual), rows(expected));
    if !verify_order {
        a.sort();
        e.sort();
    }
    if a != e {
        return Err(format!(
            "Response mismatch: rows differ\n  expected: {e:?}\n  actual:   {a:?}"
        ));
    }
    Ok(())
}

fn render_expected(kind: &str, payload: &Value) -> String {
    match payload {
        Value::Array(items) => {
            let mut s = format!("{kind} [");
            for r in items {
                s.push_str("\n  ");
                s.push_str(&r.to_string());
            }
            s.push_str("\n]");
            s
        }
        v => format!("{kind} {v}"),
    }
}

/// Row `columns` seen when order is not verified: compared as multisets at the end.
#[derive(Default)]
struct RowMultiset {
    actual: Vec<(Value, String)>,
    expected: Vec<Value>,
}

impl RowMultiset {
    fn verify(&self) -> Result<(), String> {
        let mut unmatched: Vec<&Value> = self.expected.iter().collect();
        for (a, path) in &self.actual {
            match unmatched.iter().position(|e| json_equal(e, a)) {
                Some(i) => {
                    unmatched.remove(i);
                }
                None => {
                    return Err(format!(
                        "Response mismatch at {path}: row {a} is not among the expected rows"
                    ))
                }
            }
        }
        if let Some(e) = unmatched.first() {
            return Err(format!("expected row {e} is missing"));
        }
        Ok(())
    }
}

/// ksqlDB's `matchResponseFields`: every field the expected object names must be in the
/// actual one, equal (or, for `name|startsWith`, a prefix); objects recurse.
fn match_fields(
    actual: &Value,
    expected: &Map<String, Value>,
    statements: &[String],
    idx: usize,
    path: &str,
    verify_order: bool,
    rows: &mut RowMultiset,
) -> Result<(), String> {
    for (k, ev) in expected {
        let (key, starts_with) = match k.split_once('|') {
            Some((key, op)) if op.eq_ignore_ascii_case("startsWith") => (key, true),
            Some((key, _)) => (key, false),
            None => (k.as_str(), false),
        };
        let Some(av) = actual.get(key) else {
            return Err(format!("Response mismatch at {path}: no field {key}"));
        };
        let new_path = format!("{path}->{key}");
        // `{STATEMENT}` in an expected string is the statement at the response's index.
        let ev = match (ev, statements.get(idx)) {
            (Value::String(s), Some(st)) => Value::String(s.replace("{STATEMENT}", st)),
            (v, _) => v.clone(),
        };
        match &ev {
            Value::Object(eo) => {
                match_fields(av, eo, statements, idx, &new_path, verify_order, rows)?;
            }
            Value::String(es) if starts_with => {
                if !av.as_str().is_some_and(|a| a.starts_with(es.as_str())) {
                    return Err(format!(
                        "Response mismatch at {new_path}: expected a string starting with {es:?}, got {av}"
                    ));
                }
            }
            _ if !verify_order
                && new_path.contains("query")
                && new_path.contains("row")
                && key.eq_ignore_ascii_case("columns") =>
            {
                rows.actual.push((av.clone(), new_path));
                rows.expected.push(ev.clone());
            }
            _ => {
                if !json_equal(&ev, av) {
                    return Err(format!(
                        "Response mismatch at {new_path}: expected {ev}, got {av}"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::results::header_schema;
    use brook_sql::plan::{Column, ColumnRole, Schema, SqlType};

    #[test]
    fn header_marks_keys_only_when_asked() {
        let schema = Schema::new(vec![
            Column::new("ID", SqlType::BigInt, ColumnRole::Key),
            Column::new("V", SqlType::String, ColumnRole::Value),
        ]);
        assert_eq!(
            header_schema(&schema, true, false),
            "`ID` BIGINT KEY, `V` STRING"
        );
        assert_eq!(
            header_schema(&schema, false, false),
            "`ID` BIGINT, `V` STRING"
        );
    }

    #[test]
    fn rows_compare_as_multisets_and_fields_partially() {
        let actual = vec![Response::Query(vec![
            json!({"header": {"queryId": "q", "schema": "`A` INTEGER"}}),
            json!({"row": {"columns": [2]}}),
            json!({"row": {"columns": [1]}}),
        ])];
        let expected = json!({"query": [
            {"header": {"schema": "`A` INTEGER"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [2]}},
        ]});
        assert!(verify_responses(&actual, &[&expected], &[], false).is_ok());
        let wrong = json!({"query": [
            {"header": {"schema": "`A` INTEGER"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [3]}},
        ]});
        assert!(verify_responses(&actual, &[&wrong], &[], false).is_err());
        assert!(verify_responses(&actual, &[&expected], &[], true).is_err());
        let prefix = json!({"query": [
            {"header": {"schema|startsWith": "`A`"}},
            {"row": {"columns": [1]}},
            {"row": {"columns": [2]}},
        ]});
        assert!(verify_responses(&actual, &[&prefix], &[], false).is_ok());
    }
}
