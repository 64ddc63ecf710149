//! The conformance runner: runs ksqlDB-format test cases (see `../shared/qtt/README.md`)
//! against a fresh engine each, and says PASS, FAIL (with expected vs actual) or SKIP.
//! `brook test` and the regression ratchet both use it; users test their own SQL with it.
//!
//! A case runs in a temporary data directory: its topics are created, its statements run in
//! order (as one script joined by newlines, as ksqlDB's harness runs them, so that error
//! positions count lines from the first statement), each input record is appended (encoded with the formats of the source declared
//! over its topic) and the queries run until idle before the next, as ksqlDB's test driver
//! pipes records one at a time. Then each topic's records are decoded with the formats of
//! the source over it and compared, in order, with the expected outputs.

pub mod compare;
pub mod proto_response;
pub mod rest;
pub mod schemas;

use std::collections::BTreeMap;

use brook_log::{ReadLimit, Record, TopicConfig};
use brook_qtt::CaseVariant;
use brook_sql::analyzer::SourceEntry;
use bytes::Bytes;
use serde_json::Value;

use crate::formats::windowed::{
    decode_windowed, encode_windowed, window_from_json, window_to_json,
};
use crate::runtime::{Engine, EngineError, EngineOptions};
use compare::{diff_topic, LogicalRecord};

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Why it failed: the first mismatch, expected vs actual.
    Fail(String),
    /// Why the runner could not express it.
    Skip(String),
}

/// A case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub outcome: Outcome,
}

impl CaseResult {
    /// `file :: name`, the id the ratchet file lists.
    pub fn id(&self) -> String {
        format!("{} :: {}", self.file, self.name)
    }
}

/// Runs one case variant.
pub fn run_case(case: &CaseVariant) -> CaseResult {
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(case))) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Fail(format!("the engine panicked: {msg}"))
        }
    };
    CaseResult {
        file: case.file.clone(),
        name: case.name.clone(),
        outcome,
    }
}

