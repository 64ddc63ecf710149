//! The parser on hand-written statements: the tree it builds, spans, errors, round trips.

use brook_sql::ast::*;
use brook_sql::{
    parse_expression, parse_statement, parse_statements, parse_type, ParseErrorKind, MAX_DEPTH,
};

fn stmt(sql: &str) -> StatementKind {
    let st = parse_statement(sql).unwrap_or_else(|e| panic!("{}", e.render(sql, "test")));
    round_trips(&st);
    st.kind
}

fn expr(sql: &str) -> Expr {
    let e = parse_expression(sql).unwrap_or_else(|e| panic!("{}", e.render(sql, "test")));
    let again = parse_expression(&e.to_string())
        .unwrap_or_else(|err| panic!("reprint {} of {sql}: {err}", e));
    assert_eq!(again, e, "round trip of {sql} via {e}");
    e
}

fn round_trips(st: &Statement) {
    let printed = st.to_string();
    let again = parse_statement(&printed)
        .unwrap_or_else(|e| panic!("reprint does not parse: {}", e.render(&printed, "printed")));
    assert_eq!(&again, st, "round trip via {printed}");
}

fn query(sql: &str) -> Query {
    match stmt(sql) {
        StatementKind::Query(q) => q,
        other => panic!("not a query: {other:?}"),
    }
}

fn col(name: &str) -> ExprKind {
    ExprKind::Column {
        source: None,
        name: Ident::new(name),
    }
}

fn int(i: i32) -> ExprKind {
    ExprKind::Literal(Literal::Integer(i))
}

