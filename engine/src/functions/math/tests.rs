//! Numeric functions against cases from ksqlDB's math.json, greatest.json, least.json and
//! udf-implicit-cast.json.
// Expected values are copied from the conformance files, some of them equal to constants.
#![allow(clippy::approx_constant)]

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array};
use arrow::datatypes::DataType;

use crate::functions::testutil::*;

fn dec(v: &[Option<i128>], p: u8, s: i8) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(v.to_vec())
            .with_precision_and_scale(p, s)
            .unwrap(),
    )
}

fn out_dec(a: &ArrayRef) -> (DataType, Vec<Option<i128>>) {
    let d = a
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .expect("decimal");
    (a.data_type().clone(), d.iter().collect())
}

fn round13(v: Vec<Option<f64>>) -> Vec<Option<f64>> {
    v.into_iter()
        .map(|x| x.map(|x| (x * 1e13).round() / 1e13))
        .collect()
}

#[test]
fn exp_ln_sqrt_on_int_bigint_double() {
    // math.json "exp", "ln", "sqrt": every integer type widens to DOUBLE.
    for arg in [
        i(&[None, Some(-1), Some(0), Some(1)]),
        l(&[None, Some(-1), Some(0), Some(1)]),
        d(&[None, Some(-1.0), Some(0.0), Some(1.0)]),
    ] {
        let r = out_d(&call("EXP", vec![arg.clone()]).unwrap());
        assert_eq!(
            r,
            vec![
                None,
                Some(0.36787944117144233),
                Some(1.0),
                Some(2.718281828459045)
            ]
        );
        let r = out_d(&call("LN", vec![arg.clone()]).unwrap());
        assert!(r[1].unwrap().is_nan());
        assert_eq!(r[2], Some(f64::NEG_INFINITY));
        assert_eq!(r[3], Some(0.0));
        let r = out_d(&call("SQRT", vec![arg.clone()]).unwrap());
        assert!(r[1].unwrap().is_nan());
        assert_eq!((r[0], r[2], r[3]), (None, Some(0.0), Some(1.0)));
    }
    let r = out_d(&call("LN", vec![l(&[Some(2)])]).unwrap());
    assert_eq!(r, vec![Some(0.6931471805599453)]);
    let r = out_d(&call("CBRT", vec![i(&[Some(-8), Some(3)])]).unwrap());
    assert_eq!(r, vec![Some(-2.0), Some(1.4422495703074083)]);
}

#[test]
fn sign_is_an_int() {
    let r = call("SIGN", vec![d(&[None, Some(-3.0), Some(0.0), Some(3.0)])]).unwrap();
    assert_eq!(out_i(&r), vec![None, Some(-1), Some(0), Some(1)]);
    let r = call("SIGN", vec![l(&[Some(-2)])]).unwrap();
    assert_eq!(out_i(&r), vec![Some(-1)]);
}

#[test]
fn floor_and_ceil() {
    // math.json "floor" / "calculate CEIL function"
    let ds = [1.1, 1.5, 1.7, -1.1, -1.5, -2.0];
    let r = out_d(&call("FLOOR", vec![d(&ds.map(Some))]).unwrap());
    assert_eq!(r, [1.0, 1.0, 1.0, -2.0, -2.0, -2.0].map(Some).to_vec());
    let r = out_d(&call("CEIL", vec![d(&ds.map(Some))]).unwrap());
    assert_eq!(r, [2.0, 2.0, 2.0, -1.0, -1.0, -2.0].map(Some).to_vec());
    let r = call("FLOOR", vec![i(&[Some(1), None])]).unwrap();
    assert_eq!(out_i(&r), vec![Some(1), None]);
    // DECIMAL(2,1): 1.1, 1.5, -1.1, -1.7, NULL
    let b = dec(&[Some(11), Some(15), Some(-11), Some(-17), None], 2, 1);
    let (t, v) = out_dec(&call("FLOOR", vec![b.clone()]).unwrap());
    assert_eq!(t, DataType::Decimal128(2, 0));
    assert_eq!(v, vec![Some(1), Some(1), Some(-2), Some(-2), None]);
    let (_, v) = out_dec(&call("CEIL", vec![b]).unwrap());
    assert_eq!(v, vec![Some(2), Some(2), Some(-1), Some(-1), None]);
}

