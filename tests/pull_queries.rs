//! End-to-end tests of pull queries over tables built by CREATE TABLE AS SELECT: they answer
//! from the table's materialization in the state store (key lookups, IN, ranges, deletes,
//! a restart); pull queries over streams scan the stream's topic; and `brook test` checks
//! REST cases' responses.

use std::process::Command;

use brook_engine::runtime::results::row_values;
use brook_engine::runtime::{Engine, EngineOptions, QueryRows, StatementResult};
use brook_log::{Record, TopicConfig};

fn options() -> EngineOptions {
    EngineOptions {
        create_missing_topics: true,
        processing_log_stream: false,
        fsync_state: false,
        ..EngineOptions::default()
    }
}

fn select(engine: &mut Engine, sql: &str) -> QueryRows {
    match engine.execute(sql).unwrap().pop().unwrap() {
        StatementResult::Rows(r) => r,
        other => panic!("expected rows from {sql}, got {other:?}"),
    }
}

/// (ID, TOTAL) pairs, sorted.
fn pairs(rows: &QueryRows) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = row_values(rows)
        .unwrap()
        .into_iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_i64().unwrap()))
        .collect();
    out.sort();
    out
}

const SETUP: &str = "
CREATE TABLE accounts (id STRING PRIMARY KEY, balance BIGINT)
  WITH (kafka_topic='accounts', value_format='JSON', partitions=1);
CREATE TABLE big AS SELECT id, balance * 10 AS total FROM accounts;
INSERT INTO accounts (id, balance) VALUES ('a', 1);
INSERT INTO accounts (id, balance) VALUES ('b', 2);
INSERT INTO accounts (id, balance) VALUES ('c', 3);
INSERT INTO accounts (id, balance) VALUES ('a', 4);
";

#[test]
fn a_pull_query_over_a_stream_scans_what_the_topic_holds_now() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine
        .execute(
            "CREATE STREAM payments (id STRING KEY, amount BIGINT)
               WITH (kafka_topic='payments', value_format='JSON', partitions=2);
             INSERT INTO payments (id, amount) VALUES ('a', 5);
             INSERT INTO payments (id, amount) VALUES ('b', 50);
             INSERT INTO payments (id, amount) VALUES ('a', 7);",
        )
        .unwrap();
    let big = select(
        &mut engine,
        "SELECT id, amount FROM payments WHERE amount > 6;",
    );
    assert_eq!(
        pairs(&big),
        vec![("a".to_string(), 7), ("b".to_string(), 50)]
    );
    let all = select(&mut engine, "SELECT * FROM payments;");
    assert_eq!(all.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    // A pull query ends: rows inserted after it are for the next one.
    engine
        .execute("INSERT INTO payments (id, amount) VALUES ('c', 9);")
        .unwrap();
    let again = select(
        &mut engine,
        "SELECT id, amount FROM payments WHERE amount > 6;",
    );
    assert_eq!(pairs(&again).len(), 3);
}

#[test]
fn pull_queries_read_the_materialized_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine.execute(SETUP).unwrap();
    engine.run_until_idle().unwrap();

    let all = select(&mut engine, "SELECT * FROM big;");
    assert_eq!(
        pairs(&all),
        vec![("a".into(), 40), ("b".into(), 20), ("c".into(), 30)]
    );
    let one = select(&mut engine, "SELECT id, total FROM big WHERE id = 'a';");
    assert_eq!(pairs(&one), vec![("a".into(), 40)]);
    let some = select(
        &mut engine,
        "SELECT id, total FROM big WHERE id IN ('b', 'c', 'zz');",
    );
    assert_eq!(pairs(&some), vec![("b".into(), 20), ("c".into(), 30)]);
    let lookup_and_filter = select(
        &mut engine,
        "SELECT id, total FROM big WHERE id = 'b' AND total > 100;",
    );
    assert!(pairs(&lookup_and_filter).is_empty());
    let range = select(&mut engine, "SELECT id, total FROM big WHERE id > 'a';");
    assert_eq!(pairs(&range), vec![("b".into(), 20), ("c".into(), 30)]);
    let limited = select(&mut engine, "SELECT * FROM big LIMIT 2;");
    assert_eq!(limited.num_rows(), 2);

    // A tombstone on the source deletes the row from the table and its materialization.
    let topic = engine
        .log()
        .topic_or_create("accounts", TopicConfig::new(1))
        .unwrap();
    topic
        .append(0, &[Record::new(Some(b"b".to_vec().into()), None, 5)])
        .unwrap();
    engine.run_until_idle().unwrap();
    let after = select(&mut engine, "SELECT * FROM big;");
    assert_eq!(pairs(&after), vec![("a".into(), 40), ("c".into(), 30)]);

    // The answer comes from the state store, not the sink topic.
    engine.log().delete_topic("BIG").unwrap();
    let still = select(&mut engine, "SELECT id, total FROM big WHERE id = 'c';");
    assert_eq!(pairs(&still), vec![("c".into(), 30)]);
}

