//! pull.rs owns pull queries over tables built by `CREATE TABLE ... AS SELECT`: they answer
//! from the table's [`Materialization`] (its current rows in the state store) instead of
//! re-reading its topic.
//!
//! Design:
//! 1. Access path. The `WHERE` predicate (the plan's `Filter` over the `Source`) is searched
//!    for key constraints: `K = <constant>`, `K IN (<constants>)`, joined by `AND` (any
//!    conjunct that constrains a key column is enough) or `OR` (both sides must constrain
//!    it). When every key column is constrained, the candidate key values are evaluated,
//!    cast to the key columns' types, combined (a multi-column key takes every
//!    combination), encoded with the table's key format and read as point lookups (for a
//!    windowed table, a scan over the key's windows, narrowed to the WINDOWSTART range the
//!    predicate's top-level conjuncts allow). Bounds on a single STRING key in the KAFKA
//!    format (whose bytes sort as the strings do) read that key range of each partition.
//!    Anything else reads every row.
//! 2. Evaluation. The rows found are decoded with the table's formats and run through the
//!    query's own operators — the whole `WHERE` predicate, the projection and `LIMIT`, as
//!    the engine's DataFusion physical expressions — so the access path only narrows what is
//!    read and never decides the answer by itself (window bound ranges, non-key predicates
//!    and key ranges are evaluated there).
//! 3. Rules. Before it runs, a pull query over any table is checked with ksqlDB's WHERE
//!    rules ([`check_where`]): with `ksql.query.pull.table.scan.enabled=false` each disjunct
//!    must be a key lookup; NULL keys and window bounds on unwindowed tables always fail.
//!
//! Pull queries over streams (a scan of the topic) and over `CREATE SOURCE TABLE`s (the
//! latest record per key of the topic, as no query materializes them yet) run in
//! `transient.rs`.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    new_empty_array, Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Schema as ArrowSchema};
use brook_log::StoredRecord;
use brook_sql::ast::BinaryOp;
use brook_sql::plan::{LogicalPlan, Node, TypedExpr, TypedExprKind};

use crate::expr::{compile, InputLayout};
use crate::formats::windowed::WindowType;
use crate::functions::FunctionRegistry;

use super::error::{EngineError, Result};
use super::materialized::Materialization;
use super::pipeline::{run_operators, Pipeline};
use super::processing_log::ProcessingError;
use super::transient::QueryRows;

/// At most this many key combinations are looked up one by one; more read every row.
const MAX_LOOKUPS: usize = 10_000;

/// How a pull query reads the materialization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// These encoded keys only.
    Keys(Vec<Vec<u8>>),
    /// The keys whose bytes are in `[from, to)` (`None`: unbounded), in every partition.
    KeyRange {
        from: Option<Vec<u8>>,
        to: Option<Vec<u8>>,
    },
    /// Every row.
    Scan,
}

/// Runs a pull query (`pipeline`, built from `plan`) over a table's materialization.
pub fn run(
    materialized: &Materialization,
    mut pipeline: Pipeline,
    plan: &LogicalPlan,
    registry: &FunctionRegistry,
) -> Result<QueryRows> {
    let access = match source_filter(plan) {
        Some(predicate) => access_path(predicate, &pipeline, registry)?,
        None => Access::Scan,
    };
    let window = pipeline.source.codec.window_type();
    // Time-windowed keys end with the window start: a WINDOWSTART range narrows each key's
    // scan to the windows it can hold.
    let starts = match (window, source_filter(plan)) {
        (Some(WindowType::Time), Some(predicate)) => window_start_range(predicate, registry),
        _ => None,
    };
    let records: Vec<StoredRecord> = match &access {
        Access::Scan => materialized.scan()?,
        Access::KeyRange { from, to } => materialized.key_range(from.as_deref(), to.as_deref())?,
        Access::Keys(keys) => {
            let mut out = Vec::new();
            for k in keys {
                match (window, starts) {
                    (None, _) => out.extend(materialized.get(k)?),
                    (Some(_), Some((lo, hi))) => {
                        out.extend(materialized.windows_between(k, lo, hi)?)
                    }
                    (Some(_), None) => out.extend(materialized.windows_of(k)?),
                }
            }
            out
        }
    };
    let mut errors: Vec<ProcessingError> = Vec::new();
    let mut batches = Vec::new();
    for chunk in records.chunks(8192) {
        let src = &pipeline.source;
        let rows = src
            .codec
            .decode(&src.schema, &src.arrow, 0, chunk, &mut errors)?;
        let out = run_operators(&mut pipeline.operators, rows, &mut errors)?;
        if !out.is_empty() {
            batches.push(out.batch);
        }
    }
    Ok(QueryRows {
        schema: pipeline.output.clone(),
        batches,
        tombstones: Vec::new(),
    })
}

