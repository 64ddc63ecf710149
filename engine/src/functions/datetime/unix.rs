//! UNIX_TIMESTAMP, UNIX_DATE, FROM_UNIXTIME and FROM_DAYS: conversions between TIMESTAMP /
//! DATE and epoch numbers.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::array::{
    ArrayRef, AsArray, Date32Array, Int32Array, Int64Array, TimestampMillisecondArray,
};
use arrow::datatypes::{Date32Type, Int32Type, Int64Type, TimestampMillisecondType};

use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `UNIX_TIMESTAMP()`: the current time in epoch milliseconds (BIGINT).
/// `UNIX_TIMESTAMP(ts)`: `ts` in epoch milliseconds. NULL → NULL.
pub fn unix_timestamp() -> FunctionDef {
    FunctionDef::new(
        "UNIX_TIMESTAMP",
        Category::DateTime,
        "Returns the current time, or the given TIMESTAMP, as BIGINT milliseconds since the \
         epoch.",
        vec![
            Overload::new(&[], P::BigInt),
            Overload::new(&[("timestamp", P::Timestamp)], P::BigInt),
        ],
        |c: &Call| {
            if c.args.is_empty() {
                return Ok(Arc::new(Int64Array::from(vec![now_millis(); c.rows])) as ArrayRef);
            }
            let t = c.args[0].as_primitive::<TimestampMillisecondType>();
            Ok(Arc::new(t.reinterpret_cast::<Int64Type>()) as ArrayRef)
        },
    )
    .volatile()
}

/// `UNIX_DATE()`: today (UTC) in days since the epoch (INT). `UNIX_DATE(date)`: `date` in
/// days since the epoch. NULL → NULL.
pub fn unix_date() -> FunctionDef {
    FunctionDef::new(
        "UNIX_DATE",
        Category::DateTime,
        "Returns the current date, or the given DATE, as INT days since the epoch.",
        vec![
            Overload::new(&[], P::Int),
            Overload::new(&[("date", P::Date)], P::Int),
        ],
        |c: &Call| {
            if c.args.is_empty() {
                let today = now_millis().div_euclid(86_400_000) as i32;
                return Ok(Arc::new(Int32Array::from(vec![today; c.rows])) as ArrayRef);
            }
            let d = c.args[0].as_primitive::<Date32Type>();
            Ok(Arc::new(d.reinterpret_cast::<Int32Type>()) as ArrayRef)
        },
    )
    .volatile()
}

/// `FROM_UNIXTIME(millis BIGINT)`: the TIMESTAMP `millis` after the epoch. NULL → NULL.
pub fn from_unixtime() -> FunctionDef {
    FunctionDef::new(
        "FROM_UNIXTIME",
        Category::DateTime,
        "Converts BIGINT milliseconds since the epoch into a TIMESTAMP.",
        vec![Overload::new(&[("milliseconds", P::BigInt)], P::Timestamp)],
        |c: &Call| {
            let v = c.args[0].as_primitive::<Int64Type>();
            let out: TimestampMillisecondArray = v.reinterpret_cast::<TimestampMillisecondType>();
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}

/// `FROM_DAYS(days INT)`: the DATE `days` after 1970-01-01 (negative before). NULL → NULL.
pub fn from_days() -> FunctionDef {
    FunctionDef::new(
        "FROM_DAYS",
        Category::DateTime,
        "Converts an INT number of days since the epoch into a DATE.",
        vec![Overload::new(&[("days", P::Int)], P::Date)],
        |c: &Call| {
            let v = c.args[0].as_primitive::<Int32Type>();
            let out: Date32Array = v.reinterpret_cast::<Date32Type>();
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}
