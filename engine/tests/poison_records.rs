//! Fault test (c) of exactly-once queries: a poison record — one that cannot be decoded —
//! in every format Brook reads (values in JSON, DELIMITED, AVRO, PROTOBUF and KAFKA; keys
//! in KAFKA and JSON). Through the engine on a temporary data directory, with queries on
//! their own threads: the record is skipped, an entry naming its topic, partition, offset
//! and the reason goes to the processing log, the query keeps status RUNNING, and the
//! records after it (already there, and written later) reach the sink, once each.

use std::time::Duration;

use brook_engine::log::{Bytes, IsolationLevel, ReadLimit, Record};
use brook_engine::runtime::processing_log::PROCESSING_LOG_TOPIC;
use brook_engine::runtime::{Engine, EngineOptions, QueryStatus};

fn options() -> EngineOptions {
    EngineOptions {
        fsync_state: false,
        ..EngineOptions::default()
    }
}

/// Every committed record of `topic` (partition 0 and on), as (key, value) bytes.
fn records(engine: &Engine, topic: &str) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    let Ok(t) = engine.log().topic(topic) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in t.partitions() {
        let mut pos = p.start_offset();
        loop {
            let read = p
                .read_isolated(
                    pos,
                    ReadLimit::records(10_000),
                    IsolationLevel::ReadCommitted,
                )
                .unwrap();
            out.extend(
                read.records
                    .iter()
                    .map(|r| (r.key.clone(), r.value.clone())),
            );
            if read.next_offset == pos {
                break;
            }
            pos = read.next_offset;
        }
    }
    out
}

/// The processing log's entries, as JSON.
fn processing_log(engine: &Engine) -> Vec<serde_json::Value> {
    records(engine, PROCESSING_LOG_TOPIC)
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v.expect("entries have a value")).unwrap())
        .collect()
}

fn idle(engine: &mut Engine) {
    assert!(
        engine.wait_until_idle(Duration::from_secs(20)).unwrap(),
        "the queries did not catch up within 20 s"
    );
}

/// One format's scenario: `ddl` declares the stream `src` over topic `src` (one
/// partition), a CSAS copies it to `out`; good records are inserted with INSERT VALUES
/// (`good(i)` gives the statement), the poison one is appended as raw bytes.
fn poison_case(name: &str, ddl: &str, good: &dyn Fn(u32) -> String, poison: Record) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine.execute(ddl).unwrap();
    engine
        .execute("CREATE STREAM out AS SELECT * FROM src;")
        .unwrap();
    for i in 0..3 {
        engine.execute(&good(i)).unwrap();
    }
    let src = engine.log().topic("src").unwrap();
    let poison_offset = src.append(0, &[poison]).unwrap().base_offset;
    for i in 3..6 {
        engine.execute(&good(i)).unwrap();
    }
    idle(&mut engine);
    let q = engine.queries().into_iter().next().unwrap();
    assert_eq!(q.status, QueryStatus::Running, "{name}: {:?}", q.status);
    assert_eq!(
        q.failed,
        1,
        "{name}: one record failed; sink {:?}",
        records(&engine, "OUT")
    );
    assert_eq!(
        records(&engine, "OUT").len(),
        6,
        "{name}: every good record reached the sink, once"
    );
    let entries = processing_log(&engine);
    assert_eq!(entries.len(), 1, "{name}: {entries:?}");
    let e = &entries[0];
    assert_eq!(e["QUERY_ID"], q.id.as_str(), "{name}: {e}");
    assert_eq!(e["ERROR_TYPE"], "DESERIALIZATION_ERROR", "{name}: {e}");
    assert_eq!(e["TOPIC"], "src", "{name}: {e}");
    assert_eq!(e["PARTITION"], 0, "{name}: {e}");
    assert_eq!(e["OFFSET"], poison_offset, "{name}: {e}");
    assert!(
        e["MESSAGE"].as_str().is_some_and(|m| !m.is_empty()),
        "{name}: the entry says why: {e}"
    );
    // Still running: records written later are processed too.
    for i in 6..9 {
        engine.execute(&good(i)).unwrap();
    }
    idle(&mut engine);
    assert_eq!(records(&engine, "OUT").len(), 9, "{name}");
    let q = engine.queries().into_iter().next().unwrap();
    assert_eq!(q.status, QueryStatus::Running, "{name}");
    assert_eq!(q.failed, 1, "{name}");
    // The users' stream over the processing log reads the entry too.
    let rows = engine
        .execute("SELECT QUERY_ID, ERROR_TYPE, `OFFSET` FROM KSQL_PROCESSING_LOG;")
        .unwrap();
    let text = format!("{rows:?}");
    assert!(text.contains("DESERIALIZATION_ERROR"), "{name}: {text}");
    engine.shutdown().unwrap();
}