/// Checks a pull query over a table (`plan`, reading `entry`) with ksqlDB's WHERE rules
/// ([`check_where`]), as `properties` configure them.
pub fn check(
    plan: &LogicalPlan,
    entry: &brook_sql::analyzer::SourceEntry,
    properties: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    let Some(predicate) = source_filter(plan) else {
        return Ok(());
    };
    let keys: Vec<(String, String)> = entry
        .key_columns()
        .map(|c| (c.name.clone(), c.ty.to_string()))
        .collect();
    check_where(
        predicate,
        &keys,
        entry.window.is_some(),
        table_scans_enabled(properties),
    )
}

/// The window starts `[lo, hi)` the top-level conjuncts of `predicate` allow
/// (`WINDOWSTART` compared with, or BETWEEN, BIGINT constants), when they bound it from
/// below by a non-negative start (big-endian bytes of non-negative starts sort as the
/// numbers do).
pub fn window_start_range(
    predicate: &TypedExpr,
    registry: &FunctionRegistry,
) -> Option<(i64, i64)> {
    let value = |e: &TypedExpr| -> Option<i64> {
        if e.ty == brook_sql::plan::SqlType::String {
            return None;
        }
        let v = cast(&constant(e, registry)?, &DataType::Int64).ok()?;
        let v = v.as_any().downcast_ref::<arrow::array::Int64Array>()?;
        (!v.is_null(0)).then(|| v.value(0))
    };
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    let mut bounded = false;
    for (op, e) in column_bounds(predicate, "WINDOWSTART") {
        let Some(v) = value(e) else { continue };
        match op {
            BinaryOp::Eq => {
                lo = lo.max(v);
                hi = hi.min(v.saturating_add(1));
            }
            BinaryOp::Gt => lo = lo.max(v.saturating_add(1)),
            BinaryOp::GtEq => lo = lo.max(v),
            BinaryOp::Lt => hi = hi.min(v),
            BinaryOp::LtEq => hi = hi.min(v.saturating_add(1)),
            _ => continue,
        }
        bounded = true;
    }
    // Negative starts sort after positive ones in big-endian bytes: no narrowing then.
    if !bounded || lo < 0 {
        return None;
    }
    Some((lo, hi.max(lo)))
}

/// For a table with one STRING key column in the KAFKA format (whose key bytes are the
/// string's UTF-8, so byte order is string order) and no windows: the key byte range the
/// top-level conjuncts' bounds on the key allow, as [`Access::KeyRange`].
fn key_byte_range(
    predicate: &TypedExpr,
    pipeline: &Pipeline,
    registry: &FunctionRegistry,
) -> Option<Access> {
    let codec = &pipeline.source.codec;
    let fields = codec.key_format().schema().fields().clone();
    if codec.window_type().is_some()
        || !codec.key_format().name().eq_ignore_ascii_case("KAFKA")
        || fields.len() != 1
        || fields[0].data_type() != &DataType::Utf8
    {
        return None;
    }
    let value = |e: &TypedExpr| -> Option<Vec<u8>> {
        let v = cast(&constant(e, registry)?, &DataType::Utf8).ok()?;
        let v = v.as_any().downcast_ref::<arrow::array::StringArray>()?;
        (!v.is_null(0)).then(|| v.value(0).as_bytes().to_vec())
    };
    // Just past every key starting with `v`'s bytes and equal to it: `v` then a zero byte.
    let after = |mut v: Vec<u8>| {
        v.push(0);
        v
    };
    let (mut from, mut to): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    for (op, e) in column_bounds(predicate, fields[0].name()) {
        let Some(v) = value(e) else { continue };
        let (lower, upper) = match op {
            BinaryOp::Gt => (Some(after(v)), None),
            BinaryOp::GtEq => (Some(v), None),
            BinaryOp::Lt => (None, Some(v)),
            BinaryOp::LtEq => (None, Some(after(v))),
            BinaryOp::Eq => (Some(v.clone()), Some(after(v))),
            _ => continue,
        };
        if let Some(l) = lower {
            from = Some(from.map_or(l.clone(), |f| f.max(l)));
        }
        if let Some(u) = upper {
            to = Some(to.map_or(u.clone(), |t| t.min(u)));
        }
    }
    if from.is_none() && to.is_none() {
        return None;
    }
    Some(Access::KeyRange { from, to })
}

