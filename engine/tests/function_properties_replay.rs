//! `ksql.functions.*` session properties belong to the queries started under them: a query
//! restarted from the command topic when the data directory is opened again builds its
//! functions with the properties recorded with its statement (here COLLECT_LIST's limit).

use std::time::Duration;

use brook_engine::log::ReadLimit;
use brook_engine::runtime::{Engine, EngineOptions};

fn idle(engine: &mut Engine) {
    assert!(
        engine.wait_until_idle(Duration::from_secs(20)).unwrap(),
        "the queries did not catch up within 20 s"
    );
}

/// The list in the last record of the one-partition sink topic `T`.
fn last_list(engine: &Engine) -> Vec<serde_json::Value> {
    let t = engine.log().topic("T").unwrap();
    let records = t
        .partition(0)
        .unwrap()
        .read(0, ReadLimit::records(1000))
        .unwrap();
    let last = records.last().expect("the table wrote records");
    let v: serde_json::Value = serde_json::from_slice(last.value.as_deref().unwrap()).unwrap();
    v["L"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_replayed_query_keeps_its_function_properties() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
        engine
            .execute("SET 'cache.max.bytes.buffering'='0';")
            .unwrap();
        engine
            .execute("SET 'ksql.functions.collect_list.limit'='2';")
            .unwrap();
        engine
            .execute(
                "CREATE STREAM s (k STRING KEY, v INT) \
                 WITH (kafka_topic='s', format='JSON', partitions=1);",
            )
            .unwrap();
        engine
            .execute("CREATE TABLE t AS SELECT k, COLLECT_LIST(v) AS l FROM s GROUP BY k;")
            .unwrap();
        for v in 1..=3 {
            engine
                .execute(&format!("INSERT INTO s (k, v) VALUES ('a', {v});"))
                .unwrap();
        }
        idle(&mut engine);
        assert_eq!(last_list(&engine).len(), 2);
        engine.shutdown().unwrap();
    }
    // A new session without the SET: the restarted query still caps its lists at 2.
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine
        .execute("INSERT INTO s (k, v) VALUES ('a', 4);")
        .unwrap();
    idle(&mut engine);
    assert_eq!(last_list(&engine).len(), 2, "{:?}", last_list(&engine));
    engine.shutdown().unwrap();
}
