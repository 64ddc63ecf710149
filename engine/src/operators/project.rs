//! project.rs owns the SELECT list: computes the output columns (keys first, then values,
//! as the node's schema orders them) from the input rows.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Project {
    /// One expression per output column, in output order.
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    schema: SchemaRef,
}

impl Project {
    pub fn new(exprs: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef) -> Self {
        Project { exprs, schema }
    }
}

impl Operator for Project {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let cols = evaluate_or_null(&self.exprs, &input, errors)?;
        Ok(Rows {
            batch: make_batch(&self.schema, cols, input.len())?,
            ..input
        })
    }
}
