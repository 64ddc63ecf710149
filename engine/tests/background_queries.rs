//! Persistent queries running on their own threads (the engine's default), through the
//! engine on a temporary data directory: rows reach the sink without anyone stepping the
//! queries; a failing query stops with status ERROR while the others go on; TERMINATE, DROP
//! and shutdown stop a query after committing, so a restart reads nothing twice; push
//! queries are woken by the log's append notification; shutdown under load is quick.

mod common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::{Duration, Instant};

use brook_engine::log::{Bytes, IsolationLevel, Record};
use brook_engine::runtime::{Engine, Listing, QueryStatus, StatementResult};
use common::{insert, options};

const SETUP: &str = "CREATE STREAM s (id STRING KEY, v INT) \
    WITH (kafka_topic='s', value_format='JSON', partitions=2);";

/// An engine on `dir` with the stream `s` and then `statements` run.
fn open(dir: &std::path::Path, statements: &[&str]) -> Engine {
    let mut engine = Engine::open(dir, options()).unwrap();
    engine.execute(SETUP).unwrap();
    for st in statements {
        engine.execute(st).unwrap();
    }
    engine
}

/// Records in a topic, over all partitions (records, not offsets: the commits of
/// exactly-once queries add transaction markers, which take offsets).
fn count(engine: &Engine, topic: &str) -> u64 {
    common::read_topic(engine, topic, IsolationLevel::ReadUncommitted).len() as u64
}

/// Waits (up to 10 s) until `topic` holds `n` records; fails if it never does.
fn await_count(engine: &Engine, topic: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(engine, topic) < n {
        assert!(
            Instant::now() < deadline,
            "{topic} has {} of {n} records after 10 s",
            count(engine, topic)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(count(engine, topic), n, "{topic} has more than {n} records");
}

fn committed(engine: &Engine, query: &str, topic: &str) -> u64 {
    (0..2)
        .map(|p| engine.log().committed_offset(query, topic, p).unwrap_or(0))
        .sum()
}

#[test]
fn a_query_runs_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(
        dir.path(),
        &["CREATE STREAM big AS SELECT id, v FROM s WHERE v >= 5;"],
    );
    insert(&mut engine, 0..20);
    // Nobody steps the query: its thread reads the inserts.
    await_count(&engine, "BIG", 15);
    let q = &engine.queries()[0];
    assert_eq!(q.status, QueryStatus::Running);
    assert_eq!(q.sink_name, "BIG");
    assert_eq!(q.source_names, vec!["S".to_string()]);
    // Caught up: once idle, every record is read and committed.
    assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
    let q = &engine.queries()[0];
    assert_eq!(q.processed, 20);
    assert_eq!(q.total_lag(), 0);
    assert_eq!(
        q.lag.len(),
        2,
        "one entry per source partition: {:?}",
        q.lag
    );
    assert_eq!(committed(&engine, &q.id, "s"), 20);
}

#[test]
fn a_stateless_query_spreads_its_partitions_over_workers() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(
        dir.path(),
        &[
            "CREATE STREAM copied AS SELECT id, v FROM s;",
            "CREATE TABLE sums AS SELECT id, SUM(v) AS total FROM s GROUP BY id;",
        ],
    );
    insert(&mut engine, 0..50);
    assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
    let queries = engine.queries();
    let copied = queries.iter().find(|q| q.sink_name == "COPIED").unwrap();
    let sums = queries.iter().find(|q| q.sink_name == "SUMS").unwrap();
    assert_eq!(
        copied.workers,
        cores.min(2),
        "two partitions, {cores} cores"
    );
    assert_eq!(
        sums.workers, 2,
        "a GROUP BY the key runs one task per partition (see partition_tasks.rs)"
    );
    assert_eq!(copied.processed, 50);
    assert_eq!(copied.lag.len(), 2);
    assert_eq!(count(&engine, "COPIED"), 50);
    assert_eq!(committed(&engine, &copied.id, "s"), 50);
    // Every worker stops (and commits) on TERMINATE.
    engine
        .execute(&format!("TERMINATE {};", copied.id))
        .unwrap();
    insert(&mut engine, 50..54);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&engine, "COPIED"), 50);
}

