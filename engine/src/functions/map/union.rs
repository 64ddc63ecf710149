//! MAP_UNION: two maps merged, the second's values winning.

use std::collections::HashMap;

use arrow::array::Array;
use arrow::compute::concat;

use super::{build_map, entry_span, map};
use crate::functions::array::rows_of;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `MAP_UNION(map1, map2)`: all entries of both maps; for a key in both, `map2`'s value.
/// Keys keep the order of first appearance. A NULL map counts as empty; NULL only when both
/// are NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "MAP_UNION",
        Category::Map,
        "Returns a new map containing the entries of both maps; the second map's values win \
         for duplicate keys.",
        vec![Overload::new(
            &[("map1", P::map(P::K, P::V)), ("map2", P::map(P::K, P::V))],
            P::map(P::K, P::V),
        )],
        |c: &Call| {
            let (a, b) = (map(&c.args[0]), map(&c.args[1]));
            let keys = concat(&[a.keys().as_ref(), b.keys().as_ref()])?;
            let values = concat(&[a.values().as_ref(), b.values().as_ref()])?;
            let shift = a.keys().len();
            let (_, rows) = rows_of(keys.data_type(), &[&keys])?;
            let r = &rows[0];
            build_map(&keys, &values, c.rows, |i| {
                if a.is_null(i) && b.is_null(i) {
                    return Ok(None);
                }
                let mut out: Vec<(u32, u32)> = Vec::new();
                let mut pos = HashMap::new();
                let mut add = |j: usize| {
                    let at = *pos.entry(r.row(j)).or_insert_with(|| {
                        out.push((j as u32, j as u32));
                        out.len() - 1
                    });
                    out[at].1 = j as u32;
                };
                if a.is_valid(i) {
                    entry_span(a, i).for_each(&mut add);
                }
                if b.is_valid(i) {
                    entry_span(b, i).for_each(|j| add(j + shift));
                }
                Ok(Some(out))
            })
        },
    )
}
