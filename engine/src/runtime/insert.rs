//! insert.rs owns INSERT INTO ... VALUES: evaluates the values, encodes them with the
//! target's key and value formats and appends the record to the target's topic (partition
//! chosen from the key, as Kafka's producer does).

use std::sync::Arc;

use arrow::array::{new_null_array, ArrayRef, Int64Array, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{Field, Schema as ArrowSchema};
use brook_log::{Log, Topic};
use brook_sql::analyzer::SourceEntry;
use brook_sql::plan::{Column, ColumnRole, TypedExpr};

use crate::catalog::sql_to_arrow;
use crate::expr::{compile, InputLayout};
use crate::functions::FunctionRegistry;
use crate::operators::conform;

use super::codec::{ProvidedSchemas, SourceCodec};
use super::commands::now_ms;
use super::error::{EngineError, Result};
use super::rows::Rows;

/// Inserts one row; returns the partition and offset written.
pub fn insert_values(
    log: &Arc<Log>,
    topic: &Arc<Topic>,
    target: &SourceEntry,
    values: &[(Column, TypedExpr)],
    registry: &FunctionRegistry,
    schemas: &ProvidedSchemas,
) -> Result<(u32, u64)> {
    let _ = log;
    if target.window.is_some() {
        return Err(EngineError::Statement(
            "Cannot insert values into windowed stream/table!".to_string(),
        ));
    }
    let codec = SourceCodec::new(target, schemas)?;
    let empty = InputLayout::new(Vec::new());
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(ArrowSchema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    let eval = |e: &TypedExpr| -> Result<ArrayRef> {
        let pe = compile(e, &empty, registry)?;
        Ok(pe.evaluate(&one_row)?.into_array(1)?)
    };
    let mut timestamp = None;
    for (c, e) in values {
        if c.name == "ROWTIME" && c.role == ColumnRole::Pseudo {
            let a = eval(e)?;
            let a = conform(a, &arrow::datatypes::DataType::Int64)?;
            let v = a
                .as_any()
                .downcast_ref::<Int64Array>()
                .filter(|a| !a.is_empty() && !arrow::array::Array::is_null(*a, 0))
                .map(|a| a.value(0));
            timestamp = v;
        }
    }
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let ordered = target
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Key)
        .chain(
            target
                .columns
                .iter()
                .filter(|c| c.role == ColumnRole::Value),
        );
    for c in ordered {
        let dt = sql_to_arrow(&c.ty);
        let array = match values.iter().find(|(vc, _)| vc.name == c.name) {
            Some((_, e)) => conform(eval(e)?, &dt)?,
            None => new_null_array(&dt, 1),
        };
        fields.push(Field::new(&c.name, dt, true));
        cols.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), cols)?;
    let rows = Rows {
        batch,
        timestamps: vec![timestamp.unwrap_or_else(now_ms)],
        deletes: vec![false],
        windows: None,
        partition: 0,
    };
    let mut skipped = Vec::new();
    let records = codec.encode(&rows, &mut skipped)?;
    if let Some(reason) = skipped.into_iter().next() {
        return Err(EngineError::Statement(reason));
    }
    let written = topic.produce(&records)?;
    Ok(written.first().copied().unwrap_or((0, 0)))
}