#[test]
fn abs_keeps_the_type() {
    assert_eq!(
        out_i(&call("ABS", vec![i(&[None, Some(-1), Some(0)])]).unwrap()),
        vec![None, Some(1), Some(0)]
    );
    assert_eq!(
        out_d(&call("ABS", vec![d(&[Some(-3.1)])]).unwrap()),
        vec![Some(3.1)]
    );
    let (t, v) = out_dec(&call("ABS", vec![dec(&[Some(-32), Some(34)], 2, 1)]).unwrap());
    assert_eq!(
        (t, v),
        (DataType::Decimal128(2, 1), vec![Some(32), Some(34)])
    );
}

#[test]
fn round_doubles() {
    // math.json "round"
    let v = d(&[
        Some(1.2),
        Some(1.5),
        Some(1.234567),
        Some(111.0),
        None,
        Some(-1.5),
        Some(-1.7),
        Some(12345.678),
        Some(-12345.678),
    ]);
    let n = 9;
    let r0 = call("ROUND", vec![v.clone()]).unwrap();
    assert_eq!(
        out_l(&r0),
        vec![
            Some(1),
            Some(2),
            Some(1),
            Some(111),
            None,
            Some(-1),
            Some(-2),
            Some(12346),
            Some(-12346)
        ]
    );
    let r2 = out_d(&call("ROUND", vec![v.clone(), i1(2, n)]).unwrap());
    assert_eq!(
        r2,
        vec![
            Some(1.2),
            Some(1.5),
            Some(1.23),
            Some(111.0),
            None,
            Some(-1.5),
            Some(-1.7),
            Some(12345.68),
            Some(-12345.68)
        ]
    );
    let rm1 = out_d(&call("ROUND", vec![v.clone(), i1(-1, n)]).unwrap());
    assert_eq!(rm1[3], Some(110.0));
    assert_eq!(rm1[7], Some(12350.0));
    assert_eq!(rm1[8], Some(-12350.0));
    assert_eq!(rm1[0], Some(0.0));
    let rm2 = out_d(&call("ROUND", vec![v, i1(-2, n)]).unwrap());
    assert_eq!(rm2[7], Some(12300.0));
}

#[test]
fn round_large_decimals() {
    // math.json "round with large DECIMAL values - DELIMITED": ROUND(DECIMAL(p, s)) is
    // DECIMAL(p - s, 0), ROUND(DECIMAL(p, s), n) is DECIMAL(p, s) (ksqlDB's schema providers).
    let v = dec(&[Some(123456789876543212345678987654321)], 33, 16);
    let (t, r) = out_dec(&call("ROUND", vec![v.clone()]).unwrap());
    assert_eq!(t, DataType::Decimal128(17, 0));
    assert_eq!(r, vec![Some(12345678987654321)]);
    let cases: [(i32, i128); 5] = [
        (0, 123456789876543210000000000000000),
        (1, 123456789876543212000000000000000),
        (2, 123456789876543212300000000000000),
        (10, 123456789876543212345678988000000),
        (-1, 123456789876543200000000000000000),
    ];
    for (places, want) in cases {
        let (t, r) = out_dec(&call("ROUND", vec![v.clone(), i1(places, 1)]).unwrap());
        assert_eq!(t, DataType::Decimal128(33, 16));
        assert_eq!(r, vec![Some(want)], "places {places}");
    }
}

#[test]
fn trunc_doubles_decimals_ints() {
    // math.json "trunc - double" / "trunc - decimal" / "trunc - integer" / "trunc - long"
    let v = d(&[
        Some(1.7),
        Some(-1.7),
        Some(12345.678),
        Some(-12345.678),
        None,
    ]);
    assert_eq!(
        out_l(&call("TRUNC", vec![v.clone()]).unwrap()),
        vec![Some(1), Some(-1), Some(12345), Some(-12345), None]
    );
    assert_eq!(
        out_d(&call("TRUNC", vec![v.clone(), i1(2, 5)]).unwrap()),
        vec![Some(1.7), Some(-1.7), Some(12345.67), Some(-12345.67), None]
    );
    assert_eq!(
        out_d(&call("TRUNC", vec![v, i1(-1, 5)]).unwrap()),
        vec![Some(0.0), Some(0.0), Some(12340.0), Some(-12340.0), None]
    );
    // DECIMAL(12, 7): 12345.678, -1.7
    let v = dec(&[Some(123456780000), Some(-17000000)], 12, 7);
    let (t, r) = out_dec(&call("TRUNC", vec![v.clone()]).unwrap());
    assert_eq!(
        (t, r),
        (DataType::Decimal128(5, 0), vec![Some(12345), Some(-1)])
    );
    let (t, r) = out_dec(&call("TRUNC", vec![v, i1(1, 2)]).unwrap());
    assert_eq!(
        (t, r),
        (
            DataType::Decimal128(12, 7),
            vec![Some(123456000000), Some(-17000000)]
        )
    );
    assert_eq!(
        out_l(&call("TRUNC", vec![l(&[Some(2147483648), None])]).unwrap()),
        vec![Some(2147483648), None]
    );
}

