//! ENTRIES: a map as an array of key/value structs.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;

use super::{entry_span, map};
use crate::functions::array::build_list;
use crate::functions::error::FunctionError;
use crate::functions::kernels::{bools, strs};
use crate::functions::types::{list_of, map_kv, Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn struct_fields(v: DataType) -> Fields {
    Fields::from(vec![
        Field::new("K", DataType::Utf8, true),
        Field::new("V", v, true),
    ])
}

/// `ENTRIES(map, sorted)`: the entries of a MAP<STRING, V> as an ARRAY<STRUCT<K STRING,
/// V V>>, sorted by key when `sorted` is true, else in entry order. NULL map → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ENTRIES",
        Category::Map,
        "Returns an array of structs with fields K and V, one per entry of the map, \
         optionally sorted by key.",
        vec![Overload::computed(
            &[("map", P::map(P::String, P::V)), ("sorted", P::Boolean)],
            |a| match &a[0] {
                DataType::Map(e, _) => {
                    let (_, v) = map_kv(e.data_type()).expect("map entries");
                    Ok(list_of(DataType::Struct(struct_fields(v))))
                }
                _ => Err(FunctionError::Evaluation("expected a MAP".into())),
            },
            "ARRAY<STRUCT<K VARCHAR, V V>>",
        )],
        |c: &Call| -> Result<ArrayRef> {
            let m = map(&c.args[0]);
            let sorted = bools(&c.args[1]);
            let keys = m.keys().clone();
            let values = m.values().clone();
            let structs: ArrayRef = Arc::new(StructArray::try_new(
                struct_fields(values.data_type().clone()),
                vec![keys.clone(), values],
                None,
            )?);
            let k = strs(&keys);
            build_list(&structs, c.rows, |i| {
                if m.is_null(i) {
                    return Ok(None);
                }
                let mut ix: Vec<u32> = entry_span(m, i).map(|j| j as u32).collect();
                if sorted.is_valid(i) && sorted.value(i) {
                    ix.sort_by(|a, b| k.value(*a as usize).cmp(k.value(*b as usize)));
                }
                Ok(Some(ix))
            })
        },
    )
}
