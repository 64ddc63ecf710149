//! Property tests: no input makes the parser panic, and whatever it accepts prints back to
//! SQL that parses to the same tree.

use std::collections::HashMap;

use brook_sql::{
    parse_expression, parse_script, parse_statement, parse_statements, parse_type,
    split_statements, substitute_variables,
};
use proptest::prelude::*;

/// Keywords, names, literals and punctuation of the dialect, to build token soup from.
const VOCAB: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "PARTITION",
    "HAVING",
    "EMIT",
    "CHANGES",
    "FINAL",
    "LIMIT",
    "WINDOW",
    "TUMBLING",
    "HOPPING",
    "SESSION",
    "SIZE",
    "ADVANCE",
    "RETENTION",
    "GRACE",
    "PERIOD",
    "SECONDS",
    "SECOND",
    "MILLISECONDS",
    "DAYS",
    "HOUR",
    "JOIN",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "INNER",
    "ON",
    "WITHIN",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "LIKE",
    "ESCAPE",
    "IS",
    "NULL",
    "DISTINCT",
    "TRUE",
    "FALSE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "ARRAY",
    "MAP",
    "STRUCT",
    "CREATE",
    "OR",
    "REPLACE",
    "SOURCE",
    "STREAM",
    "TABLE",
    "IF",
    "EXISTS",
    "WITH",
    "KEY",
    "PRIMARY",
    "HEADERS",
    "HEADER",
    "INSERT",
    "INTO",
    "VALUES",
    "SHOW",
    "LIST",
    "STREAMS",
    "TABLES",
    "TOPICS",
    "QUERIES",
    "EXTENDED",
    "DESCRIBE",
    "FUNCTION",
    "EXPLAIN",
    "DROP",
    "DELETE",
    "TOPIC",
    "TYPE",
    "TERMINATE",
    "ALL",
    "PAUSE",
    "RESUME",
    "PRINT",
    "BEGINNING",
    "INTERVAL",
    "SET",
    "UNSET",
    "ALTER",
    "ADD",
    "COLUMN",
    "DEFINE",
    "UNDEFINE",
    "RUN",
    "SCRIPT",
    "ASSERT",
    "SCHEMA",
    "SUBJECT",
    "ID",
    "TIMEOUT",
    "AT",
    "TIME",
    "ZONE",
    "DATE",
    "INT",
    "BIGINT",
    "DOUBLE",
    "STRING",
    "VARCHAR",
    "BOOLEAN",
    "DECIMAL",
    "BYTES",
    "TIMESTAMP",
    "a",
    "b",
    "s",
    "t",
    "x",
    "COUNT",
    "f",
    "`Q x`",
    "\"dq\"",
    "`a``b`",
    "1",
    "0",
    "42",
    "2147483648",
    "1.5",
    ".5",
    "1.5e3",
    "1e",
    "'str'",
    "'it''s'",
    "''",
    "${v}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    ";",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    ">>",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "->",
    "=>",
    ":=",
    "?",
    "$",
    "@",
    "#",
    "--c\n",
    "/*c*/",
    "\n",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..40).prop_map(|v| v.join(" "))
}

fn check_round_trip(sql: &str) {
    if let Ok(sts) = parse_statements(sql) {
        for st in sts {
            let printed = st.to_string();
            let again = parse_statement(&printed).unwrap_or_else(|e| {
                panic!(
                    "accepted {sql:?} but its print {printed:?} does not parse: {}",
                    e.render(&printed, "printed")
                )
            });
            assert_eq!(again, st, "round trip of {sql:?} via {printed:?}");
        }
    }
}

fn exercise(sql: &str) {
    let _ = parse_statements(sql);
    let _ = parse_statement(sql);
    let _ = parse_expression(sql);
    let _ = parse_type(sql);
    let _ = split_statements(sql);
    let mut vars = HashMap::from([("v".to_string(), "x".to_string())]);
    let _ = substitute_variables(sql, &vars);
    let _ = parse_script(sql, &mut vars);
    if let Err(e) = parse_statements(sql) {
        let _ = e.render(sql, "fuzz.sql");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics_and_round_trips(sql in token_soup()) {
        exercise(&sql);
        check_round_trip(&sql);
    }

    #[test]
    fn statement_prefix_soup_round_trips(
        head in prop::sample::select(&[
            "SELECT", "SELECT * FROM t WHERE", "CREATE STREAM s (", "CREATE TABLE t AS SELECT",
            "INSERT INTO t VALUES (", "SELECT a FROM t GROUP BY", "SELECT * FROM a JOIN b",
            "SELECT * FROM t WINDOW", "CREATE STREAM s WITH (",
        ][..]),
        tail in token_soup(),
    ) {
        let sql = format!("{head} {tail}");
        exercise(&sql);
        check_round_trip(&sql);
    }

    #[test]
    fn random_text_never_panics(s in ".{0,200}") {
        exercise(&s);
    }

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&b));
    }
}

