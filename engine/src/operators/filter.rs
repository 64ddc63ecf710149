//! filter.rs owns WHERE and HAVING: keeps rows whose predicate is true.
//!
//! Over a stream, null rows (records with a null value) never pass. Over a table the
//! filter works on changes, as Kafka Streams' table filter with old values does: a row
//! that fails deletes its key downstream if the key's previous row had passed, and is
//! dropped otherwise; deletes pass on only for keys that are present downstream.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::row::{RowConverter, SortField};
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate, Operator};
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
pub struct Filter {
    predicate: Arc<dyn PhysicalExpr>,
    /// For a table input: the input columns of its key.
    table_key: Option<Vec<usize>>,
    /// Keys (and windows) whose latest row passed.
    present: HashSet<Vec<u8>>,
    converter: Option<RowConverter>,
}

impl Filter {
    /// `table_key`: for table input, the input columns that hold the key.
    pub fn new(predicate: Arc<dyn PhysicalExpr>, table_key: Option<Vec<usize>>) -> Self {
        Filter {
            predicate,
            table_key,
            present: HashSet::new(),
            converter: None,
        }
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
            .map(|i| result.is_valid(i) && result.value(i) && !input.deletes[i])
            .collect();
        let Some(key_cols) = &self.table_key else {
            return input.filter(&BooleanArray::from(pass));
        };
        let keys: Vec<ArrayRef> = key_cols
            .iter()
            .map(|i| input.batch.column(*i).clone())
            .collect();
        if self.converter.is_none() {
            let fields = keys
                .iter()
                .map(|k| SortField::new(k.data_type().clone()))
                .collect();
            self.converter = Some(RowConverter::new(fields)?);
        }
        let rows = self
            .converter
            .as_ref()
            .expect("set above")
            .convert_columns(&keys)?;
        let mut out = input;
        let mut keep = vec![false; out.len()];
        for (i, p) in pass.into_iter().enumerate() {
            let mut k = rows.row(i).as_ref().to_vec();
            if let Some(w) = &out.windows {
                k.extend_from_slice(&w[i].start.to_be_bytes());
            }
            if p {
                self.present.insert(k);
                keep[i] = true;
            } else if self.present.remove(&k) {
                out.deletes[i] = true;
                keep[i] = true;
            }
        }
        out.filter(&BooleanArray::from(keep))
    }
}
