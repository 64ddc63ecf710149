//! magic_time.rs owns ksqlDB's "magic timestamp" comparisons: `ROWTIME`, `WINDOWSTART` and
//! `WINDOWEND` (BIGINT milliseconds) compared with a string literal read the string as a
//! timestamp — `'2018-01-01T00:00:00.001'`, a partial one (`'2018'`, `'2019-06'`...,
//! completed with the earliest instant) and an optional zone offset (`Z`, `+0445`,
//! `-05:00`); UTC otherwise.

use brook_sql::ast::Literal;
use brook_sql::plan::{SqlType, TypedExpr, TypedExprKind};
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

/// The pseudo-columns whose comparisons with strings read the string as a timestamp.
fn is_time_column(e: &TypedExpr) -> bool {
    matches!(&e.kind, TypedExprKind::Column(c)
        if matches!(c.name.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"))
        && e.ty == SqlType::BigInt
}

/// Milliseconds since the epoch of a (possibly partial) ISO-8601 timestamp.
pub fn parse_timestamp_millis(text: &str) -> Option<i64> {
    let t = text.trim();
    // Split off a zone: `Z`, or a sign after the time part.
    let (body, offset_secs) = if let Some(b) = t.strip_suffix('Z') {
        (b, 0)
    } else {
        match t.rfind(['+', '-']).filter(|i| t[..*i].contains('T')) {
            Some(i) => {
                let zone = t[i + 1..].replace(':', "");
                let sign = if &t[i..i + 1] == "-" { -1 } else { 1 };
                let (h, m) = match zone.len() {
                    2 => (zone.parse::<i32>().ok()?, 0),
                    4 => (
                        zone[..2].parse::<i32>().ok()?,
                        zone[2..].parse::<i32>().ok()?,
                    ),
                    _ => return None,
                };
                (&t[..i], sign * (h * 3600 + m * 60))
            }
            None => (t, 0),
        }
    };
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, t),
        None => (body, ""),
    };
    let mut dp = date.split('-');
    let year: i32 = dp.next()?.parse().ok()?;
    let month: u32 = dp.next().map(str::parse).transpose().ok()?.unwrap_or(1);
    let day: u32 = dp.next().map(str::parse).transpose().ok()?.unwrap_or(1);
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut tp = hms.split(':').filter(|s| !s.is_empty());
    let h: u32 = tp.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let m: u32 = tp.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let s: u32 = tp.next().map(str::parse).transpose().ok()?.unwrap_or(0);
    let millis: u32 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        format!("{digits:0<3}").parse().ok()?
    };
    // Hour 24 (with nothing after it) is the end of the day: midnight of the next one.
    let (h, next_day) = match (h, m, s, millis) {
        (24, 0, 0, 0) => (0, true),
        _ => (h, false),
    };
    let mut date = NaiveDate::from_ymd_opt(year, month, day)?;
    if next_day {
        date = date.succ_opt()?;
    }
    let naive = NaiveDateTime::new(date, NaiveTime::from_hms_milli_opt(h, m, s, millis)?);
    let zone = FixedOffset::east_opt(offset_secs)?;
    Some(
        zone.from_local_datetime(&naive)
            .single()?
            .timestamp_millis(),
    )
}

/// `other` as a BIGINT literal when it is a string literal compared with a time column.
fn convert(column: &TypedExpr, other: &TypedExpr) -> Option<TypedExpr> {
    if !is_time_column(column) {
        return None;
    }
    let TypedExprKind::Literal(Literal::String(s)) = &other.kind else {
        return None;
    };
    let millis = parse_timestamp_millis(s)?;
    Some(TypedExpr::new(
        TypedExprKind::Literal(Literal::BigInt(millis)),
        SqlType::BigInt,
        other.span,
    ))
}

/// Rewrites the string operands of a comparison with ROWTIME/WINDOWSTART/WINDOWEND.
pub fn rewrite(operands: &[&TypedExpr]) -> Option<Vec<TypedExpr>> {
    let column = operands.iter().find(|e| is_time_column(e))?;
    let mut changed = false;
    let out = operands
        .iter()
        .map(|e| match convert(column, e) {
            Some(c) => {
                changed = true;
                c
            }
            None => (*e).clone(),
        })
        .collect();
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::parse_timestamp_millis as p;

    #[test]
    fn full_partial_and_zoned_timestamps() {
        assert_eq!(p("2018-01-01T00:00:00.001"), Some(1_514_764_800_001));
        assert_eq!(p("2018"), Some(1_514_764_800_000));
        assert_eq!(p("2018-01-01T00:00:01"), Some(1_514_764_801_000));
        assert_eq!(p("2020-02-10T08:31:44.001+0000"), Some(1_581_323_504_001));
        assert_eq!(
            p("2019-01-01T00:00:00+0445"),
            Some(1_546_300_800_000 - 17_100_000)
        );
        assert_eq!(p("2019-01-01T00:00:00Z"), Some(1_546_300_800_000));
        assert_eq!(p("2020-02-24T24"), p("2020-02-25"));
        assert_eq!(p("2020-02-24T24:01"), None);
        assert_eq!(p("not a time"), None);
        assert_eq!(p("2019-13-01"), None);
    }
}
