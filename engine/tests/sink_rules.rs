//! How a persistent query's sink writes records, checked on its own through the engine on a
//! temporary data directory (conformance cases showed these rules; ksqlDB's `SinkBuilder`,
//! `TableSource` and `SchemaKStream` define them):
//! - a sink's TIMESTAMP column sets each record's time; a row whose value there is negative
//!   or does not parse is dropped (and logged), a NULL one keeps the row's own time;
//! - a table skips source records with a null key;
//! - a stream sink without key columns (allowed by ksqlDB's newer query planner,
//!   `ksql.new.query.planner.enabled`) writes records without a key; the older planner
//!   refuses a projection that leaves the key out.

mod common;

use brook_engine::log::{Bytes, Record};
use brook_engine::runtime::Engine;

use common::{committed_records, idle, options};

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine
        .execute("SET 'cache.max.bytes.buffering'='0';")
        .unwrap();
    (dir, engine)
}

/// `(key, value, timestamp)` of every committed record of `topic` (`None`: null).
fn records(engine: &Engine, topic: &str) -> Vec<(Option<String>, Option<String>, i64)> {
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    committed_records(engine, topic)
        .into_iter()
        .map(|r| {
            (
                text(r.key.as_deref()),
                text(r.value.as_deref()),
                r.timestamp,
            )
        })
        .collect()
}

fn append(engine: &Engine, topic: &str, key: Option<&'static [u8]>, value: &'static [u8]) {
    let t = engine.log().topic(topic).unwrap();
    t.append(
        0,
        &[Record::new(
            key.map(Bytes::from_static),
            Some(Bytes::from_static(value)),
            7,
        )],
    )
    .unwrap();
}

#[test]
fn a_sink_timestamp_column_times_its_records_and_drops_rows_it_cannot_use() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, ts BIGINT, day STRING) \
             WITH (kafka_topic='src', value_format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute(
            "CREATE STREAM by_ts WITH (kafka_topic='by_ts', timestamp='ts') \
             AS SELECT * FROM src;",
        )
        .unwrap();
    engine
        .execute(
            "CREATE STREAM by_day WITH (kafka_topic='by_day', timestamp='day', \
             timestamp_format='yyyy-MM-dd') AS SELECT * FROM src;",
        )
        .unwrap();
    append(
        &engine,
        "src",
        Some(b"a"),
        br#"{"TS": 1000, "DAY": "1970-01-02"}"#,
    );
    append(
        &engine,
        "src",
        Some(b"b"),
        br#"{"TS": -5, "DAY": "not a day"}"#,
    );
    append(&engine, "src", Some(b"c"), br#"{"TS": null, "DAY": null}"#);
    idle(&mut engine);

    let by_ts = records(&engine, "by_ts");
    let times: Vec<(Option<&str>, i64)> = by_ts.iter().map(|r| (r.0.as_deref(), r.2)).collect();
    // `b` has a negative time: dropped; `c` has none: it keeps its own (7).
    assert_eq!(times, [(Some("a"), 1000), (Some("c"), 7)], "{by_ts:?}");

    let by_day = records(&engine, "by_day");
    let times: Vec<(Option<&str>, i64)> = by_day.iter().map(|r| (r.0.as_deref(), r.2)).collect();
    // `b`'s day does not parse with the pattern: dropped.
    assert_eq!(
        times,
        [(Some("a"), 86_400_000), (Some("c"), 7)],
        "{by_day:?}"
    );
}

#[test]
fn a_table_skips_source_records_without_a_key() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE TABLE src (id STRING PRIMARY KEY, v INT) \
             WITH (kafka_topic='src', value_format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("CREATE TABLE copy AS SELECT id, v FROM src;")
        .unwrap();
    append(&engine, "src", Some(b"a"), br#"{"V": 1}"#);
    append(&engine, "src", None, br#"{"V": 2}"#);
    append(&engine, "src", Some(b"b"), br#"{"V": 3}"#);
    idle(&mut engine);
    let copy = records(&engine, "COPY");
    let keys: Vec<Option<&str>> = copy.iter().map(|r| r.0.as_deref()).collect();
    assert_eq!(keys, [Some("a"), Some("b")], "{copy:?}");
}

#[test]
fn a_stream_sink_may_leave_its_key_out_only_under_the_new_planner() {
    let (_d, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM src (id STRING KEY, v INT) \
             WITH (kafka_topic='src', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let refused = engine
        .execute("CREATE STREAM old_planner AS SELECT v FROM src;")
        .unwrap_err()
        .to_string();
    assert!(refused.contains("Key missing from projection"), "{refused}");

    engine
        .execute("SET 'ksql.new.query.planner.enabled'='true';")
        .unwrap();
    engine
        .execute("CREATE STREAM keyless AS SELECT v FROM src;")
        .unwrap();
    append(&engine, "src", Some(b"a"), br#"{"V": 1}"#);
    idle(&mut engine);
    let keyless = records(&engine, "KEYLESS");
    assert_eq!(keyless.len(), 1, "{keyless:?}");
    assert_eq!(keyless[0].0, None, "no key column, no key: {keyless:?}");
    assert_eq!(keyless[0].1.as_deref(), Some(r#"{"V":1}"#));
}