#[test]
fn a_failing_query_stops_with_its_error_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(
        dir.path(),
        &[
            "CREATE STREAM a AS SELECT id, v FROM s;",
            "CREATE STREAM b AS SELECT id, v FROM s;",
        ],
    );
    insert(&mut engine, 0..3);
    await_count(&engine, "A", 3);
    await_count(&engine, "B", 3);
    // A's sink goes away under it: its next write fails.
    engine.log().delete_topic("A").unwrap();
    insert(&mut engine, 3..6);
    await_count(&engine, "B", 6);
    assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
    let errors = engine.take_query_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].query_id.starts_with("CSAS_A_"), "{errors:?}");
    let a = engine
        .queries()
        .into_iter()
        .find(|q| q.sink_name == "A")
        .unwrap();
    match &a.status {
        QueryStatus::Error(m) => assert!(m.contains("A"), "{m}"),
        other => panic!("A should have failed: {other:?}"),
    }
    // Listings show it; B still runs and keeps up.
    let shown = match engine.execute("SHOW QUERIES;").unwrap().pop().unwrap() {
        StatementResult::Listing(Listing::Queries(queries)) => queries,
        other => panic!("{other:?}"),
    };
    assert!(
        shown.iter().any(|q| q.id == a.id && q.state == "ERROR"),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|q| q.id.starts_with("CSAS_B_") && q.state == "RUNNING"),
        "{shown:?}"
    );
    insert(&mut engine, 6..8);
    await_count(&engine, "B", 8);
    assert!(engine.take_query_errors().is_empty(), "reported once");
}

#[test]
fn terminate_commits_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path(), &[]);
    // Only stopping commits within this test.
    engine
        .execute("SET 'commit.interval.ms'='600000';")
        .unwrap();
    engine
        .execute("CREATE STREAM out AS SELECT id, v FROM s;")
        .unwrap();
    let id = engine.queries()[0].id.clone();
    insert(&mut engine, 0..5);
    await_count(&engine, "OUT", 5);
    assert_eq!(committed(&engine, &id, "s"), 0, "nothing committed yet");
    engine.execute(&format!("TERMINATE {id};")).unwrap();
    assert_eq!(committed(&engine, &id, "s"), 5, "TERMINATE commits");
    assert!(engine.queries().is_empty());
    insert(&mut engine, 5..8);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&engine, "OUT"), 5, "a terminated query reads nothing");
}

#[test]
fn a_restart_resumes_from_the_offsets_committed_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = open(
            dir.path(),
            &[
                "SET 'commit.interval.ms'='600000';",
                "CREATE STREAM out AS SELECT id, v FROM s;",
            ],
        );
        insert(&mut engine, 0..5);
        await_count(&engine, "OUT", 5);
        // Dropping the engine shuts its queries down, committing.
    }
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(engine.queries().len(), 1, "the query was replayed");
    insert(&mut engine, 5..9);
    assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
    assert_eq!(count(&engine, "OUT"), 9, "no record was read twice");
    assert_eq!(engine.queries()[0].processed, 4);
}

#[test]
fn drop_stops_the_query_that_writes_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path(), &["CREATE STREAM out AS SELECT id, v FROM s;"]);
    insert(&mut engine, 0..2);
    await_count(&engine, "OUT", 2);
    engine.execute("DROP STREAM out;").unwrap();
    assert!(engine.queries().is_empty());
    insert(&mut engine, 2..4);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&engine, "OUT"), 2, "a dropped query reads nothing");
}

