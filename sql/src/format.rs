//! ksqlDB's `SqlFormatter` and `ExpressionFormatter`: statements printed the way ksqlDB
//! prints them in its messages (`Statement: CREATE TABLE OUTPUT AS SELECT\n  TEST.F1 F1,
//! ...`), one select item per line, every binary operation in parentheses, identifiers
//! back-quoted only when they must be.
//!
//! ksqlDB formats the statement its `AstSanitizer` rewrote: every column qualified by its
//! source's alias, every select item aliased, every source aliased (`FROM TEST TEST`). The
//! analyzer builds that rewritten query (see `analyzer::query`); this module only prints.
//!
//! ```
//! use brook_sql::{format, parse_statement, StatementKind};
//! let st = parse_statement("CREATE TABLE T AS SELECT S.A A, COUNT() C FROM S S GROUP BY S.A EMIT CHANGES;").unwrap();
//! let StatementKind::CreateAsSelect(c) = &st.kind else { unreachable!() };
//! assert_eq!(
//!     format::create_as_select(c),
//!     "CREATE TABLE T AS SELECT\n  S.A A,\n  COUNT(*) C\nFROM S S\nGROUP BY S.A\nEMIT CHANGES"
//! );
//! ```

use std::fmt::Write;

use crate::ast::{
    AliasedSource, BinaryOp, CreateAsSelect, Emit, Expr, ExprKind, InsertInto, JoinType, Literal,
    Properties, Query, SelectItem, UnaryOp, WindowExpr, WindowKind,
};

/// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
pub fn create_as_select(c: &CreateAsSelect) -> String {
    let mut out = String::from("CREATE ");
    if c.or_replace {
        out.push_str("OR REPLACE ");
    }
    let _ = write!(out, "{} ", c.kind);
    if c.if_not_exists {
        out.push_str("IF NOT EXISTS ");
    }
    let _ = write!(out, "{}", c.name);
    let props = properties(&c.properties);
    if !props.is_empty() {
        let _ = write!(out, " WITH ({props})");
    }
    out.push_str(" AS ");
    out.push_str(&query(&c.query));
    out
}

/// `INSERT INTO name [WITH (...)] SELECT ...`
pub fn insert_into(i: &InsertInto) -> String {
    let mut out = format!("INSERT INTO {} ", i.target);
    let props = properties(&i.properties);
    if !props.is_empty() {
        let _ = write!(out, " WITH ({props}) ");
    }
    out.push_str(&query(&i.query));
    out
}

/// A `WITH` clause's contents as ksqlDB's `WithClauseProperties.toString` prints them:
/// `NAME=literal`, by property name, comma separated.
pub fn properties(p: &Properties) -> String {
    let mut entries: Vec<(&str, String)> = p
        .entries
        .iter()
        .map(|e| (e.name.as_str(), literal(&e.value)))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn source(s: &AliasedSource) -> String {
    match &s.alias {
        Some(a) => format!("{} {a}", s.name),
        None => s.name.to_string(),
    }
}

fn join_type(t: JoinType) -> &'static str {
    match t {
        JoinType::Inner => "INNER",
        JoinType::Left => "LEFT OUTER",
        JoinType::Right => "RIGHT OUTER",
        JoinType::Full => "FULL OUTER",
    }
}

fn window(w: &WindowExpr) -> String {
    let mut out = match &w.kind {
        WindowKind::Tumbling { size } => format!(" TUMBLING ( SIZE {size}"),
        WindowKind::Hopping { size, advance } => {
            format!(" HOPPING ( SIZE {size} , ADVANCE BY {advance}")
        }
        WindowKind::Session { gap } => format!(" SESSION ( {gap}"),
    };
    if let Some(r) = &w.retention {
        let _ = write!(out, " , RETENTION {r}");
    }
    if let Some(g) = &w.grace {
        let _ = write!(out, " , GRACE PERIOD {g}");
    }
    out.push_str(" ) ");
    out
}

