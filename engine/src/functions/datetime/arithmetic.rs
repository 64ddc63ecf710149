//! DATEADD, DATESUB, TIMEADD, TIMESUB, TIMESTAMPADD and TIMESTAMPSUB: add or subtract an
//! interval in a time unit.
//!
//! The unit is one of NANOSECONDS, MICROSECONDS, MILLISECONDS, SECONDS, MINUTES, HOURS,
//! DAYS (singular accepted, case-insensitive), given as a STRING. NULL in any argument →
//! NULL; an unknown unit fails the call. DATE arithmetic counts whole days of the interval
//! (`DATEADD(MILLISECONDS, 5, d)` = d); TIME arithmetic wraps around midnight.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, Date32Array, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::datatypes::{Date32Type, Time32MillisecondType, TimestampMillisecondType};
use datafusion::common::Result;

use crate::functions::error::eval_err;
use crate::functions::kernels::{any_null, i32s, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// The interval in nanoseconds.
fn to_nanos(unit: &str, n: i32) -> Result<i128> {
    let per: i128 = match unit.to_ascii_uppercase().trim_end_matches('S') {
        "NANOSECOND" => 1,
        "MICROSECOND" => 1_000,
        "MILLISECOND" => 1_000_000,
        "SECOND" => 1_000_000_000,
        "MINUTE" => 60_000_000_000,
        "HOUR" => 3_600_000_000_000,
        "DAY" => 86_400_000_000_000,
        _ => return eval_err(format!("Unknown time unit: {unit}")),
    };
    Ok(per * n as i128)
}

#[derive(Clone, Copy)]
enum Kind {
    Date,
    Time,
    Timestamp,
}

fn def(name: &'static str, kind: Kind, sign: i32, description: &'static str) -> FunctionDef {
    let t = match kind {
        Kind::Date => P::Date,
        Kind::Time => P::Time,
        Kind::Timestamp => P::Timestamp,
    };
    let kernel: fn(&Call) -> Result<ArrayRef> = match (kind, sign) {
        (Kind::Date, 1) => |c| run(c, Kind::Date, 1),
        (Kind::Date, _) => |c| run(c, Kind::Date, -1),
        (Kind::Time, 1) => |c| run(c, Kind::Time, 1),
        (Kind::Time, _) => |c| run(c, Kind::Time, -1),
        (Kind::Timestamp, 1) => |c| run(c, Kind::Timestamp, 1),
        (Kind::Timestamp, _) => |c| run(c, Kind::Timestamp, -1),
    };
    FunctionDef::new(
        name,
        Category::DateTime,
        description,
        vec![Overload::new(
            &[
                ("unit", P::String),
                ("interval", P::Int),
                ("value", t.clone()),
            ],
            t,
        )],
        kernel,
    )
}

fn run(c: &Call, kind: Kind, sign: i32) -> Result<ArrayRef> {
    let (unit, n) = (strs(&c.args[0]), i32s(&c.args[1]));
    let delta = |i: usize| -> Result<Option<i128>> {
        if any_null(c.args, i) {
            return Ok(None);
        }
        Ok(Some(to_nanos(unit.value(i), n.value(i))? * sign as i128))
    };
    Ok(match kind {
        Kind::Date => {
            let v = c.args[2].as_primitive::<Date32Type>();
            let out = (0..c.rows)
                .map(|i| Ok(delta(i)?.map(|d| v.value(i) + (d / 86_400_000_000_000) as i32)))
                .collect::<Result<Date32Array>>()?;
            Arc::new(out) as ArrayRef
        }
        Kind::Time => {
            let v = c.args[2].as_primitive::<Time32MillisecondType>();
            let out = (0..c.rows)
                .map(|i| {
                    Ok(delta(i)?.map(|d| {
                        (v.value(i) as i128 + d / 1_000_000).rem_euclid(86_400_000) as i32
                    }))
                })
                .collect::<Result<Time32MillisecondArray>>()?;
            Arc::new(out)
        }
        Kind::Timestamp => {
            let v = c.args[2].as_primitive::<TimestampMillisecondType>();
            let out = (0..c.rows)
                .map(|i| Ok(delta(i)?.map(|d| (v.value(i) as i128 + d / 1_000_000) as i64)))
                .collect::<Result<TimestampMillisecondArray>>()?;
            Arc::new(out)
        }
    })
}

/// `DATEADD(unit, interval, date)`: `date` plus `interval` units (whole days).
pub fn dateadd() -> FunctionDef {
    def(
        "DATEADD",
        Kind::Date,
        1,
        "Adds an interval in a time unit to a DATE.",
    )
}
/// `DATESUB(unit, interval, date)`: `date` minus `interval` units (whole days).
pub fn datesub() -> FunctionDef {
    def(
        "DATESUB",
        Kind::Date,
        -1,
        "Subtracts an interval in a time unit from a DATE.",
    )
}
/// `TIMEADD(unit, interval, time)`: `time` plus the interval, wrapping at midnight.
pub fn timeadd() -> FunctionDef {
    def(
        "TIMEADD",
        Kind::Time,
        1,
        "Adds an interval in a time unit to a TIME, wrapping at midnight.",
    )
}
/// `TIMESUB(unit, interval, time)`: `time` minus the interval, wrapping at midnight.
pub fn timesub() -> FunctionDef {
    def(
        "TIMESUB",
        Kind::Time,
        -1,
        "Subtracts an interval in a time unit from a TIME, wrapping at midnight.",
    )
}
/// `TIMESTAMPADD(unit, interval, ts)`: `ts` plus the interval.
pub fn timestampadd() -> FunctionDef {
    def(
        "TIMESTAMPADD",
        Kind::Timestamp,
        1,
        "Adds an interval in a time unit to a TIMESTAMP.",
    )
}
/// `TIMESTAMPSUB(unit, interval, ts)`: `ts` minus the interval.
pub fn timestampsub() -> FunctionDef {
    def(
        "TIMESTAMPSUB",
        Kind::Timestamp,
        -1,
        "Subtracts an interval in a time unit from a TIMESTAMP.",
    )
}
