//! repartition.rs owns PARTITION BY: computes the new key columns and puts them in front of
//! the input's columns. The records move to their new key's partition when the sink writes
//! them (the sink partitions by the serialized key, as Kafka's producer does).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Repartition {
    keys: Vec<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
}

impl Repartition {
    pub fn new(keys: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef) -> Self {
        Repartition { keys, schema }
    }
}

impl Operator for Repartition {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let mut cols = evaluate_or_null(&self.keys, &input, errors)?;
        cols.extend(input.batch.columns().iter().cloned());
        Ok(Rows {
            batch: make_batch(&self.schema, cols, input.len())?,
            ..input
        })
    }
}