/// A query as `SqlFormatter.visitQuery` lays it out, without the trailing newline.
pub fn query(q: &Query) -> String {
    let mut out = String::from("SELECT");
    if q.select.len() > 1 {
        for (i, item) in q.select.iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            out.push_str(&select_item(item));
        }
    } else if let Some(item) = q.select.first() {
        out.push(' ');
        out.push_str(&select_item(item));
    }
    out.push('\n');
    let _ = write!(out, "FROM {}", source(&q.from.source));
    for j in &q.from.joins {
        let _ = write!(
            out,
            "\n{} JOIN {}",
            join_type(j.join_type),
            source(&j.source)
        );
        if let Some(w) = &j.within {
            let _ = write!(out, " {w}");
        }
        let _ = write!(out, " ON ({})", expr(&j.on));
    }
    out.push('\n');
    if let Some(w) = &q.window {
        let _ = writeln!(out, "WINDOW{}", window(w));
    }
    if let Some(w) = &q.where_clause {
        let _ = writeln!(out, "WHERE {}", expr(w));
    }
    if let Some(g) = &q.group_by {
        let _ = writeln!(out, "GROUP BY {}", list(g));
    }
    if let Some(p) = &q.partition_by {
        let _ = writeln!(out, "PARTITION BY {}", list(p));
    }
    if let Some(h) = &q.having {
        let _ = writeln!(out, "HAVING {}", expr(h));
    }
    match q.emit {
        Some(Emit::Changes) => out.push_str("EMIT CHANGES\n"),
        Some(Emit::Final) => out.push_str("EMIT FINAL\n"),
        None => {}
    }
    if let Some(l) = q.limit {
        let _ = writeln!(out, "LIMIT {l}");
    }
    out.trim_end_matches('\n').to_string()
}

fn select_item(item: &SelectItem) -> String {
    match item {
        SelectItem::Expr { expr: e, alias } => match alias {
            Some(a) => format!("{} {a}", expr(e)),
            None => expr(e),
        },
        SelectItem::Wildcard { source: None, .. } => "*".into(),
        SelectItem::Wildcard {
            source: Some(s), ..
        } => format!("{s}.*"),
        SelectItem::StructAll { base, .. } => format!("{}->*", expr(base)),
    }
}

fn list(exprs: &[Expr]) -> String {
    exprs.iter().map(expr).collect::<Vec<_>>().join(", ")
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Null => "null".into(),
        other => other.to_string(),
    }
}

