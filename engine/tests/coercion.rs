//! ksqlDB's implicit type coercion, through the engine on a temporary data directory:
//! `IN` lists bring the value and the items to their common type (string literals read as
//! numbers or booleans, number literals as strings), CASE branches must share one type,
//! booleans compare only for equality, and INSERT INTO ... SELECT accepts a sink whose
//! DECIMAL columns are wider and rescales into it (header columns: see headers.rs).
//! The expectations come from ksqlDB's documentation and its `CoercionUtil`,
//! `DefaultSqlValueCoercer`, `ComparisonUtil`, `ExpressionTypeManager`,
//! `LogicalSchema.compatibleSchema` and `InsertValuesExecutor`.

use brook_engine::runtime::{Engine, EngineOptions};

const SETUP: &str = "CREATE STREAM s (id STRING KEY, i INT, b BIGINT, d DECIMAL(4, 2), \
    t STRING, f BOOLEAN) WITH (kafka_topic='s', value_format='JSON', partitions=1);";

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = Engine::open(dir.path(), EngineOptions::default()).unwrap();
    engine.execute(SETUP).unwrap();
    engine
        .execute("SET 'cache.max.bytes.buffering'='0';")
        .unwrap();
    (dir, engine)
}

fn insert_rows(engine: &mut Engine) {
    for (id, i, t, f, d) in [
        ("a", 1, "10", "true", "1.5"),
        ("b", 2, "x", "false", "2.25"),
        ("c", 3, "20", "true", "-3.1"),
    ] {
        engine
            .execute(&format!(
                "INSERT INTO s (id, i, b, d, t, f) VALUES ('{id}', {i}, {i}, {d}, '{t}', {f});"
            ))
            .unwrap();
    }
    engine.run_until_idle().unwrap();
}

/// `(key, value)` of every record in a one-partition topic.
fn records(engine: &Engine, topic: &str) -> Vec<(String, String)> {
    let t = engine.log().topic(topic).unwrap();
    let p = t.partition(0).unwrap();
    p.read(0, brook_engine::log::ReadLimit::records(1000))
        .unwrap()
        .into_iter()
        .map(|r| {
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            (text(r.key.as_deref()), text(r.value.as_deref()))
        })
        .collect()
}

fn keys(engine: &Engine, topic: &str) -> Vec<String> {
    records(engine, topic).into_iter().map(|(k, _)| k).collect()
}

fn error(engine: &mut Engine, sql: &str) -> String {
    match engine.execute(sql) {
        Ok(_) => panic!("expected an error from {sql}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn in_lists_coerce_literals_to_the_common_type() {
    let (_dir, mut engine) = engine();
    // '1' reads as an INTEGER, 10000000000 widens the list to BIGINT.
    engine
        .execute("CREATE STREAM ints AS SELECT id, i FROM s WHERE i IN ('1', 3, 10000000000);")
        .unwrap();
    // A number literal joins a list of strings as text.
    engine
        .execute("CREATE STREAM texts AS SELECT id, i FROM s WHERE t IN (10, 'x');")
        .unwrap();
    // A string literal joins a list of booleans when it spells one.
    engine
        .execute("CREATE STREAM flags AS SELECT id, i FROM s WHERE f IN ('yes');")
        .unwrap();
    // A decimal string widens an INTEGER value to DECIMAL.
    engine
        .execute("CREATE STREAM decs AS SELECT id, i FROM s WHERE i IN ('2.0');")
        .unwrap();
    insert_rows(&mut engine);
    assert_eq!(keys(&engine, "INTS"), ["a", "c"]);
    assert_eq!(keys(&engine, "TEXTS"), ["a", "b"]);
    assert_eq!(keys(&engine, "FLAGS"), ["a", "c"]);
    assert_eq!(keys(&engine, "DECS"), ["b"]);
}

#[test]
fn in_lists_reject_what_does_not_convert() {
    let (_dir, mut engine) = engine();
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, i FROM s WHERE i IN (1, 'ten');",
    );
    assert!(
        e.contains("invalid input syntax for type INTEGER: \"ten\"."),
        "{e}"
    );
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, i FROM s WHERE f IN ('maybe');",
    );
    assert!(
        e.contains("invalid input syntax for type BOOLEAN: \"maybe\"."),
        "{e}"
    );
    // A STRING column is an expression, not a literal: it does not convert to a number.
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, i FROM s WHERE i IN (t);",
    );
    assert!(
        e.contains(
            "operator does not exist: INTEGER = STRING (T)\nHint: You might need to add explicit type casts."
        ),
        "{e}"
    );
}

