//! CONVERT_TZ: shift a TIMESTAMP from one zone's wall clock to another's.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, TimestampMillisecondArray};
use arrow::datatypes::TimestampMillisecondType;
use datafusion::common::Result;

use super::zone_arg;
use crate::functions::kernels::any_null;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `CONVERT_TZ(ts, fromZone, toZone)`: reads `ts` as wall-clock time in `fromZone` and
/// returns the same instant's wall-clock time in `toZone` (so `CONVERT_TZ(ts, '+0200',
/// '+0500')` adds three hours). NULL in any argument → NULL; an unknown zone fails the call.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "CONVERT_TZ",
        Category::DateTime,
        "Converts a TIMESTAMP from one time zone to another.",
        vec![Overload::new(
            &[
                ("timestamp", P::Timestamp),
                ("fromTimeZone", P::String),
                ("toTimeZone", P::String),
            ],
            P::Timestamp,
        )],
        |c: &Call| {
            let ts = c.args[0].as_primitive::<TimestampMillisecondType>();
            let (mut from_cache, mut to_cache) = (None, None);
            let out = (0..c.rows)
                .map(|i| {
                    if any_null(c.args, i) {
                        return Ok(None);
                    }
                    let from = zone_arg(c.args, 1, i, &mut from_cache)?;
                    let to = zone_arg(c.args, 2, i, &mut to_cache)?;
                    let v = ts.value(i);
                    // The instant `v` denotes in `from`, then its wall clock in `to`.
                    let local_from =
                        chrono::DateTime::from_timestamp_millis(v).map(|d| d.naive_utc());
                    let Some(local_from) = local_from else {
                        return Ok(None);
                    };
                    let instant = from.local_to_utc_millis(&local_from);
                    Ok(to
                        .local_time(instant)
                        .map(|(local, ..)| local.and_utc().timestamp_millis()))
                })
                .collect::<Result<Vec<Option<i64>>>>()?;
            Ok(Arc::new(TimestampMillisecondArray::from(out)) as ArrayRef)
        },
    )
}
