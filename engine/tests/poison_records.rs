//! Fault test (c) of exactly-once queries: a poison record — one that cannot be decoded —
//! in every format Brook reads (values in JSON, DELIMITED, AVRO, PROTOBUF and KAFKA; keys
//! in KAFKA and JSON). Through the engine on a temporary data directory, with queries on
//! their own threads: the record is skipped, an entry naming its topic, partition, offset
//! and the reason goes to the processing log, the query keeps status RUNNING, and the
//! records after it (already there, and written later) reach the sink, once each.

mod common;

use brook_engine::log::{Bytes, Record};
use brook_engine::runtime::processing_log::PROCESSING_LOG_TOPIC;
use brook_engine::runtime::{Engine, EngineOptions, QueryStatus};
use common::idle;

fn options() -> EngineOptions {
    EngineOptions {
        processing_log_stream: true,
        ..common::options()
    }
}

/// Every committed record of `topic`, as (key, value) bytes.
fn records(engine: &Engine, topic: &str) -> Vec<(Option<Bytes>, Option<Bytes>)> {
    common::committed_records(engine, topic)
        .into_iter()
        .map(|r| (r.key, r.value))
        .collect()
}

/// The processing log's entries, as JSON.
fn processing_log(engine: &Engine) -> Vec<serde_json::Value> {
    records(engine, PROCESSING_LOG_TOPIC)
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v.expect("entries have a value")).unwrap())
        .collect()
}

/// One format's case: `ddl` declares the stream `src` over topic `src` (one partition);
/// good records are inserted with `insert` (`{i}` replaced by 0, 1, ...); the poison
/// record, appended as raw bytes, has `key` (`k` when `None`) and `value`.
struct Case {
    name: &'static str,
    ddl: &'static str,
    insert: &'static str,
    key: Option<&'static [u8]>,
    value: &'static [u8],
}

const CASES: &[Case] = &[
    Case {
        name: "JSON",
        ddl: "CREATE STREAM src (id STRING KEY, v INT) \
              WITH (kafka_topic='src', value_format='JSON', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v) VALUES ('k{i}', {i});",
        key: None,
        value: b"{\"V\": 1, truncated",
    },
    Case {
        name: "DELIMITED",
        ddl:
            "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
              WITH (kafka_topic='src', value_format='DELIMITED', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');",
        key: None,
        // An INT column that holds no number.
        value: b"not-a-number,x",
    },
    Case {
        name: "AVRO",
        ddl: "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
              WITH (kafka_topic='src', value_format='AVRO', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');",
        key: None,
        // Framed as ksqlDB writes it, then a union branch (2) the schema does not have.
        value: b"\x00\x00\x00\x00\x01\x04",
    },
    Case {
        name: "PROTOBUF",
        ddl: "CREATE STREAM src (id STRING KEY, v INT, s STRING) \
              WITH (kafka_topic='src', value_format='PROTOBUF', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v, s) VALUES ('k{i}', {i}, 'x');",
        key: None,
        value: b"\x00\x00\x00\x00\x01\x00\x0a\xff\xff\xff",
    },
    Case {
        name: "KAFKA",
        ddl: "CREATE STREAM src (id STRING KEY, v INT) \
              WITH (kafka_topic='src', value_format='KAFKA', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v) VALUES ('k{i}', {i});",
        key: None,
        // An INT is 4 bytes.
        value: b"\x01\x02\x03",
    },
    Case {
        name: "KAFKA key",
        ddl: "CREATE STREAM src (id INT KEY, v INT) \
              WITH (kafka_topic='src', value_format='JSON', key_format='KAFKA', partitions=1);",
        insert: "INSERT INTO src (id, v) VALUES ({i}, {i});",
        key: Some(b"\x01\x02"),
        value: b"{\"V\": 1}",
    },
    Case {
        name: "JSON key",
        ddl: "CREATE STREAM src (id INT KEY, v INT) \
              WITH (kafka_topic='src', value_format='JSON', key_format='JSON', partitions=1);",
        insert: "INSERT INTO src (id, v) VALUES ({i}, {i});",
        key: Some(b"\"not an int\""),
        value: b"{\"V\": 1}",
    },
];

/// A CSAS copies `src` to `out`; three good records, the poison one, three more, then
/// (once the poison one was skipped) three more.
fn poison_case(case: &Case) {
    let Case { name, ddl, .. } = case;
    let good = |i: u32| case.insert.replace("{i}", &i.to_string());
    let poison = Record::new(
        Some(Bytes::from_static(case.key.unwrap_or(b"k"))),
        Some(Bytes::from_static(case.value)),
        0,
    );
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

#[test]
fn a_poison_record_in_every_format_is_skipped_and_logged() {
    for case in CASES {
        poison_case(case);
    }
}