#[test]
fn identifiers_follow_ksql_case_rules() {
    let q = query("select foo, `Bar`, \"baz\", s.`x``y` from `MixedCase` m");
    let names: Vec<_> = q
        .select
        .iter()
        .map(|i| match i {
            SelectItem::Expr { expr, .. } => expr.to_string(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(names, vec!["FOO", "`Bar`", "`baz`", "S.`x``y`"]);
    assert_eq!(q.from.source.name.value, "MixedCase");
    assert!(q.from.source.name.quoted);
    assert_eq!(q.from.source.alias.as_ref().unwrap().value, "M");
    match &q.select[3] {
        SelectItem::Expr { expr, .. } => match &expr.kind {
            ExprKind::Column { source, name } => {
                assert_eq!(source.as_ref().unwrap().value, "S");
                assert_eq!(name.value, "x`y");
            }
            k => panic!("{k:?}"),
        },
        _ => panic!(),
    }
}

#[test]
fn literal_types() {
    assert_eq!(expr("1").kind, int(1));
    assert_eq!(expr("2147483647").kind, int(i32::MAX));
    assert_eq!(
        expr("2147483648").kind,
        ExprKind::Literal(Literal::BigInt(2147483648))
    );
    assert_eq!(
        expr("1.50").kind,
        ExprKind::Literal(Literal::Decimal("1.50".into()))
    );
    assert_eq!(
        expr("1.5e3").kind,
        ExprKind::Literal(Literal::Double(1500.0))
    );
    assert_eq!(expr("1E-2").kind, ExprKind::Literal(Literal::Double(0.01)));
    assert_eq!(
        expr("'it''s'").kind,
        ExprKind::Literal(Literal::String("it's".into()))
    );
    assert_eq!(expr("TRUE").kind, ExprKind::Literal(Literal::Boolean(true)));
    assert_eq!(expr("null").kind, ExprKind::Literal(Literal::Null));
    let e = parse_expression("99999999999999999999").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Invalid);
    assert!(parse_expression("1e999").is_err());
}

#[test]
fn precedence() {
    assert_eq!(expr("a + b * c").to_string(), "(A + (B * C))");
    assert_eq!(expr("a - b - c").to_string(), "((A - B) - C)");
    assert_eq!(expr("-a * b").to_string(), "(-A * B)");
    assert_eq!(expr("a || b + c").to_string(), "(A || (B + C))");
    assert_eq!(expr("a OR b AND c").to_string(), "(A OR (B AND C))");
    assert_eq!(expr("NOT a = b AND c").to_string(), "((NOT (A = B)) AND C)");
    assert_eq!(expr("a % 2 = 0").to_string(), "((A % 2) = 0)");
    assert_eq!(expr("- -1").to_string(), "-(-1)");
    assert_eq!(expr("(a + b)[1]->x").to_string(), "(A + B)[1]->X");
    assert_eq!(expr("(-a)[1]").to_string(), "(-A)[1]");
    // A predicate applies once: `a = b = c` is not an expression.
    assert!(parse_expression("a = b = c").is_err());
}

#[test]
fn predicates() {
    assert_eq!(
        expr("x NOT BETWEEN 1 AND 2 AND y").to_string(),
        "((X NOT BETWEEN 1 AND 2) AND Y)"
    );
    assert_eq!(expr("x IN (1, 2)").to_string(), "(X IN (1, 2))");
    assert_eq!(expr("x NOT IN ('a')").to_string(), "(X NOT IN ('a'))");
    assert_eq!(
        expr("x LIKE 'a!%' ESCAPE '!'").to_string(),
        "(X LIKE 'a!%' ESCAPE '!')"
    );
    assert_eq!(expr("x NOT LIKE 'a%'").to_string(), "(X NOT LIKE 'a%')");
    assert_eq!(expr("x IS NOT NULL").to_string(), "(X IS NOT NULL)");
    assert_eq!(
        expr("x IS NOT DISTINCT FROM y").to_string(),
        "(X IS NOT DISTINCT FROM Y)"
    );
    assert_eq!(expr("a != b").to_string(), "(A <> B)");
}

#[test]
fn constructors_functions_and_lambdas() {
    assert_eq!(
        expr("ARRAY[1, 2][1]").kind,
        ExprKind::Subscript {
            base: Box::new(Expr::unspanned(ExprKind::Array(vec![
                Expr::unspanned(int(1)),
                Expr::unspanned(int(2))
            ]))),
            index: Box::new(Expr::unspanned(int(1))),
        }
    );
    assert_eq!(expr("MAP('a' := 1)['a']").to_string(), "MAP('a':=1)['a']");
    assert_eq!(
        expr("STRUCT(f1 := 1, `f2` := 'x')->f1").to_string(),
        "STRUCT(F1:=1, `f2`:='x')->F1"
    );
    assert_eq!(expr("a->b->c").to_string(), "A->B->C");
    assert_eq!(expr("COUNT(*)").to_string(), "COUNT(*)");
    assert_eq!(
        expr("transform(arr, x => x + 1)").to_string(),
        "TRANSFORM(ARR, (X) => (X + 1))"
    );
    assert_eq!(
        expr("reduce(m, 0, (s, k, v) => s + v)").to_string(),
        "REDUCE(M, 0, (S, K, V) => (S + V))"
    );
    assert_eq!(
        expr("TIMESTAMPADD(MILLISECONDS, 5, ts)").kind,
        ExprKind::Function {
            name: Ident::new("TIMESTAMPADD"),
            args: vec![
                Expr::unspanned(ExprKind::TimeUnit(TimeUnit::Milliseconds)),
                Expr::unspanned(int(5)),
                Expr::unspanned(col("TS")),
            ],
            star: false,
        }
    );
    assert_eq!(
        expr("CAST(x AS DECIMAL(4, 2))").to_string(),
        "CAST(X AS DECIMAL(4, 2))"
    );
    assert_eq!(
        expr("CASE WHEN a > 1 THEN 'x' ELSE 'y' END").to_string(),
        "(CASE WHEN (A > 1) THEN 'x' ELSE 'y' END)"
    );
    assert_eq!(
        expr("CASE a WHEN 1 THEN 'x' WHEN 2 THEN 'y' END").to_string(),
        "(CASE A WHEN 1 THEN 'x' WHEN 2 THEN 'y' END)"
    );
    assert_eq!(
        expr("DATE '2021-01-01'").kind,
        ExprKind::TypedLiteral {
            type_name: Ident::new("DATE"),
            value: "2021-01-01".into()
        }
    );
    assert_eq!(
        expr("ts AT TIME ZONE 'UTC'").to_string(),
        "(TS AT TIME ZONE 'UTC')"
    );
    // Non-reserved keywords are usable as names.
    assert_eq!(expr("key + len(map)").to_string(), "(KEY + LEN(`MAP`))");
    assert!(parse_expression("size(x)").is_err(), "SIZE is reserved");
}

#[test]
fn types() {
    let t = parse_type("STRUCT<a INT, `b` ARRAY<MAP<STRING, ARRAY<BIGINT>>>, c DECIMAL(10, 2)>")
        .unwrap();
    assert_eq!(
        t,
        Type::Struct(vec![
            StructField {
                name: Ident::new("A"),
                ty: Type::Int
            },
            StructField {
                name: Ident::quoted("b"),
                ty: Type::Array(Box::new(Type::Map(
                    Box::new(Type::String),
                    Box::new(Type::Array(Box::new(Type::BigInt)))
                )))
            },
            StructField {
                name: Ident::new("C"),
                ty: Type::Decimal {
                    precision: 10,
                    scale: 2
                }
            },
        ])
    );
    for (src, ty) in [
        ("BOOLEAN", Type::Boolean),
        ("integer", Type::Int),
        ("VARCHAR", Type::String),
        ("bytes", Type::Bytes),
        ("DATE", Type::Date),
        ("TIME", Type::Time),
        ("TIMESTAMP", Type::Timestamp),
        ("DOUBLE", Type::Double),
        ("ADDRESS", Type::Custom(Ident::new("ADDRESS"))),
        ("STRUCT<>", Type::Struct(vec![])),
    ] {
        assert_eq!(parse_type(src).unwrap(), ty, "{src}");
        assert_eq!(parse_type(&ty.to_string()).unwrap(), ty);
    }
    assert!(parse_type("NULL").is_err());
    assert!(parse_type("ARRAY<NULL>").is_err());
    assert!(parse_type("INT (KEY)").is_err());
}

#[test]
fn create_source() {
    let k = stmt(
        "CREATE OR REPLACE STREAM IF NOT EXISTS s (id INT KEY, v STRING, h ARRAY<STRUCT<key STRING, value BYTES>> HEADERS, h1 BYTES HEADER('k1')) \
         WITH (kafka_topic='t', value_format='JSON', partitions=4, 'ksql.x'=true, WRAP_SINGLE_VALUE=false)",
    );
    let StatementKind::CreateSource(c) = k else {
        panic!("{k:?}")
    };
    assert_eq!(c.kind, SourceKind::Stream);
    assert!(c.or_replace && c.if_not_exists && !c.is_source);
    assert_eq!(c.elements.len(), 4);
    assert_eq!(c.elements[0].constraint, ColumnConstraint::Key);
    assert_eq!(c.elements[2].constraint, ColumnConstraint::Headers);
    assert_eq!(
        c.elements[3].constraint,
        ColumnConstraint::Header("k1".into())
    );
    assert_eq!(c.properties.get_str("kafka_topic"), Some("t"));
    assert_eq!(c.properties.get("PARTITIONS"), Some(&Literal::Integer(4)));
    assert_eq!(c.properties.get("KSQL.X"), Some(&Literal::Boolean(true)));

    let k =
        stmt("CREATE SOURCE TABLE t (id INT PRIMARY KEY) WITH (kafka_topic='t', format='JSON')");
    let StatementKind::CreateSource(c) = k else {
        panic!()
    };
    assert!(c.is_source);
    assert_eq!(c.elements[0].constraint, ColumnConstraint::PrimaryKey);

    let e =
        parse_statement("CREATE TABLE INPUT (ID INT KEY, NAME STRING) WITH (kafka_topic='input')")
            .unwrap_err();
    assert_eq!((e.line, e.column), (1, 21));
    assert!(e.message.contains("please use 'PRIMARY KEY'"));
    let e = parse_statement("CREATE STREAM INPUT (ID INT PRIMARY KEY)").unwrap_err();
    assert_eq!((e.line, e.column), (1, 22));
    assert!(parse_statement("CREATE SOURCE STREAM s AS SELECT * FROM t").is_err());
}

#[test]
fn create_as_select_and_insert() {
    let k = stmt(
        "CREATE TABLE agg WITH (kafka_topic='out') AS SELECT id, COUNT(*) AS cnt FROM s \
         WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS, RETENTION 7 DAYS, GRACE PERIOD 1 MINUTE) \
         WHERE v > 0 GROUP BY id HAVING COUNT(*) > 1 EMIT FINAL",
    );
    let StatementKind::CreateAsSelect(c) = k else {
        panic!()
    };
    assert_eq!(c.kind, SourceKind::Table);
    let w = c.query.window.unwrap();
    assert_eq!(
        w.kind,
        WindowKind::Hopping {
            size: Duration::new(10, TimeUnit::Seconds).unwrap(),
            advance: Duration::new(5, TimeUnit::Seconds).unwrap(),
        }
    );
    assert_eq!(w.retention.unwrap().millis, 7 * 86_400_000);
    assert_eq!(w.grace.unwrap().millis, 60_000);
    assert_eq!(c.query.emit, Some(Emit::Final));

    let k = stmt(
        "INSERT INTO out WITH (QUERY_ID='q1') SELECT * FROM s PARTITION BY v, id EMIT CHANGES",
    );
    let StatementKind::InsertInto(i) = k else {
        panic!()
    };
    assert_eq!(i.query.partition_by.unwrap().len(), 2);
    assert_eq!(i.properties.get_str("query_id"), Some("q1"));

    let k = stmt("INSERT INTO s (id, v) VALUES (1, 'a' + 'b')");
    let StatementKind::InsertValues(i) = k else {
        panic!()
    };
    assert_eq!(i.columns.unwrap().len(), 2);
    assert_eq!(i.values.len(), 2);
    let k = stmt("INSERT INTO s VALUES ()");
    assert!(matches!(
        k,
        StatementKind::InsertValues(InsertValues { columns: None, .. })
    ));
}

#[test]
fn windows() {
    let q = query(
        "SELECT * FROM s WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 0 MILLISECONDS) GROUP BY k",
    );
    let w = q.window.unwrap();
    assert_eq!(
        w.kind,
        WindowKind::Tumbling {
            size: Duration::new(1, TimeUnit::Seconds).unwrap()
        }
    );
    assert_eq!(w.grace.unwrap().millis, 0);
    let q = query("SELECT * FROM s WINDOW w SESSION (30 SECONDS) GROUP BY k");
    let w = q.window.unwrap();
    assert_eq!(w.name.unwrap().value, "W");
    assert_eq!(
        w.kind,
        WindowKind::Session {
            gap: Duration::new(30, TimeUnit::Seconds).unwrap()
        }
    );
    assert!(parse_statement("SELECT * FROM s WINDOW TUMBLING (SIZE 1 WEEK)").is_err());
}

#[test]
fn joins() {
    let q = query(
        "SELECT * FROM a JOIN b WITHIN 10 SECONDS ON a.id = b.id \
         LEFT OUTER JOIN c ON a.id = c.id \
         RIGHT JOIN d WITHIN (1 SECOND, 2 MINUTES) GRACE PERIOD 3 HOURS ON a.id = d.id \
         FULL OUTER JOIN e AS ee ON a.id = ee.id",
    );
    let kinds: Vec<_> = q.from.joins.iter().map(|j| j.join_type).collect();
    assert_eq!(
        kinds,
        vec![
            JoinType::Inner,
            JoinType::Left,
            JoinType::Right,
            JoinType::Full
        ]
    );
    let w = q.from.joins[2].within.as_ref().unwrap();
    assert_eq!((w.before_millis(), w.after_millis()), (1_000, 120_000));
    assert_eq!(w.grace.unwrap().millis, 3 * 3_600_000);
    assert_eq!(q.from.joins[3].source.reference_name().value, "EE");
}

#[test]
fn group_by_forms() {
    let q = query("SELECT * FROM s GROUP BY (a, b)");
    assert_eq!(q.group_by.unwrap().len(), 2);
    let q = query("SELECT * FROM s GROUP BY ()");
    assert_eq!(q.group_by.unwrap().len(), 0);
    let q = query("SELECT * FROM s GROUP BY (a + 1) * 2, b");
    assert_eq!(q.group_by.unwrap()[0].to_string(), "((A + 1) * 2)");
    let q = query("SELECT * FROM s GROUP BY (a > 1)");
    assert_eq!(q.group_by.unwrap()[0].to_string(), "(A > 1)");
    // Value expressions only, as in ksqlDB.
    assert!(parse_statement("SELECT * FROM s GROUP BY a AND b").is_err());
    let e = parse_statement("SELECT f1, COUNT(*) FROM TEST GROUP BY f3, (f2, f1)").unwrap_err();
    assert_eq!(e.column, 47);
    assert!(parse_statement("SELECT * FROM s PARTITION BY a AND b").is_err());
}

#[test]
fn select_items() {
    let q = query("SELECT *, s.*, v->*, a b, a AS `c` FROM s EMIT CHANGES LIMIT 10");
    assert!(matches!(
        q.select[0],
        SelectItem::Wildcard { source: None, .. }
    ));
    assert!(matches!(&q.select[1], SelectItem::Wildcard { source: Some(s), .. } if s.value == "S"));
    assert!(matches!(&q.select[2], SelectItem::StructAll { .. }));
    assert!(matches!(&q.select[3], SelectItem::Expr { alias: Some(a), .. } if a.value == "B"));
    assert!(matches!(&q.select[4], SelectItem::Expr { alias: Some(a), .. } if a.value == "c"));
    assert_eq!(q.limit, Some(10));
    assert_eq!(q.emit, Some(Emit::Changes));
    // A pull query has no EMIT.
    assert_eq!(query("SELECT * FROM t WHERE k = 1").emit, None);
}

#[test]
fn admin_statements() {
    use StatementKind as S;
    let cases: Vec<(&str, StatementKind)> = vec![
        (
            "SHOW STREAMS",
            S::Show(ShowKind::Streams { extended: false }),
        ),
        (
            "LIST TABLES EXTENDED",
            S::Show(ShowKind::Tables { extended: true }),
        ),
        (
            "SHOW ALL TOPICS EXTENDED",
            S::Show(ShowKind::Topics {
                all: true,
                extended: true,
            }),
        ),
        (
            "show queries extended",
            S::Show(ShowKind::Queries { extended: true }),
        ),
        ("SHOW PROPERTIES", S::Show(ShowKind::Properties)),
        ("SHOW FUNCTIONS", S::Show(ShowKind::Functions)),
        ("SHOW TYPES", S::Show(ShowKind::Types)),
        ("SHOW VARIABLES", S::Show(ShowKind::Variables)),
        ("SHOW CONNECTORS", S::Show(ShowKind::Connectors(None))),
        (
            "SHOW SINK CONNECTORS",
            S::Show(ShowKind::Connectors(Some(ConnectorKind::Sink))),
        ),
        (
            "DESCRIBE s EXTENDED",
            S::DescribeSource {
                name: Ident::new("S"),
                extended: true,
            },
        ),
        (
            "DESCRIBE STREAMS",
            S::DescribeSources {
                kind: SourceKind::Stream,
                extended: false,
            },
        ),
        (
            "DESCRIBE TABLES EXTENDED",
            S::DescribeSources {
                kind: SourceKind::Table,
                extended: true,
            },
        ),
        (
            "DESCRIBE FUNCTION ucase",
            S::DescribeFunction {
                name: Ident::new("UCASE"),
            },
        ),
        (
            "EXPLAIN CSAS_OUT_0",
            S::Explain(ExplainTarget::QueryId(Ident::new("CSAS_OUT_0"))),
        ),
        (
            "DROP STREAM IF EXISTS s DELETE TOPIC",
            S::DropSource {
                kind: SourceKind::Stream,
                name: Ident::new("S"),
                if_exists: true,
                delete_topic: true,
            },
        ),
        (
            "DROP TABLE t",
            S::DropSource {
                kind: SourceKind::Table,
                name: Ident::new("T"),
                if_exists: false,
                delete_topic: false,
            },
        ),
        (
            "DROP TYPE IF EXISTS addr",
            S::DropType {
                name: Ident::new("ADDR"),
                if_exists: true,
            },
        ),
        ("TERMINATE ALL", S::Terminate(QueryTarget::All)),
        (
            "TERMINATE csas_x_1",
            S::Terminate(QueryTarget::Query(Ident::new("CSAS_X_1"))),
        ),
        ("PAUSE ALL", S::Pause(QueryTarget::All)),
        ("RESUME q1", S::Resume(QueryTarget::Query(Ident::new("Q1")))),
        (
            "SET 'auto.offset.reset'='earliest'",
            S::SetProperty {
                name: "auto.offset.reset".into(),
                value: "earliest".into(),
            },
        ),
        (
            "UNSET 'auto.offset.reset'",
            S::UnsetProperty {
                name: "auto.offset.reset".into(),
            },
        ),
        (
            "ALTER SYSTEM 'a'='b'",
            S::AlterSystem {
                name: "a".into(),
                value: "b".into(),
            },
        ),
        (
            "DEFINE topicName = '''my_topic'''",
            S::Define {
                name: "topicName".into(),
                value: "'my_topic'".into(),
            },
        ),
        (
            "UNDEFINE topicName",
            S::Undefine {
                name: "topicName".into(),
            },
        ),
        (
            "RUN SCRIPT '/tmp/x.sql'",
            S::RunScript {
                path: "/tmp/x.sql".into(),
            },
        ),
        (
            "CREATE TYPE IF NOT EXISTS addr AS STRUCT<n INT>",
            S::CreateType {
                name: Ident::new("ADDR"),
                if_not_exists: true,
                ty: Type::Struct(vec![StructField {
                    name: Ident::new("N"),
                    ty: Type::Int,
                }]),
            },
        ),
    ];
    for (sql, want) in cases {
        assert_eq!(stmt(sql), want, "{sql}");
    }
    let k = stmt("PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10");
    assert_eq!(
        k,
        S::Print(Print {
            topic: ResourceName {
                name: "my-topic".into(),
                is_string: true,
                span: Span::default()
            },
            from_beginning: true,
            interval: Some(2),
            limit: Some(10)
        })
    );
    let k = stmt("PRINT myTopic");
    assert!(matches!(k, S::Print(Print { topic, .. }) if topic.name == "myTopic"));
    let k = stmt("EXPLAIN SELECT * FROM s EMIT CHANGES");
    assert!(matches!(k, S::Explain(ExplainTarget::Statement(_))));
    let k = stmt("ALTER STREAM s ADD COLUMN c1 INT, ADD c2 STRING");
    assert!(matches!(k, S::AlterSource { add_columns, .. } if add_columns.len() == 2));
}

#[test]
fn assert_statements() {
    use StatementKind as S;
    assert!(matches!(
        stmt("ASSERT NOT EXISTS TOPIC 'x' WITH (partitions=1) TIMEOUT 3 SECONDS"),
        S::AssertTopic {
            not_exists: true,
            timeout: Some(_),
            ..
        }
    ));
    assert!(matches!(
        stmt("ASSERT SCHEMA SUBJECT 'x-value' ID 4"),
        S::AssertSchema {
            subject: Some(_),
            id: Some(Literal::Integer(4)),
            ..
        }
    ));
    assert!(matches!(
        stmt("ASSERT VALUES out (id, v) VALUES (1, 'a')"),
        S::AssertValues {
            columns: Some(_),
            ..
        }
    ));
    assert!(matches!(
        stmt("ASSERT NULL VALUES out (id) KEY (1)"),
        S::AssertTombstone { .. }
    ));
    assert!(matches!(
        stmt("ASSERT TABLE t (id INT PRIMARY KEY, v STRING) WITH (kafka_topic='t')"),
        S::AssertSource {
            kind: SourceKind::Table,
            ..
        }
    ));
}

#[test]
fn scripts_and_spans() {
    let sql = "-- a comment\nCREATE STREAM s (id INT KEY) WITH (kafka_topic='s', value_format='json');\n\nSELECT id,\n  id * 2 AS d\nFROM s EMIT CHANGES;";
    let sts = parse_statements(sql).unwrap();
    assert_eq!(sts.len(), 2);
    assert_eq!(sts[0].span.start, Position::new(2, 1));
    assert_eq!(sts[1].span.start, Position::new(4, 1));
    assert_eq!(sts[1].span.end, Position::new(6, 20));
    assert_eq!(
        sts[1].span.slice(sql),
        Some("SELECT id,\n  id * 2 AS d\nFROM s EMIT CHANGES")
    );
    let StatementKind::Query(q) = &sts[1].kind else {
        panic!()
    };
    let SelectItem::Expr { expr, alias } = &q.select[1] else {
        panic!()
    };
    assert_eq!(expr.span.start, Position::new(5, 3));
    assert_eq!(expr.span.slice(sql), Some("id * 2"));
    assert_eq!(alias.as_ref().unwrap().span.start, Position::new(5, 13));
    // The last statement may omit its `;`, empty statements are skipped.
    assert_eq!(
        parse_statements(";;SHOW TABLES;; SHOW STREAMS")
            .unwrap()
            .len(),
        2
    );
    assert!(parse_statements("SHOW TABLES SHOW STREAMS").is_err());
    assert!(parse_statement("SHOW TABLES; SHOW STREAMS").is_err());
    assert_eq!(parse_statements("").unwrap(), vec![]);
}

#[test]
fn errors_point_at_the_problem_and_suggest() {
    let sql = "CREATE STREAM s AS\nSELECT * FROM t\nWINDOW TUMBLIN (SIZE 1 SECOND);";
    let e = parse_statements(sql).unwrap_err();
    assert_eq!((e.line, e.column), (3, 8));
    assert_eq!(e.suggestion.as_deref(), Some("TUMBLING"));
    assert_eq!(
        e.render_plain(sql, "q.sql"),
        "q.sql:3:8: Syntax Error: expected one of 'TUMBLING', 'HOPPING' or 'SESSION', found 'TUMBLIN'. Did you mean 'TUMBLING'?\n\
         WINDOW TUMBLIN (SIZE 1 SECOND);\n       ^"
    );
    // Then ksqlDB's (ANTLR's) wording, with the script.
    assert!(e.render(sql, "q.sql").ends_with(&format!(
        "^\nline 3:8: Syntax Error\nExpecting {{'TUMBLING', 'HOPPING', 'SESSION'}}\nStatement: {sql}"
    )));
    let e = parse_statement("SELCT * FROM x").unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("SELECT"));
    assert_eq!((e.line, e.column), (1, 1));
    let e = parse_statement("SELECT * FROM t WHER x = 1").unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("WHERE"));
    assert_eq!(e.column, 17);
    let e = parse_statement("SELECT * FROM t EMIT CHANGE").unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("CHANGES"));
    let e = parse_statement("SELECT * FROM S1 ORDER BY MYKEY DESC").unwrap_err();
    assert_eq!((e.line, e.column), (1, 24));
    let e = parse_statement("SELECT * FROM ${src}").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::UndefinedVariable);
    let e = parse_statement("SELECT 'open FROM t").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Lexical);
    assert_eq!(e.column, 8);
}

