//! flatmap.rs owns table functions (EXPLODE, CUBE_EXPLODE): one output row per produced
//! value; several functions in one SELECT are zipped, the shorter padded with NULL. A row
//! whose functions produce nothing (empty or NULL array) produces no rows.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
use crate::runtime::error::{EngineError, Result};
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// Which table function a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunction {
    Explode,
    CubeExplode,
}

impl TableFunction {
    pub fn by_name(name: &str) -> Option<TableFunction> {
        match name {
            "EXPLODE" => Some(TableFunction::Explode),
            "CUBE_EXPLODE" => Some(TableFunction::CubeExplode),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct FlatMap {
    calls: Vec<(TableFunction, Arc<dyn PhysicalExpr>, DataType)>,
    schema: SchemaRef,
}

impl FlatMap {
    /// `calls`: the function, its (array) argument and the type of the values it produces.
    pub fn new(
        calls: Vec<(TableFunction, Arc<dyn PhysicalExpr>, DataType)>,
        schema: SchemaRef,
    ) -> Self {
        FlatMap { calls, schema }
    }
}

fn produce(f: TableFunction, list: &ArrayRef, row: usize) -> Result<Vec<ScalarValue>> {
    let Some(list) = list.as_any().downcast_ref::<ListArray>() else {
        return Err(EngineError::NotSupportedYet(
            "table functions over non-array arguments".into(),
        ));
    };
    if list.is_null(row) {
        return Ok(Vec::new());
    }
    let values = list.value(row);
    let items: Vec<ScalarValue> = (0..values.len())
        .map(|i| ScalarValue::try_from_array(&values, i))
        .collect::<std::result::Result<_, _>>()?;
    match f {
        TableFunction::Explode => Ok(items),
        TableFunction::CubeExplode => {
            let null = ScalarValue::try_from(values.data_type())?;
            let mut combos: Vec<Vec<ScalarValue>> = vec![Vec::new()];
            for item in &items {
                let options: Vec<ScalarValue> = if item.is_null() {
                    vec![null.clone()]
                } else {
                    vec![null.clone(), item.clone()]
                };
                combos = combos
                    .into_iter()
                    .flat_map(|c| {
                        options.iter().map(move |o| {
                            let mut c = c.clone();
                            c.push(o.clone());
                            c
                        })
                    })
                    .collect();
            }
            if items.is_empty() {
                return Ok(Vec::new());
            }
            combos
                .into_iter()
                .map(|c| {
                    let arr = ScalarValue::new_list_nullable(&c, values.data_type());
                    Ok(ScalarValue::List(arr))
                })
                .collect()
        }
    }
}

impl Operator for FlatMap {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let exprs: Vec<Arc<dyn PhysicalExpr>> = self.calls.iter().map(|c| c.1.clone()).collect();
        let args = evaluate_or_null(&exprs, &input, errors)?;
        let mut take: Vec<u32> = Vec::new();
        let mut produced: Vec<Vec<ScalarValue>> = vec![Vec::new(); self.calls.len()];
        for row in 0..input.len() {
            if input.deletes[row] {
                continue;
            }
            let outs: Vec<Vec<ScalarValue>> = self
                .calls
                .iter()
                .zip(&args)
                .map(|((f, _, _), a)| produce(*f, a, row))
                .collect::<Result<_>>()?;
            let m = outs.iter().map(Vec::len).max().unwrap_or(0);
            for j in 0..m {
                take.push(row as u32);
                for (k, out) in outs.iter().enumerate() {
                    let v = match out.get(j) {
                        Some(v) => v.clone(),
                        None => ScalarValue::try_from(&self.calls[k].2)?,
                    };
                    produced[k].push(v);
                }
            }
        }
        let base = input.take(&take)?;
        let mut cols: Vec<ArrayRef> = base.batch.columns().to_vec();
        for (k, vals) in produced.into_iter().enumerate() {
            let dt = &self.calls[k].2;
            cols.push(if vals.is_empty() {
                arrow::array::new_empty_array(dt)
            } else {
                ScalarValue::iter_to_array(vals)?
            });
        }
        Ok(Rows {
            batch: make_batch(&self.schema, cols, take.len())?,
            ..base
        })
    }
}
