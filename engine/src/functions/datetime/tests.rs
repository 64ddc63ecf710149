//! Date/time functions against cases from ksqlDB's timestamp-to-string.json,
//! stringtimestamp.json, timestampformat.json, format-date.json, parse-date.json,
//! parse-time.json, format-time.json, stringdate.json, datestring.json, dateadd.json,
//! datesub.json, timeadd.json, timestampadd.json, timestampsub.json, unix-*.json,
//! from-unixtime.json, from-days.json, convert-tz.json and null.json.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Time32MillisecondArray, TimestampMillisecondArray,
};
use arrow::datatypes::{Date32Type, Time32MillisecondType, TimestampMillisecondType};

use crate::functions::testutil::*;

fn ts(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(v.to_vec()))
}
fn date(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Date32Array::from(v.to_vec()))
}
fn time(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Time32MillisecondArray::from(v.to_vec()))
}
fn out_ts(a: &ArrayRef) -> Vec<Option<i64>> {
    a.as_primitive::<TimestampMillisecondType>()
        .iter()
        .collect()
}
fn out_date(a: &ArrayRef) -> Vec<Option<i32>> {
    a.as_primitive::<Date32Type>().iter().collect()
}
fn out_time(a: &ArrayRef) -> Vec<Option<i32>> {
    a.as_primitive::<Time32MillisecondType>().iter().collect()
}

#[test]
fn timestamp_to_string_with_zones() {
    let r = call(
        "TIMESTAMPTOSTRING",
        vec![
            l(&[Some(1526075913000), None]),
            s1("yyyy-MM-dd HH:mm:ss zzz", 2),
            s1("America/Los_Angeles", 2),
        ],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![Some("2018-05-11 14:58:33 PDT".into()), None]
    );
    let r = call(
        "FORMAT_TIMESTAMP",
        vec![
            ts(&[Some(1526075913000), None]),
            s1("yyyy-MM-dd HH:mm:ss", 2),
        ],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("2018-05-11 21:58:33".into()), None]);
    let e = call_err(
        "FORMAT_TIMESTAMP",
        vec![ts(&[Some(0)]), s1("yyyy", 1), s1("Nowhere/Land", 1)],
    );
    assert!(e.contains("Unknown time-zone"), "{e}");
    let e = call_err("FORMAT_TIMESTAMP", vec![ts(&[Some(0)]), s1("yyyy-qq", 1)]);
    assert!(e.contains("Unknown pattern letter"), "{e}");
}

#[test]
fn string_to_timestamp() {
    let r = call(
        "STRINGTOTIMESTAMP",
        vec![
            s(&[
                Some("2018-05-11T21:58:33Z"),
                Some("2019-05-11T21:58:33Z"),
                Some("2020-05-11T21:58:33z"),
                Some("not a timestamp"),
                None,
            ]),
            s1("yyyy-MM-dd'T'HH:mm:ssX", 5),
        ],
    )
    .unwrap();
    assert_eq!(
        out_l(&r),
        vec![
            Some(1526075913000),
            Some(1557611913000),
            Some(1589234313000),
            None,
            None
        ]
    );
    let r = call(
        "PARSE_TIMESTAMP",
        vec![
            s(&[Some("2018-05-11T21:58:33"), Some("2018-05-11T21:58:33 PST")]),
            s(&[
                Some("yyyy-MM-dd'T'HH:mm:ss"),
                Some("yyyy-MM-dd'T'HH:mm:ss zzz"),
            ]),
        ],
    )
    .unwrap();
    assert_eq!(out_ts(&r), vec![Some(1526075913000), Some(1526101113000)]);
    // A zone argument applies when the text carries none.
    let r = call(
        "STRINGTOTIMESTAMP",
        vec![
            s1("2018-05-11 14:58:33", 1),
            s1("yyyy-MM-dd HH:mm:ss", 1),
            s1("America/Los_Angeles", 1),
        ],
    )
    .unwrap();
    assert_eq!(out_l(&r), vec![Some(1526075913000)]);
}