/// The comparisons of `column` with expressions of no columns among the top-level
/// conjuncts of `predicate`, as `column op value` (`value op column` read the other way
/// round; `column BETWEEN a AND b` as `>= a` and `<= b`).
fn column_bounds<'a>(predicate: &'a TypedExpr, column: &str) -> Vec<(BinaryOp, &'a TypedExpr)> {
    let mut conjuncts = vec![predicate];
    let mut i = 0;
    while i < conjuncts.len() {
        if let TypedExprKind::Binary {
            left,
            op: BinaryOp::And,
            right,
        } = &conjuncts[i].kind
        {
            let (l, r) = (left.as_ref(), right.as_ref());
            conjuncts.swap_remove(i);
            conjuncts.push(l);
            conjuncts.push(r);
        } else {
            i += 1;
        }
    }
    let is_col = |e: &TypedExpr| matches!(&e.kind, TypedExprKind::Column(c) if c.name == column);
    let is_const = |e: &TypedExpr| e.columns().is_empty() && !has_lambda_var(e);
    let mut out = Vec::new();
    for c in conjuncts {
        match &c.kind {
            TypedExprKind::Binary { left, op, right } if op.is_comparison() => {
                if is_col(left) && is_const(right) {
                    out.push((*op, right.as_ref()));
                } else if is_col(right) && is_const(left) {
                    let flipped = match op {
                        BinaryOp::Lt => BinaryOp::Gt,
                        BinaryOp::LtEq => BinaryOp::GtEq,
                        BinaryOp::Gt => BinaryOp::Lt,
                        BinaryOp::GtEq => BinaryOp::LtEq,
                        other => *other,
                    };
                    out.push((flipped, left.as_ref()));
                }
            }
            TypedExprKind::Between {
                expr,
                negated: false,
                low,
                high,
            } if is_col(expr) && is_const(low) && is_const(high) => {
                out.push((BinaryOp::GtEq, low.as_ref()));
                out.push((BinaryOp::LtEq, high.as_ref()));
            }
            _ => {}
        }
    }
    out
}

/// The predicate of the `Filter` applied right over the source, if any.
fn source_filter(plan: &LogicalPlan) -> Option<&TypedExpr> {
    let mut node = plan;
    loop {
        match &node.node {
            Node::Filter { input, predicate } if matches!(input.node, Node::Source { .. }) => {
                return Some(predicate)
            }
            Node::Source { .. } | Node::Join { .. } => return None,
            _ => node = node.inputs().first()?,
        }
    }
}

/// The keys a predicate confines a pull query to, encoded with the source's key format.
pub fn access_path(
    predicate: &TypedExpr,
    pipeline: &Pipeline,
    registry: &FunctionRegistry,
) -> Result<Access> {
    let key_format = pipeline.source.codec.key_format();
    let key_schema = key_format.schema().clone();
    if key_schema.fields().is_empty() {
        return Ok(Access::Scan);
    }
    // Candidate values per key column, in the key format's column order.
    let mut per_column: Vec<ArrayRef> = Vec::new();
    for field in key_schema.fields() {
        let Some(exprs) = candidates(predicate, field.name()) else {
            return Ok(key_byte_range(predicate, pipeline, registry).unwrap_or(Access::Scan));
        };
        let mut parts: Vec<ArrayRef> = Vec::new();
        for e in exprs {
            let Some(v) = constant(e, registry) else {
                return Ok(Access::Scan);
            };
            match cast(&v, field.data_type()) {
                Ok(c) => parts.push(c),
                Err(_) => return Ok(Access::Scan),
            }
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
        let all = if refs.is_empty() {
            new_empty_array(field.data_type())
        } else {
            arrow::compute::concat(&refs)?
        };
        per_column.push(all);
    }
    let total = per_column
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.len()));
    match total {
        Some(n) if n <= MAX_LOOKUPS => {}
        _ => return Ok(Access::Scan),
    }
    let total = total.unwrap_or(0);
    // Every combination: column i repeats each value for the product of the later columns.
    let mut columns = Vec::new();
    let mut inner = total;
    for values in &per_column {
        let n = values.len().max(1);
        inner /= n;
        let idx: Vec<u32> = (0..total)
            .map(|r| ((r / inner.max(1)) % n) as u32)
            .collect();
        columns.push(take(values.as_ref(), &UInt32Array::from(idx), None)?);
    }
    let batch = RecordBatch::try_new_with_options(
        key_schema,
        columns,
        &RecordBatchOptions::new().with_row_count(Some(total)),
    )?;
    // A null key matches nothing; a value the format cannot encode is no lookup either.
    let keep: Vec<usize> = (0..total)
        .filter(|r| batch.columns().iter().all(|c| !c.is_null(*r)))
        .collect();
    let batch = take_rows(&batch, &keep)?;
    let encoded = match key_format.encode(&batch) {
        Ok(e) => e,
        Err(_) => return Ok(Access::Scan),
    };
    let unique: BTreeSet<Vec<u8>> = encoded.into_iter().flatten().collect();
    Ok(Access::Keys(unique.into_iter().collect()))
}

