//! flatmap.rs owns table functions (EXPLODE, CUBE_EXPLODE): one output row per produced
//! value; several functions in one SELECT are zipped, the shorter padded with NULL. A row
//! whose functions produce nothing (empty or NULL array) produces no rows.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray};
use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
use crate::catalog::test_functions::udtf::TestUdtf;
use crate::runtime::error::{EngineError, Result};
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// Which table function a call is.
#[derive(Debug, Clone, PartialEq)]
pub enum TableFunction {
    Explode,
    CubeExplode,
    /// One of the conformance harness's test table functions
    /// ([`crate::catalog::test_functions::udtf`]).
    Test(TestUdtf),
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

/// One table function call of a SELECT: the function, its arguments and the type of the
/// values it produces.
pub type TableFunctionCall = (TableFunction, Vec<Arc<dyn PhysicalExpr>>, DataType);

#[derive(Debug)]
pub struct FlatMap {
    calls: Vec<TableFunctionCall>,
    schema: SchemaRef,
}

impl FlatMap {
    pub fn new(calls: Vec<TableFunctionCall>, schema: SchemaRef) -> Self {
        FlatMap { calls, schema }
    }
}

/// The values `f` produces for `row`: `Err` if a test function threw (ksqlDB logs the row
/// and produces nothing for it).
fn produce(
    f: &TableFunction,
    args: &[ArrayRef],
    row: usize,
) -> Result<std::result::Result<Vec<ScalarValue>, String>> {
    match f {
        TableFunction::Test(t) => Ok(t.produce(args, row)),
        _ => produce_builtin(f, &args[0], row).map(Ok),
    }
}

fn produce_builtin(f: &TableFunction, list: &ArrayRef, row: usize) -> Result<Vec<ScalarValue>> {
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
        TableFunction::Test(_) => unreachable!("test table functions produce through `produce`"),
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
        let exprs: Vec<Arc<dyn PhysicalExpr>> = self
            .calls
            .iter()
            .flat_map(|c| c.1.iter().cloned())
            .collect();
        let flat = evaluate_or_null(&exprs, &input, errors)?;
        let mut args: Vec<Vec<ArrayRef>> = Vec::with_capacity(self.calls.len());
        let mut at = 0;
        for (f, a, _) in &self.calls {
            let mine = flat[at..at + a.len()].to_vec();
            at += a.len();
            args.push(match f {
                TableFunction::Test(t) => t.prepare(&mine).map_err(EngineError::Statement)?,
                _ => mine,
            });
        }
        let mut take: Vec<u32> = Vec::new();
        let mut produced: Vec<Vec<ScalarValue>> = vec![Vec::new(); self.calls.len()];
        for row in 0..input.len() {
            if input.deletes[row] {
                continue;
            }
            let mut outs: Vec<Vec<ScalarValue>> = Vec::with_capacity(self.calls.len());
            for ((f, _, _), a) in self.calls.iter().zip(&args) {
                outs.push(match produce(f, a, row)? {
                    Ok(values) => values,
                    Err(thrown) => {
                        errors.push(ProcessingError::row(format!(
                            "Table function threw an exception: {thrown}"
                        )));
                        Vec::new()
                    }
                });
            }
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