#[test]
fn dates_format_and_parse() {
    let days = [Some(17662), Some(18027), Some(18993), Some(0), Some(-1)];
    let pats = s(&[
        Some("yyyy-MM-dd"),
        Some("dd/MM/yyyy"),
        Some("dd-MMM-yyyy"),
        Some("dd-MM-yyyy"),
        Some("dd-MM-yyyy'Sophia'"),
    ]);
    let want = vec![
        Some("2018-05-11".to_string()),
        Some("11/05/2019".into()),
        Some("01-Jan-2022".into()),
        Some("01-01-1970".into()),
        Some("31-12-1969Sophia".into()),
    ];
    let r = call("FORMAT_DATE", vec![date(&days), pats.clone()]).unwrap();
    assert_eq!(out_s(&r), want);
    let r = call("DATETOSTRING", vec![i(&days), pats]).unwrap();
    assert_eq!(out_s(&r), want);

    let text = s(&[
        Some("2018-05-11Lit"),
        Some("11/05/2019"),
        Some("01-Jan-2022"),
        Some("01-01-1970"),
        Some("01-JAN-2022"),
        Some("JAN-2022"),
        Some("2004"),
    ]);
    let pats = s(&[
        Some("yyyy-MM-dd'Lit'"),
        Some("dd/MM/yyyy"),
        Some("dd-MMM-yyyy"),
        Some("dd-MM-yyyy"),
        Some("dd-MMM-yyyy"),
        Some("MMM-yyyy"),
        Some("yyyy-MM-dd"),
    ]);
    let want = vec![
        Some(17662),
        Some(18027),
        Some(18993),
        Some(0),
        Some(18993),
        Some(18993),
        None,
    ];
    let r = call("PARSE_DATE", vec![text.clone(), pats.clone()]).unwrap();
    assert_eq!(out_date(&r), want);
    let r = call("STRINGTODATE", vec![text, pats]).unwrap();
    assert_eq!(out_i(&r), want);
}

#[test]
fn times_format_and_parse() {
    let r = call(
        "PARSE_TIME",
        vec![
            s(&[
                Some("00:01:05Lit"),
                Some("11/05/19"),
                Some("01:00:00 PM"),
                Some("01:00:00 Pm"),
            ]),
            s(&[
                Some("HH:mm:ss'Lit'"),
                Some("HH/mm/ss"),
                Some("hh:mm:ss a"),
                Some("hh:mm:ss a"),
            ]),
        ],
    )
    .unwrap();
    assert_eq!(
        out_time(&r),
        vec![Some(65000), Some(39919000), Some(46800000), Some(46800000)]
    );
    let r = call(
        "FORMAT_TIME",
        vec![
            time(&[Some(65000), Some(1234567), Some(0), None]),
            s(&[
                Some("HH_mm_ss_SSS"),
                Some("HHmmss'AAAAA'"),
                Some("HH:mm:ss"),
                Some("HH:mm:ss"),
            ]),
        ],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("00_01_05_000".into()),
            Some("002034AAAAA".into()),
            Some("00:00:00".into()),
            None
        ]
    );
}

