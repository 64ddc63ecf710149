//! ARRAY_CONCAT: one array after another.

use arrow::array::Array;
use arrow::compute::concat;

use super::{build_list, list, span};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_CONCAT(left, right)`: the elements of `left` followed by those of `right`
/// (duplicates kept). A NULL side counts as empty; NULL only when both are NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_CONCAT",
        Category::Array,
        "Concatenates two arrays; a NULL array is treated as empty unless both are NULL.",
        vec![Overload::new(
            &[("left", P::array(P::T)), ("right", P::array(P::T))],
            P::array(P::T),
        )],
        |c: &Call| {
            let (a, b) = (list(&c.args[0]), list(&c.args[1]));
            let all = concat(&[a.values().as_ref(), b.values().as_ref()])?;
            let shift = a.values().len();
            build_list(&all, c.rows, |i| {
                if a.is_null(i) && b.is_null(i) {
                    return Ok(None);
                }
                let mut out: Vec<u32> = Vec::new();
                if a.is_valid(i) {
                    out.extend(span(a, i).map(|j| j as u32));
                }
                if b.is_valid(i) {
                    out.extend(span(b, i).map(|j| (j + shift) as u32));
                }
                Ok(Some(out))
            })
        },
    )
}