#[test]
fn nesting_is_capped_without_overflowing_the_stack() {
    // The parser grows its own stack, so even a small thread stack will do.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            for deep in [
                format!(
                    "SELECT {}1{} FROM t",
                    "(".repeat(50_000),
                    ")".repeat(50_000)
                ),
                format!("SELECT {}1 FROM t", "- ".repeat(50_000)),
                format!("SELECT {}a FROM t", "NOT ".repeat(50_000)),
                format!("SELECT {} FROM t", "f(".repeat(50_000)),
                format!(
                    "SELECT CAST(a AS {}INT{}) FROM t",
                    "ARRAY<".repeat(50_000),
                    ">".repeat(50_000)
                ),
                format!(
                    "SELECT {}1{} FROM t",
                    "ARRAY[".repeat(50_000),
                    "]".repeat(50_000)
                ),
                format!("SELECT a{} FROM t", "[1]".repeat(50_000)),
                format!("SELECT a{} FROM t", "->b".repeat(50_000)),
                format!("SELECT 1{} FROM t", " + 1".repeat(50_000)),
                format!(
                    "SELECT * FROM t WHERE {}",
                    vec!["a = 1"; 50_000].join(" OR ")
                ),
                format!(
                    "SELECT {}1{} FROM t",
                    "CASE WHEN x THEN ".repeat(50_000),
                    " END".repeat(50_000)
                ),
            ] {
                let e = parse_statement(&deep).unwrap_err();
                assert_eq!(e.kind, ParseErrorKind::TooDeep, "{e}");
            }
            let e =
                parse_statement(&format!("{}SHOW STREAMS", "EXPLAIN ".repeat(10_000))).unwrap_err();
            assert_eq!(e.kind, ParseErrorKind::Invalid);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn trees_at_the_depth_limit_print_and_compare() {
    // A tree as deep as allowed can be printed, re-parsed, compared and dropped on a
    // default test thread (2 MiB) even in a debug build.
    let n = MAX_DEPTH - 10;
    for sql in [
        format!("SELECT * FROM t WHERE {}", vec!["a = 1"; n].join(" OR ")),
        format!("SELECT {}1{} FROM t", "f(".repeat(n), ")".repeat(n)),
        format!("SELECT 1{} FROM t", " * 2".repeat(n)),
    ] {
        let st = parse_statement(&sql).unwrap();
        round_trips(&st);
    }
}