#[test]
fn trigonometry() {
    // math.json, rounded to 13 places as the cases do.
    let v = d(&[None, Some(-0.43), Some(0.0), Some(1.1)]);
    assert_eq!(
        round13(out_d(&call("ATAN", vec![v.clone()]).unwrap())),
        vec![
            None,
            Some(-0.4060980583176),
            Some(0.0),
            Some(0.8329812666744)
        ]
    );
    assert_eq!(
        round13(out_d(&call("COS", vec![i(&[Some(-7), Some(6)])]).unwrap())),
        vec![Some(0.7539022543433), Some(0.9601702866504)]
    );
    let r = out_d(&call("ACOS", vec![d(&[Some(1.1)])]).unwrap());
    assert!(r[0].unwrap().is_nan());
    assert_eq!(
        out_d(&call("COT", vec![i(&[Some(0)])]).unwrap()),
        vec![Some(f64::INFINITY)]
    );
    assert_eq!(
        round13(out_d(
            &call(
                "ATAN2",
                vec![
                    i(&[Some(-2), Some(0), None]),
                    i(&[Some(-3), Some(-3), Some(1)])
                ]
            )
            .unwrap()
        )),
        vec![Some(-2.5535900500422), Some(3.1415926535898), None]
    );
    assert_eq!(
        round13(out_d(&call("SINH", vec![d(&[Some(9.1)])]).unwrap())),
        vec![Some(4477.64629590835)]
    );
    let deg = out_d(&call("DEGREES", vec![d(&[Some(1.2345)])]).unwrap());
    assert_eq!(((deg[0].unwrap() * 1e12).round() / 1e12), 70.7316398089);
    assert_eq!(
        round13(out_d(&call("RADIANS", vec![i(&[Some(114)])]).unwrap())),
        vec![Some(1.9896753472735)]
    );
    assert_eq!(
        out_d(&call("PI", vec![]).unwrap()),
        vec![Some(std::f64::consts::PI)]
    );
}

#[test]
fn power_and_log() {
    let r = out_d(
        &call(
            "POWER",
            vec![
                i(&[None, Some(15), Some(0), Some(15), Some(-15)]),
                i(&[Some(13), Some(-1), Some(0), Some(13), Some(2)]),
            ],
        )
        .unwrap(),
    );
    assert_eq!(
        r,
        vec![
            None,
            Some(0.06666666666666667),
            Some(1.0),
            Some(1946195068359375.0),
            Some(225.0)
        ]
    );
    let r = out_d(&call("LOG", vec![l(&[Some(13), Some(0), Some(1)])]).unwrap());
    assert_eq!(
        r,
        vec![Some(2.5649493574615367), Some(f64::NEG_INFINITY), Some(0.0)]
    );
    let r = out_d(
        &call(
            "LOG",
            vec![
                d(&[
                    Some(15.0),
                    Some(15.0),
                    Some(15.0),
                    Some(-15.0),
                    Some(0.0),
                    Some(1.0),
                ]),
                d(&[
                    Some(13.0),
                    Some(1.0),
                    Some(0.0),
                    Some(13.0),
                    Some(13.0),
                    Some(13.0),
                ]),
            ],
        )
        .unwrap(),
    );
    assert_eq!(r[0], Some(0.9471572411831843));
    assert_eq!(r[1], Some(0.0));
    assert_eq!(r[2], Some(f64::NEG_INFINITY));
    assert!(r[3..].iter().all(|x| x.unwrap().is_nan()), "{r:?}");
}

