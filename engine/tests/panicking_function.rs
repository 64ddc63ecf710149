//! Fault test (d) of persistent queries: a function that panics inside one query. Brook
//! loads no user code, so the function is one an embedding program registers through
//! [`EngineOptions::functions`] — a Rust UDF whose kernel panics on one input, standing for
//! a bug in any kernel. The query that calls it stops with status ERROR and the panic's
//! message (SHOW QUERIES, DESCRIBE EXTENDED of its sink, EXPLAIN); the other queries over
//! the same stream keep running and process the records that follow; the process lives on.

mod common;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::Int32Type;
use brook_engine::functions::{Call, Category, FunctionDef, Overload, ParamType};
use brook_engine::runtime::{Engine, EngineOptions, Listing, QueryStatus, StatementResult};
use common::{idle, insert};

/// `FRAGILE(v INT)`: `v`, except that it panics on 13 (an index out of bounds, as a buggy
/// kernel would).
fn fragile(c: &Call) -> datafusion::common::Result<ArrayRef> {
    let v = c.args[0].as_primitive::<Int32Type>();
    for i in 0..v.len() {
        if v.is_valid(i) && v.value(i) == 13 {
            let empty: Vec<i32> = Vec::new();
            // Deliberately out of bounds: the bug under test.
            let _ = empty[v.value(i) as usize];
        }
    }
    Ok(c.args[0].clone())
}

fn options() -> EngineOptions {
    EngineOptions {
        functions: vec![Arc::new(FunctionDef::new(
            "FRAGILE",
            Category::Other,
            "Its argument; panics on 13 (a test of panicking kernels).",
            vec![Overload::new(&[("v", ParamType::Int)], ParamType::Int)],
            fragile,
        ))],
        ..common::options()
    }
}

fn count(engine: &Engine, topic: &str) -> usize {
    common::committed_records(engine, topic).len()
}

fn listing(engine: &mut Engine, sql: &str) -> Listing {
    match engine.execute(sql).unwrap().pop() {
        Some(StatementResult::Listing(l)) => l,
        other => panic!("{sql}: {other:?}"),
    }
}

#[test]
fn a_panicking_function_fails_only_the_query_that_calls_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), options()).unwrap();
    engine
        .execute(
            "CREATE STREAM s (id STRING KEY, v INT) \
             WITH (kafka_topic='s', value_format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("CREATE STREAM fragile_out AS SELECT id, FRAGILE(v) AS v FROM s;")
        .unwrap();
    engine
        .execute("CREATE STREAM plain_out AS SELECT id, v * 2 AS w FROM s;")
        .unwrap();
    engine
        .execute("CREATE TABLE counts AS SELECT id, COUNT(*) AS n FROM s GROUP BY id;")
        .unwrap();
    // The function works until it meets 13.
    insert(&mut engine, 0..10);
    idle(&mut engine);
    assert_eq!(count(&engine, "FRAGILE_OUT"), 10);
    insert(&mut engine, 10..20);
    idle(&mut engine);

    let queries = engine.queries();
    let by_sink = |name: &str| queries.iter().find(|q| q.sink_name == name).unwrap();
    let fragile = by_sink("FRAGILE_OUT");
    match &fragile.status {
        QueryStatus::Error(m) => assert!(
            m.contains("panicked") && m.contains("index out of bounds"),
            "the status says what happened: {m}"
        ),
        other => panic!("the query calling FRAGILE should have failed: {other:?}"),
    }
    // Its output stops before 13 (the open transaction of the batch that panicked is
    // aborted).
    assert!(count(&engine, "FRAGILE_OUT") <= 13);
    // The others went on, through every record.
    for sink in ["PLAIN_OUT", "COUNTS"] {
        let q = by_sink(sink);
        assert_eq!(q.status, QueryStatus::Running, "{sink}");
        assert_eq!(q.processed, 20, "{sink}");
    }
    assert_eq!(count(&engine, "PLAIN_OUT"), 20);
    let errors = engine.take_query_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].query_id, fragile.id);

    // What the user sees.
    let Listing::Queries(shown) = listing(&mut engine, "SHOW QUERIES;") else {
        panic!("SHOW QUERIES lists queries")
    };
    let state = |id: &str| shown.iter().find(|q| q.id == id).unwrap().state.clone();
    assert_eq!(state(&fragile.id), "ERROR");
    assert_eq!(state(&by_sink("PLAIN_OUT").id), "RUNNING");
    let Listing::SourceDescriptions { descriptions, .. } =
        listing(&mut engine, "DESCRIBE fragile_out EXTENDED;")
    else {
        panic!("DESCRIBE describes")
    };
    assert_eq!(descriptions[0].write_queries[0].state, "ERROR");
    let Listing::QueryDescription(explained) =
        listing(&mut engine, &format!("EXPLAIN {};", fragile.id))
    else {
        panic!("EXPLAIN explains")
    };
    assert_eq!(explained.state, "ERROR");
    assert!(
        explained
            .error
            .as_deref()
            .is_some_and(|e| e.contains("index out of bounds")),
        "{:?}",
        explained.error
    );

    // The survivors keep processing what comes next.
    insert(&mut engine, 20..25);
    idle(&mut engine);
    assert_eq!(count(&engine, "PLAIN_OUT"), 25);
    assert_eq!(
        engine
            .queries()
            .iter()
            .find(|q| q.sink_name == "COUNTS")
            .unwrap()
            .processed,
        25
    );
    engine.shutdown().unwrap();
}
