//! ARRAY_CONTAINS: whether an array holds a value.

use arrow::array::Array;

use super::{list, rows_of, span};
use crate::functions::kernels::map_to_bool;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_CONTAINS(array, value)`: true when some element equals `value` (a NULL `value`
/// matches a NULL element; numeric types widen to a common type); false for a NULL array.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_CONTAINS",
        Category::Array,
        "Returns true if the array contains the value; false if not or if the array is NULL.",
        vec![Overload::new(
            &[("array", P::array(P::T)), ("value", P::T)],
            P::Boolean,
        )],
        |c: &Call| {
            let l = list(&c.args[0]);
            let (_, rows) = rows_of(&l.value_type(), &[l.values(), &c.args[1]])?;
            map_to_bool(c.rows, |i| {
                if l.is_null(i) {
                    return Ok(Some(false));
                }
                let needle = rows[1].row(i);
                Ok(Some(span(l, i).any(|j| rows[0].row(j) == needle)))
            })
        },
    )
}
