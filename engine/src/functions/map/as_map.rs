//! AS_MAP: a map from an array of keys and an array of values.

use std::collections::HashMap;

use arrow::array::Array;

use super::build_map;
use crate::functions::array::{list, rows_of, span};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `AS_MAP(keys, values)`: pairs the i-th key with the i-th value, up to the shorter array;
/// NULL keys are skipped and a repeated key keeps its last value. NULL when either array is
/// NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "AS_MAP",
        Category::Map,
        "Constructs a map from an array of keys and an array of values.",
        vec![Overload::new(
            &[("keys", P::array(P::String)), ("values", P::array(P::V))],
            P::map(P::String, P::V),
        )],
        |c: &Call| {
            let (k, v) = (list(&c.args[0]), list(&c.args[1]));
            let (_, rows) = rows_of(&k.value_type(), &[k.values()])?;
            build_map(k.values(), v.values(), c.rows, |i| {
                if k.is_null(i) || v.is_null(i) {
                    return Ok(None);
                }
                let mut out: Vec<(u32, u32)> = Vec::new();
                let mut pos = HashMap::new();
                for (kj, vj) in span(k, i).zip(span(v, i)) {
                    if k.values().is_null(kj) {
                        continue;
                    }
                    match pos.get(&rows[0].row(kj)) {
                        Some(&at) => out[at] = (kj as u32, vj as u32),
                        None => {
                            pos.insert(rows[0].row(kj), out.len());
                            out.push((kj as u32, vj as u32));
                        }
                    }
                }
                Ok(Some(out))
            })
        },
    )
}
