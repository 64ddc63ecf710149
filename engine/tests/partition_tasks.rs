//! Persistent queries whose state is partitioned as their source is run one task per source
//! partition, each on its own thread with its own stores, through the engine on a
//! temporary data directory:
//! - a GROUP BY of the source's key over two partitions runs as two tasks; its sink, its
//!   pull queries (which read both tasks' materializations) and a restart (each task
//!   resumes from its own committed state and offsets) give the counts one thread would;
//! - a GROUP BY of a value column (which ksqlDB would repartition) and a join stay on one
//!   thread, so groups that span partitions are counted once.

use std::collections::BTreeMap;
use std::time::Duration;

use brook_engine::log::{IsolationLevel, ReadLimit};
use brook_engine::runtime::{Engine, EngineOptions, StatementResult};

fn open(dir: &std::path::Path) -> Engine {
    Engine::open(
        dir,
        EngineOptions {
            fsync_state: false,
            processing_log_stream: false,
            ..EngineOptions::default()
        },
    )
    .unwrap()
}

fn idle(engine: &mut Engine) {
    assert!(engine.wait_until_idle(Duration::from_secs(30)).unwrap());
}

const STREAM: &str = "CREATE STREAM s (id STRING KEY, g STRING, v INT) \
     WITH (kafka_topic='s', value_format='JSON', partitions=2);";

/// Inserts `v` in `from..to`, key `k<v % 7>`, value column `g` = `g<v % 3>`.
fn insert(engine: &mut Engine, from: i32, to: i32) {
    for v in from..to {
        engine
            .execute(&format!(
                "INSERT INTO s (id, g, v) VALUES ('k{}', 'g{}', {v});",
                v % 7,
                v % 3
            ))
            .unwrap();
    }
}

/// The latest committed value per key of `topic`, as JSON.
fn latest(engine: &Engine, topic: &str) -> BTreeMap<String, serde_json::Value> {
    let t = engine.log().topic(topic).unwrap();
    let mut out = BTreeMap::new();
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
            for r in &read.records {
                let key = String::from_utf8_lossy(r.key.as_deref().unwrap()).into_owned();
                let value = serde_json::from_slice(r.value.as_deref().unwrap()).unwrap();
                out.insert(key, value);
            }
            if read.next_offset == pos {
                break;
            }
            pos = read.next_offset;
        }
    }
    out
}

fn workers(engine: &Engine, sink: &str) -> usize {
    engine
        .queries()
        .into_iter()
        .find(|q| q.sink_name == sink)
        .unwrap()
        .workers
}

/// `key -> n` from a pull query `SELECT <key>, n FROM <table>;`.
fn pull(engine: &mut Engine, sql: &str) -> BTreeMap<String, String> {
    let result = engine.execute(sql).unwrap();
    let StatementResult::Rows(rows) = &result[0] else {
        panic!("{result:?}")
    };
    let mut out = BTreeMap::new();
    for b in &rows.batches {
        for i in 0..b.num_rows() {
            let s = |c: usize| arrow::util::display::array_value_to_string(b.column(c), i).unwrap();
            out.insert(s(0), s(1));
        }
    }
    out
}