/// Runs one REST case through the target `connect` makes of its fresh engine (brook-server
/// runs the cases over HTTP this way); other cases as [`run_case`] runs them.
pub fn run_case_with(
    case: &CaseVariant,
    connect: &mut dyn FnMut(Engine) -> Result<Box<dyn rest::RestTarget>, String>,
) -> CaseResult {
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if case.case.get("enabled") == Some(&Value::Bool(false)) {
            return Outcome::Skip("the case is disabled in its file".into());
        }
        if rest::is_rest_case(case) {
            rest::run_with(case, connect)
        } else {
            run(case)
        }
    })) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Outcome::Fail(format!("the engine panicked: {msg}"))
        }
    };
    CaseResult {
        file: case.file.clone(),
        name: case.name.clone(),
        outcome,
    }
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn run(case: &CaseVariant) -> Outcome {
    let c = &case.case;
    if c.get("enabled") == Some(&Value::Bool(false)) {
        return Outcome::Skip("the case is disabled in its file".into());
    }
    if rest::is_rest_case(case) {
        return rest::run(case);
    }
    let (_dir, mut engine) = match open_case_engine(case, true) {
        Ok(x) => x,
        Err(o) => return o,
    };

    let expected_error = case.expected_error().map(|e| {
        (
            e.get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        )
    });
    // ksqlDB's test harness runs a case's statements as one script, joined by newlines, so
    // error positions count lines from the script's start. Its REST harness does so for
    // the statements it sends to `/ksql`, and sends each query (`SELECT`) on its own.
    let rest = c.get("responses").is_some() || c.get("expectedError").is_some();
    let (scripts, placed) = harness_scripts(&case.statements, rest);
    let mut split = Vec::with_capacity(scripts.len());
    for script in &scripts {
        match brook_sql::split_statements(script) {
            Ok(p) => split.push(p),
            Err(e) => {
                let e = e.render(script, "<input>");
                return match &expected_error {
                    Some((_, m)) if e.contains(m.as_str()) => Outcome::Pass,
                    _ => Outcome::Fail(format!("the statements do not parse:\n  {}", indent(&e))),
                };
            }
        }
    }
    // The pieces of each statement, in the order the case gives them.
    let pieces = placed.iter().flat_map(|(i, range)| {
        split[*i]
            .iter()
            .filter(move |p| range.contains(&p.offset))
            .map(move |p| (*i, p))
    });
    for (i, piece) in pieces {
        let script = &scripts[i];
        let sql = piece.text;
        let run = engine
            .parse_piece(piece)
            .map_err(|e| e.render(script, "<input>"))
            .and_then(|st| {
                engine
                    .execute_statement(&st, sql, script, "<input>")
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = run {
            return match &expected_error {
                Some((_, m)) if e.to_string().contains(m.as_str()) => Outcome::Pass,
                Some((t, m)) => Outcome::Fail(format!(
                    "expected {t} with message containing:\n  {m}\ngot:\n  {}",
                    indent(&e.to_string())
                )),
                None => Outcome::Fail(format!(
                    "statement failed: {sql}\n  {}",
                    indent(&e.to_string())
                )),
            };
        }
    }

    if let Err(e) = feed_inputs(&mut engine, c) {
        return match &expected_error {
            Some((_, m)) if e.contains(m.as_str()) => Outcome::Pass,
            _ => Outcome::Fail(e),
        };
    }
    if let Some((t, m)) = &expected_error {
        return Outcome::Fail(format!(
            "expected {t} with message containing:\n  {m}\nbut every statement succeeded"
        ));
    }
    if let Err(e) = check_outputs(&engine, c) {
        return Outcome::Fail(e);
    }
    if let Err(e) = check_post(&engine, c) {
        return Outcome::Fail(e);
    }
    Outcome::Pass
}

/// The scripts ksqlDB's harness runs `statements` as: one joined by newlines (for a REST
/// case, of every statement but the queries), then each query of a REST case on its own.
/// For each statement in order: its script and the byte range it occupies there.
fn harness_scripts(
    statements: &[String],
    rest: bool,
) -> (Vec<String>, Vec<(usize, std::ops::Range<usize>)>) {
    let is_query = |s: &str| {
        rest && s
            .trim_start()
            .get(..6)
            .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
    };
    let mut scripts = vec![String::new()];
    let mut placed = Vec::with_capacity(statements.len());
    for s in statements {
        if is_query(s) {
            scripts.push(s.clone());
            placed.push((scripts.len() - 1, 0..s.len()));
        } else {
            let joined = &mut scripts[0];
            if !joined.is_empty() {
                joined.push('\n');
            }
            let start = joined.len();
            joined.push_str(s);
            placed.push((0, start..joined.len()));
        }
    }
    (scripts, placed)
}

/// A fresh engine in a temporary directory (kept alive by the returned guard) with the
/// case's properties set, its topics created and their schemas registered.
///
/// Topics that only the case's inputs name are created first (with one partition) when
/// `create_input_topics`.
pub(crate) fn open_case_engine(
    case: &CaseVariant,
    create_input_topics: bool,
) -> Result<(tempfile::TempDir, Engine), Outcome> {
    let c = &case.case;
    // A case's directory is thrown away: keep it in memory (/dev/shm) where there is one,
    // so the fsyncs of creating RocksDB stores and topics cost nothing.
    let shm = std::path::Path::new("/dev/shm");
    let dir = match if shm.is_dir() {
        tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    } {
        Ok(d) => d,
        Err(e) => {
            return Err(Outcome::Fail(format!(
                "cannot create a temporary directory: {e}"
            )))
        }
    };
    let options = EngineOptions {
        create_missing_topics: true,
        processing_log_stream: false,
        persist_commands: false,
        conformance_test_functions: true,
        fsync_state: false,
        // ksqlDB's test harness runs with caching off: every update is an output.
        record_cache_keys: 0,
        // The harness steps the queries after each input, in order, as ksqlDB's does.
        background_queries: false,
        processing_guarantee: crate::runtime::ProcessingGuarantee::default(),
        functions: Vec::new(),
    };
    let mut engine = match Engine::open(dir.path(), options) {
        Ok(e) => e,
        Err(e) => return Err(Outcome::Fail(format!("cannot open an engine: {e}"))),
    };
    if let Some(props) = c.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            engine.set_property(k, &str_of(v));
        }
    }
    // Topics the case declares, with the schemas registered for them.
    for t in c
        .get("topics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = t.get("name").and_then(Value::as_str) else {
            continue;
        };
        let partitions = t.get("partitions").and_then(Value::as_u64).unwrap_or(1) as u32;
        if let Err(e) = engine
            .log()
            .topic_or_create(name, TopicConfig::new(partitions.max(1)))
        {
            return Err(Outcome::Fail(format!("cannot create topic {name}: {e}")));
        }
        for (is_key, field, fmt_field) in [
            (true, "keySchema", "keyFormat"),
            (false, "valueSchema", "valueFormat"),
        ] {
            let Some(schema) = t.get(field) else { continue };
            let format = t
                .get(fmt_field)
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| case.format.clone())
                .unwrap_or_else(|| "AVRO".into());
            let registered = schemas::convert_schema(&format, schema, t);
            let avro = if format.eq_ignore_ascii_case("AVRO") {
                match schema {
                    Value::String(s) => serde_json::from_str(s).ok().or(Some(schema.clone())),
                    v => Some(v.clone()),
                }
            } else if format.to_ascii_uppercase().starts_with("PROTOBUF") {
                schemas::proto_provided(t, schema)
            } else if format.to_ascii_uppercase().starts_with("JSON") {
                match schema {
                    Value::String(s) => serde_json::from_str(s).ok(),
                    v => Some(v.clone()),
                }
            } else {
                None
            };
            engine.register_schema(name, is_key, registered, avro);
        }
    }
    for i in c
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|_| create_input_topics)
    {
        if let Some(t) = i.get("topic").and_then(Value::as_str) {
            let _ = engine.log().topic_or_create(t, TopicConfig::new(1));
        }
    }

    Ok((dir, engine))
}

