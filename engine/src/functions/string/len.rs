//! LEN: the number of characters in a string, or of bytes in a BYTES value. NULL → NULL.

use std::sync::Arc;

use arrow::array::Int32Array;
use arrow::datatypes::DataType;

use crate::functions::kernels::{bins, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `LEN(str)` → INT characters; `LEN(bytes)` → INT bytes.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "LEN",
        Category::String,
        "Returns the length of a string in characters, or of a BYTES value in bytes.",
        vec![
            Overload::new(&[("input", P::String)], P::Int),
            Overload::new(&[("input", P::Bytes)], P::Int),
        ],
        |c: &Call| {
            let out: Int32Array = match c.args[0].data_type() {
                DataType::Binary => bins(&c.args[0])
                    .iter()
                    .map(|v| v.map(|b| b.len() as i32))
                    .collect(),
                _ => strs(&c.args[0])
                    .iter()
                    .map(|v| v.map(|s| s.chars().count() as i32))
                    .collect(),
            };
            Ok(Arc::new(out))
        },
    )
}