fn value(bytes: &'static [u8]) -> Record {
    Record::new(
        Some(Bytes::from_static(b"k")),
        Some(Bytes::from_static(bytes)),
        0,
    )
}

#[test]
fn a_poison_json_value_is_skipped_and_logged() {
    poison_case(
        "JSON",
        "CREATE STREAM src (id STRING KEY, v INT) \
         WITH (kafka_topic='src', value_format='JSON', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v) VALUES ('k{i}', {i});"),
        value(b"{\"V\": 1, truncated"),
    );
}

#[test]
fn a_poison_delimited_value_is_skipped_and_logged() {
    poison_case(
        "DELIMITED",
        "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
         WITH (kafka_topic='src', value_format='DELIMITED', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');"),
        // An INT column that holds no number.
        value(b"not-a-number,x"),
    );
}

#[test]
fn a_poison_avro_value_is_skipped_and_logged() {
    poison_case(
        "AVRO",
        "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
         WITH (kafka_topic='src', value_format='AVRO', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');"),
        // Framed as ksqlDB writes it, then a union branch (2) the schema does not have.
        value(b"\x00\x00\x00\x00\x01\x04"),
    );
}

#[test]
fn a_poison_protobuf_value_is_skipped_and_logged() {
    poison_case(
        "PROTOBUF",
        "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
         WITH (kafka_topic='src', value_format='PROTOBUF', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');"),
        value(b"\x00\x00\x00\x00\x01\x00\x0a\xff\xff\xff"),
    );
}

#[test]
fn a_poison_kafka_value_is_skipped_and_logged() {
    poison_case(
        "KAFKA",
        "CREATE STREAM src (id STRING KEY, v INT) \
         WITH (kafka_topic='src', value_format='KAFKA', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v) VALUES ('k{i}', {i});"),
        // An INT is 4 bytes.
        value(b"\x01\x02\x03"),
    );
}

#[test]
fn a_poison_kafka_key_is_skipped_and_logged() {
    poison_case(
        "KAFKA key",
        "CREATE STREAM src (id INT KEY, v INT) \
         WITH (kafka_topic='src', value_format='JSON', key_format='KAFKA', partitions=1);",
        &|i| format!("INSERT INTO src (id, v) VALUES ({i}, {i});"),
        Record::new(
            Some(Bytes::from_static(b"\x01\x02")),
            Some(Bytes::from_static(b"{\"V\": 1}")),
            0,
        ),
    );
}

#[test]
fn a_poison_json_key_is_skipped_and_logged() {
    poison_case(
        "JSON key",
        "CREATE STREAM src (id INT KEY, v INT) \
         WITH (kafka_topic='src', value_format='JSON', key_format='JSON', partitions=1);",
        &|i| format!("INSERT INTO src (id, v) VALUES ({i}, {i});"),
        Record::new(
            Some(Bytes::from_static(b"\"not an int\"")),
            Some(Bytes::from_static(b"{\"V\": 1}")),
            0,
        ),
    );
}
