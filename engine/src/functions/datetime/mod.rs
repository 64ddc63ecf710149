//! Date and time functions: formatting and parsing with Java date patterns
//! (TIMESTAMPTOSTRING, STRINGTOTIMESTAMP, FORMAT_/PARSE_ TIMESTAMP, DATE and TIME,
//! DATETOSTRING, STRINGTODATE), epoch conversions (UNIX_TIMESTAMP, UNIX_DATE, FROM_UNIXTIME,
//! FROM_DAYS), arithmetic (DATEADD, DATESUB, TIMEADD, TIMESUB, TIMESTAMPADD, TIMESTAMPSUB)
//! and CONVERT_TZ.
//!
//! Text that does not match its pattern gives NULL for that row, which is what ksqlDB's
//! output shows (it logs the failure and evaluates the call to NULL); an invalid pattern or
//! time-zone id fails the call. The time unit of the *ADD/*SUB functions, a bare keyword in
//! SQL (`DATEADD(DAYS, 1, d)`), is passed as a STRING ('DAYS') by the analyzer.

mod arithmetic;
mod convert_tz;
mod date_format;
pub mod pattern;
mod time_format;
mod timestamp_format;
mod unix;

use arrow::array::{Array, ArrayRef};
use datafusion::common::Result;

use super::kernels::strs;
use super::udf::FunctionDef;
use pattern::Zone;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        timestamp_format::timestamptostring(),
        timestamp_format::format_timestamp(),
        timestamp_format::stringtotimestamp(),
        timestamp_format::parse_timestamp(),
        date_format::format_date(),
        date_format::parse_date(),
        date_format::datetostring(),
        date_format::stringtodate(),
        time_format::format_time(),
        time_format::parse_time(),
        unix::unix_timestamp(),
        unix::unix_date(),
        unix::from_unixtime(),
        unix::from_days(),
        arithmetic::dateadd(),
        arithmetic::datesub(),
        arithmetic::timeadd(),
        arithmetic::timesub(),
        arithmetic::timestampadd(),
        arithmetic::timestampsub(),
        convert_tz::def(),
    ]
}

/// Reads the optional time-zone argument `args[idx]` at `row`: UTC when absent; an unknown
/// zone id fails the call.
pub(crate) fn zone_arg(
    args: &[ArrayRef],
    idx: usize,
    row: usize,
    cache: &mut Option<(String, Zone)>,
) -> Result<Zone> {
    let Some(a) = args.get(idx) else {
        return Ok(Zone::utc());
    };
    let id = strs(a).value(row);
    if let Some((prev, z)) = cache {
        if prev == id {
            return Ok(*z);
        }
    }
    let z = Zone::parse(id).ok_or_else(|| {
        datafusion::common::DataFusionError::Execution(format!("Unknown time-zone ID: {id}"))
    })?;
    *cache = Some((id.to_string(), z));
    debug_assert!(a.is_valid(row));
    Ok(z)
}

#[cfg(test)]
mod tests;
