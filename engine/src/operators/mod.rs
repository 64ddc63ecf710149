//! Operators: the steps of a running query, one file each. Every operator takes [`Rows`]
//! laid out as its plan node's input schema and returns rows laid out as the node's own
//! schema. Expressions are compiled DataFusion physical expressions (see [`crate::expr`]).
//!
//! A value an expression cannot compute is reported as a [`ProcessingError`] and the batch
//! goes on: a filter drops the row ([`evaluate`]); a projection, key or function argument
//! is NULL, as in ksqlDB ([`evaluate_or_null`]).

pub mod aggregate;
pub mod filter;
pub mod flatmap;
mod group_state;
pub mod hopping_slices;
pub mod hopping_window;
pub mod join;
pub mod limit;
pub mod project;
pub mod repartition;
pub mod session_window;
mod time_window;
pub mod tumbling_window;
mod updates;
mod window_groups;
#[cfg(test)]
mod window_tests;

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::concat;
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::physical_plan::PhysicalExpr;

use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// A step of a query.
pub trait Operator: Send + fmt::Debug {
    /// Processes rows in order; returns the rows for the next operator.
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows>;

    /// Makes the operator's state durable (called at each commit). Stateless: nothing.
    fn commit(&mut self) -> Result<()> {
        Ok(())
    }

    /// Gives a stateful operator its store in `stores` (named after the query and the
    /// operator's position) and restores what it held. Returns the source offsets the
    /// restored state was committed with, if any. Stateless: nothing.
    fn attach_state(
        &mut self,
        _stores: &brook_state::StateStores,
        _query_id: &str,
        _index: usize,
    ) -> Result<Option<Vec<(u32, u64)>>> {
        Ok(None)
    }

    /// The source offsets the next `commit` covers (stored with the state, atomically).
    fn note_offsets(&mut self, _offsets: &[(u32, u64)]) {}

    /// Turns on a record cache of up to `max_keys` keys, as Kafka Streams' caching store:
    /// updates of a key are folded together and only its latest goes downstream, at
    /// [`Operator::flush`] (each commit) or when the cache is full. Operators without
    /// one ignore it.
    fn enable_record_cache(&mut self, _max_keys: usize) {}

    /// What a record cache holds, to go downstream before a commit (one `Rows` per source
    /// partition). Without a cache: nothing.
    fn flush(&mut self) -> Result<Vec<Rows>> {
        Ok(Vec::new())
    }

    /// A windowed aggregation's retention: its groups leave its state once their window
    /// bound (a time window's start, a session's end) is older than stream time minus this
    /// (ms). The table it builds keeps its rows as long (`runtime::materialized`). Others:
    /// None.
    fn retention(&self) -> Option<i64> {
        None
    }
}

/// Evaluates `exprs` over `rows`. If evaluating the whole batch fails, evaluates row by row
/// and leaves out the rows that fail (reported in `errors`). Returns the columns and, when
/// rows were left out, the mask of the rows kept (the columns then hold only those rows).
pub fn evaluate(
    exprs: &[Arc<dyn PhysicalExpr>],
    rows: &Rows,
    errors: &mut Vec<ProcessingError>,
) -> Result<(Vec<ArrayRef>, Option<BooleanArray>)> {
    let batch = &rows.batch;
    let n = batch.num_rows();
    let whole: std::result::Result<Vec<ArrayRef>, _> = exprs
        .iter()
        .map(|e| e.evaluate(batch).and_then(|v| v.into_array(n)))
        .collect();
    if let Ok(cols) = whole {
        return Ok((cols, None));
    }
    let mut keep = vec![false; n];
    let mut parts: Vec<Vec<ArrayRef>> = vec![Vec::new(); exprs.len()];
    for (i, k) in keep.iter_mut().enumerate() {
        let one = batch.slice(i, 1);
        let row: std::result::Result<Vec<ArrayRef>, _> = exprs
            .iter()
            .map(|e| e.evaluate(&one).and_then(|v| v.into_array(1)))
            .collect();
        match row {
            Ok(cols) => {
                *k = true;
                for (p, c) in parts.iter_mut().zip(cols) {
                    p.push(c);
                }
            }
            Err(e) => errors.push(ProcessingError::row(format!(
                "Error computing expression: {}",
                first_line(&e.to_string())
            ))),
        }
    }
    let mut cols = Vec::with_capacity(exprs.len());
    for (p, e) in parts.iter().zip(exprs) {
        if p.is_empty() {
            let dt = e.data_type(&batch.schema())?;
            cols.push(arrow::array::new_empty_array(&dt));
        } else {
            let refs: Vec<&dyn Array> = p.iter().map(|a| a.as_ref()).collect();
            cols.push(concat(&refs)?);
        }
    }
    Ok((cols, Some(BooleanArray::from(keep))))
}

/// Evaluates `exprs` over `rows` as ksqlDB evaluates a SELECT list, a PARTITION BY or
/// GROUP BY expression, an aggregate's or a table function's arguments: a value that cannot
/// be computed (a function that throws) is NULL, and the row goes on; each failure is
/// reported in `errors`. An expression whose whole batch fails is evaluated again row by
/// row; the others are evaluated once.
pub fn evaluate_or_null(
    exprs: &[Arc<dyn PhysicalExpr>],
    rows: &Rows,
    errors: &mut Vec<ProcessingError>,
) -> Result<Vec<ArrayRef>> {
    let batch = &rows.batch;
    let n = batch.num_rows();
    let mut cols = Vec::with_capacity(exprs.len());
    for e in exprs {
        if let Ok(col) = e.evaluate(batch).and_then(|v| v.into_array(n)) {
            cols.push(col);
            continue;
        }
        let dt = e.data_type(&batch.schema())?;
        let mut parts: Vec<ArrayRef> = Vec::with_capacity(n);
        for i in 0..n {
            let one = batch.slice(i, 1);
            match e.evaluate(&one).and_then(|v| v.into_array(1)) {
                Ok(v) => parts.push(v),
                Err(err) => {
                    errors.push(ProcessingError::row(format!(
                        "Error computing expression: {}",
                        first_line(&err.to_string())
                    )));
                    parts.push(arrow::array::new_null_array(&dt, 1));
                }
            }
        }
        if parts.is_empty() {
            cols.push(arrow::array::new_empty_array(&dt));
        } else {
            let parts = parts
                .into_iter()
                .map(|p| conform(p, &dt))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            cols.push(concat(&refs)?);
        }
    }
    Ok(cols)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Casts `array` to the type the schema says, when the expression produced a near type
/// (a NULL literal, a list with another field name...).
pub fn conform(array: ArrayRef, dt: &DataType) -> Result<ArrayRef> {
    if array.data_type() == dt {
        return Ok(array);
    }
    // Structs match fields by name (a missing field is null), which Arrow's cast does not.
    if matches!(dt, DataType::Struct(_)) {
        return Ok(crate::expr::cast::cast(&array, dt)?);
    }
    Ok(arrow::compute::cast(&array, dt)?)
}

/// Builds the output batch from columns, conforming each to `schema`.
pub fn make_batch(
    schema: &SchemaRef,
    columns: Vec<ArrayRef>,
    rows: usize,
) -> Result<arrow::array::RecordBatch> {
    let cols = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| conform(c, f.data_type()))
        .collect::<Result<Vec<_>>>()?;
    Ok(arrow::array::RecordBatch::try_new_with_options(
        schema.clone(),
        cols,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}
