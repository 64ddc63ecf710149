//! TIMESTAMPTOSTRING, FORMAT_TIMESTAMP, STRINGTOTIMESTAMP and PARSE_TIMESTAMP: instants to
//! and from text with a Java date pattern, in a time zone (default UTC).

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Int64Type, TimestampMillisecondType};
use datafusion::common::Result;

use super::pattern::PatternCache;
use super::zone_arg;
use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn format_overloads(value: P) -> Vec<Overload> {
    vec![
        Overload::new(
            &[("value", value.clone()), ("formatPattern", P::String)],
            P::String,
        ),
        Overload::new(
            &[
                ("value", value),
                ("formatPattern", P::String),
                ("timeZone", P::String),
            ],
            P::String,
        ),
    ]
}

fn format(c: &Call) -> Result<ArrayRef> {
    let millis: Vec<Option<i64>> = match c.args[0].data_type() {
        DataType::Timestamp(..) => c.args[0]
            .as_primitive::<TimestampMillisecondType>()
            .iter()
            .collect(),
        _ => c.args[0].as_primitive::<Int64Type>().iter().collect(),
    };
    let pat = strs(&c.args[1]);
    let mut patterns = PatternCache::default();
    let mut zone = None;
    map_to_string(c.rows, |i| {
        if any_null(c.args, i) {
            return Ok(None);
        }
        let f = patterns.get(pat.value(i))?;
        let z = zone_arg(c.args, 2, i, &mut zone)?;
        Ok(millis[i].and_then(|ms| f.format_millis(ms, &z)))
    })
}

/// Parses every row to milliseconds; NULL where the text does not match.
fn parse(c: &Call) -> Result<Vec<Option<i64>>> {
    let (text, pat) = (strs(&c.args[0]), strs(&c.args[1]));
    let mut patterns = PatternCache::default();
    let mut zone = None;
    (0..c.rows)
        .map(|i| {
            if any_null(c.args, i) {
                return Ok(None);
            }
            let f = patterns.get(pat.value(i))?;
            let z = zone_arg(c.args, 2, i, &mut zone)?;
            Ok(f.parse_millis(text.value(i), &z).ok())
        })
        .collect()
}

/// `TIMESTAMPTOSTRING(millis BIGINT, pattern [, timeZone])`: epoch milliseconds as text in
/// `pattern` (Java `DateTimeFormatter` letters) at `timeZone` (an id such as
/// 'America/Los_Angeles' or an offset '+02:00'; default UTC). NULL in any argument → NULL;
/// an invalid pattern or zone fails the call.
pub fn timestamptostring() -> FunctionDef {
    FunctionDef::new(
        "TIMESTAMPTOSTRING",
        Category::DateTime,
        "Converts a BIGINT millisecond timestamp into a string using the given Java date \
         pattern, optionally in a time zone.",
        format_overloads(P::BigInt),
        format,
    )
}

/// `FORMAT_TIMESTAMP(ts TIMESTAMP, pattern [, timeZone])`: as TIMESTAMPTOSTRING, for a
/// TIMESTAMP.
pub fn format_timestamp() -> FunctionDef {
    FunctionDef::new(
        "FORMAT_TIMESTAMP",
        Category::DateTime,
        "Converts a TIMESTAMP into a string using the given Java date pattern, optionally \
         in a time zone.",
        format_overloads(P::Timestamp),
        format,
    )
}

fn parse_overloads(ret: P) -> Vec<Overload> {
    vec![
        Overload::new(
            &[
                ("formattedTimestamp", P::String),
                ("formatPattern", P::String),
            ],
            ret.clone(),
        ),
        Overload::new(
            &[
                ("formattedTimestamp", P::String),
                ("formatPattern", P::String),
                ("timeZone", P::String),
            ],
            ret,
        ),
    ]
}

/// `STRINGTOTIMESTAMP(text, pattern [, timeZone])` → BIGINT epoch milliseconds. An offset or
/// zone in the text wins over `timeZone` (default UTC); fields the pattern lacks default to
/// 1970-01-01T00:00:00. Text that does not match gives NULL.
pub fn stringtotimestamp() -> FunctionDef {
    FunctionDef::new(
        "STRINGTOTIMESTAMP",
        Category::DateTime,
        "Converts a string in the given Java date pattern into BIGINT epoch milliseconds, \
         optionally interpreting it in a time zone.",
        parse_overloads(P::BigInt),
        |c: &Call| Ok(Arc::new(Int64Array::from(parse(c)?)) as ArrayRef),
    )
}

/// `PARSE_TIMESTAMP(text, pattern [, timeZone])` → TIMESTAMP; as STRINGTOTIMESTAMP.
pub fn parse_timestamp() -> FunctionDef {
    FunctionDef::new(
        "PARSE_TIMESTAMP",
        Category::DateTime,
        "Converts a string in the given Java date pattern into a TIMESTAMP, optionally \
         interpreting it in a time zone.",
        parse_overloads(P::Timestamp),
        |c: &Call| Ok(Arc::new(TimestampMillisecondArray::from(parse(c)?)) as ArrayRef),
    )
}
