//! SUBSTRING: part of a string (or BYTES) by 1-based position and length.

use arrow::array::Array;
use arrow::datatypes::DataType;

use crate::functions::kernels::{any_null, bins, i32s, map_to_binary, map_to_str, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `SUBSTRING(str, pos [, len])`.
///
/// `pos` is 1-based; a negative `pos` counts back from the end (`-1` is the last
/// character); `pos` 0 behaves as 1. Positions past either end are clamped, so an
/// out-of-range call gives "" rather than an error; a negative `len` gives "". Any NULL
/// argument gives NULL. Works on characters for strings and on bytes for BYTES.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "SUBSTRING",
        Category::String,
        "Returns the portion of str from pos (1-based; negative counts from the end), \
         optionally limited to len characters.",
        vec![
            Overload::new(&[("str", P::String), ("pos", P::Int)], P::String),
            Overload::new(
                &[("str", P::String), ("pos", P::Int), ("length", P::Int)],
                P::String,
            ),
            Overload::new(&[("str", P::Bytes), ("pos", P::Int)], P::Bytes),
            Overload::new(
                &[("str", P::Bytes), ("pos", P::Int), ("length", P::Int)],
                P::Bytes,
            ),
        ],
        |c: &Call| {
            let pos = i32s(&c.args[1]);
            let len = c.args.get(2).map(i32s);
            let range = |i: usize, n: usize| -> (usize, usize) {
                let start = start_index(n, pos.value(i));
                let end = match len {
                    Some(l) => end_index(n, start, l.value(i)),
                    None => n,
                };
                (start, end)
            };
            if c.args[0].data_type() == &DataType::Binary {
                let s = bins(&c.args[0]);
                map_to_binary(c.rows, |i| {
                    if any_null(c.args, i) {
                        return Ok(None);
                    }
                    let v = s.value(i);
                    let (a, b) = range(i, v.len());
                    Ok(Some(v[a..b].to_vec()))
                })
            } else {
                let s = strs(&c.args[0]);
                map_to_str(c.rows, |i| {
                    if any_null(c.args, i) || s.is_null(i) {
                        return Ok(None);
                    }
                    let v = s.value(i);
                    if v.is_ascii() {
                        let (a, b) = range(i, v.len());
                        return Ok(Some(v[a..b].into()));
                    }
                    let chars: Vec<char> = v.chars().collect();
                    let (a, b) = range(i, chars.len());
                    Ok(Some(chars[a..b].iter().collect::<String>().into()))
                })
            }
        },
    )
}

/// 0-based start: `pos` ≥ 1 counts from the front, negative from the back, clamped.
fn start_index(n: usize, pos: i32) -> usize {
    let n = n as i64;
    let pos = pos as i64;
    let s = if pos >= 0 {
        (pos - 1).max(0).min(n)
    } else {
        (n + pos).max(0)
    };
    s as usize
}

fn end_index(n: usize, start: usize, len: i32) -> usize {
    let end = (start as i64 + len as i64).min(n as i64);
    end.max(start as i64) as usize
}
