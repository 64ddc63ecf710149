//! Map functions: MAP_KEYS, MAP_VALUES, MAP_UNION, AS_MAP and ENTRIES; and the builders
//! every function that returns a MAP uses, so all maps share Brook's layout (an `entries`
//! struct of a non-null `key` and a nullable `value`).

mod as_map;
mod entries;
mod keys_values;
mod union;

use std::sync::Arc;

use arrow::array::{
    Array, ArrayBuilder, ArrayRef, AsArray, MapArray, MapBuilder, MapFieldNames, StructArray,
    UInt32Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::take;
use datafusion::common::Result;

use super::types::map_entries_field;
use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        keys_values::map_keys(),
        keys_values::map_values(),
        union::def(),
        as_map::def(),
        entries::def(),
    ]
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32))
}

/// The order in which a `java.util.HashMap` created with `new HashMap<>()` iterates the
/// string keys `keys` put into it in this order: by bucket (`hash ^ hash >>> 16` masked
/// by the table size, 16 doubled while more than 3/4 full), ties in insertion order. ksqlDB
/// functions that build their result map that way (TRANSFORM of a map) return it in this
/// order, which shows where order is visible (PROTOBUF's repeated entries). Returns
/// positions into `keys`.
pub(crate) fn java_hash_map_order(keys: &[&str]) -> Vec<usize> {
    java_hash_map_order_sized(keys, 16)
}

/// As [`java_hash_map_order`], for a map created with `new HashMap<>(initial)`: its table
/// starts at the power of two at or above `initial` (ksqlDB's JSON deserializer sizes the
/// maps it reads by their entry count, so a REDUCE over them folds in this order).
pub(crate) fn java_hash_map_order_sized(keys: &[&str], initial: usize) -> Vec<usize> {
    let mut cap = initial.max(1).next_power_of_two();
    while keys.len() * 4 > cap * 3 {
        cap *= 2;
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (cap - 1)
    };
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| bucket(keys[i]));
    order
}

/// A MapBuilder producing Brook's map layout (`entries` struct of `key` and `value`).
pub(crate) fn map_builder<K: ArrayBuilder, V: ArrayBuilder>(k: K, v: V) -> MapBuilder<K, V> {
    MapBuilder::new(
        Some(MapFieldNames {
            entry: "entries".into(),
            key: "key".into(),
            value: "value".into(),
        }),
        k,
        v,
    )
}

pub(crate) fn map(a: &ArrayRef) -> &MapArray {
    a.as_map()
}

/// The absolute entry positions of map row `i`.
pub(crate) fn entry_span(m: &MapArray, i: usize) -> std::ops::Range<usize> {
    let o = m.value_offsets();
    o[i] as usize..o[i + 1] as usize
}

/// Builds a map array whose row `i` holds the (key index, value index) pairs `pick(i)`
/// returns, taken from `keys` and `values` (None: a NULL row).
pub(crate) fn build_map(
    keys: &ArrayRef,
    values: &ArrayRef,
    rows: usize,
    mut pick: impl FnMut(usize) -> Result<Option<Vec<(u32, u32)>>>,
) -> Result<ArrayRef> {
    let (mut ki, mut vi) = (Vec::new(), Vec::new());
    let mut offsets: Vec<i32> = vec![0];
    let mut valid = Vec::with_capacity(rows);
    for i in 0..rows {
        match pick(i)? {
            Some(pairs) => {
                for (k, v) in pairs {
                    ki.push(k);
                    vi.push(v);
                }
                valid.push(true);
            }
            None => valid.push(false),
        }
        offsets.push(ki.len() as i32);
    }
    let k = take(keys.as_ref(), &UInt32Array::from(ki), None)?;
    let v = take(values.as_ref(), &UInt32Array::from(vi), None)?;
    let field = map_entries_field(k.data_type().clone(), v.data_type().clone());
    let arrow::datatypes::DataType::Struct(fields) = field.data_type().clone() else {
        unreachable!("entries is a struct")
    };
    let entries = StructArray::try_new(fields, vec![k, v], None)?;
    let nulls = valid.iter().any(|v| !v).then(|| NullBuffer::from(valid));
    Ok(Arc::new(MapArray::try_new(
        field,
        OffsetBuffer::new(offsets.into()),
        entries,
        nulls,
        false,
    )?))
}

#[cfg(test)]
mod tests;
