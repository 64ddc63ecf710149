//! LPAD and RPAD: pad a string (or BYTES) to a length with a repeated padding.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use crate::functions::kernels::{any_null, bins, i32s, map_to_binary, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn overloads() -> Vec<Overload> {
    vec![
        Overload::new(
            &[
                ("input", P::String),
                ("length", P::Int),
                ("padding", P::String),
            ],
            P::String,
        ),
        Overload::new(
            &[
                ("input", P::Bytes),
                ("length", P::Int),
                ("padding", P::Bytes),
            ],
            P::Bytes,
        ),
    ]
}

/// `LPAD(input, length, padding)`: `input` left-padded with repetitions of `padding` to
/// exactly `length` characters (bytes for BYTES); an input longer than `length` is cut to
/// its first `length`. NULL when any argument is NULL, `length` is negative, or `padding`
/// is empty.
pub fn lpad() -> FunctionDef {
    FunctionDef::new(
        "LPAD",
        Category::String,
        "Pads the input string or bytes on the left with padding until it is length long; \
         longer inputs are truncated.",
        overloads(),
        |c: &Call| pad(c, true),
    )
}

/// `RPAD(input, length, padding)`: as LPAD, padding on the right.
pub fn rpad() -> FunctionDef {
    FunctionDef::new(
        "RPAD",
        Category::String,
        "Pads the input string or bytes on the right with padding until it is length long; \
         longer inputs are truncated.",
        overloads(),
        |c: &Call| pad(c, false),
    )
}

fn pad_units<T: Clone>(input: &[T], len: usize, padding: &[T], left: bool) -> Vec<T> {
    if input.len() >= len {
        return input[..len].to_vec();
    }
    let fill: Vec<T> = padding
        .iter()
        .cycle()
        .take(len - input.len())
        .cloned()
        .collect();
    if left {
        [fill.as_slice(), input].concat()
    } else {
        [input, fill.as_slice()].concat()
    }
}

fn pad(c: &Call, left: bool) -> Result<ArrayRef> {
    let len = i32s(&c.args[1]);
    let ok =
        |i: usize, padding_empty: bool| !any_null(c.args, i) && len.value(i) >= 0 && !padding_empty;
    if c.args[0].data_type() == &DataType::Binary {
        let (s, p) = (bins(&c.args[0]), bins(&c.args[2]));
        map_to_binary(c.rows, |i| {
            if !ok(i, p.is_valid(i) && p.value(i).is_empty()) {
                return Ok(None);
            }
            Ok(Some(pad_units(
                s.value(i),
                len.value(i) as usize,
                p.value(i),
                left,
            )))
        })
    } else {
        let (s, p) = (strs(&c.args[0]), strs(&c.args[2]));
        map_to_string(c.rows, |i| {
            if !ok(i, p.is_valid(i) && p.value(i).is_empty()) {
                return Ok(None);
            }
            let input: Vec<char> = s.value(i).chars().collect();
            let padding: Vec<char> = p.value(i).chars().collect();
            let out = pad_units(&input, len.value(i) as usize, &padding, left);
            Ok(Some(out.into_iter().collect()))
        })
    }
}