#[test]
fn pull_queries_read_a_table_its_query_is_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(
        dir.path(),
        &["CREATE TABLE totals AS SELECT id, SUM(v) AS total FROM s GROUP BY id;"],
    );
    for round in 0..3 {
        engine
            .execute(&format!("INSERT INTO s (id, v) VALUES ('x', {round});"))
            .unwrap();
        assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
        let rows = match engine
            .execute("SELECT total FROM totals WHERE id = 'x';")
            .unwrap()
            .pop()
            .unwrap()
        {
            StatementResult::Rows(r) => r,
            other => panic!("{other:?}"),
        };
        let json: Vec<serde_json::Value> = rows
            .batches
            .iter()
            .flat_map(brook_engine::formats::batch_to_json_rows)
            .collect();
        let want = (0..=round).sum::<i32>();
        assert_eq!(json, vec![serde_json::json!({ "TOTAL": want })]);
    }
}

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_push_query_is_woken_by_an_insert() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path(), &[]);
    engine.set_live_push(true);
    let mut q = match engine
        .execute("SELECT id, v FROM s EMIT CHANGES;")
        .unwrap()
        .pop()
        .unwrap()
    {
        StatementResult::Push(q) => q,
        other => panic!("{other:?}"),
    };
    // The future is pending until an append, and the append itself wakes it.
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut changed = pin!(q.changed());
    assert!(changed.as_mut().poll(&mut cx).is_pending());
    assert!(!flag.0.load(Ordering::SeqCst));
    insert(&mut engine, 0..1);
    assert!(flag.0.load(Ordering::SeqCst), "the insert woke the waiter");
    assert!(changed.as_mut().poll(&mut cx).is_ready());
    assert_eq!(q.poll().unwrap()[0].num_rows(), 1);

    // The blocking wait returns as soon as a record arrives from another thread.
    let topic = engine.log().topic("s").unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let value = Bytes::from_static(br#"{"V":7}"#);
        topic
            .append(
                0,
                &[Record::new(Some(Bytes::from_static(b"k")), Some(value), 1)],
            )
            .unwrap();
    });
    let start = Instant::now();
    q.wait(Duration::from_secs(20)).unwrap();
    let waited = start.elapsed();
    writer.join().unwrap();
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    assert_eq!(q.poll().unwrap()[0].num_rows(), 1);
}

#[test]
fn shutdown_under_load_is_quick_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = open(dir.path(), &[]);
        let topic = engine.log().topic("s").unwrap();
        let batch: Vec<Record> = (0..1000)
            .map(|i| {
                Record::new(
                    Some(Bytes::from(format!("k{}", i % 50))),
                    Some(Bytes::from(format!(r#"{{"V":{i}}}"#))),
                    i,
                )
            })
            .collect();
        for _ in 0..100 {
            topic.append(0, &batch).unwrap();
            topic.append(1, &batch).unwrap();
        }
        engine
            .execute("CREATE STREAM copied AS SELECT id, v FROM s;")
            .unwrap();
        engine
            .execute("CREATE TABLE sums AS SELECT id, SUM(v) AS total FROM s GROUP BY id;")
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        engine.shutdown().unwrap();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
        assert!(engine.queries().is_empty());
    }
    // What was committed is where each query resumes: the copy ends with every record once.
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert!(engine.wait_until_idle(Duration::from_secs(60)).unwrap());
    assert_eq!(count(&engine, "COPIED"), 200_000);
    engine.shutdown().unwrap();
}

#[test]
fn a_paused_query_reads_nothing_until_resumed_even_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = open(
            dir.path(),
            &["CREATE STREAM copied AS SELECT id, v FROM s;"],
        );
        insert(&mut engine, 0..5);
        await_count(&engine, "COPIED", 5);
        let id = engine.queries()[0].id.clone();
        engine.execute(&format!("PAUSE {id};")).unwrap();
        assert_eq!(engine.queries()[0].status, QueryStatus::Paused);
        insert(&mut engine, 5..10);
        // A paused query counts as idle: nothing to wait for.
        assert!(engine.wait_until_idle(Duration::from_secs(10)).unwrap());
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(count(&engine, "COPIED"), 5);
        assert_eq!(committed(&engine, &id, "s"), 5);
        engine.shutdown().unwrap();
    }
    // The PAUSE is replayed with the other statements: the query starts paused.
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    assert_eq!(engine.queries()[0].status, QueryStatus::Paused);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&engine, "COPIED"), 5);
    assert!(engine.execute("PAUSE nope_1;").is_err());
    engine.execute("RESUME ALL;").unwrap();
    assert_eq!(engine.queries()[0].status, QueryStatus::Running);
    await_count(&engine, "COPIED", 10);
}
