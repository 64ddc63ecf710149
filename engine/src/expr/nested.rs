//! Structured values: struct field access (`s->f`), array subscripts (1-based, negative from
//! the end, out of range → NULL), map subscripts (missing key → NULL) and the ARRAY[...],
//! MAP(...) and STRUCT(...) constructors.

use std::sync::Arc;

use arrow::array::{
    make_array, make_comparator, new_null_array, Array, ArrayRef, AsArray, MapArray, StructArray,
    UInt64Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{interleave, take, SortOptions};
use arrow::datatypes::{DataType, Fields};
use datafusion::common::{exec_err, Result};

/// Field `name` of a struct array; NULL where the struct is NULL.
pub fn field(base: &ArrayRef, name: &str) -> Result<ArrayRef> {
    let s = base.as_struct();
    let Some(col) = s.column_by_name(name) else {
        return exec_err!("struct has no field {name}");
    };
    if s.nulls().is_none() {
        return Ok(col.clone());
    }
    let nulls = NullBuffer::union(s.nulls(), col.logical_nulls().as_ref());
    let data = col.to_data().into_builder().nulls(nulls).build()?;
    Ok(make_array(data))
}

fn index_value(index: &ArrayRef, i: usize) -> Option<i64> {
    if index.is_null(i) {
        return None;
    }
    match index.data_type() {
        DataType::Int32 => {
            Some(index.as_primitive::<arrow::datatypes::Int32Type>().value(i) as i64)
        }
        DataType::Int64 => Some(index.as_primitive::<arrow::datatypes::Int64Type>().value(i)),
        _ => None,
    }
}

/// `arr[i]`: 1-based, `-1` is the last element, 0 or out of range → NULL.
pub fn array_element(base: &ArrayRef, index: &ArrayRef) -> Result<ArrayRef> {
    let list = base.as_list::<i32>();
    let offsets = list.value_offsets();
    let take_idx: UInt64Array = (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return None;
            }
            let (start, end) = (offsets[row] as i64, offsets[row + 1] as i64);
            let len = end - start;
            let i = index_value(index, row)?;
            let pos = if i > 0 && i <= len {
                start + i - 1
            } else if i < 0 && -i <= len {
                end + i
            } else {
                return None;
            };
            Some(pos as u64)
        })
        .collect();
    Ok(take(list.values().as_ref(), &take_idx, None)?)
}

/// `map[k]`: the value under key `k`, NULL when absent (or either side NULL).
pub fn map_value(base: &ArrayRef, key: &ArrayRef) -> Result<ArrayRef> {
    let map = base.as_map();
    let keys = map.keys();
    let key = if key.data_type() != keys.data_type() {
        arrow::compute::cast(key, keys.data_type())?
    } else {
        key.clone()
    };
    let cmp = make_comparator(keys.as_ref(), key.as_ref(), SortOptions::default())?;
    let offsets = map.value_offsets();
    let take_idx: UInt64Array = (0..map.len())
        .map(|row| {
            if map.is_null(row) || key.is_null(row) {
                return None;
            }
            (offsets[row] as usize..offsets[row + 1] as usize)
                .rev()
                .find(|&e| keys.is_valid(e) && cmp(e, row).is_eq())
                .map(|e| e as u64)
        })
        .collect();
    Ok(take(map.values().as_ref(), &take_idx, None)?)
}

/// Row `r` of each of `items` in order: the values of a list of `items.len()` per row.
fn interleave_rows(items: &[ArrayRef], rows: usize, ty: &DataType) -> Result<ArrayRef> {
    if items.is_empty() {
        return Ok(new_null_array(ty, 0));
    }
    let refs: Vec<&dyn Array> = items.iter().map(|a| a.as_ref()).collect();
    let idx: Vec<(usize, usize)> = (0..rows)
        .flat_map(|r| (0..items.len()).map(move |c| (c, r)))
        .collect();
    Ok(interleave(&refs, &idx)?)
}

/// `ARRAY[a, b, ...]` (items already of the element type `ty`'s element).
pub fn make_list(items: &[ArrayRef], rows: usize, ty: &DataType) -> Result<ArrayRef> {
    let DataType::List(f) = ty else {
        return exec_err!("ARRAY constructor of type {ty}");
    };
    let values = interleave_rows(items, rows, f.data_type())?;
    let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(items.len(), rows));
    Ok(Arc::new(arrow::array::ListArray::try_new(
        f.clone(),
        offsets,
        values,
        None,
    )?))
}

/// `MAP(k1 := v1, ...)`: `args` are k1, v1, k2, v2, ... A later duplicate key replaces an
/// earlier one; NULL keys are dropped.
pub fn make_map(args: &[ArrayRef], rows: usize, ty: &DataType) -> Result<ArrayRef> {
    let DataType::Map(entries, sorted) = ty else {
        return exec_err!("MAP constructor of type {ty}");
    };
    let DataType::Struct(kv) = entries.data_type() else {
        return exec_err!("map entries of type {}", entries.data_type());
    };
    let n = args.len() / 2;
    let keys: Vec<ArrayRef> = (0..n).map(|i| args[2 * i].clone()).collect();
    let vals: Vec<ArrayRef> = (0..n).map(|i| args[2 * i + 1].clone()).collect();
    // Which (item, row) pairs survive: non-null keys not repeated later in the row.
    let mut pick: Vec<(usize, usize)> = Vec::new();
    let mut lengths = Vec::with_capacity(rows);
    let comparators = keys
        .iter()
        .map(|a| {
            keys.iter()
                .map(|b| make_comparator(a.as_ref(), b.as_ref(), SortOptions::default()))
                .collect::<std::result::Result<Vec<_>, _>>()
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for r in 0..rows {
        let before = pick.len();
        for c in 0..n {
            if keys[c].is_null(r) {
                continue;
            }
            let repeated =
                (c + 1..n).any(|d| keys[d].is_valid(r) && comparators[c][d](r, r).is_eq());
            if !repeated {
                pick.push((c, r));
            }
        }
        lengths.push(pick.len() - before);
    }
    let kref: Vec<&dyn Array> = keys.iter().map(|a| a.as_ref()).collect();
    let vref: Vec<&dyn Array> = vals.iter().map(|a| a.as_ref()).collect();
    let (k, v) = if n == 0 {
        (
            new_null_array(kv[0].data_type(), 0),
            new_null_array(kv[1].data_type(), 0),
        )
    } else {
        (interleave(&kref, &pick)?, interleave(&vref, &pick)?)
    };
    let entries_arr = StructArray::try_new(kv.clone(), vec![k, v], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries.clone(),
        OffsetBuffer::from_lengths(lengths),
        entries_arr,
        None,
        *sorted,
    )?))
}

/// `STRUCT(a := x, ...)`.
pub fn make_struct(fields: &Fields, items: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if fields.is_empty() {
        return Ok(Arc::new(StructArray::new_empty_fields(rows, None)));
    }
    Ok(Arc::new(StructArray::try_new(
        fields.clone(),
        items.to_vec(),
        None,
    )?))
}