fn take_rows(batch: &RecordBatch, rows: &[usize]) -> Result<RecordBatch> {
    let idx = UInt32Array::from(rows.iter().map(|r| *r as u32).collect::<Vec<_>>());
    Ok(arrow::compute::take_record_batch(batch, &idx)?)
}

/// The constant expressions a predicate restricts column `name` to, when it does.
fn candidates<'a>(e: &'a TypedExpr, name: &str) -> Option<Vec<&'a TypedExpr>> {
    let is_key = |x: &TypedExpr| matches!(&x.kind, TypedExprKind::Column(c) if c.name == name);
    let is_const = |x: &TypedExpr| x.columns().is_empty() && !has_lambda_var(x);
    match &e.kind {
        TypedExprKind::Binary { left, op, right } => match op {
            BinaryOp::And => match (candidates(left, name), candidates(right, name)) {
                (Some(a), Some(b)) => Some(if a.len() <= b.len() { a } else { b }),
                (a, b) => a.or(b),
            },
            BinaryOp::Or => {
                let mut a = candidates(left, name)?;
                a.extend(candidates(right, name)?);
                Some(a)
            }
            BinaryOp::Eq if is_key(left) && is_const(right) => Some(vec![right.as_ref()]),
            BinaryOp::Eq if is_key(right) && is_const(left) => Some(vec![left.as_ref()]),
            _ => None,
        },
        TypedExprKind::InList {
            expr,
            negated: false,
            list,
        } if is_key(expr) && list.iter().all(is_const) => Some(list.iter().collect()),
        _ => None,
    }
}

fn has_lambda_var(e: &TypedExpr) -> bool {
    e.any(&|x| matches!(x.kind, TypedExprKind::LambdaVar(_)))
}

/// The value of a constant expression (as a one-element array), if it evaluates.
fn constant(e: &TypedExpr, registry: &FunctionRegistry) -> Option<ArrayRef> {
    let layout = InputLayout::new(Vec::new());
    let expr = compile(e, &layout, registry).ok()?;
    let batch = RecordBatch::try_new_with_options(
        Arc::new(ArrowSchema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .ok()?;
    expr.evaluate(&batch).ok()?.into_array(1).ok()
}

/// ksqlDB's `ksql.query.pull.table.scan.enabled` (on unless set to `false`).
pub fn table_scans_enabled(properties: &std::collections::BTreeMap<String, String>) -> bool {
    !properties
        .get("ksql.query.pull.table.scan.enabled")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("false"))
}

/// One condition of a disjunct of the predicate in disjunctive normal form.
#[derive(Debug, Clone, Copy)]
enum Atom<'a> {
    /// `left op right`; `distinct` for `IS [NOT] DISTINCT FROM`.
    Cmp {
        left: &'a TypedExpr,
        op: BinaryOp,
        right: &'a TypedExpr,
        distinct: bool,
    },
    Like {
        value: &'a TypedExpr,
        pattern: &'a TypedExpr,
    },
    /// Any other boolean expression.
    Other(&'a TypedExpr),
}

/// An expression as ksqlDB's messages show it: columns without their source.
fn unqualified(e: &TypedExpr) -> TypedExpr {
    e.transform(&mut |x| match &x.kind {
        TypedExprKind::Column(c) if c.source.is_some() => {
            Some(TypedExpr::column(None, c.name.clone(), x.ty.clone()))
        }
        _ => None,
    })
}

impl std::fmt::Display for Atom<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Atom::Cmp {
                left,
                op,
                right,
                distinct,
            } => {
                let (l, r) = (unqualified(left), unqualified(right));
                if *distinct {
                    write!(f, "({l} IS DISTINCT FROM {r})")
                } else {
                    write!(f, "({l} {op} {r})")
                }
            }
            Atom::Like { value, pattern } => {
                write!(f, "{} LIKE {}", unqualified(value), unqualified(pattern))
            }
            Atom::Other(e) => write!(f, "{}", unqualified(e)),
        }
    }
}

