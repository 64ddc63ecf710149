//! ARRAY_SORT: an array's elements in ascending or descending order.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, UInt32Array};
use arrow::compute::{lexsort_to_indices, SortColumn, SortOptions};
use datafusion::common::Result;

use super::{build_list, list, span};
use crate::functions::error::eval_err;
use crate::functions::kernels::strs;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_SORT(array [, direction])`: the elements sorted ascending, or descending when
/// `direction` is 'DESC' (case-insensitive; 'ASC' is the default). NULL elements go last in
/// both directions. NULL array → NULL; any other direction fails the call.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_SORT",
        Category::Array,
        "Sorts an array of primitives ascending, or descending with 'DESC'; NULLs last.",
        vec![
            Overload::new(&[("array", P::array(P::T))], P::array(P::T)),
            Overload::new(
                &[("array", P::array(P::T)), ("direction", P::String)],
                P::array(P::T),
            ),
        ],
        |c: &Call| {
            let l = list(&c.args[0]);
            let dir = c.args.get(1).map(strs);
            let descending = |i: usize| -> Result<bool> {
                match dir {
                    None => Ok(false),
                    Some(d) if d.is_null(i) => Ok(false),
                    Some(d) => match d.value(i).to_ascii_uppercase().as_str() {
                        "ASC" => Ok(false),
                        "DESC" => Ok(true),
                        other => eval_err(format!(
                            "ARRAY_SORT direction must be ASC or DESC, not '{other}'"
                        )),
                    },
                }
            };
            // Sort every element at once by (row, value), per direction, then read each
            // row's run out of that order: sorting by row first keeps row i's elements at
            // the positions they already occupy.
            let o = l.value_offsets();
            let (base, end) = (o[0] as usize, o[l.len()] as usize);
            let values = l.values().slice(base, end - base);
            let mut parent = vec![0u32; values.len()];
            for i in 0..l.len() {
                for j in span(l, i) {
                    parent[j - base] = i as u32;
                }
            }
            let parent: ArrayRef = Arc::new(UInt32Array::from(parent));
            let order = |desc: bool| -> Result<Vec<u32>> {
                let idx = lexsort_to_indices(
                    &[
                        SortColumn {
                            values: parent.clone(),
                            options: None,
                        },
                        SortColumn {
                            values: values.clone(),
                            options: Some(SortOptions {
                                descending: desc,
                                nulls_first: false,
                            }),
                        },
                    ],
                    None,
                )?;
                Ok(idx.values().to_vec())
            };
            let mut sorted: [Option<Vec<u32>>; 2] = [None, None];
            build_list(&values, c.rows, |i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let d = descending(i)? as usize;
                if sorted[d].is_none() {
                    sorted[d] = Some(order(d == 1)?);
                }
                let r = span(l, i);
                let order = sorted[d].as_ref().expect("just computed");
                Ok(Some(order[r.start - base..r.end - base].to_vec()))
            })
        },
    )
}
