//! ARRAY_REMOVE: an array without the elements equal to a value.

use arrow::array::Array;

use super::{build_list, list, rows_of, span};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_REMOVE(array, value)`: `array` without every element equal to `value` (a NULL
/// `value` removes the NULL elements); works for nested elements too. NULL array → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_REMOVE",
        Category::Array,
        "Removes all elements equal to the given value from the array.",
        vec![Overload::new(
            &[("array", P::array(P::T)), ("value", P::T)],
            P::array(P::T),
        )],
        |c: &Call| {
            let l = list(&c.args[0]);
            let (_, rows) = rows_of(&l.value_type(), &[l.values(), &c.args[1]])?;
            build_list(l.values(), c.rows, |i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let needle = rows[1].row(i);
                Ok(Some(
                    span(l, i)
                        .filter(|&j| rows[0].row(j) != needle)
                        .map(|j| j as u32)
                        .collect(),
                ))
            })
        },
    )
}
