//! UCASE and LCASE: Unicode upper/lower case of a string; NULL in, NULL out.

use std::sync::Arc;

use arrow::array::{Array, StringArray};
use datafusion::common::Result;

use crate::functions::kernels::strs;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `UCASE(str)`: `str` in upper case (Unicode rules, locale-independent). NULL → NULL.
pub fn ucase() -> FunctionDef {
    FunctionDef::new(
        "UCASE",
        Category::String,
        "Returns the input string with all characters converted to upper case.",
        vec![Overload::new(&[("input", P::String)], P::String)],
        |c: &Call| convert(c, str::to_uppercase),
    )
}

/// `LCASE(str)`: `str` in lower case. NULL → NULL.
pub fn lcase() -> FunctionDef {
    FunctionDef::new(
        "LCASE",
        Category::String,
        "Returns the input string with all characters converted to lower case.",
        vec![Overload::new(&[("input", P::String)], P::String)],
        |c: &Call| convert(c, str::to_lowercase),
    )
}

fn convert(c: &Call, f: fn(&str) -> String) -> Result<arrow::array::ArrayRef> {
    let a = strs(&c.args[0]);
    let out: StringArray = a.iter().map(|v| v.map(f)).collect();
    debug_assert_eq!(out.len(), a.len());
    Ok(Arc::new(out))
}
