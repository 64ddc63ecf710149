//! Scalable push queries (`ksql.query.push.v2.enabled`), through the engine on a temporary
//! data directory: push queries over the sink of a running query attach to one shared
//! reader, which reads and decodes each sink record once however many are attached; each
//! still applies its own filter and projection and starts at the latest rows; queries that
//! break ksqlDB's rules (aggregations, joins, `earliest`, a source no query writes, the
//! property off) are ordinary push queries that read the topic themselves.

use std::time::{Duration, Instant};

use arrow::array::{Array, Int32Array};
use brook_engine::runtime::{Engine, EngineOptions, PushQuery, StatementResult};

fn open(dir: &std::path::Path) -> Engine {
    let mut engine = Engine::open(
        dir,
        EngineOptions {
            processing_log_stream: false,
            fsync_state: false,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    engine.set_live_push(true);
    for st in [
        "CREATE STREAM s (id STRING KEY, v INT) \
         WITH (kafka_topic='s', value_format='JSON', partitions=2);",
        "CREATE TABLE t (id STRING PRIMARY KEY, w INT) \
         WITH (kafka_topic='t', value_format='JSON', partitions=2);",
        "CREATE STREAM doubled AS SELECT id, v * 2 AS v2 FROM s;",
    ] {
        engine.execute(st).unwrap();
    }
    engine
}

fn push(engine: &mut Engine, sql: &str) -> Box<PushQuery> {
    match engine.execute(sql).unwrap().pop().unwrap() {
        StatementResult::Push(q) => q,
        other => panic!("{sql}: {other:?}"),
    }
}

fn enable(engine: &mut Engine) {
    engine
        .execute("SET 'ksql.query.push.v2.enabled'='true';")
        .unwrap();
}

fn insert(engine: &mut Engine, from: i32, to: i32) {
    for v in from..to {
        engine
            .execute(&format!("INSERT INTO s (id, v) VALUES ('k{v}', {v});"))
            .unwrap();
    }
}

/// Polls `q` until it emitted `n` rows (fails after 20 s); returns the values of column
/// `col` (an INT), sorted.
fn take(q: &mut PushQuery, n: usize, col: usize) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "got {out:?}, wanted {n} rows");
        q.wait(Duration::from_millis(200)).unwrap();
        for b in q.poll().unwrap() {
            let c = b.column(col).as_any().downcast_ref::<Int32Array>().unwrap();
            out.extend((0..c.len()).map(|i| c.value(i)));
        }
    }
    out.sort();
    out
}

#[test]
fn push_queries_over_a_running_querys_sink_share_one_reader() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    enable(&mut engine);
    let mut all = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    let mut big = push(
        &mut engine,
        "SELECT id, v2 + 1 AS w FROM doubled WHERE v2 >= 10 EMIT CHANGES;",
    );
    let mut few = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES LIMIT 3;");
    for q in [&all, &big, &few] {
        assert!(q.is_scalable());
    }
    let sink = engine.shared_sink_of("DOUBLED").expect("a shared reader");
    assert_eq!(sink.subscribers(), 3);

    insert(&mut engine, 0, 10);
    assert_eq!(
        take(&mut all, 10, 1),
        (0..10).map(|v| v * 2).collect::<Vec<_>>()
    );
    // Its own filter and projection over the shared rows.
    assert_eq!(take(&mut big, 5, 1), vec![11, 13, 15, 17, 19]);
    assert_eq!(take(&mut few, 3, 1).len(), 3);
    assert!(few.finished());
    // Ten sink records, read once for the three queries.
    assert_eq!(sink.records_read(), 10);
    assert_eq!(all.records_read, 10);
    assert_eq!(big.records_read, 10);

    // Detaching frees the reader once the last one goes.
    drop(few);
    drop(big);
    assert_eq!(sink.subscribers(), 1);
    drop(all);
    assert_eq!(sink.subscribers(), 0);
    drop(sink);
    assert!(engine.shared_sink_of("DOUBLED").is_none());
}

#[test]
fn a_scalable_push_query_starts_at_the_latest_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    enable(&mut engine);
    let mut first = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    insert(&mut engine, 0, 5);
    assert_eq!(take(&mut first, 5, 1), vec![0, 2, 4, 6, 8]);
    // Wait until the running query wrote all five before the second one attaches.
    let sink = engine.shared_sink_of("DOUBLED").unwrap();
    assert_eq!(sink.records_read(), 5);
    let mut second = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    assert!(second.is_scalable());
    insert(&mut engine, 5, 7);
    assert_eq!(take(&mut second, 2, 1), vec![10, 12]);
    assert_eq!(take(&mut first, 2, 1), vec![10, 12]);
    assert_eq!(sink.records_read(), 7);
}

#[test]
fn queries_outside_ksqldbs_rules_read_the_topic_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    // The property is off by default.
    let q = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    assert!(!q.is_scalable());
    enable(&mut engine);
    for sql in [
        // No running query writes `s`.
        "SELECT * FROM s EMIT CHANGES;",
        // Aggregations, windows and PARTITION BY are not scalable.
        "SELECT id, COUNT(*) FROM doubled GROUP BY id EMIT CHANGES;",
        "SELECT id, COUNT(*) FROM doubled WINDOW TUMBLING (SIZE 1 MINUTE) \
         GROUP BY id EMIT CHANGES;",
        "SELECT * FROM doubled PARTITION BY v2 EMIT CHANGES;",
        // Nor joins.
        "SELECT d.id, d.v2, t.w FROM doubled d JOIN t ON d.id = t.id EMIT CHANGES;",
    ] {
        let q = push(&mut engine, sql);
        assert!(!q.is_scalable(), "{sql}");
    }
    // Nor one that starts at the earliest rows.
    engine
        .execute("SET 'auto.offset.reset'='earliest';")
        .unwrap();
    let q = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    assert!(!q.is_scalable());
    engine.execute("UNSET 'auto.offset.reset';").unwrap();
    // Two queries writing one sink: not scalable either.
    engine
        .execute("INSERT INTO doubled SELECT id, v AS v2 FROM s;")
        .unwrap();
    let q = push(&mut engine, "SELECT * FROM doubled EMIT CHANGES;");
    assert!(!q.is_scalable());
}