#[test]
fn walking_an_expression_visits_every_node() {
    let e = expr("CASE WHEN a > 1 THEN f(b, x => x + c) ELSE ARRAY[d][1] END");
    let mut columns = Vec::new();
    e.walk(&mut |n| {
        if let ExprKind::Column { name, .. } = &n.kind {
            columns.push(name.value.clone());
        }
    });
    assert_eq!(columns, vec!["A", "B", "X", "C", "D"]);
}

#[test]
fn negative_limits_of_pull_queries_say_so() {
    let e = parse_statement("SELECT * FROM t LIMIT -1;").unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Invalid);
    assert!(e
        .message
        .starts_with("Pull queries don't support negative integers in the LIMIT clause."));
    // A push query's negative LIMIT stays a syntax error.
    let e = parse_statement("SELECT * FROM t EMIT CHANGES LIMIT -1;").unwrap_err();
    assert!(e.message.contains("row count"), "{}", e.message);
}

#[test]
fn decimal_limits_fail_as_ksqldb_prepares_them() {
    let sql = "SELECT * FROM t LIMIT 2.5;";
    let e = parse_statement(sql).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Invalid);
    assert_eq!(e.message, "Value must be integer for command: LIMIT");
    assert!(e
        .render(sql, "<input>")
        .contains("\nFailed to prepare statement: Value must be integer for command: LIMIT"));
    assert!(parse_statement("SELECT * FROM t LIMIT 3;").is_ok());
}
