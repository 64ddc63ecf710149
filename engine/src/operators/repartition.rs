//! repartition.rs owns PARTITION BY: computes the new key columns and puts them in front of
//! the input's columns. As in ksqlDB, a key expression that reads anything but key columns
//! is computed from the record's value, so it is NULL for a record without one. The records move to their new key's partition when the sink writes
//! them (the sink partitions by the serialized key, as Kafka's producer does).

use std::sync::Arc;

use arrow::array::BooleanArray;
use arrow::compute::nullif;
use arrow::datatypes::SchemaRef;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Repartition {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    /// Per key: whether it reads the value (not only key columns).
    from_value: Vec<bool>,
    schema: SchemaRef,
}

impl Repartition {
    pub fn new(keys: Vec<Arc<dyn PhysicalExpr>>, from_value: Vec<bool>, schema: SchemaRef) -> Self {
        Repartition {
            keys,
            from_value,
            schema,
        }
    }
}

impl Operator for Repartition {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let mut cols = evaluate_or_null(&self.keys, &input, errors)?;
        if input.deletes.iter().any(|&d| d) {
            let no_value = BooleanArray::from(input.deletes.clone());
            for (col, &from_value) in cols.iter_mut().zip(&self.from_value) {
                if from_value {
                    *col = nullif(col, &no_value)?;
                }
            }
        }
        cols.extend(input.batch.columns().iter().cloned());
        Ok(Rows {
            batch: make_batch(&self.schema, cols, input.len())?,
            ..input
        })
    }
}