#[test]
fn materialization_survives_a_restart_and_goes_with_its_table() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = Engine::open(dir.path(), options()).unwrap();
        engine.execute(SETUP).unwrap();
        engine.run_until_idle().unwrap();
    }
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine.run_until_idle().unwrap();
    let one = select(&mut engine, "SELECT id, total FROM big WHERE id = 'a';");
    assert_eq!(pairs(&one), vec![("a".into(), 40)]);

    engine.execute("DROP TABLE big;").unwrap();
    engine
        .execute("CREATE TABLE big AS SELECT id, balance AS total FROM accounts;")
        .unwrap();
    engine.run_until_idle().unwrap();
    let fresh = select(&mut engine, "SELECT id, total FROM big WHERE id = 'a';");
    assert_eq!(pairs(&fresh), vec![("a".into(), 4)]);
}

#[test]
fn create_or_replace_continues_the_materialization() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine.execute(SETUP).unwrap();
    engine.run_until_idle().unwrap();
    engine
        .execute("CREATE OR REPLACE TABLE big AS SELECT id, balance * 10 AS total FROM accounts WHERE balance > 2;")
        .unwrap();
    engine
        .execute("INSERT INTO accounts (id, balance) VALUES ('d', 7);")
        .unwrap();
    engine.run_until_idle().unwrap();
    let all = select(&mut engine, "SELECT * FROM big;");
    assert_eq!(
        pairs(&all),
        vec![
            ("a".into(), 40),
            ("b".into(), 20),
            ("c".into(), 30),
            ("d".into(), 70)
        ]
    );
}

#[test]
fn windowed_tables_answer_key_and_window_bound_lookups() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine
        .execute(
            "CREATE STREAM clicks (id STRING KEY, n BIGINT) WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
             CREATE TABLE per_second AS SELECT id, COUNT(*) AS total FROM clicks WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;
             INSERT INTO clicks (id, n, ROWTIME) VALUES ('a', 1, 500);
             INSERT INTO clicks (id, n, ROWTIME) VALUES ('a', 1, 1500);
             INSERT INTO clicks (id, n, ROWTIME) VALUES ('a', 1, 1600);
             INSERT INTO clicks (id, n, ROWTIME) VALUES ('ab', 1, 1700);
             INSERT INTO clicks (id, n, ROWTIME) VALUES ('a', 1, 2500);",
        )
        .unwrap();
    engine.run_until_idle().unwrap();
    let windows = |engine: &mut Engine, sql: &str| -> Vec<(String, i64, i64)> {
        let rows = select(engine, sql);
        let mut out: Vec<(String, i64, i64)> = row_values(&rows)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap().to_string(),
                    r[1].as_i64().unwrap(),
                    r[2].as_i64().unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    };
    assert_eq!(
        windows(
            &mut engine,
            "SELECT id, WINDOWSTART, total FROM per_second WHERE id = 'a';"
        ),
        vec![
            ("a".into(), 0, 1),
            ("a".into(), 1000, 2),
            ("a".into(), 2000, 1)
        ]
    );
    assert_eq!(
        windows(
            &mut engine,
            "SELECT id, WINDOWSTART, total FROM per_second WHERE id = 'a' AND WINDOWSTART >= 1000 AND WINDOWSTART < 2000;"
        ),
        vec![("a".into(), 1000, 2)]
    );
    assert_eq!(
        windows(
            &mut engine,
            "SELECT id, WINDOWSTART, total FROM per_second WHERE WINDOWSTART = 1000;"
        ),
        vec![("a".into(), 1000, 2), ("ab".into(), 1000, 1)]
    );
}

#[test]
fn brook_test_checks_rest_responses() {
    let dir = tempfile::tempdir().unwrap();
    let case = |expected_total: i64| {
        format!(
            r#"{{"tests": [{{
  "name": "lookup",
  "statements": [
    "CREATE TABLE T (ID STRING PRIMARY KEY, V BIGINT) WITH (kafka_topic='t', value_format='JSON');",
    "CREATE TABLE M AS SELECT ID, V * 2 AS TOTAL FROM T;",
    "SELECT * FROM M WHERE ID = 'x';"
  ],
  "inputs": [{{"topic": "t", "timestamp": 1, "key": "x", "value": {{"V": 21}}}}],
  "responses": [
    {{"admin": {{"@type": "currentStatus"}}}},
    {{"admin": {{"@type": "currentStatus"}}}},
    {{"query": [
      {{"header": {{"schema": "`ID` STRING KEY, `TOTAL` BIGINT"}}}},
      {{"row": {{"columns": ["x", {expected_total}]}}}}
    ]}}
  ]
}}]}}"#
        )
    };
    let run = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_brook"))
            .arg("test")
            .arg(&path)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8(out.stdout).unwrap())
    };
    let (ok, out) = run("good.json", case(42));
    assert!(ok, "{out}");
    assert!(out.contains("PASS good.json :: lookup"), "{out}");
    let (ok, out) = run("bad.json", case(43));
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL bad.json :: lookup"), "{out}");
    assert!(out.contains("[\"x\",42]"), "the actual row is shown: {out}");
}
