//! MAP_KEYS and MAP_VALUES: a map's keys or values as an array, in entry order.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray};
use arrow::datatypes::Field;
use datafusion::common::Result;

use super::map;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// Re-uses the map's offsets and validity over one of its entry columns: no copying.
fn column_as_list(c: &Call, column: usize) -> Result<ArrayRef> {
    let m = map(&c.args[0]);
    let values = m.entries().column(column).clone();
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    Ok(Arc::new(ListArray::try_new(
        field,
        m.offsets().clone(),
        values,
        m.nulls().cloned(),
    )?))
}

/// `MAP_KEYS(map)`: the keys as an array, in entry order. NULL → NULL.
pub fn map_keys() -> FunctionDef {
    FunctionDef::new(
        "MAP_KEYS",
        Category::Map,
        "Returns an array of the keys of a map.",
        vec![Overload::new(
            &[("map", P::map(P::K, P::V))],
            P::array(P::K),
        )],
        |c: &Call| column_as_list(c, 0),
    )
}

/// `MAP_VALUES(map)`: the values as an array, in entry order (NULL values kept). NULL → NULL.
pub fn map_values() -> FunctionDef {
    FunctionDef::new(
        "MAP_VALUES",
        Category::Map,
        "Returns an array of the values of a map.",
        vec![Overload::new(
            &[("map", P::map(P::K, P::V))],
            P::array(P::V),
        )],
        |c: &Call| column_as_list(c, 1),
    )
}
