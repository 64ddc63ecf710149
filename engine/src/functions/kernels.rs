//! Small helpers shared by the kernels: typed views of arguments, null-propagating
//! row loops that build Arrow arrays directly, and a regex cache for per-row patterns.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array,
    StringArray,
};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use datafusion::common::Result;
use regex::Regex;

use super::error::eval_err;

pub fn strs(a: &ArrayRef) -> &StringArray {
    a.as_string::<i32>()
}
pub fn bins(a: &ArrayRef) -> &BinaryArray {
    a.as_binary::<i32>()
}
pub fn i32s(a: &ArrayRef) -> &Int32Array {
    a.as_primitive::<Int32Type>()
}
pub fn i64s(a: &ArrayRef) -> &Int64Array {
    a.as_primitive::<Int64Type>()
}
pub fn f64s(a: &ArrayRef) -> &Float64Array {
    a.as_primitive::<Float64Type>()
}
pub fn bools(a: &ArrayRef) -> &BooleanArray {
    a.as_boolean()
}

/// True when any argument is null at `row` (ksqlDB's usual "null in, null out").
pub fn any_null(args: &[ArrayRef], row: usize) -> bool {
    args.iter().any(|a| a.is_null(row))
}

/// Builds a Utf8 array row by row; a row is null when `f` returns None.
pub fn map_to_string(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<String>>,
) -> Result<ArrayRef> {
    let mut b = arrow::array::StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        b.append_option(f(i)?);
    }
    Ok(Arc::new(b.finish()))
}

/// Builds a Utf8 array, returning borrowed slices where possible.
pub fn map_to_str<'a>(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<std::borrow::Cow<'a, str>>>,
) -> Result<ArrayRef> {
    let mut b = arrow::array::StringBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        match f(i)? {
            Some(s) => b.append_value(s),
            None => b.append_null(),
        }
    }
    Ok(Arc::new(b.finish()))
}

pub fn map_to_binary(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<Vec<u8>>>,
) -> Result<ArrayRef> {
    let mut b = arrow::array::BinaryBuilder::with_capacity(rows, rows * 8);
    for i in 0..rows {
        b.append_option(f(i)?);
    }
    Ok(Arc::new(b.finish()))
}

pub fn map_to_i32(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<i32>>,
) -> Result<ArrayRef> {
    Ok(Arc::new(
        (0..rows).map(&mut f).collect::<Result<Int32Array>>()?,
    ))
}

pub fn map_to_f64(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<f64>>,
) -> Result<ArrayRef> {
    Ok(Arc::new(
        (0..rows).map(&mut f).collect::<Result<Float64Array>>()?,
    ))
}

pub fn map_to_bool(
    rows: usize,
    mut f: impl FnMut(usize) -> Result<Option<bool>>,
) -> Result<ArrayRef> {
    Ok(Arc::new(
        (0..rows).map(&mut f).collect::<Result<BooleanArray>>()?,
    ))
}

/// Compiles each distinct pattern once per batch (patterns are nearly always constant).
#[derive(Default)]
pub struct RegexCache {
    last: Option<(String, Regex)>,
}

impl RegexCache {
    /// The compiled pattern; an invalid pattern is an evaluation error, as in ksqlDB.
    pub fn get(&mut self, pattern: &str) -> Result<&Regex> {
        let hit = matches!(&self.last, Some((p, _)) if p == pattern);
        if !hit {
            let re = match Regex::new(&java_regex(pattern)) {
                Ok(r) => r,
                Err(e) => return eval_err(format!("Invalid regular expression pattern: {e}")),
            };
            self.last = Some((pattern.to_string(), re));
        }
        Ok(&self.last.as_ref().expect("just set").1)
    }
}

/// Java regex syntax that Rust's `regex` spells differently: possessive quantifiers are
/// treated as greedy, everything else is passed through.
pub fn java_regex(p: &str) -> String {
    p.replace("*+", "*").replace("++", "+").replace("?+", "?")
}