/// Past this many disjuncts the predicate is not expanded (it is evaluated as written).
const MAX_DISJUNCTS: usize = 1024;

/// The predicate as disjuncts of conjoined atoms: `IN` lists become equalities joined by OR,
/// `BETWEEN` a pair of bounds (as ksqlDB's pull query rewriter does). `None` when too big.
fn disjuncts(e: &TypedExpr) -> Option<Vec<Vec<Atom<'_>>>> {
    Some(match &e.kind {
        TypedExprKind::Binary {
            left,
            op: BinaryOp::Or,
            right,
        } => {
            let mut a = disjuncts(left)?;
            a.extend(disjuncts(right)?);
            if a.len() > MAX_DISJUNCTS {
                return None;
            }
            a
        }
        TypedExprKind::Binary {
            left,
            op: BinaryOp::And,
            right,
        } => {
            let (a, b) = (disjuncts(left)?, disjuncts(right)?);
            if a.len().saturating_mul(b.len()) > MAX_DISJUNCTS {
                return None;
            }
            let mut out = Vec::new();
            for x in &a {
                for y in &b {
                    out.push(x.iter().chain(y.iter()).copied().collect());
                }
            }
            out
        }
        TypedExprKind::Binary { left, op, right } if op.is_comparison() => {
            vec![vec![Atom::Cmp {
                left,
                op: *op,
                right,
                distinct: false,
            }]]
        }
        TypedExprKind::IsDistinctFrom {
            left,
            negated: false,
            right,
        } => vec![vec![Atom::Cmp {
            left,
            op: BinaryOp::NotEq,
            right,
            distinct: true,
        }]],
        TypedExprKind::InList {
            expr,
            negated: false,
            list,
        } if !list.is_empty() && list.len() <= MAX_DISJUNCTS => list
            .iter()
            .map(|item| {
                vec![Atom::Cmp {
                    left: expr,
                    op: BinaryOp::Eq,
                    right: item,
                    distinct: false,
                }]
            })
            .collect(),
        TypedExprKind::Between {
            expr,
            negated: false,
            low,
            high,
        } => vec![vec![
            Atom::Cmp {
                left: expr,
                op: BinaryOp::GtEq,
                right: low,
                distinct: false,
            },
            Atom::Cmp {
                left: expr,
                op: BinaryOp::LtEq,
                right: high,
                distinct: false,
            },
        ]],
        TypedExprKind::Like {
            expr,
            negated: false,
            pattern,
            ..
        } => vec![vec![Atom::Like {
            value: expr,
            pattern,
        }]],
        _ => vec![vec![Atom::Other(e)]],
    })
}

fn column_name(e: &TypedExpr) -> Option<&str> {
    match &e.kind {
        TypedExprKind::Column(c) => Some(c.name.as_str()),
        _ => None,
    }
}

/// ksqlDB's message for a WHERE clause a pull query cannot run, with its advice.
fn invalid_where(msg: &str, windowed: bool) -> EngineError {
    let mut s = format!(
        "{msg}. See https://cnfl.io/queries for more info.\nPull queries require a WHERE clause that:\n - includes a key equality expression, e.g. `SELECT * FROM X WHERE <key-column> = Y;`.\n - in the case of a multi-column key, is a conjunction of equality expressions that cover all key columns.\n - to support range expressions, e.g.,  SELECT * FROM X WHERE <key-column> < Y;`, range scans need to be enabled by setting ksql.query.pull.range.scan.enabled=true"
    );
    if windowed {
        s.push_str("\n - (optionally) limits the time bounds of the windowed table.\n\t Bounds on [`WINDOWSTART`, `WINDOWEND`] are supported\n\t Supported operators are [EQUAL, GREATER_THAN, GREATER_THAN_OR_EQUAL, LESS_THAN, LESS_THAN_OR_EQUAL]");
    }
    s.push_str("\nIf more flexible queries are needed, , table scans can be enabled by setting ksql.query.pull.table.scan.enabled=true.");
    EngineError::Statement(s)
}

/// The name ksqlDB gives a comparison operator in messages.
fn op_name(op: BinaryOp, distinct: bool) -> &'static str {
    match op {
        _ if distinct => "IS_DISTINCT_FROM",
        BinaryOp::Eq => "EQUAL",
        BinaryOp::NotEq => "NOT_EQUAL",
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        BinaryOp::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => "UNKNOWN",
    }
}