#[test]
fn date_time_timestamp_arithmetic() {
    let r = call(
        "DATEADD",
        vec![
            s1("DAYS", 3),
            i1(-5, 3),
            date(&[Some(5), Some(10), Some(2)]),
        ],
    )
    .unwrap();
    assert_eq!(out_date(&r), vec![Some(0), Some(5), Some(-3)]);
    let r = call(
        "DATESUB",
        vec![s1("DAYS", 2), i1(-5, 2), date(&[Some(5), Some(-5)])],
    )
    .unwrap();
    assert_eq!(out_date(&r), vec![Some(10), Some(0)]);
    let r = call(
        "DATEADD",
        vec![
            s1("MILLISECONDS", 3),
            i(&[Some(5), None, None]),
            date(&[None, Some(5), None]),
        ],
    )
    .unwrap();
    assert_eq!(out_date(&r), vec![None, None, None]);
    let r = call(
        "TIMEADD",
        vec![
            s1("MILLISECONDS", 2),
            i1(10, 2),
            time(&[Some(10), Some(86399995)]),
        ],
    )
    .unwrap();
    assert_eq!(out_time(&r), vec![Some(20), Some(5)]);
    let r = call(
        "TIMESUB",
        vec![s1("MILLISECONDS", 1), i1(5, 1), time(&[Some(2)])],
    )
    .unwrap();
    assert_eq!(out_time(&r), vec![Some(86399997)]);
    let r = call(
        "TIMESTAMPSUB",
        vec![
            s1("MILLISECONDS", 3),
            i1(-5, 3),
            ts(&[Some(5), Some(0), Some(-100)]),
        ],
    )
    .unwrap();
    assert_eq!(out_ts(&r), vec![Some(10), Some(5), Some(-95)]);
    let r = call(
        "TIMESTAMPADD",
        vec![s1("hours", 1), i1(2, 1), ts(&[Some(0)])],
    )
    .unwrap();
    assert_eq!(out_ts(&r), vec![Some(7_200_000)]);
    // dateadd.json "throws on incorrect type": DATEADD(DATE, INT, DATE)
    let reg = crate::functions::FunctionRegistry::new();
    let e = reg
        .return_type(
            "DATEADD",
            &[
                arrow::datatypes::DataType::Date32,
                arrow::datatypes::DataType::Int32,
                arrow::datatypes::DataType::Date32,
            ],
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Function 'DATEADD' does not accept parameters (DATE, INTEGER, DATE)"),
        "{e}"
    );
    let e = call_err(
        "TIMESTAMPADD",
        vec![s1("FORTNIGHTS", 1), i1(2, 1), ts(&[Some(0)])],
    );
    assert!(e.contains("Unknown time unit"), "{e}");
}

#[test]
fn epoch_conversions() {
    let r = call(
        "UNIX_TIMESTAMP",
        vec![ts(&[Some(100), Some(1589234313000), None])],
    )
    .unwrap();
    assert_eq!(out_l(&r), vec![Some(100), Some(1589234313000), None]);
    let r = call("UNIX_DATE", vec![date(&[Some(10), None])]).unwrap();
    assert_eq!(out_i(&r), vec![Some(10), None]);
    let now = out_l(&call("UNIX_TIMESTAMP", vec![]).unwrap())[0].unwrap();
    assert!(now > 1_600_000_000_000);
    assert!(out_i(&call("UNIX_DATE", vec![]).unwrap())[0].unwrap() > 100);
    let r = call("FROM_UNIXTIME", vec![l(&[Some(1589234313000), None])]).unwrap();
    assert_eq!(out_ts(&r), vec![Some(1589234313000), None]);
    let r = call("FROM_DAYS", vec![i(&[Some(-10), None])]).unwrap();
    assert_eq!(out_date(&r), vec![Some(-10), None]);
}

#[test]
fn convert_tz_by_offset_and_name() {
    let input = ts(&[Some(100), Some(1589234313000), None]);
    let r = call(
        "CONVERT_TZ",
        vec![input.clone(), s1("+0200", 3), s1("+0500", 3)],
    )
    .unwrap();
    assert_eq!(out_ts(&r), vec![Some(10800100), Some(1589245113000), None]);
    let r = call(
        "CONVERT_TZ",
        vec![
            input,
            s1("America/Los_Angeles", 3),
            s1("America/New_York", 3),
        ],
    )
    .unwrap();
    assert_eq!(out_ts(&r), vec![Some(10800100), Some(1589245113000), None]);
    assert!(r.is_null(2));
}
