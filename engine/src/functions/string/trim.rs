//! TRIM, LTRIM, RTRIM: remove leading and/or trailing whitespace as Java's `String.trim()`
//! does (every character at or below U+0020: spaces, tabs, newlines, control characters).
//! NULL → NULL.

use std::sync::Arc;

use arrow::array::StringArray;
use datafusion::common::Result;

use crate::functions::kernels::strs;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn ws(c: char) -> bool {
    c <= ' '
}

fn def(
    name: &'static str,
    description: &'static str,
    f: fn(&Call) -> Result<arrow::array::ArrayRef>,
) -> FunctionDef {
    FunctionDef::new(
        name,
        Category::String,
        description,
        vec![Overload::new(&[("input", P::String)], P::String)],
        f,
    )
}

fn apply(c: &Call, f: fn(&str) -> &str) -> Result<arrow::array::ArrayRef> {
    let out: StringArray = strs(&c.args[0]).iter().map(|v| v.map(f)).collect();
    Ok(Arc::new(out))
}

/// `TRIM(str)`: without leading and trailing whitespace.
pub fn trim() -> FunctionDef {
    def(
        "TRIM",
        "Removes the spaces from the beginning and end of a string.",
        |c| apply(c, |s| s.trim_matches(ws)),
    )
}

/// `LTRIM(str)`: without leading whitespace.
pub fn ltrim() -> FunctionDef {
    def(
        "LTRIM",
        "Removes leading whitespace from the input string.",
        |c| apply(c, |s| s.trim_start_matches(ws)),
    )
}

/// `RTRIM(str)`: without trailing whitespace.
pub fn rtrim() -> FunctionDef {
    def(
        "RTRIM",
        "Removes trailing whitespace from the input string.",
        |c| apply(c, |s| s.trim_end_matches(ws)),
    )
}
