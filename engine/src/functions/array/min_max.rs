//! ARRAY_MAX and ARRAY_MIN: the largest or smallest element.

use std::cmp::Ordering;

use arrow::array::{make_comparator, Array, ArrayRef, UInt32Array};
use arrow::compute::{take, SortOptions};
use datafusion::common::Result;

use super::{element_type, list, span};
use crate::functions::error::FunctionError;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn overloads() -> Vec<Overload> {
    vec![Overload::computed(
        &[("array", P::array(P::T))],
        |a| {
            let t = element_type(&a[0]);
            match t {
                arrow::datatypes::DataType::List(_)
                | arrow::datatypes::DataType::Map(..)
                | arrow::datatypes::DataType::Struct(_) => Err(FunctionError::Evaluation(
                    "ARRAY_MAX/ARRAY_MIN need primitive elements".into(),
                )),
                t => Ok(t),
            }
        },
        "T",
    )]
}

fn run(c: &Call, want: Ordering) -> Result<ArrayRef> {
    let l = list(&c.args[0]);
    let values = l.values();
    let cmp = make_comparator(values.as_ref(), values.as_ref(), SortOptions::default())?;
    let picks: UInt32Array = (0..c.rows)
        .map(|i| {
            if l.is_null(i) {
                return None;
            }
            let mut best: Option<usize> = None;
            for j in span(l, i) {
                if values.is_null(j) {
                    continue;
                }
                if best.is_none_or(|b| cmp(j, b) == want) {
                    best = Some(j);
                }
            }
            best.map(|b| b as u32)
        })
        .collect();
    Ok(take(values.as_ref(), &picks, None)?)
}

/// `ARRAY_MAX(array)`: the largest non-NULL element (strings by code point, booleans with
/// false < true); NULL for a NULL or empty (or all-NULL) array.
pub fn array_max() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_MAX",
        Category::Array,
        "Returns the maximum non-NULL element of an array of primitives.",
        overloads(),
        |c: &Call| run(c, Ordering::Greater),
    )
}

/// `ARRAY_MIN(array)`: the smallest non-NULL element; as ARRAY_MAX.
pub fn array_min() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_MIN",
        Category::Array,
        "Returns the minimum non-NULL element of an array of primitives.",
        overloads(),
        |c: &Call| run(c, Ordering::Less),
    )
}