#[test]
fn a_group_by_the_key_runs_one_task_per_partition_and_restarts_from_each_tasks_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    engine.execute(STREAM).unwrap();
    engine
        .execute(
            "CREATE TABLE counts AS SELECT id, COUNT(*) AS n, SUM(v) AS total FROM s GROUP BY id;",
        )
        .unwrap();
    assert_eq!(workers(&engine, "COUNTS"), 2, "one task per partition");
    insert(&mut engine, 0, 70);
    idle(&mut engine);
    let counts = latest(&engine, "COUNTS");
    assert_eq!(counts.len(), 7);
    for k in 0..7 {
        assert_eq!(counts[&format!("k{k}")]["N"], 10, "k{k}");
    }
    // Both tasks' keys are in the materialization pull queries read.
    let all = pull(&mut engine, "SELECT id, n FROM counts;");
    assert_eq!(all.len(), 7, "{all:?}");
    assert!(all.values().all(|n| n == "10"), "{all:?}");
    for k in 0..7 {
        let one = pull(
            &mut engine,
            &format!("SELECT id, n FROM counts WHERE id = 'k{k}';"),
        );
        assert_eq!(one.get(&format!("k{k}")).map(String::as_str), Some("10"));
    }
    engine.shutdown().unwrap();
    drop(engine);

    // Each task goes on from its own committed state and offsets.
    let mut engine = open(dir.path());
    assert_eq!(workers(&engine, "COUNTS"), 2);
    insert(&mut engine, 70, 140);
    idle(&mut engine);
    let counts = latest(&engine, "COUNTS");
    for k in 0..7 {
        let v = &counts[&format!("k{k}")];
        assert_eq!(v["N"], 20, "k{k}: {v}");
        let total: i64 = (0..140).filter(|v| v % 7 == k).sum();
        assert_eq!(v["TOTAL"], total, "k{k}: {v}");
    }
    let all = pull(&mut engine, "SELECT id, n FROM counts;");
    assert!(all.len() == 7 && all.values().all(|n| n == "20"), "{all:?}");
    engine.shutdown().unwrap();
}

#[test]
fn a_windowed_group_by_the_key_runs_one_task_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    engine.execute(STREAM).unwrap();
    engine
        .execute(
            "CREATE TABLE w AS SELECT id, COUNT(*) AS n FROM s \
             WINDOW TUMBLING (SIZE 1 HOUR) GROUP BY id;",
        )
        .unwrap();
    assert_eq!(workers(&engine, "W"), 2);
    insert(&mut engine, 0, 35);
    idle(&mut engine);
    let all = pull(&mut engine, "SELECT id, n FROM w;");
    assert_eq!(all.len(), 7, "{all:?}");
    assert!(all.values().all(|n| n == "5"), "{all:?}");
    engine.shutdown().unwrap();
}

#[test]
fn a_group_by_a_value_column_stays_on_one_thread_and_counts_each_group_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    engine.execute(STREAM).unwrap();
    engine
        .execute("CREATE TABLE by_g AS SELECT g, COUNT(*) AS n FROM s GROUP BY g;")
        .unwrap();
    assert_eq!(workers(&engine, "BY_G"), 1);
    insert(&mut engine, 0, 30);
    idle(&mut engine);
    let counts = latest(&engine, "BY_G");
    assert_eq!(counts.len(), 3, "{counts:?}");
    for g in 0..3 {
        assert_eq!(counts[&format!("g{g}")]["N"], 10, "g{g}");
    }
    engine.shutdown().unwrap();
}

#[test]
fn a_query_whose_state_was_kept_as_one_task_stays_one_task_after_a_restart() {
    // A data directory whose query ran as one task over both partitions (as every stateful
    // query did before tasks per partition): its state is in the single task's stores, so
    // on restart it must go on as one task rather than start empty at the committed offsets.
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(
        dir.path(),
        EngineOptions {
            fsync_state: false,
            processing_log_stream: false,
            background_queries: false,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    engine.execute(STREAM).unwrap();
    engine
        .execute("CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM s GROUP BY id;")
        .unwrap();
    insert(&mut engine, 0, 70);
    idle(&mut engine);
    assert!(latest(&engine, "COUNTS").values().all(|v| v["N"] == 10));
    engine.shutdown().unwrap();
    drop(engine);

    let mut engine = open(dir.path());
    assert_eq!(
        workers(&engine, "COUNTS"),
        1,
        "the existing state's layout is kept"
    );
    insert(&mut engine, 70, 140);
    idle(&mut engine);
    let counts = latest(&engine, "COUNTS");
    assert_eq!(counts.len(), 7, "{counts:?}");
    for k in 0..7 {
        assert_eq!(counts[&format!("k{k}")]["N"], 20, "k{k}");
    }
    engine.shutdown().unwrap();
}