/// An expression as `ExpressionFormatter` prints it.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Literal(l) => literal(l),
        ExprKind::Column { source, name } => match source {
            Some(s) => format!("{s}.{name}"),
            None => name.to_string(),
        },
        ExprKind::Dereference { base, field } => format!("{}->{field}", expr(base)),
        ExprKind::Subscript { base, index } => format!("{}[{}]", expr(base), expr(index)),
        ExprKind::Unary { op, expr: inner } => {
            let value = expr(inner);
            match op {
                UnaryOp::Minus if value.starts_with('-') => format!("- {value}"),
                UnaryOp::Minus => format!("-{value}"),
                UnaryOp::Plus => format!("+{value}"),
            }
        }
        ExprKind::Not(inner) => format!("(NOT {})", expr(inner)),
        ExprKind::Binary { left, op, right } => {
            format!("({} {} {})", expr(left), binary_op(*op), expr(right))
        }
        ExprKind::Between {
            expr: value,
            negated,
            low,
            high,
        } => {
            let between = format!("({} BETWEEN {} AND {})", expr(value), expr(low), expr(high));
            if *negated {
                format!("(NOT {between})")
            } else {
                between
            }
        }
        ExprKind::InList {
            expr: value,
            negated,
            list: items,
        } => {
            let within = format!("({} IN ({}))", expr(value), list(items));
            if *negated {
                format!("(NOT {within})")
            } else {
                within
            }
        }
        ExprKind::Like {
            expr: value,
            negated,
            pattern,
            escape,
        } => {
            let like = format!(
                "({} LIKE {}{})",
                expr(value),
                expr(pattern),
                escape
                    .as_ref()
                    .map(|c| format!(" ESCAPE '{c}'"))
                    .unwrap_or_default()
            );
            if *negated {
                format!("(NOT {like})")
            } else {
                like
            }
        }
        ExprKind::IsNull {
            expr: value,
            negated,
        } => {
            let not = if *negated { "NOT " } else { "" };
            format!("({} IS {not}NULL)", expr(value))
        }
        ExprKind::IsDistinctFrom {
            left,
            negated,
            right,
        } => {
            let not = if *negated { "NOT " } else { "" };
            format!("({} IS {not}DISTINCT FROM {})", expr(left), expr(right))
        }
        ExprKind::Case {
            operand,
            whens,
            else_result,
        } => {
            let mut parts = vec!["CASE".to_string()];
            if let Some(o) = operand {
                parts.push(expr(o));
            }
            for w in whens {
                parts.push(format!(
                    "WHEN {} THEN {}",
                    expr(&w.condition),
                    expr(&w.result)
                ));
            }
            if let Some(d) = else_result {
                parts.push("ELSE".into());
                parts.push(expr(d));
            }
            parts.push("END".into());
            format!("({})", parts.join(" "))
        }
        ExprKind::Cast { expr: value, ty } => format!("CAST({} AS {ty})", expr(value)),
        ExprKind::Array(items) => format!("ARRAY[{}]", list(items)),
        ExprKind::Map(entries) => format!(
            "MAP({})",
            entries
                .iter()
                .map(|(k, v)| format!("{}:={}", expr(k), expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Struct(fields) => format!(
            "STRUCT({})",
            fields
                .iter()
                .map(|(n, v)| format!("{n}:={}", expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Function { name, args, star } => {
            // `COUNT()` and `COUNT(*)` both print as `COUNT(*)`.
            let arguments = if *star || (args.is_empty() && name.value == "COUNT") {
                "*".to_string()
            } else {
                list(args)
            };
            format!("{name}({arguments})")
        }
        ExprKind::Lambda { params, body } => format!(
            "({}) => {}",
            params
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            expr(body)
        ),
        ExprKind::TimeUnit(u) => u.to_string(),
        ExprKind::TypedLiteral { .. } | ExprKind::AtTimeZone { .. } => e.to_string(),
    }
}

fn binary_op(op: BinaryOp) -> &'static str {
    op.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_statement, StatementKind};

    fn ctas(sql: &str) -> String {
        let st = parse_statement(sql).unwrap();
        let StatementKind::CreateAsSelect(c) = &st.kind else {
            panic!("not a CREATE AS SELECT: {sql}")
        };
        create_as_select(c)
    }

    #[test]
    fn layout_follows_ksqldb_sql_formatter() {
        assert_eq!(
            ctas("CREATE TABLE OUTPUT WITH (KEY_FORMAT='KAFKA') AS SELECT TEST.F1 K1, TEST.F2 K2, COUNT(*) TOTAL FROM TEST TEST GROUP BY TEST.F1, TEST.F2 EMIT CHANGES;"),
            "CREATE TABLE OUTPUT WITH (KEY_FORMAT='KAFKA') AS SELECT\n  TEST.F1 K1,\n  TEST.F2 K2,\n  COUNT(*) TOTAL\nFROM TEST TEST\nGROUP BY TEST.F1, TEST.F2\nEMIT CHANGES"
        );
        // One item stays on the SELECT line; WHERE, PARTITION BY follow ksqlDB's order.
        assert_eq!(
            ctas("CREATE STREAM S2 AS SELECT (S.A + 1) X FROM S S WHERE (S.B IS NOT NULL) PARTITION BY S.A EMIT CHANGES;"),
            "CREATE STREAM S2 AS SELECT (S.A + 1) X\nFROM S S\nWHERE (S.B IS NOT NULL)\nPARTITION BY S.A\nEMIT CHANGES"
        );
    }

    #[test]
    fn joins_windows_and_literals() {
        assert_eq!(
            ctas("CREATE STREAM J AS SELECT L.ID ID, NULL N FROM L L LEFT JOIN R R WITHIN 10 SECONDS ON L.ID = R.ID EMIT CHANGES;"),
            "CREATE STREAM J AS SELECT\n  L.ID ID,\n  null N\nFROM L L\nLEFT OUTER JOIN R R WITHIN 10 SECONDS ON ((L.ID = R.ID))\nEMIT CHANGES"
        );
        assert_eq!(
            ctas("CREATE TABLE W AS SELECT S.K K, COUNT() C FROM S S WINDOW TUMBLING (SIZE 30 SECONDS) GROUP BY S.K;"),
            "CREATE TABLE W AS SELECT\n  S.K K,\n  COUNT(*) C\nFROM S S\nWINDOW TUMBLING ( SIZE 30 SECONDS ) \nGROUP BY S.K"
        );
        assert_eq!(
            expr(&crate::parse_expression("`lower` NOT LIKE 'a''b%'").unwrap()),
            "(NOT (`lower` LIKE 'a''b%'))"
        );
    }
}
