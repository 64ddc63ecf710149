//! FORMAT_TIME and PARSE_TIME: times of day to and from text with a Java date pattern.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Time32MillisecondArray};
use arrow::datatypes::Time32MillisecondType;
use chrono::NaiveTime;

use super::pattern::PatternCache;
use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `FORMAT_TIME(time TIME, pattern)`: the time of day as text ('HH:mm:ss.SSS'). NULL → NULL;
/// an invalid pattern fails the call.
pub fn format_time() -> FunctionDef {
    FunctionDef::new(
        "FORMAT_TIME",
        Category::DateTime,
        "Converts a TIME into a string using the given Java time pattern.",
        vec![Overload::new(
            &[("time", P::Time), ("formatPattern", P::String)],
            P::String,
        )],
        |c: &Call| {
            let t = c.args[0].as_primitive::<Time32MillisecondType>();
            let pat = strs(&c.args[1]);
            let mut patterns = PatternCache::default();
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) || t.is_null(i) {
                    return Ok(None);
                }
                let ms = t.value(i).rem_euclid(86_400_000) as u32;
                let time = NaiveTime::from_num_seconds_from_midnight_opt(
                    ms / 1000,
                    (ms % 1000) * 1_000_000,
                );
                let f = patterns.get(pat.value(i))?;
                Ok(time.map(|t| f.format_time(t)))
            })
        },
    )
}

/// `PARSE_TIME(text, pattern)` → TIME ('hh:mm:ss a' accepts '01:00:00 Pm'). Text that does
/// not match gives NULL.
pub fn parse_time() -> FunctionDef {
    FunctionDef::new(
        "PARSE_TIME",
        Category::DateTime,
        "Converts a string in the given Java time pattern into a TIME.",
        vec![Overload::new(
            &[("formattedTime", P::String), ("formatPattern", P::String)],
            P::Time,
        )],
        |c: &Call| {
            let (text, pat) = (strs(&c.args[0]), strs(&c.args[1]));
            let mut patterns = PatternCache::default();
            let out = (0..c.rows)
                .map(|i| {
                    if any_null(c.args, i) {
                        return Ok(None);
                    }
                    Ok(patterns
                        .get(pat.value(i))?
                        .parse_time_millis(text.value(i))
                        .ok())
                })
                .collect::<datafusion::common::Result<Vec<Option<i32>>>>()?;
            Ok(Arc::new(Time32MillisecondArray::from(out)) as ArrayRef)
        },
    )
}
