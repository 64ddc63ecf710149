//! Header columns, through the engine on a temporary data directory, as ksqlDB's
//! documentation ("CREATE STREAM": `HEADERS`, `HEADER('<key>')`) defines them: a `HEADERS`
//! column holds every header of the record in order as `ARRAY<STRUCT<KEY STRING, VALUE
//! BYTES>>`, a `HEADER('k')` column the last value of header `k` (NULL when absent); both
//! are read from the record, never written: queries select them as ordinary values, and
//! INSERT VALUES may not name them.

use brook_engine::log::{Bytes, Record};
use brook_engine::runtime::{Engine, EngineOptions};

const SETUP: &str = "CREATE STREAM h (id STRING KEY, v INT, \
    hs ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS, x BYTES HEADER('x')) \
    WITH (kafka_topic='h', value_format='JSON', partitions=1);";

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine
        .execute("SET 'cache.max.bytes.buffering'='0';")
        .unwrap();
    (dir, engine)
}

fn produce(engine: &Engine, key: &str, v: i32, headers: &[(&str, Option<&str>)]) {
    let record = Record {
        key: Some(Bytes::from(key.to_string())),
        value: Some(Bytes::from(format!("{{\"V\":{v}}}"))),
        timestamp: 1_000,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(|v| Bytes::from(v.to_string()))))
            .collect(),
    };
    engine.log().topic("h").unwrap().produce(&[record]).unwrap();
}

fn values(engine: &Engine, topic: &str) -> Vec<String> {
    let t = engine.log().topic(topic).unwrap();
    let p = t.partition(0).unwrap();
    p.read(0, brook_engine::log::ReadLimit::records(1000))
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

fn error(engine: &mut Engine, sql: &str) -> String {
    match engine.execute(sql) {
        Ok(_) => panic!("expected an error from {sql}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn header_columns_read_the_record_headers() {
    let (_dir, mut engine) = engine();
    engine.execute(SETUP).unwrap();
    engine
        .execute("CREATE STREAM o AS SELECT id, v, hs, x FROM h;")
        .unwrap();
    // "a" and "b" are base64 "YQ==" and "Yg=="; the last `x` wins.
    produce(
        &engine,
        "k1",
        1,
        &[("x", Some("a")), ("y", None), ("x", Some("b"))],
    );
    produce(&engine, "k2", 2, &[]);
    engine.run_until_idle().unwrap();
    assert_eq!(
        values(&engine, "O"),
        [
            r#"{"V":1,"HS":[{"KEY":"x","VALUE":"YQ=="},{"KEY":"y","VALUE":null},{"KEY":"x","VALUE":"Yg=="}],"X":"Yg=="}"#,
            r#"{"V":2,"HS":[],"X":null}"#,
        ]
    );
}

#[test]
fn header_columns_are_declared_once_with_their_types() {
    let (_dir, mut engine) = engine();
    let e = error(
        &mut engine,
        "CREATE STREAM bad (id STRING KEY, a ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS, \
         b ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS) \
         WITH (kafka_topic='bad', value_format='JSON', partitions=1);",
    );
    assert!(
        e.contains("Schema already contains a HEADERS column."),
        "{e}"
    );
    let e = error(
        &mut engine,
        "CREATE STREAM bad (id STRING KEY, x STRING HEADER('x')) \
         WITH (kafka_topic='bad', value_format='JSON', partitions=1);",
    );
    assert!(
        e.contains("Invalid type for HEADER('x') column: expected BYTES, got STRING"),
        "{e}"
    );
}

#[test]
fn header_columns_are_never_written() {
    let (_dir, mut engine) = engine();
    engine.execute(SETUP).unwrap();
    let e = error(&mut engine, "INSERT INTO h VALUES ('a', 1);");
    assert!(
        e.contains("Cannot insert into HEADER columns: HS, X"),
        "{e}"
    );
    let e = error(&mut engine, "INSERT INTO h (id, hs) VALUES ('a', NULL);");
    assert!(e.contains("Cannot insert into HEADER columns: HS"), "{e}");
    engine
        .execute("INSERT INTO h (id, v) VALUES ('a', 1);")
        .unwrap();
    // A query's result has no header columns, so a sink with them never matches.
    engine
        .execute(
            "CREATE STREAM s (id STRING KEY, v INT) \
             WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let e = error(&mut engine, "INSERT INTO h SELECT id, v FROM s;");
    assert!(
        e.contains("Incompatible schema between results and sink."),
        "{e}"
    );
    // The inserted record has no headers: its header columns read as empty and NULL.
    engine
        .execute("SET 'auto.offset.reset'='earliest';")
        .unwrap();
    engine
        .execute("CREATE STREAM o AS SELECT id, v, hs, x FROM h;")
        .unwrap();
    engine.run_until_idle().unwrap();
    assert_eq!(values(&engine, "O"), [r#"{"V":1,"HS":[],"X":null}"#]);
}