pub(crate) fn indent(s: &str) -> String {
    s.replace('\n', "\n  ")
}

/// The source whose formats read or write `topic`: a source declared over it, preferring
/// one created by a query when `prefer_sink`.
fn source_for_topic(engine: &Engine, topic: &str, prefer_sink: bool) -> Option<SourceEntry> {
    let mut found: Vec<&SourceEntry> = engine
        .catalog()
        .sources
        .values()
        .filter(|s| s.topic == topic)
        .collect();
    found.sort_by_key(|s| if s.from_query == prefer_sink { 0 } else { 1 });
    found.first().map(|s| (*s).clone())
}

pub(crate) fn feed_inputs(engine: &mut Engine, c: &Value) -> Result<(), String> {
    let run = |engine: &mut Engine| -> Result<(), String> {
        engine
            .run_until_idle()
            .map(|_| ())
            .map_err(|e| format!("a query failed: {e}"))
    };
    for input in c
        .get("inputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let topic_name = input.get("topic").and_then(Value::as_str).unwrap_or("");
        let topic = engine
            .log()
            .topic_or_create(topic_name, TopicConfig::new(1))
            .map_err(|e| format!("cannot create input topic {topic_name}: {e}"))?;
        let key = input.get("key").cloned().unwrap_or(Value::Null);
        let value = input.get("value").cloned().unwrap_or(Value::Null);
        let timestamp = input.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
        let (kbytes, vbytes) = match source_for_topic(engine, topic_name, false) {
            Some(entry) => {
                let codec = engine.codec(&entry).map_err(|e| e.to_string())?;
                let k = codec
                    .key_format()
                    .json_to_payload(&key)
                    .map_err(|e| format!("cannot encode input key {key}: {e}"))?;
                let k = match (input.get("window"), codec.window_type(), k) {
                    (Some(w), Some(_), Some(k)) => {
                        let (window, wt) = window_from_json(w).map_err(|e| e.to_string())?;
                        Some(encode_windowed(&k, window, wt))
                    }
                    (_, _, k) => k,
                };
                let v = codec
                    .value_format()
                    .json_to_payload(&value)
                    .map_err(|e| format!("cannot encode input value {value}: {e}"))?;
                (k, v)
            }
            None => (
                (!key.is_null()).then(|| str_of(&key).into_bytes()),
                (!value.is_null()).then(|| str_of(&value).into_bytes()),
            ),
        };
        let mut record = Record::new(kbytes.map(Bytes::from), vbytes.map(Bytes::from), timestamp);
        for h in input
            .get("headers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = h
                .get("KEY")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let value = h.get("VALUE").and_then(Value::as_str).map(|v| {
                use base64::Engine as _;
                Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .unwrap_or_else(|_| v.as_bytes().to_vec()),
                )
            });
            record = record.with_header(name, value);
        }
        let partition = match input.get("partition").and_then(Value::as_u64) {
            Some(p) => p as u32,
            None => match &record.key {
                Some(k) => topic.partition_for_key(k),
                None => 0,
            },
        };
        topic
            .append(partition, &[record])
            .map_err(|e| format!("cannot append input to {topic_name}: {e}"))?;
        run(engine)?;
    }
    run(engine)
}

