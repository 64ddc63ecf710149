//! ALTER SYSTEM and ASSERT SCHEMA through the engine on a temporary data directory.
//!
//! ALTER SYSTEM sets a property Brook reads for every later statement and query, as the
//! server's properties file would, survives a server request that scoped its own
//! properties, and is recorded in the command topic so a restart keeps it; properties
//! Brook does not read are refused. ASSERT SCHEMA checks the schemas registered for topics
//! (subjects `<topic>-key` / `<topic>-value`, ids from 1 in registration order) with
//! ksqlDB's messages (`AssertSchemaExecutor`); NOT EXISTS inverts it.

mod common;

use std::collections::BTreeMap;

use brook_engine::conformance::schemas::convert_schema;
use brook_engine::runtime::{Engine, Listing, StatementResult};
use serde_json::json;

/// A pull query that scans the table (no key in WHERE).
const SCAN: &str = "SELECT * FROM t WHERE v > 0;";

fn open(dir: &std::path::Path) -> Engine {
    Engine::open(dir, common::options()).unwrap()
}

fn message(results: Vec<StatementResult>) -> String {
    match results.into_iter().last() {
        Some(StatementResult::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn alter_system_sets_a_property_for_later_statements_and_a_restart_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut engine = open(dir.path());
        let said = message(
            engine
                .execute("ALTER SYSTEM 'auto.offset.reset'='earliest';")
                .unwrap(),
        );
        assert_eq!(
            said,
            "Successfully changed system property 'auto.offset.reset' to 'earliest'."
        );
        assert_eq!(engine.properties()["auto.offset.reset"], "earliest");

        // A server scopes each request's properties and puts its own back after: what
        // ALTER SYSTEM set inside a request stays.
        let outer = engine.replace_properties(BTreeMap::new());
        engine
            .execute("ALTER SYSTEM 'ksql.assert.schema.default.timeout.ms'='0';")
            .unwrap();
        engine.replace_properties(outer);
        assert_eq!(
            engine.properties()["ksql.assert.schema.default.timeout.ms"],
            "0"
        );
        assert_eq!(engine.properties()["auto.offset.reset"], "earliest");

        // Later queries run with it: a table scan by a pull query, allowed by default, is
        // refused once ALTER SYSTEM turns table scans off.
        engine
            .execute(
                "CREATE STREAM s (k STRING KEY, v INT) \
                 WITH (kafka_topic='s', value_format='JSON', partitions=1); \
                 CREATE TABLE t AS SELECT k, COUNT(*) AS v FROM s GROUP BY k;",
            )
            .unwrap();
        engine.execute(SCAN).unwrap();
        engine
            .execute("ALTER SYSTEM 'ksql.query.pull.table.scan.enabled'='false';")
            .unwrap();
        assert!(engine.execute(SCAN).is_err());
    }
    // The command topic recorded it: a new engine on the directory has it again.
    let mut engine = open(dir.path());
    assert_eq!(engine.properties()["auto.offset.reset"], "earliest");
    assert!(engine.execute(SCAN).is_err());
    assert_eq!(
        engine.properties()["ksql.assert.schema.default.timeout.ms"],
        "0"
    );
}

#[test]
fn alter_system_refuses_a_property_brook_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    let e = engine
        .execute("ALTER SYSTEM 'ksql.no.such.property'='1';")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Cannot set system property 'ksql.no.such.property' with ALTER SYSTEM"),
        "{e}"
    );
    assert!(!engine.properties().contains_key("ksql.no.such.property"));
}

fn register(engine: &mut Engine, topic: &str, is_key: bool) {
    let schema = json!({"type": "record", "name": "r", "fields": [{"name": "a", "type": "int"}]});
    let registered = convert_schema("AVRO", &schema, &json!({}));
    engine.register_schema(topic, is_key, registered, Some(schema));
}

fn assert_schema(engine: &mut Engine, sql: &str) -> Result<Listing, String> {
    match engine.execute(sql) {
        Ok(r) => match r.into_iter().last() {
            Some(StatementResult::Listing(l)) => Ok(l),
            other => panic!("expected a listing, got {other:?}"),
        },
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn assert_schema_checks_registered_subjects_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = open(dir.path());
    register(&mut engine, "orders", true); // id 1
    register(&mut engine, "orders", false); // id 2

    let held = assert_schema(&mut engine, "ASSERT SCHEMA SUBJECT 'orders-value' ID 2;");
    assert!(matches!(
        held,
        Ok(Listing::AssertSchema { subject: Some(ref s), id: Some(2), exists: true })
            if s == "orders-value"
    ));
    assert!(assert_schema(&mut engine, "ASSERT SCHEMA ID 1 TIMEOUT 0 SECONDS;").is_ok());
    assert!(assert_schema(&mut engine, "ASSERT SCHEMA SUBJECT 'orders-key';").is_ok());
    assert!(assert_schema(&mut engine, "ASSERT NOT EXISTS SCHEMA SUBJECT 'x-value';").is_ok());

    let e = assert_schema(
        &mut engine,
        "ASSERT SCHEMA SUBJECT 'orders-key' ID 2 TIMEOUT 0 SECONDS;",
    )
    .unwrap_err();
    assert!(
        e.contains("Schema with subject name orders-key id 2 does not exist"),
        "{e}"
    );
    let e = assert_schema(
        &mut engine,
        "ASSERT NOT EXISTS SCHEMA ID 1 TIMEOUT 0 SECONDS;",
    )
    .unwrap_err();
    assert!(e.contains("Schema with id 1 exists"), "{e}");

    // Without TIMEOUT the wait is ksql.assert.schema.default.timeout.ms.
    engine
        .execute("SET 'ksql.assert.schema.default.timeout.ms'='0';")
        .unwrap();
    let e = assert_schema(&mut engine, "ASSERT SCHEMA SUBJECT 'missing-value';").unwrap_err();
    assert!(
        e.contains("Schema with subject name missing-value does not exist"),
        "{e}"
    );
}