#[test]
fn case_branches_must_share_one_type() {
    let (_dir, mut engine) = engine();
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, CASE WHEN i = 1 THEN 'one' WHEN i = 2 THEN 2 END AS c FROM s;",
    );
    assert!(
        e.contains(
            "Invalid Case expression. Type for all 'THEN' clauses should be the same.\n\
             THEN expression 'WHEN (I = 2) THEN 2' has type: INTEGER.\n\
             Previous THEN expression(s) type: STRING."
        ),
        "{e}"
    );
    // No widening between numbers either.
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, CASE WHEN i = 1 THEN 1 ELSE b END AS c FROM s;",
    );
    assert!(
        e.contains(
            "Invalid Case expression. Type for the default clause should be the same as for 'THEN' clauses.\n\
             THEN type: INTEGER.\nDEFAULT type: BIGINT."
        ),
        "{e}"
    );
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, CASE WHEN i = 1 THEN NULL ELSE NULL END AS c FROM s;",
    );
    assert!(
        e.contains("Invalid Case expression. All case branches have NULL type"),
        "{e}"
    );
    // NULL branches take the type of the others.
    engine
        .execute(
            "CREATE STREAM o AS SELECT id, CASE WHEN i = 1 THEN NULL WHEN i = 2 THEN 'two' \
             ELSE NULL END AS c FROM s;",
        )
        .unwrap();
    insert_rows(&mut engine);
    let values: Vec<String> = records(&engine, "O").into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, [r#"{"C":null}"#, r#"{"C":"two"}"#, r#"{"C":null}"#]);
}

#[test]
fn booleans_compare_only_for_equality() {
    let (_dir, mut engine) = engine();
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, i FROM s WHERE f > false;",
    );
    assert!(
        e.contains("Cannot compare F (BOOLEAN) to false (BOOLEAN) with GREATER_THAN."),
        "{e}"
    );
    let e = error(
        &mut engine,
        "CREATE STREAM o AS SELECT id, i FROM s WHERE f BETWEEN false AND true;",
    );
    assert!(e.contains("Cannot compare"), "{e}");
    engine
        .execute("CREATE STREAM o AS SELECT id, i FROM s WHERE f <> false;")
        .unwrap();
}

#[test]
fn insert_into_a_sink_with_wider_decimals_rescales() {
    let (_dir, mut engine) = engine();
    engine
        .execute(
            "CREATE STREAM wide (id STRING KEY, d DECIMAL(6, 3)) \
             WITH (kafka_topic='wide', value_format='JSON', partitions=1);",
        )
        .unwrap();
    engine
        .execute("INSERT INTO wide SELECT id, d FROM s;")
        .unwrap();
    // Fewer digits in the sink, or another numeric type, is not accepted.
    engine
        .execute(
            "CREATE STREAM narrow (id STRING KEY, d DECIMAL(3, 1)) \
             WITH (kafka_topic='narrow', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let e = error(&mut engine, "INSERT INTO narrow SELECT id, d FROM s;");
    assert!(
        e.contains("Incompatible schema between results and sink."),
        "{e}"
    );
    engine
        .execute(
            "CREATE STREAM longs (id STRING KEY, i BIGINT) \
             WITH (kafka_topic='longs', value_format='JSON', partitions=1);",
        )
        .unwrap();
    let e = error(&mut engine, "INSERT INTO longs SELECT id, i FROM s;");
    assert!(
        e.contains("Incompatible schema between results and sink."),
        "{e}"
    );
    insert_rows(&mut engine);
    let values: Vec<String> = records(&engine, "wide")
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        values,
        [r#"{"D":1.500}"#, r#"{"D":2.250}"#, r#"{"D":-3.100}"#]
    );
}

#[test]
fn constructors_take_the_type_of_their_items_in_order() {
    let (_dir, mut engine) = engine();
    // The first typed item sets the type; literals after it convert to it.
    engine
        .execute(
            "CREATE STREAM o AS SELECT id, ARRAY['a', 1] AS texts, ARRAY[1, '2', b] AS nums, \
             MAP('k' := 1, 'j' := '2') AS m FROM s;",
        )
        .unwrap();
    let e = error(
        &mut engine,
        "CREATE STREAM p AS SELECT id, ARRAY[i, t] AS bad FROM s;",
    );
    assert!(
        e.contains("operator does not exist: INTEGER = STRING (T)"),
        "{e}"
    );
    insert_rows(&mut engine);
    let values: Vec<String> = records(&engine, "O").into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values[0],
        r#"{"TEXTS":["a","1"],"NUMS":[1,2,1],"M":{"k":1,"j":2}}"#
    );
}

#[test]
fn strings_spelling_booleans_insert_as_booleans() {
    let (_dir, mut engine) = engine();
    engine
        .execute("CREATE STREAM o AS SELECT id, f FROM s WHERE f IN ('t');")
        .unwrap();
    // Any non-empty prefix of true/yes or false/no, in any case (ksqlDB's SqlBooleans).
    for (id, text) in [("a", "ye"), ("b", "FAL"), ("c", "True"), ("d", "n")] {
        engine
            .execute(&format!("INSERT INTO s (id, f) VALUES ('{id}', '{text}');"))
            .unwrap();
    }
    let e = error(&mut engine, "INSERT INTO s (id, f) VALUES ('e', 'maybe');");
    assert!(
        e.contains("invalid input syntax for type BOOLEAN: \"maybe\"."),
        "{e}"
    );
    engine.run_until_idle().unwrap();
    assert_eq!(keys(&engine, "O"), ["a", "c"]);
}
