//! CONCAT and CONCAT_WS: join strings (or BYTES). NULL arguments are skipped rather than
//! making the result NULL, as in ksqlDB; CONCAT_WS returns NULL only for a NULL separator.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use crate::functions::kernels::{bins, map_to_binary, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `CONCAT(a, b, ...)`: the non-NULL strings (or BYTES) joined; "" when all are NULL.
pub fn concat() -> FunctionDef {
    FunctionDef::new(
        "CONCAT",
        Category::String,
        "Concatenates two or more string or bytes expressions; NULL inputs are skipped.",
        vec![
            Overload::new(&[("input", P::String)], P::String).variadic(),
            Overload::new(&[("input", P::Bytes)], P::Bytes).variadic(),
        ],
        |c: &Call| join(c.args, None, c.rows),
    )
}

/// `CONCAT_WS(separator, a, b, ...)`: the non-NULL values joined with `separator`; NULL when
/// the separator is NULL.
pub fn concat_ws() -> FunctionDef {
    FunctionDef::new(
        "CONCAT_WS",
        Category::String,
        "Concatenates two or more string or bytes expressions, inserting a separator between \
         each; NULL inputs are skipped, a NULL separator gives NULL.",
        vec![
            Overload::new(&[("separator", P::String), ("input", P::String)], P::String).variadic(),
            Overload::new(&[("separator", P::Bytes), ("input", P::Bytes)], P::Bytes).variadic(),
        ],
        |c: &Call| join(&c.args[1..], Some(&c.args[0]), c.rows),
    )
}

fn join(parts: &[ArrayRef], sep: Option<&ArrayRef>, rows: usize) -> Result<ArrayRef> {
    let binary = sep.map_or_else(
        || {
            parts
                .first()
                .is_some_and(|p| p.data_type() == &DataType::Binary)
        },
        |s| s.data_type() == &DataType::Binary,
    );
    if binary {
        map_to_binary(rows, |i| {
            let sep: &[u8] = match sep {
                Some(s) if s.is_null(i) => return Ok(None),
                Some(s) => bins(s).value(i),
                None => b"",
            };
            let vals: Vec<&[u8]> = parts
                .iter()
                .filter(|p| p.is_valid(i))
                .map(|p| bins(p).value(i))
                .collect();
            Ok(Some(vals.join(sep)))
        })
    } else {
        map_to_string(rows, |i| {
            let sep = match sep {
                Some(s) if s.is_null(i) => return Ok(None),
                Some(s) => strs(s).value(i),
                None => "",
            };
            let vals: Vec<&str> = parts
                .iter()
                .filter(|p| p.is_valid(i) && p.data_type() != &DataType::Null)
                .map(|p| strs(p).value(i))
                .collect();
            Ok(Some(vals.join(sep)))
        })
    }
}
