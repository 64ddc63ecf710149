//! Array functions: membership (ARRAY_CONTAINS), set operations (ARRAY_DISTINCT,
//! ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION), reshaping (ARRAY_CONCAT, ARRAY_REMOVE,
//! ARRAY_SORT, SLICE), aggregates of one array (ARRAY_LENGTH, ARRAY_MAX, ARRAY_MIN,
//! ARRAY_JOIN), GENERATE_SERIES, and the variadic ELT and FIELD.
//!
//! Element equality is Arrow's row-format equality, so it works for elements of any type
//! (nested arrays, maps, structs); NULL elements equal each other. Results are built with
//! `take` over the flattened element array rather than row by row.

mod concat;
mod contains;
mod elt_field;
mod generate_series;
mod join;
mod length;
mod min_max;
mod remove;
mod set_ops;
mod slice;
mod sort;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, UInt32Array};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::take;
use arrow::datatypes::{DataType, Field};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::Result;

use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        contains::def(),
        set_ops::array_distinct(),
        set_ops::array_except(),
        set_ops::array_intersect(),
        set_ops::array_union(),
        concat::def(),
        join::def(),
        length::def(),
        min_max::array_max(),
        min_max::array_min(),
        remove::def(),
        sort::def(),
        slice::def(),
        generate_series::def(),
        elt_field::elt(),
        elt_field::field(),
    ]
}

pub(crate) fn list(a: &ArrayRef) -> &ListArray {
    a.as_list::<i32>()
}

/// The element type of a List type.
pub(crate) fn element_type(t: &DataType) -> DataType {
    match t {
        DataType::List(f) => f.data_type().clone(),
        _ => DataType::Null,
    }
}

/// Row-format encodings of `arrays` (all of one type), for equality and hashing of
/// elements of any type.
pub(crate) fn rows_of(t: &DataType, arrays: &[&ArrayRef]) -> Result<(RowConverter, Vec<Rows>)> {
    let conv = RowConverter::new(vec![SortField::new(t.clone())])?;
    let rows = arrays
        .iter()
        .map(|a| conv.convert_columns(&[Arc::clone(a)]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((conv, rows))
}

/// Builds a list array of `element_type` whose row `i` holds the elements of `values` at the
/// indices `pick(i)` returns (None: a NULL row).
pub(crate) fn build_list(
    values: &ArrayRef,
    rows: usize,
    mut pick: impl FnMut(usize) -> Result<Option<Vec<u32>>>,
) -> Result<ArrayRef> {
    let mut indices: Vec<u32> = Vec::new();
    let mut offsets: Vec<i32> = Vec::with_capacity(rows + 1);
    let mut valid: Vec<bool> = Vec::with_capacity(rows);
    offsets.push(0);
    for i in 0..rows {
        match pick(i)? {
            Some(ix) => {
                indices.extend(ix);
                valid.push(true);
            }
            None => valid.push(false),
        }
        offsets.push(indices.len() as i32);
    }
    let taken = take(values.as_ref(), &UInt32Array::from(indices), None)?;
    let field = Arc::new(Field::new_list_field(values.data_type().clone(), true));
    let nulls = valid.iter().any(|v| !v).then(|| NullBuffer::from(valid));
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        taken,
        nulls,
    )?))
}

/// The absolute element positions of list row `i` (into `l.values()`).
pub(crate) fn span(l: &ListArray, i: usize) -> std::ops::Range<usize> {
    let o = l.value_offsets();
    o[i] as usize..o[i + 1] as usize
}

#[cfg(test)]
mod tests;
