//! FORMAT_DATE, PARSE_DATE, DATETOSTRING and STRINGTODATE: dates to and from text with a
//! Java date pattern.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Date32Array, Int32Array};
use arrow::datatypes::{DataType, Date32Type, Int32Type};
use chrono::Duration;
use datafusion::common::Result;

use super::pattern::{epoch_date, PatternCache};
use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn format(c: &Call) -> Result<ArrayRef> {
    let days: Vec<Option<i32>> = match c.args[0].data_type() {
        DataType::Date32 => c.args[0].as_primitive::<Date32Type>().iter().collect(),
        _ => c.args[0].as_primitive::<Int32Type>().iter().collect(),
    };
    let pat = strs(&c.args[1]);
    let mut patterns = PatternCache::default();
    map_to_string(c.rows, |i| {
        if any_null(c.args, i) {
            return Ok(None);
        }
        let f = patterns.get(pat.value(i))?;
        Ok(days[i]
            .and_then(|d| epoch_date().checked_add_signed(Duration::days(d as i64)))
            .map(|date| f.format_date(date)))
    })
}

/// Days since the epoch of each row's text; with `whole`, text after the pattern fails.
fn parse(c: &Call, whole: bool) -> Result<Vec<Option<i32>>> {
    let (text, pat) = (strs(&c.args[0]), strs(&c.args[1]));
    let mut patterns = PatternCache::default();
    (0..c.rows)
        .map(|i| {
            if any_null(c.args, i) {
                return Ok(None);
            }
            let f = patterns.get(pat.value(i))?;
            let days = if whole {
                f.parse_days(text.value(i))
            } else {
                f.parse_days_prefix(text.value(i))
            };
            Ok(days.ok())
        })
        .collect()
}

/// `FORMAT_DATE(date DATE, pattern)`: the date as text in `pattern` ('yyyy-MM-dd',
/// 'dd-MMM-yyyy'...). NULL → NULL; an invalid pattern fails the call.
pub fn format_date() -> FunctionDef {
    FunctionDef::new(
        "FORMAT_DATE",
        Category::DateTime,
        "Converts a DATE into a string using the given Java date pattern.",
        vec![Overload::new(
            &[("date", P::Date), ("formatPattern", P::String)],
            P::String,
        )],
        format,
    )
}

/// `PARSE_DATE(text, pattern)` → DATE; month/day default to 1 when the pattern lacks them;
/// parsing is case-insensitive ('01-JAN-2022'). Text that does not match gives NULL; text
/// after the pattern is ignored, as ksqlDB's `FastDateFormat` parse does.
pub fn parse_date() -> FunctionDef {
    FunctionDef::new(
        "PARSE_DATE",
        Category::DateTime,
        "Converts a string in the given Java date pattern into a DATE.",
        vec![Overload::new(
            &[("formattedDate", P::String), ("formatPattern", P::String)],
            P::Date,
        )],
        |c: &Call| Ok(Arc::new(Date32Array::from(parse(c, false)?)) as ArrayRef),
    )
}

/// `DATETOSTRING(days INT, pattern)`: as FORMAT_DATE for a day count since 1970-01-01.
pub fn datetostring() -> FunctionDef {
    FunctionDef::new(
        "DATETOSTRING",
        Category::DateTime,
        "Converts an INT number of days since the epoch into a string using the given Java \
         date pattern.",
        vec![Overload::new(
            &[("epochDays", P::Int), ("formatPattern", P::String)],
            P::String,
        )],
        format,
    )
}

/// `STRINGTODATE(text, pattern)` → INT days since 1970-01-01; as PARSE_DATE.
pub fn stringtodate() -> FunctionDef {
    FunctionDef::new(
        "STRINGTODATE",
        Category::DateTime,
        "Converts a string in the given Java date pattern into an INT number of days since \
         the epoch.",
        vec![Overload::new(
            &[("formattedDate", P::String), ("formatPattern", P::String)],
            P::Int,
        )],
        |c: &Call| Ok(Arc::new(Int32Array::from(parse(c, true)?)) as ArrayRef),
    )
}
