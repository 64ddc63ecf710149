//! The record cache of persistent aggregations, through the engine on a temporary data
//! directory: a key's updates between commits fold into one sink record (ksqlDB's default,
//! caching on), every update is a record with `cache.max.bytes.buffering` at 0, and both
//! end with the same counts.

use brook_engine::runtime::{Engine, EngineOptions};

const SETUP: &str = "CREATE STREAM clicks (user_id STRING KEY, page STRING) \
    WITH (kafka_topic='clicks', value_format='JSON', partitions=1);";

fn sink_records(engine: &Engine, topic: &str) -> Vec<String> {
    let t = engine.log().topic(topic).unwrap();
    let p = t.partition(0).unwrap();
    p.read(0, brook_engine::log::ReadLimit::records(1000))
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

fn run(cache_off: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.execute(SETUP).unwrap();
    if cache_off {
        engine
            .execute("SET 'cache.max.bytes.buffering'='0';")
            .unwrap();
    }
    engine
        .execute(
            "CREATE TABLE counts AS SELECT user_id, COUNT(*) AS n FROM clicks \
             WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY user_id;",
        )
        .unwrap();
    for (user, ts) in [
        ("alice", 1000),
        ("alice", 2000),
        ("bob", 3000),
        ("alice", 4000),
    ] {
        engine
            .execute(&format!(
                "INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('{user}', '/', {ts});"
            ))
            .unwrap();
    }
    engine.run_until_idle().unwrap();
    sink_records(&engine, "COUNTS")
}

#[test]
fn cached_updates_fold_into_the_latest_per_key() {
    let cached = run(false);
    assert_eq!(cached, vec![r#"{"N":3}"#, r#"{"N":1}"#], "{cached:?}");
}

#[test]
fn without_the_cache_every_update_is_written() {
    let all = run(true);
    assert_eq!(
        all,
        vec![r#"{"N":1}"#, r#"{"N":2}"#, r#"{"N":1}"#, r#"{"N":3}"#],
        "{all:?}"
    );
}