/// Random expressions from the grammar, every compound in parentheses so that they must
/// parse; `bare` drops some parentheses, and then they need only round-trip if they parse.
fn grammar_expr() -> impl Strategy<Value = (String, String)> {
    let leaf = prop::sample::select(
        &[
            "a",
            "`b c`",
            "s.x",
            "`T`.`y`",
            "key",
            "1",
            "0",
            "2147483648",
            "1.50",
            ".5",
            "1.5e3",
            "'it''s'",
            "''",
            "TRUE",
            "NULL",
            "DATE '2021-01-01'",
        ][..],
    )
    .prop_map(|s| (s.to_string(), s.to_string()));
    leaf.prop_recursive(5, 64, 4, |inner| {
        let two = (inner.clone(), inner.clone());
        prop_oneof![
            (
                two.clone(),
                prop::sample::select(
                    &["+", "-", "*", "/", "%", "||", "=", "<>", "<", ">=", "AND", "OR"][..]
                )
            )
                .prop_map(|(((a, ab), (b, bb)), op)| (
                    format!("({a} {op} {b})"),
                    format!("{ab} {op} {bb}")
                )),
            inner
                .clone()
                .prop_map(|(a, ab)| (format!("(-{a})"), format!("- {ab}"))),
            inner
                .clone()
                .prop_map(|(a, ab)| (format!("(NOT {a})"), format!("NOT {ab}"))),
            (inner.clone(), two.clone()).prop_map(|((a, ab), ((b, bb), (c, cb)))| (
                format!("({a} NOT BETWEEN {b} AND {c})"),
                format!("{ab} BETWEEN {bb} AND {cb}")
            )),
            (inner.clone(), prop::collection::vec(inner.clone(), 1..3)).prop_map(|((a, ab), l)| {
                let full: Vec<_> = l.iter().map(|x| x.0.clone()).collect();
                let bare: Vec<_> = l.iter().map(|x| x.1.clone()).collect();
                (
                    format!("({a} IN ({}))", full.join(", ")),
                    format!("{ab} NOT IN ({})", bare.join(", ")),
                )
            }),
            two.clone().prop_map(|((a, ab), (b, bb))| (
                format!("({a} LIKE {b} ESCAPE '!')"),
                format!("{ab} LIKE {bb}")
            )),
            inner
                .clone()
                .prop_map(|(a, ab)| (format!("({a} IS NOT NULL)"), format!("{ab} IS NULL"))),
            two.clone().prop_map(|((a, ab), (b, bb))| (
                format!("({a} IS DISTINCT FROM {b})"),
                format!("{ab} IS NOT DISTINCT FROM {bb}")
            )),
            two.clone().prop_map(|((a, ab), (b, bb))| (
                format!("CASE WHEN {a} THEN {b} END"),
                format!("CASE {ab} WHEN {bb} THEN 1 ELSE {ab} END")
            )),
            (
                inner.clone(),
                prop::sample::select(
                    &[
                        "INT",
                        "DECIMAL(4, 2)",
                        "ARRAY<MAP<STRING, BIGINT>>",
                        "STRUCT<`a b` INT, c BYTES>",
                        "ADDRESS",
                        "STRUCT<>"
                    ][..]
                )
            )
                .prop_map(|((a, ab), t)| (
                    format!("CAST({a} AS {t})"),
                    format!("CAST({ab} AS {t})")
                )),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|l| {
                let full: Vec<_> = l.iter().map(|x| x.0.clone()).collect();
                let bare: Vec<_> = l.iter().map(|x| x.1.clone()).collect();
                (
                    format!("ARRAY[{}]", full.join(", ")),
                    format!("f({})", bare.join(", ")),
                )
            }),
            two.clone().prop_map(|((a, ab), (b, bb))| (
                format!("MAP({a} := {b})"),
                format!("MAP({ab}:={bb})")
            )),
            inner.clone().prop_map(|(a, ab)| (
                format!("STRUCT(`f 1` := {a}, g := 1)"),
                format!("STRUCT(g:={ab})")
            )),
            two.clone()
                .prop_map(|((a, ab), (b, bb))| (format!("({a})[{b}]"), format!("{ab}[{bb}]"))),
            inner
                .clone()
                .prop_map(|(a, ab)| (format!("({a})->f->`G`"), format!("{ab}->f"))),
            two.clone().prop_map(|((a, ab), (b, bb))| (
                format!("TRANSFORM({a}, (x, y) => {b})"),
                format!("TRANSFORM({ab}, x => {bb})")
            )),
            inner.clone().prop_map(|(a, ab)| (
                format!("COUNT({a}, MILLISECONDS)"),
                format!("COUNT(*) + {ab}")
            )),
            inner.clone().prop_map(|(a, ab)| (
                format!("({a} AT TIME ZONE 'UTC')"),
                format!("{ab} AT TIME ZONE 'UTC'")
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn grammar_expressions_parse_and_round_trip((full, bare) in grammar_expr()) {
        for sql in [
            format!("SELECT {full} AS r FROM s WHERE {full} GROUP BY {full} EMIT CHANGES"),
            format!("INSERT INTO s (a) VALUES ({full})"),
        ] {
            let st = parse_statement(&sql)
                .unwrap_or_else(|e| panic!("{}", e.render(&sql, "generated")));
            let printed = st.to_string();
            let again = parse_statement(&printed)
                .unwrap_or_else(|e| panic!("{}", e.render(&printed, "printed")));
            prop_assert_eq!(&again, &st, "via {}", printed);
        }
        check_round_trip(&format!("SELECT {bare} FROM s WHERE {bare} PARTITION BY {bare}"));
    }
}
