//! The state of persistent queries is bounded by their lives and survives losing its
//! directory, through the engine on a temporary data directory:
//! - TERMINATE and DROP (with or without DELETE TOPIC) remove the query's state stores and
//!   their changelog topics, and a restart (replaying the commands) leaves none behind;
//! - a state directory deleted while Brook is stopped is rebuilt from the changelogs when
//!   it starts: aggregates go on counting from where they were, a join still knows its
//!   table side, pull queries answer from the rebuilt table.
//!
//! (Windows past their retention leave the stores: see the unit test
//! `state_survives_a_restart_and_expired_windows_leave_the_store` in
//! `engine/src/operators/tumbling_window.rs`.)

mod common;

use std::sync::Arc;

use brook_engine::log::{Log, LogOptions};
use brook_engine::runtime::{Engine, StatementResult};
use common::{idle, options, text};

const SETUP: &[&str] = &[
    "CREATE STREAM s (id STRING KEY, v INT) \
     WITH (kafka_topic='s', value_format='JSON', partitions=2);",
    "CREATE TABLE users (id STRING PRIMARY KEY, name STRING) \
     WITH (kafka_topic='users', value_format='JSON', partitions=2);",
    "CREATE TABLE counts AS SELECT id, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY id;",
    "CREATE STREAM named AS SELECT s.id AS id, s.v AS v, u.name AS name \
     FROM s JOIN users u ON s.id = u.id;",
];

fn open(dir: &std::path::Path) -> Engine {
    Engine::open(dir, options()).unwrap()
}

fn insert(engine: &mut Engine, from: i32, to: i32) {
    for v in from..to {
        engine
            .execute(&format!(
                "INSERT INTO s (id, v) VALUES ('k{}', {v});",
                v % 5
            ))
            .unwrap();
    }
}

/// Every committed (key, value) of `topic`, as text.
fn records(engine: &Engine, topic: &str) -> Vec<(String, String)> {
    common::committed_records(engine, topic)
        .iter()
        .map(|r| (text(&r.key), text(&r.value)))
        .collect()
}

fn query_id(engine: &Engine, sink: &str) -> String {
    engine
        .queries()
        .into_iter()
        .find(|q| q.sink_name == sink)
        .unwrap()
        .id
}

/// The changelog topics of `query`'s stores.
fn changelogs(engine: &Engine, query: &str) -> Vec<String> {
    let prefix = format!("_brook-{query}-");
    engine
        .log()
        .topics()
        .into_iter()
        .filter(|t| t.starts_with(&prefix))
        .collect()
}

/// The stores recorded in the state directory of the (closed) data directory `dir`.
fn stores(dir: &std::path::Path) -> Vec<String> {
    let log = Arc::new(Log::open(dir, LogOptions::default()).unwrap());
    let stores = brook_state::StateStores::open(&dir.join("@state"), log).unwrap();
    stores
        .stores()
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

#[test]
fn terminate_and_drop_remove_the_query_state_and_changelogs() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    for st in SETUP {
        engine.execute(st).unwrap();
    }
    engine
        .execute("INSERT INTO users (id, name) VALUES ('k1', 'one');")
        .unwrap();
    insert(&mut engine, 0, 20);
    idle(&mut engine);
    let counts = query_id(&engine, "COUNTS");
    let named = query_id(&engine, "NAMED");
    assert!(
        changelogs(&engine, &counts).len() >= 2,
        "the aggregate and the table's materialization: {:?}",
        changelogs(&engine, &counts)
    );
    assert!(
        !changelogs(&engine, &named).is_empty(),
        "the join's table side"
    );

    engine.execute(&format!("TERMINATE {counts};")).unwrap();
    assert_eq!(changelogs(&engine, &counts), Vec::<String>::new());
    assert!(
        !changelogs(&engine, &named).is_empty(),
        "other queries keep theirs"
    );
    // The table stays (its topic too); only the query and its state are gone.
    assert!(engine.log().topic("COUNTS").is_ok());

    engine.execute("DROP STREAM named DELETE TOPIC;").unwrap();
    assert_eq!(changelogs(&engine, &named), Vec::<String>::new());
    assert!(engine.log().topic("NAMED").is_err(), "DELETE TOPIC");
    engine.shutdown().unwrap();
    drop(engine);

    let left: Vec<String> = stores(dir.path())
        .into_iter()
        .filter(|s| s.starts_with(&format!("{counts}-")) || s.starts_with(&format!("{named}-")))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "no store of theirs is left");

    // A restart replays the commands (starting and stopping the queries again) and leaves
    // nothing behind either.
    let engine = open(dir.path());
    assert!(engine.queries().is_empty());
    assert_eq!(changelogs(&engine, &counts), Vec::<String>::new());
    assert_eq!(changelogs(&engine, &named), Vec::<String>::new());
    drop(engine);
    let left: Vec<String> = stores(dir.path())
        .into_iter()
        .filter(|s| s.starts_with(&format!("{counts}-")) || s.starts_with(&format!("{named}-")))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn a_state_directory_deleted_while_stopped_is_rebuilt_from_the_changelogs() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    for st in SETUP {
        engine.execute(st).unwrap();
    }
    for k in 0..5 {
        engine
            .execute(&format!(
                "INSERT INTO users (id, name) VALUES ('k{k}', 'user {k}');"
            ))
            .unwrap();
    }
    insert(&mut engine, 0, 20);
    idle(&mut engine);
    engine.shutdown().unwrap();
    drop(engine);

    let state = dir.path().join("@state");
    assert!(state.join("CURRENT").exists());
    std::fs::remove_dir_all(&state).unwrap();

    let mut engine = open(dir.path());
    insert(&mut engine, 20, 40);
    idle(&mut engine);
    // Counting went on from the rebuilt state: 8 records per key, not 4.
    let latest: std::collections::BTreeMap<String, String> =
        records(&engine, "COUNTS").into_iter().collect();
    assert_eq!(latest.len(), 5);
    for k in 0..5 {
        let v: serde_json::Value = serde_json::from_str(&latest[&format!("k{k}")]).unwrap();
        assert_eq!(v["N"], 8, "k{k}: {v}");
        let total: i64 = (0..40).filter(|v| v % 5 == k).sum();
        assert_eq!(v["TOTAL"], total, "k{k}: {v}");
    }
    // The join still knows every user (the table side was read before the restart).
    let named = records(&engine, "NAMED");
    assert_eq!(named.len(), 40, "every record joined once");
    assert!(named.iter().all(|(_, v)| v.contains("\"NAME\":\"user ")));
    // Pull queries read the rebuilt materialization.
    let rows = engine
        .execute("SELECT id, n FROM counts WHERE id = 'k3';")
        .unwrap();
    let StatementResult::Rows(rows) = &rows[0] else {
        panic!("{rows:?}")
    };
    assert_eq!(rows.num_rows(), 1);
    let n = arrow::util::display::array_value_to_string(rows.batches[0].column(1), 0).unwrap();
    assert_eq!(n, "8");
    engine.shutdown().unwrap();
}