/// Every record of `topic` in its logical form.
fn read_topic(engine: &Engine, topic: &str) -> Result<Vec<LogicalRecord>, String> {
    let Ok(t) = engine.log().topic(topic) else {
        return Ok(Vec::new());
    };
    let entry = source_for_topic(engine, topic, true);
    let codec = match &entry {
        Some(e) => Some(engine.codec(e).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut out = Vec::new();
    for p in t.partitions() {
        let mut from = p.start_offset();
        loop {
            let records = p
                .read(from, ReadLimit::records(4096))
                .map_err(|e| e.to_string())?;
            let Some(last) = records.last() else { break };
            from = last.offset + 1;
            for r in records {
                let (key, value, window) = match &codec {
                    Some(codec) => {
                        let (kb, window) = match (codec.window_type(), r.key.as_deref()) {
                            (Some(wt), Some(k)) => {
                                let size = entry
                                    .as_ref()
                                    .and_then(|e| e.window)
                                    .and_then(|w| w.size_ms)
                                    .unwrap_or(0) as i64;
                                let (inner, w) =
                                    decode_windowed(k, wt, size).map_err(|e| e.to_string())?;
                                (Some(inner.to_vec()), Some(window_to_json(w, wt)))
                            }
                            (_, k) => (k.map(|k| k.to_vec()), None),
                        };
                        let key = codec
                            .key_format()
                            .payload_to_json(kb.as_deref())
                            .unwrap_or_else(|e| Value::String(format!("<undecodable key: {e}>")));
                        let value = codec
                            .value_format()
                            .payload_to_json(r.value.as_deref())
                            .unwrap_or_else(|e| Value::String(format!("<undecodable value: {e}>")));
                        (key, value, window)
                    }
                    None => (
                        r.key
                            .as_deref()
                            .map(|k| Value::String(String::from_utf8_lossy(k).into_owned()))
                            .unwrap_or(Value::Null),
                        r.value
                            .as_deref()
                            .map(|v| {
                                serde_json::from_slice(v).unwrap_or_else(|_| {
                                    Value::String(String::from_utf8_lossy(v).into_owned())
                                })
                            })
                            .unwrap_or(Value::Null),
                        None,
                    ),
                };
                out.push(LogicalRecord {
                    key,
                    value,
                    timestamp: Some(r.timestamp),
                    window,
                });
            }
        }
    }
    Ok(out)
}

pub(crate) fn check_outputs(engine: &Engine, c: &Value) -> Result<(), String> {
    let mut expected: BTreeMap<String, Vec<LogicalRecord>> = BTreeMap::new();
    for o in c
        .get("outputs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let topic = o
            .get("topic")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        expected.entry(topic).or_default().push(LogicalRecord {
            key: o.get("key").cloned().unwrap_or(Value::Null),
            value: o.get("value").cloned().unwrap_or(Value::Null),
            timestamp: o.get("timestamp").and_then(Value::as_i64),
            window: o.get("window").cloned(),
        });
    }
    for (topic, records) in &expected {
        let actual = read_topic(engine, topic)?;
        if let Some(d) = diff_topic(topic, records, &actual) {
            return Err(d);
        }
    }
    Ok(())
}

/// A schema string compared loosely: case, quoting and spacing aside; INTEGER is INT.
fn normalize_schema(s: &str) -> String {
    let s = s.trim().trim_start_matches('[').trim_end_matches(']');
    let words: Vec<String> = s
        .replace('`', "")
        .to_ascii_uppercase()
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '<' | '>' | '(' | ')'))
        .filter(|w| !w.is_empty())
        .map(|w| match w {
            "INTEGER" => "INT".to_string(),
            "VARCHAR" => "STRING".to_string(),
            w => w.to_string(),
        })
        .collect();
    // `PRIMARY KEY` and `KEY` are the same key column in a logical schema.
    let words: Vec<&str> = words
        .iter()
        .enumerate()
        .filter(|(i, w)| !(*w == "PRIMARY" && words.get(i + 1).is_some_and(|n| n == "KEY")))
        .map(|(_, w)| w.as_str())
        .collect();
    words.join(" ")
}

