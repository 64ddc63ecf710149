//! filter.rs owns WHERE and HAVING: keeps rows whose predicate is true. Over a table a row
//! that does not pass deletes its key instead (ksqlDB's table filter emits a tombstone);
//! over a stream, null rows (records with a null value) never pass.

use std::sync::Arc;

use arrow::array::{Array, BooleanArray};
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate, Operator};
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Filter {
    predicate: Arc<dyn PhysicalExpr>,
    /// The input is a table: failing rows become deletes.
    table: bool,
}

impl Filter {
    pub fn new(predicate: Arc<dyn PhysicalExpr>, table: bool) -> Self {
        Filter { predicate, table }
    }
}

impl Operator for Filter {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let (cols, kept) = evaluate(std::slice::from_ref(&self.predicate), &input, errors)?;
        let input = match kept {
            Some(mask) => input.filter(&mask)?,
            None => input,
        };
        let result = cols[0]
            .as_any()
            .downcast_ref::<BooleanArray>()
            .cloned()
            .unwrap_or_else(|| BooleanArray::from(vec![false; input.len()]));
        let pass: Vec<bool> = (0..input.len())
            .map(|i| result.is_valid(i) && result.value(i))
            .collect();
        if !self.table {
            // Null rows of a stream never pass.
            let pass: Vec<bool> = pass
                .iter()
                .zip(&input.deletes)
                .map(|(p, d)| *p && !d)
                .collect();
            return input.filter(&BooleanArray::from(pass));
        }
        let mut out = input;
        for (i, p) in pass.into_iter().enumerate() {
            if !p {
                out.deletes[i] = true;
            }
        }
        Ok(out)
    }
}