#[test]
fn greatest_and_least() {
    // greatest.json "test greatest with integer": GREATEST(I1, I2, I3, null, 5)
    let null: ArrayRef = Arc::new(arrow::array::NullArray::new(1));
    let r = call(
        "GREATEST",
        vec![
            i(&[Some(i32::MAX)]),
            i(&[Some(i32::MIN)]),
            i(&[None]),
            null.clone(),
            i1(5, 1),
        ],
    )
    .unwrap();
    assert_eq!(out_i(&r), vec![Some(i32::MAX)]);
    // "test greatest with strings"
    let r = call(
        "GREATEST",
        vec![
            s(&[Some("apple"), None, Some("!")]),
            s(&[Some("banana"), None, Some("zebra")]),
            s(&[Some("aardvark"), None, Some("aardvark")]),
            s1("hello", 3),
        ],
    )
    .unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some("hello".into()),
            Some("hello".into()),
            Some("zebra".into())
        ]
    );
    let r = call(
        "LEAST",
        vec![s(&[Some("apple"), None]), s(&[Some("banana"), None])],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("apple".into()), None]);
    // "test implicit casting to double": INT, BIGINT, DOUBLE → DOUBLE
    let r = call(
        "GREATEST",
        vec![
            i(&[Some(-1), Some(500000)]),
            l(&[Some(1000000000000), Some(1)]),
            d(&[None, Some(99999.99999)]),
        ],
    )
    .unwrap();
    assert_eq!(out_d(&r), vec![Some(1e12), Some(500000.0)]);
    // Errors: no arguments, only NULLs, a string with a number.
    let reg = crate::functions::FunctionRegistry::new();
    assert!(reg.return_type("GREATEST", &[]).is_err());
    assert!(reg
        .return_type("GREATEST", &[DataType::Null, DataType::Null])
        .is_err());
    let e = reg
        .return_type("GREATEST", &[DataType::Utf8, DataType::Int32])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not accept parameters (VARCHAR, INTEGER)"),
        "{e}"
    );
    // ksqlDB's `UdfIndex`: INT with BIGINT could widen to BIGINT, DECIMAL or DOUBLE.
    let e = reg
        .return_type("GREATEST", &[DataType::Int32, DataType::Int64])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("Function 'GREATEST' cannot be resolved due to ambiguous method parameters (INTEGER, BIGINT)."),
        "{e}"
    );
    // A NULL literal has no type: it does not widen a DECIMAL result.
    assert_eq!(
        reg.return_type("LEAST", &[DataType::Decimal128(9, 3), DataType::Null])
            .unwrap(),
        DataType::Decimal128(9, 3)
    );
    // Decimal widening: DECIMAL(9,2) and DECIMAL(7,6) → DECIMAL(13,6)
    assert_eq!(
        reg.return_type(
            "GREATEST",
            &[DataType::Decimal128(9, 2), DataType::Decimal128(7, 6)]
        )
        .unwrap(),
        DataType::Decimal128(13, 6)
    );
}

#[test]
fn geo_distance_km() {
    // udf-implicit-cast.json: geo_distance(37.4439, -122.1663, 51, 0)
    let r = call(
        "GEO_DISTANCE",
        vec![
            d(&[Some(37.4439)]),
            d(&[Some(-122.1663)]),
            i1(51, 1),
            i1(0, 1),
        ],
    )
    .unwrap();
    assert_eq!(out_d(&r), vec![Some(8682.459061368269)]);
    let e = call_err(
        "GEO_DISTANCE",
        vec![
            d(&[Some(91.0)]),
            d(&[Some(0.0)]),
            d(&[Some(0.0)]),
            d(&[Some(0.0)]),
        ],
    );
    assert!(e.contains("latitude"), "{e}");
}

#[test]
fn random_is_in_range_and_varies() {
    let r = out_d(&call_values_rows("RANDOM", 100));
    assert!(r.iter().all(|v| (0.0..1.0).contains(&v.unwrap())));
    assert!(r.iter().any(|v| v != &r[0]));
}

fn call_values_rows(name: &str, rows: usize) -> ArrayRef {
    call_values(name, vec![], rows)
        .unwrap()
        .into_array(rows)
        .unwrap()
}
