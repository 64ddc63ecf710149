//! ARRAY_LENGTH: the number of elements.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Array};

use super::list;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_LENGTH(array)`: the number of elements (NULL elements count). NULL → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_LENGTH",
        Category::Array,
        "Returns the number of elements in the array.",
        vec![Overload::new(&[("array", P::array(P::T))], P::Int)],
        |c: &Call| {
            let l = list(&c.args[0]);
            let o = l.value_offsets();
            let out: Int32Array = (0..c.rows)
                .map(|i| l.is_valid(i).then(|| o[i + 1] - o[i]))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}
