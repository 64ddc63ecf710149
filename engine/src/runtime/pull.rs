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
//!    windowed table, a prefix scan over the key's windows). Anything else reads every row.
//! 2. Evaluation. The rows found are decoded with the table's formats and run through the
//!    query's own operators — the whole `WHERE` predicate, the projection and `LIMIT`, as
//!    the engine's DataFusion physical expressions — so the access path only narrows what is
//!    read and never decides the answer by itself (window bound ranges, non-key predicates
//!    and key ranges are evaluated there).

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    new_empty_array, Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::Schema as ArrowSchema;
use brook_log::StoredRecord;
use brook_sql::ast::BinaryOp;
use brook_sql::plan::{LogicalPlan, Node, TypedExpr, TypedExprKind};

use crate::expr::{compile, InputLayout};
use crate::functions::FunctionRegistry;

use super::error::Result;
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
    let windowed = pipeline.source.codec.window_type().is_some();
    let records: Vec<StoredRecord> = match &access {
        Access::Scan => materialized.scan()?,
        Access::Keys(keys) => {
            let mut out = Vec::new();
            for k in keys {
                if windowed {
                    out.extend(materialized.windows_of(k)?);
                } else if let Some(r) = materialized.get(k)? {
                    out.push(r);
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
            return Ok(Access::Scan);
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