/// Checks a pull query's WHERE clause over a table with ksqlDB's rules (its
/// `QueryFilterNode`): each disjunct of the predicate in disjunctive normal form must look
/// up keys — an equality on every key column, compared with an expression of no columns —
/// unless table scans are enabled (`ksql.query.pull.table.scan.enabled`, on by default),
/// in which case anything else scans. Some mistakes fail either way: a NULL key, window
/// bounds on a table without windows or with an unsupported operator, LIKE on a non-string
/// column. `keys` are the table's key columns (name and type text).
pub fn check_where(
    predicate: &TypedExpr,
    keys: &[(String, String)],
    windowed: bool,
    scans_enabled: bool,
) -> Result<()> {
    let Some(disjuncts) = disjuncts(predicate) else {
        return if scans_enabled {
            Ok(())
        } else {
            Err(invalid_where(
                "The WHERE clause has too many disjuncts",
                windowed,
            ))
        };
    };
    let key_list = format!(
        "[{}]",
        keys.iter()
            .map(|(n, t)| format!("`{n}` {t} KEY"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Validation (ksqlDB stops at the first disjunct that needs a table scan).
    let mut requires_scan = false;
    'disjuncts: for d in &disjuncts {
        let mut seen = vec![false; keys.len()];
        let mut keyed = false;
        let mut scan = false;
        let mut scan_or = |msg: &str, windowed: bool| -> Result<()> {
            if scans_enabled {
                scan = true;
                Ok(())
            } else {
                Err(invalid_where(msg, windowed))
            }
        };
        for atom in d {
            match *atom {
                Atom::Other(_) => scan_or(
                    &format!("Unsupported expression in WHERE clause: {atom}"),
                    false,
                )?,
                Atom::Like { value, pattern } => match &value.kind {
                    TypedExprKind::Column(_) => {
                        if value.ty != brook_sql::plan::SqlType::String {
                            return Err(invalid_where(
                                &format!(
                                    "The column type for Like condition must be VARCHAR. The column type is {}",
                                    value.ty
                                ),
                                windowed,
                            ));
                        }
                        if !matches!(
                            pattern.kind,
                            TypedExprKind::Literal(brook_sql::ast::Literal::String(_))
                                | TypedExprKind::Literal(brook_sql::ast::Literal::Null)
                        ) {
                            return Err(invalid_where(
                                "Like condition on non-string pattern",
                                windowed,
                            ));
                        }
                    }
                    _ => scan_or("Like condition must be between strings", windowed)?,
                },
                Atom::Cmp {
                    left,
                    op,
                    right,
                    distinct,
                } => {
                    let (column, other) = match (column_name(right), column_name(left)) {
                        (Some(c), _) => (c, left),
                        (None, Some(c)) => (c, right),
                        (None, None) => {
                            scan_or(
                                "A comparison must directly reference a key column",
                                windowed,
                            )?;
                            continue;
                        }
                    };
                    if !other.columns().is_empty() {
                        scan_or(
                            "A comparison must be between a key column and a resolvable expression",
                            windowed,
                        )?;
                        continue;
                    }
                    if column == "WINDOWSTART" || column == "WINDOWEND" {
                        if distinct || op == BinaryOp::NotEq {
                            return Err(invalid_where(
                                &format!("Unsupported {column} bounds: {}", op_name(op, distinct)),
                                true,
                            ));
                        }
                        if !windowed {
                            return Err(invalid_where(
                                "Cannot use WINDOWSTART/WINDOWEND on non-windowed source",
                                false,
                            ));
                        }
                        continue;
                    }
                    let Some(i) = keys.iter().position(|(n, _)| n == column) else {
                        continue;
                    };
                    if distinct || op == BinaryOp::NotEq {
                        scan_or(
                            &format!("Bound on key columns '{key_list}' must currently be '='"),
                            windowed,
                        )?;
                    }
                    if seen[i] && !scans_enabled {
                        return Err(invalid_where(
                            "A comparison condition on the key column cannot be combined with other comparisons such as an IN predicate",
                            windowed,
                        ));
                    }
                    seen[i] = true;
                    keyed = true;
                }
            }
        }
        if scan {
            requires_scan = true;
            break 'disjuncts;
        }
        if !keyed {
            if scans_enabled {
                requires_scan = true;
                break;
            }
            let text = d
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" AND ");
            let text = if d.len() > 1 {
                format!("({text})")
            } else {
                text
            };
            return Err(invalid_where(
                &format!("WHERE clause missing key column for disjunct: {text}"),
                windowed,
            ));
        }
        let n_seen = seen.iter().filter(|s| **s).count();
        if n_seen != keys.len() {
            if scans_enabled {
                requires_scan = true;
                break;
            }
            let specified: Vec<&str> = keys
                .iter()
                .zip(&seen)
                .filter(|(_, s)| **s)
                .map(|((n, _), _)| n.as_str())
                .collect();
            return Err(invalid_where(
                &format!(
                    "Multi-column sources must specify every key in the WHERE clause. Specified: [{}] Expected: {key_list}",
                    specified.join(", ")
                ),
                windowed,
            ));
        }
    }
    if requires_scan {
        return Ok(());
    }
    // Key values: a NULL key can match nothing and is refused.
    for d in &disjuncts {
        for atom in d {
            if let Atom::Cmp { left, right, .. } = atom {
                let (column, other) = match (column_name(right), column_name(left)) {
                    (Some(c), _) => (c, left),
                    (None, Some(c)) => (c, right),
                    _ => continue,
                };
                if keys.iter().any(|(n, _)| n == column) && other.is_null_literal() {
                    return Err(EngineError::Statement(format!(
                        "Primary key columns can not be NULL: {atom}"
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use brook_sql::ast::{Literal, Span};
    use brook_sql::plan::SqlType;

    fn col(name: &str) -> TypedExpr {
        TypedExpr::column(None, name, SqlType::String)
    }

    fn lit(s: &str) -> TypedExpr {
        TypedExpr::new(
            TypedExprKind::Literal(Literal::String(s.into())),
            SqlType::String,
            Span::default(),
        )
    }

    fn bin(l: TypedExpr, op: BinaryOp, r: TypedExpr) -> TypedExpr {
        TypedExpr::new(
            TypedExprKind::Binary {
                left: Box::new(l),
                op,
                right: Box::new(r),
            },
            SqlType::Boolean,
            Span::default(),
        )
    }

    fn texts(c: Option<Vec<&TypedExpr>>) -> Option<Vec<String>> {
        c.map(|v| v.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn key_equalities_and_in_lists_confine_the_lookup() {
        let eq = bin(col("ID"), BinaryOp::Eq, lit("a"));
        assert_eq!(texts(candidates(&eq, "ID")), Some(vec!["'a'".into()]));
        let flipped = bin(lit("a"), BinaryOp::Eq, col("ID"));
        assert_eq!(texts(candidates(&flipped, "ID")), Some(vec!["'a'".into()]));
        let in_list = TypedExpr::new(
            TypedExprKind::InList {
                expr: Box::new(col("ID")),
                negated: false,
                list: vec![lit("a"), lit("b")],
            },
            SqlType::Boolean,
            Span::default(),
        );
        assert_eq!(candidates(&in_list, "ID").map(|v| v.len()), Some(2));
        // AND: either side is enough; OR: both sides must constrain the key.
        let other = bin(col("V"), BinaryOp::Gt, lit("x"));
        let and = bin(eq.clone(), BinaryOp::And, other.clone());
        assert_eq!(candidates(&and, "ID").map(|v| v.len()), Some(1));
        let or = bin(eq.clone(), BinaryOp::Or, other.clone());
        assert!(candidates(&or, "ID").is_none());
        let or_keys = bin(eq.clone(), BinaryOp::Or, flipped);
        assert_eq!(candidates(&or_keys, "ID").map(|v| v.len()), Some(2));
    }

    #[test]
    fn ranges_other_columns_and_column_comparisons_scan() {
        let range = bin(col("ID"), BinaryOp::Gt, lit("a"));
        assert!(candidates(&range, "ID").is_none());
        let other = bin(col("V"), BinaryOp::Eq, lit("a"));
        assert!(candidates(&other, "ID").is_none());
        let two_columns = bin(col("ID"), BinaryOp::Eq, col("V"));
        assert!(candidates(&two_columns, "ID").is_none());
    }

    fn keys() -> Vec<(String, String)> {
        vec![("ID".into(), "STRING".into())]
    }

    fn err(e: &TypedExpr, scans: bool) -> String {
        check_where(e, &keys(), false, scans)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn where_rules_without_table_scans() {
        let eq = bin(col("ID"), BinaryOp::Eq, lit("a"));
        assert!(check_where(&eq, &keys(), false, false).is_ok());
        let not_key = bin(col("V"), BinaryOp::Eq, lit("a"));
        assert!(err(&not_key, false)
            .starts_with("WHERE clause missing key column for disjunct: (V = 'a'). See"));
        let ne = bin(col("ID"), BinaryOp::NotEq, lit("a"));
        assert!(err(&ne, false)
            .contains("Bound on key columns '[`ID` STRING KEY]' must currently be '='. "));
        let twice = bin(
            eq.clone(),
            BinaryOp::And,
            bin(col("ID"), BinaryOp::Gt, lit("b")),
        );
        assert!(err(&twice, false).contains("cannot be combined with other comparisons"));
        let two_columns = bin(col("ID"), BinaryOp::Eq, col("V"));
        assert!(err(&two_columns, false).contains("resolvable expression"));
        // With table scans (the default) all of these scan instead.
        for e in [&not_key, &ne, &twice, &two_columns] {
            assert!(check_where(e, &keys(), false, true).is_ok(), "{e}");
        }
    }

    #[test]
    fn null_keys_and_window_bounds_on_plain_tables_always_fail() {
        let null = TypedExpr::new(
            TypedExprKind::Literal(Literal::Null),
            SqlType::Null,
            Span::default(),
        );
        let eq_null = bin(col("ID"), BinaryOp::Eq, null);
        assert_eq!(
            err(&eq_null, true),
            "Primary key columns can not be NULL: (ID = null)"
        );
        let ws = bin(
            TypedExpr::column(None, "WINDOWSTART", SqlType::BigInt),
            BinaryOp::Gt,
            lit("1"),
        );
        let both = bin(bin(col("ID"), BinaryOp::Eq, lit("a")), BinaryOp::And, ws);
        assert!(
            err(&both, true).starts_with("Cannot use WINDOWSTART/WINDOWEND on non-windowed source")
        );
        assert!(check_where(&both, &keys(), true, false).is_ok());
    }

    #[test]
    fn window_start_bounds_narrow_to_a_range() {
        let registry = crate::catalog::EngineFunctions::new().registry().clone();
        let ws = || TypedExpr::column(None, "WINDOWSTART", SqlType::BigInt);
        let n = |v: i64| {
            TypedExpr::new(
                TypedExprKind::Literal(Literal::BigInt(v)),
                SqlType::BigInt,
                Span::default(),
            )
        };
        let key = bin(col("ID"), BinaryOp::Eq, lit("a"));
        let ge = bin(ws(), BinaryOp::GtEq, n(1000));
        let lt = bin(n(3000), BinaryOp::Gt, ws());
        let all = bin(
            bin(key.clone(), BinaryOp::And, ge.clone()),
            BinaryOp::And,
            lt,
        );
        assert_eq!(window_start_range(&all, &registry), Some((1000, 3000)));
        let eq = bin(key.clone(), BinaryOp::And, bin(ws(), BinaryOp::Eq, n(2000)));
        assert_eq!(window_start_range(&eq, &registry), Some((2000, 2001)));
        // No lower bound, or a disjunction: no narrowing.
        let below = bin(key.clone(), BinaryOp::And, bin(ws(), BinaryOp::Lt, n(5)));
        assert_eq!(window_start_range(&below, &registry), None);
        let or = bin(key, BinaryOp::Or, ge);
        assert_eq!(window_start_range(&or, &registry), None);
    }

    #[test]
    fn bounds_on_a_column_read_flipped_comparisons_and_between() {
        let lower = bin(lit("b"), BinaryOp::Lt, col("ID"));
        let between = TypedExpr::new(
            TypedExprKind::Between {
                expr: Box::new(col("ID")),
                negated: false,
                low: Box::new(lit("a")),
                high: Box::new(lit("m")),
            },
            SqlType::Boolean,
            Span::default(),
        );
        let other = bin(col("V"), BinaryOp::Eq, lit("x"));
        let e = bin(bin(lower, BinaryOp::And, between), BinaryOp::And, other);
        let mut got: Vec<(String, String)> = column_bounds(&e, "ID")
            .into_iter()
            .map(|(op, v)| (op.as_str().to_string(), v.to_string()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("<=".into(), "'m'".into()),
                (">".into(), "'b'".into()),
                (">=".into(), "'a'".into())
            ]
        );
        // A disjunction bounds nothing.
        let or = bin(
            bin(col("ID"), BinaryOp::Gt, lit("a")),
            BinaryOp::Or,
            other_eq(),
        );
        assert!(column_bounds(&or, "ID").is_empty());
    }

    fn other_eq() -> TypedExpr {
        bin(col("V"), BinaryOp::Eq, lit("x"))
    }

    #[test]
    fn constants_evaluate_to_one_value() {
        let registry = crate::catalog::EngineFunctions::new().registry().clone();
        let v = constant(&lit("abc"), &registry).unwrap();
        assert_eq!(v.len(), 1);
        let s = cast(&v, &arrow::datatypes::DataType::Utf8).unwrap();
        let s = s
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        assert_eq!(s.value(0), "abc");
    }
}
