//! SLICE: a 1-based, inclusive range of an array.

use arrow::array::Array;

use super::{build_list, list, span};
use crate::functions::kernels::i32s;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `SLICE(array, from, to)`: elements `from` through `to`, 1-based and inclusive; a NULL
/// `from` means the start, a NULL `to` the end. NULL when the array is NULL or the range is
/// outside the array or reversed (ksqlDB's `subList` fails and yields NULL).
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "SLICE",
        Category::Array,
        "Returns the elements from index from to index to, 1-based and inclusive.",
        vec![Overload::new(
            &[("array", P::array(P::T)), ("from", P::Int), ("to", P::Int)],
            P::array(P::T),
        )],
        |c: &Call| {
            let l = list(&c.args[0]);
            let (from, to) = (i32s(&c.args[1]), i32s(&c.args[2]));
            build_list(l.values(), c.rows, |i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let r = span(l, i);
                let n = r.len() as i64;
                let start = if from.is_null(i) {
                    0
                } else {
                    from.value(i) as i64 - 1
                };
                let end = if to.is_null(i) { n } else { to.value(i) as i64 };
                if start < 0 || end > n || start > end {
                    return Ok(None);
                }
                Ok(Some(
                    (r.start + start as usize..r.start + end as usize)
                        .map(|j| j as u32)
                        .collect(),
                ))
            })
        },
    )
}
