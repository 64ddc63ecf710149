//! Analyzer and plan tests with a small function catalog.

use super::*;
use crate::parse_statements;

/// UCASE and ABS as scalars, COUNT and SUM as aggregates, EXPLODE as a table function.
struct Funcs;

impl FunctionCatalog for Funcs {
    fn kind(&self, name: &str) -> Option<FunctionKind> {
        match name {
            "UCASE" | "ABS" => Some(FunctionKind::Scalar),
            "COUNT" | "SUM" => Some(FunctionKind::Aggregate),
            "EXPLODE" => Some(FunctionKind::Table),
            _ => None,
        }
    }

    fn return_type(&self, name: &str, args: &[SqlType]) -> std::result::Result<SqlType, String> {
        match (name, args) {
            ("UCASE", [SqlType::String]) => Ok(SqlType::String),
            ("ABS", [t]) if t.is_numeric() => Ok(t.clone()),
            ("COUNT", _) => Ok(SqlType::BigInt),
            ("SUM", [t]) if t.is_numeric() => Ok(t.clone()),
            ("EXPLODE", [SqlType::Array(e)]) => Ok((**e).clone()),
            _ => Err(format!(
                "Function '{}' does not accept parameters",
                name.to_lowercase()
            )),
        }
    }

    fn names(&self) -> Vec<String> {
        ["UCASE", "ABS", "COUNT", "SUM", "EXPLODE"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}

/// Analyzes a script; the result of its last statement.
fn run(sql: &str) -> std::result::Result<AnalyzedStatement, AnalysisError> {
    let mut a = Analyzer::new(Funcs);
    let mut last = None;
    for st in parse_statements(sql).expect("parses") {
        last = Some(a.analyze(&st)?);
    }
    Ok(last.expect("a statement"))
}

fn run_err(sql: &str) -> String {
    match run(sql) {
        Ok(r) => panic!("accepted: {r:?}"),
        Err(e) => e.message,
    }
}

const CLICKS: &str = "CREATE STREAM clicks (user_id INT KEY, page_id STRING, tags ARRAY<STRING>, \
    addr STRUCT<city STRING>) WITH (kafka_topic='clicks', value_format='JSON');\n";

#[test]
fn creates_sources_with_their_key_and_formats() {
    let AnalyzedStatement::CreateSource { entry: Some(e), .. } = run(CLICKS).unwrap() else {
        panic!()
    };
    assert_eq!(e.name, "CLICKS");
    assert_eq!(e.topic, "clicks");
    assert_eq!(e.key_format.name, "KAFKA");
    assert_eq!(e.value_format.name, "JSON");
    assert_eq!(e.key_columns().count(), 1);
    assert_eq!(e.columns[3].ty.to_string(), "STRUCT<`CITY` STRING>");
}

#[test]
fn plans_a_windowed_aggregation() {
    let sql = format!(
        "{CLICKS}CREATE TABLE pageviews_per_user AS SELECT user_id, COUNT(*) AS cnt FROM clicks \
         WINDOW TUMBLING (SIZE 1 MINUTE) WHERE page_id <> '/home' GROUP BY user_id;"
    );
    let AnalyzedStatement::CreateAsSelect { entry, plan, .. } = run(&sql).unwrap() else {
        panic!()
    };
    assert_eq!(
        plan.to_string(),
        "Sink: PAGEVIEWS_PER_USER (table, topic=PAGEVIEWS_PER_USER, key=KAFKA, value=JSON, windowed=TUMBLING)\n\
         \x20 Project: [USER_ID KEY, KSQL_AGG_VARIABLE_0 AS CNT]\n\
         \x20   Aggregate: group by [CLICKS.USER_ID] window TUMBLING(SIZE 60000 ms) aggs [COUNT(*) AS KSQL_AGG_VARIABLE_0]\n\
         \x20     Filter: (CLICKS.PAGE_ID <> '/home')\n\
         \x20       Source: CLICKS (stream, topic=clicks, key=KAFKA, value=JSON)\n"
    );
    assert_eq!(entry.kind, SourceKind::Table);
    assert_eq!(
        crate::plan::Schema::new(entry.columns.clone()).describe(),
        "[`USER_ID` INTEGER KEY, `CNT` BIGINT]"
    );
    assert_eq!(entry.window.unwrap().size_ms, Some(60_000));
}

#[test]
fn names_computed_columns_and_keys_like_ksqldb() {
    let sql = format!(
        "{CLICKS}SELECT UCASE(page_id), addr->city, ABS(user_id) + 1 FROM clicks EMIT CHANGES;"
    );
    let plan = run(&sql).unwrap().plan().unwrap().clone();
    let names: Vec<&str> = plan
        .schema
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["KSQL_COL_0", "CITY", "KSQL_COL_1"]);

    let sql = format!(
        "{CLICKS}CREATE TABLE t AS SELECT UCASE(page_id), COUNT(*) FROM clicks GROUP BY UCASE(page_id);"
    );
    let AnalyzedStatement::CreateAsSelect { entry, .. } = run(&sql).unwrap() else {
        panic!()
    };
    assert_eq!(
        crate::plan::Schema::new(entry.columns).describe(),
        "[`KSQL_COL_0` STRING KEY, `KSQL_COL_1` BIGINT]"
    );
}

#[test]
fn partition_by_rekeys_and_flat_map_explodes() {
    let sql = format!(
        "{CLICKS}CREATE STREAM by_page AS SELECT page_id, EXPLODE(tags) AS tag FROM clicks PARTITION BY page_id;"
    );
    let AnalyzedStatement::CreateAsSelect { plan, entry, .. } = run(&sql).unwrap() else {
        panic!()
    };
    let text = plan.to_string();
    assert!(text.contains("Repartition: by [CLICKS.PAGE_ID]"), "{text}");
    assert!(
        text.contains("FlatMap: [EXPLODE(CLICKS.TAGS) AS KSQL_SYNTH_0]"),
        "{text}"
    );
    assert_eq!(
        crate::plan::Schema::new(entry.columns).describe(),
        "[`PAGE_ID` STRING KEY, `TAG` STRING]"
    );
}

#[test]
fn joins_resolve_qualified_columns_and_key() {
    let sql = format!(
        "{CLICKS}CREATE TABLE users (id INT PRIMARY KEY, name STRING) WITH (kafka_topic='users', value_format='JSON');\n\
         CREATE STREAM enriched AS SELECT c.user_id, u.name FROM clicks c JOIN users u ON c.user_id = u.id;"
    );
    let AnalyzedStatement::CreateAsSelect { plan, entry, .. } = run(&sql).unwrap() else {
        panic!()
    };
    assert!(
        plan.to_string()
            .contains("Join: INNER JOIN (StreamTable) on C.USER_ID = U.ID"),
        "{plan}"
    );
    assert_eq!(
        crate::plan::Schema::new(entry.columns).describe(),
        // Names only one side has are not prefixed (ksqlDB's AstSanitizer).
        "[`USER_ID` INTEGER KEY, `NAME` STRING]"
    );
}

#[test]
fn rejects_with_ksqldb_messages() {
    let e = run_err(&format!(
        "{CLICKS}SELECT pagee_id FROM clicks EMIT CHANGES;"
    ));
    assert_eq!(
        e,
        "SELECT column 'PAGEE_ID' cannot be resolved. Did you mean 'PAGE_ID'?"
    );
    let e = run_err(&format!("{CLICKS}SELECT * FROM clickz EMIT CHANGES;"));
    assert_eq!(e, "CLICKZ does not exist. Did you mean 'CLICKS'?");
    let e = run_err(&format!(
        "{CLICKS}SELECT UCAS(page_id) FROM clicks EMIT CHANGES;"
    ));
    assert_eq!(
        e,
        "Can't find any functions with the name 'UCAS' Did you mean 'UCASE'?"
    );
    let e =
        run_err("CREATE TABLE t (id INT, v STRING) WITH (kafka_topic='t', value_format='JSON');");
    assert_eq!(
        e,
        "Tables require a PRIMARY KEY. Please define the PRIMARY KEY."
    );
    let e = run_err(&format!(
        "{CLICKS}CREATE TABLE t AS SELECT page_id, COUNT(*) FROM clicks GROUP BY user_id;"
    ));
    assert!(
        e.starts_with("Non-aggregate SELECT expression(s) not part of GROUP BY: PAGE_ID"),
        "{e}"
    );
    let e = run_err(&format!(
        "{CLICKS}CREATE STREAM s AS SELECT page_id FROM clicks PARTITION BY page_id, NULL;"
    ));
    assert_eq!(e, "Cannot PARTITION BY multiple columns including NULL");
    let e = run_err(&format!("{CLICKS}{CLICKS}"));
    assert_eq!(
        e,
        "Cannot add stream 'CLICKS': A stream with the same name already exists"
    );
    let e = run_err("CREATE STREAM s (id INT KEY) WITH (kafka_topic='s');");
    assert!(
        e.starts_with("Statement is missing the 'VALUE_FORMAT' property"),
        "{e}"
    );
}

#[test]
fn pull_query_key_values_must_convert_to_the_key_type() {
    let counts = format!(
        "{CLICKS}CREATE TABLE counts AS SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id;\n"
    );
    let e = run_err(&format!(
        "{counts}SELECT * FROM counts WHERE user_id IN ('10', 8);"
    ));
    assert_eq!(
        e,
        "'10' can not be converted to the type of the key column: USER_ID INTEGER KEY"
    );
    // Elsewhere (a push query) ksqlDB's IN list reads '10' as the INTEGER it spells, and
    // only text that is no number is an error.
    run(&format!(
        "{counts}SELECT * FROM counts WHERE user_id IN ('10', 8) EMIT CHANGES;"
    ))
    .expect("'10' reads as an INTEGER");
    let e = run_err(&format!(
        "{counts}SELECT * FROM counts WHERE user_id IN ('ten', 8) EMIT CHANGES;"
    ));
    assert!(
        e.starts_with("invalid input syntax for type INTEGER: \"ten\"."),
        "{e}"
    );
    // Analysis errors come before whether the table can be queried at all.
    let e = run_err(
        "CREATE TABLE t (id INT PRIMARY KEY, v STRING) WITH (kafka_topic='t', value_format='JSON');\nSELECT v, v FROM t WHERE id = 1;",
    );
    assert!(
        e.starts_with("Duplicate value columns found in schema"),
        "{e}"
    );
}

#[test]
fn errors_render_with_a_caret() {
    let sql = format!("{CLICKS}SELECT nope FROM clicks EMIT CHANGES;");
    let mut a = Analyzer::new(Funcs);
    let sts = parse_statements(&sql).unwrap();
    a.analyze(&sts[0]).unwrap();
    let e = a.analyze(&sts[1]).unwrap_err();
    assert_eq!(
        e.render(&sql, "q.sql"),
        "q.sql:2:8: SELECT column 'NOPE' cannot be resolved.\nSELECT nope FROM clicks EMIT CHANGES;\n       ^\nLine: 2, Col: 8: SELECT column 'NOPE' cannot be resolved."
    );
}

#[test]
fn drop_and_insert_update_and_check_the_catalog() {
    let sql = format!(
        "{CLICKS}CREATE STREAM copy AS SELECT * FROM clicks;\n\
         INSERT INTO copy SELECT * FROM clicks;\n\
         INSERT INTO copy (user_id, page_id) VALUES (1, 'a');\n\
         DROP STREAM copy;"
    );
    assert!(matches!(
        run(&sql).unwrap(),
        AnalyzedStatement::DropSource { entry: Some(_), .. }
    ));
    let e = run_err(&format!(
        "{CLICKS}CREATE STREAM other (id INT KEY) WITH (kafka_topic='o', value_format='JSON');\n\
         INSERT INTO other SELECT * FROM clicks;"
    ));
    assert!(
        e.starts_with("Incompatible schema between results and sink."),
        "{e}"
    );
}

#[test]
fn sink_errors_quote_the_sanitized_statement() {
    let m = run_err(&format!(
        "{CLICKS}CREATE TABLE t WITH (key_format='KAFKA') AS SELECT user_id, page_id p, UCASE(page_id), COUNT(*) FROM clicks c WHERE user_id > 1 GROUP BY user_id, page_id;"
    ));
    assert!(
        m.ends_with(
            "\nStatement: CREATE TABLE T WITH (KEY_FORMAT='KAFKA') AS SELECT\n  C.USER_ID USER_ID,\n  C.PAGE_ID P,\n  UCASE(C.PAGE_ID) KSQL_COL_0,\n  COUNT(*) KSQL_COL_1\nFROM CLICKS C\nWHERE (C.USER_ID > 1)\nGROUP BY C.USER_ID, C.PAGE_ID\nEMIT CHANGES"
        ),
        "{m}"
    );
    // Errors found before the sink (here, in the select list) quote nothing.
    let m = run_err(&format!(
        "{CLICKS}CREATE STREAM s AS SELECT nope FROM clicks;"
    ));
    assert!(!m.contains("Statement:"), "{m}");
}

#[test]
fn unknown_qualifiers_are_rejected_before_columns_resolve() {
    let sql = format!(
        "{CLICKS}CREATE STREAM s AS SELECT nope, c.user_id FROM clicks c WHERE unknown.x = 1;"
    );
    let mut a = Analyzer::new(Funcs);
    let sts = parse_statements(&sql).unwrap();
    a.analyze(&sts[0]).unwrap();
    let e = a.analyze(&sts[1]).unwrap_err();
    assert_eq!(
        e.message,
        "'UNKNOWN' is not a valid stream/table name or alias."
    );
    // ksqlDB's AST builder reports it without a position.
    assert!(e.render(&sql, "q").ends_with(
        "\nFailed to prepare statement: 'UNKNOWN' is not a valid stream/table name or alias."
    ));
}

#[test]
fn system_columns_selected_under_their_own_name_are_reserved() {
    let m = run_err(&format!(
        "{CLICKS}CREATE TABLE t AS SELECT user_id, WINDOWSTART, COUNT(*) AS c FROM clicks GROUP BY user_id;"
    ));
    assert_eq!(
        m,
        "Reserved column name in select: `WINDOWSTART`. Please remove or alias the column."
    );
}