fn check_post(engine: &Engine, c: &Value) -> Result<(), String> {
    let Some(post) = c.get("post") else {
        return Ok(());
    };
    for s in post
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        let Some(entry) = engine.catalog().sources.get(name) else {
            return Err(format!("post: expected source {name} to exist"));
        };
        if let Some(t) = s.get("type").and_then(Value::as_str) {
            let actual = if entry.is_table() { "table" } else { "stream" };
            if !t.eq_ignore_ascii_case(actual) {
                return Err(format!(
                    "post: source {name}: expected type {t}, actual {actual}"
                ));
            }
        }
        if let Some(schema) = s.get("schema").and_then(Value::as_str) {
            let actual = brook_sql::plan::Schema::new(entry.columns.clone()).describe();
            if normalize_schema(schema) != normalize_schema(&actual) {
                return Err(format!(
                    "post: source {name} schema\n  expected: {schema}\n  actual:   {actual}"
                ));
            }
        }
        for (field, info) in [
            ("keyFormat", &entry.key_format),
            ("valueFormat", &entry.value_format),
        ] {
            if let Some(f) = s
                .get(field)
                .and_then(|f| f.get("format"))
                .and_then(Value::as_str)
            {
                if !f.eq_ignore_ascii_case(&info.name) {
                    return Err(format!(
                        "post: source {name} {field}: expected {f}, actual {}",
                        info.name
                    ));
                }
            }
        }
    }
    if let Some(bl) = post
        .get("topics")
        .and_then(|t| t.get("blacklist"))
        .and_then(Value::as_str)
    {
        if let Ok(re) = regex::Regex::new(&format!("^{bl}$")) {
            if let Some(t) = engine.log().topics().into_iter().find(|t| re.is_match(t)) {
                return Err(format!("post: topic {t} should not exist (blacklist {bl})"));
            }
        }
    }
    Ok(())
}

/// Runs many cases, calling `each` with every result as it comes.
pub fn run_cases(cases: &[CaseVariant], mut each: impl FnMut(&CaseResult)) -> Vec<CaseResult> {
    cases
        .iter()
        .map(|c| {
            let r = run_case(c);
            each(&r);
            r
        })
        .collect()
}

/// Whether an engine error is a "not supported yet".
pub fn is_not_supported(e: &EngineError) -> bool {
    match e {
        EngineError::NotSupportedYet(_) => true,
        EngineError::Processing { cause, .. } => is_not_supported(cause),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_run_as_ksqldb_harnesses_send_them() {
        let sts = vec![
            "CREATE STREAM A (X INT) WITH (kafka_topic='a', value_format='JSON');".to_string(),
            "SELECT * FROM A;".to_string(),
            "INSERT INTO A (X) VALUES (1);".to_string(),
        ];
        // The functional tests: one script.
        let (scripts, placed) = harness_scripts(&sts, false);
        assert_eq!(scripts, vec![sts.join("\n")]);
        assert_eq!(&scripts[0][placed[2].1.clone()], sts[2]);
        // The REST tests: the query on its own.
        let (scripts, placed) = harness_scripts(&sts, true);
        assert_eq!(scripts.len(), 2);
        assert_eq!(scripts[1], sts[1]);
        assert_eq!(placed[1], (1, 0..sts[1].len()));
        assert_eq!(scripts[0], format!("{}\n{}", sts[0], sts[2]));
    }
}
