//! The window bound columns WINDOWSTART and WINDOWEND, through the engine on a temporary
//! data directory, clause by clause as ksqlDB's documentation ("Time and Windows", "SELECT
//! (Pull Query)") and its analyzer define them: selectable (under an alias in persistent
//! queries) from a windowed aggregation and from a windowed source, unknown in a
//! non-windowed query and in the WHERE of the aggregation that makes the window, never
//! passed to an aggregate function, usable as bounds (numbers or ISO-8601 strings) in a
//! pull query's WHERE, and no INSERT VALUES into a windowed source.

use arrow::util::display::array_value_to_string;
use brook_engine::runtime::{Engine, EngineOptions, StatementResult};

const SETUP: &str = "CREATE STREAM s (id STRING KEY, v INT) \
    WITH (kafka_topic='s', value_format='JSON', partitions=1);";
const AGG: &str = "CREATE TABLE agg AS SELECT id, COUNT(*) AS n FROM s \
    WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY id;";

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.execute(SETUP).unwrap();
    engine
        .execute("SET 'cache.max.bytes.buffering'='0';")
        .unwrap();
    (dir, engine)
}

/// Rows at 1 s and 12 s for `a`, at 2 s for `b`: windows [0, 10 s) and [10 s, 20 s).
fn insert_rows(engine: &mut Engine) {
    for (id, ts) in [("a", 1_000), ("b", 2_000), ("a", 12_000)] {
        engine
            .execute(&format!(
                "INSERT INTO s (id, v, ROWTIME) VALUES ('{id}', 1, {ts});"
            ))
            .unwrap();
    }
    engine.run_until_idle().unwrap();
}

fn error(engine: &mut Engine, sql: &str) -> String {
    match engine.execute(sql) {
        Ok(_) => panic!("expected an error from {sql}"),
        Err(e) => e.to_string(),
    }
}

/// The rows of a pull or push query, each as `col=value` texts.
fn rows(engine: &mut Engine, sql: &str) -> Vec<String> {
    let result = engine.execute(sql).unwrap();
    let Some(StatementResult::Rows(rows)) = result.into_iter().last() else {
        panic!("no rows from {sql}");
    };
    let mut out = Vec::new();
    for b in &rows.batches {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = rows
                .schema
                .columns
                .iter()
                .zip(b.columns())
                .map(|(c, a)| format!("{}={}", c.name, array_value_to_string(a, r).unwrap()))
                .collect();
            out.push(cells.join(" "));
        }
    }
    out
}

#[test]
fn non_windowed_queries_do_not_know_the_bounds() {
    let (_dir, mut engine) = engine();
    let e = error(&mut engine, "SELECT WINDOWSTART FROM s EMIT CHANGES;");
    assert!(
        e.contains("SELECT column 'WINDOWSTART' cannot be resolved."),
        "{e}"
    );
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, v FROM s WHERE WINDOWEND > 0;",
    );
    assert!(
        e.contains("WHERE column 'WINDOWEND' cannot be resolved."),
        "{e}"
    );
    // WHERE runs before the aggregation makes the window.
    let e = error(
        &mut engine,
        "CREATE TABLE o AS SELECT id, COUNT(*) AS n FROM s WINDOW TUMBLING (SIZE 1 SECOND) \
         WHERE WINDOWSTART > 0 GROUP BY id;",
    );
    assert!(
        e.contains("Error in WHERE expression: Unknown column WINDOWSTART."),
        "{e}"
    );
}

#[test]
fn bounds_are_not_aggregate_arguments() {
    let (_dir, mut engine) = engine();
    for sql in [
        "CREATE TABLE o AS SELECT id, MAX(WINDOWSTART) AS m FROM s \
         WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id;",
        "CREATE TABLE o AS SELECT id, COUNT(*) AS n FROM s \
         WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY id HAVING MIN(WINDOWEND) > 0;",
    ] {
        let e = error(&mut engine, sql);
        assert!(
            e.contains("can only be used in the SELECT clause of windowed aggregations"),
            "{e}"
        );
    }
}

#[test]
fn a_windowed_aggregation_selects_its_bounds() {
    let (_dir, mut engine) = engine();
    // Under its own name the column is reserved in a persistent query; aliased it is not.
    let e = error(
        &mut engine,
        "CREATE TABLE o AS SELECT id, WINDOWSTART, COUNT(*) AS n FROM s \
         WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY id;",
    );
    assert!(
        e.contains("Reserved column name in select: `WINDOWSTART`."),
        "{e}"
    );
    engine
        .execute(
            "CREATE TABLE o AS SELECT id, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS n \
             FROM s WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY id;",
        )
        .unwrap();
    engine.execute(AGG).unwrap();
    insert_rows(&mut engine);
    // The windowed table is a windowed source: a push query over it (from the beginning)
    // shows its bounds.
    engine
        .execute("SET 'auto.offset.reset'='earliest';")
        .unwrap();
    let got = rows(
        &mut engine,
        "SELECT id, WINDOWSTART, WINDOWEND, n FROM agg EMIT CHANGES LIMIT 3;",
    );
    assert_eq!(
        got,
        [
            "ID=a WINDOWSTART=0 WINDOWEND=10000 N=1",
            "ID=b WINDOWSTART=0 WINDOWEND=10000 N=1",
            "ID=a WINDOWSTART=10000 WINDOWEND=20000 N=1",
        ]
    );
    // ... and may filter on them.
    let got = rows(
        &mut engine,
        "SELECT id, n FROM agg WHERE WINDOWSTART >= 10000 EMIT CHANGES LIMIT 1;",
    );
    assert_eq!(got, ["ID=a N=1"]);
}

#[test]
fn pull_queries_bound_the_windows() {
    let (_dir, mut engine) = engine();
    engine.execute(AGG).unwrap();
    insert_rows(&mut engine);
    let got = rows(
        &mut engine,
        "SELECT id, WINDOWSTART, n FROM agg WHERE id = 'a' AND WINDOWSTART >= 10000;",
    );
    assert_eq!(got, ["ID=a WINDOWSTART=10000 N=1"]);
    let got = rows(
        &mut engine,
        "SELECT id, WINDOWSTART, n FROM agg WHERE id = 'a' AND 0 <= WINDOWSTART \
         AND WINDOWEND <= 10000;",
    );
    assert_eq!(got, ["ID=a WINDOWSTART=0 N=1"]);
    // ISO-8601 strings stand for the instants they name (UTC).
    let got = rows(
        &mut engine,
        "SELECT id, n FROM agg WHERE id = 'a' \
         AND WINDOWSTART BETWEEN '1970-01-01T00:00:05' AND '1970-01-01T00:00:15';",
    );
    assert_eq!(got, ["ID=a N=1"]);
    let e = error(&mut engine, "INSERT INTO agg (id, n) VALUES ('c', 1);");
    assert!(
        e.contains("Cannot insert values into windowed stream/table!"),
        "{e}"
    );
}
