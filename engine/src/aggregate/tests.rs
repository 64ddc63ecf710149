//! Tests across all the functions: for every aggregate and a spread of argument types,
//! results have exactly the declared Arrow type (so the runtime can build columns with
//! `ScalarValue::iter_to_array`), saved states load back to the same result and the same
//! bytes, damaged states are errors and never panics, and retraction is offered exactly
//! where ksqlDB offers it.

use std::sync::Arc;

use arrow::array::StructArray;
use arrow::datatypes::DataType;
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use super::values::{list_field, list_scalar, map_scalar, typed_null};
use super::{AggregateError, AggregateFunction};
use crate::catalog::{aggregate_names, aggregate_return_type, sql_to_arrow};

/// A varied value of type `t` for row `i` (null every fourth row).
fn sample(t: &SqlType, i: usize) -> ScalarValue {
    let dt = sql_to_arrow(t);
    if i % 4 == 3 {
        return typed_null(&dt);
    }
    let n = i as i64;
    match t {
        SqlType::Boolean => ScalarValue::Boolean(Some(i.is_multiple_of(2))),
        SqlType::Int => ScalarValue::Int32(Some(((n * 7) % 11 - 5) as i32)),
        SqlType::BigInt => ScalarValue::Int64(Some((n * 13) % 17 - 8)),
        SqlType::Double => ScalarValue::Float64(Some((n as f64) * 1.25 - 3.0)),
        SqlType::Decimal { precision, scale } => ScalarValue::Decimal128(
            Some(((n * 13) % 50) as i128 - 20),
            *precision as u8,
            *scale as i8,
        ),
        SqlType::String => ScalarValue::Utf8(Some(format!("s{}", i % 5))),
        SqlType::Bytes => ScalarValue::Binary(Some(vec![(i % 4) as u8, 0x80])),
        SqlType::Date => ScalarValue::Date32(Some(((n * 5) % 9 - 4) as i32)),
        SqlType::Time => ScalarValue::Time32Millisecond(Some(((n * 1000) % 7000) as i32)),
        SqlType::Timestamp => ScalarValue::TimestampMillisecond(Some(n * 1000 - 2500), None),
        SqlType::Array(e) => {
            let items: Vec<_> = (0..i % 3).map(|j| sample(e, i + j + 1)).collect();
            list_scalar(list_field(&dt).unwrap(), items).unwrap()
        }
        SqlType::Map(_, v) => {
            // Brook's maps have STRING keys.
            let DataType::Map(entries, _) = &dt else {
                unreachable!()
            };
            let keys: Vec<_> = (0..i % 3)
                .map(|j| ScalarValue::Utf8(Some(format!("k{j}"))))
                .collect();
            let values = (0..keys.len()).map(|j| sample(v, i + j)).collect();
            map_scalar(entries, keys, values).unwrap()
        }
        SqlType::Struct(fields) => {
            let DataType::Struct(fs) = &dt else {
                unreachable!()
            };
            let cols = fields
                .iter()
                .enumerate()
                .map(|(j, (_, ft))| sample(ft, i + j).to_array().unwrap())
                .collect();
            ScalarValue::Struct(Arc::new(
                StructArray::try_new(fs.clone(), cols, None).unwrap(),
            ))
        }
        SqlType::Null => ScalarValue::Null,
    }
}

/// One call to test: name, argument types, column count, literals.
struct Call {
    name: &'static str,
    types: Vec<SqlType>,
    columns: usize,
    literals: Vec<ScalarValue>,
}

fn call(name: &'static str, types: Vec<SqlType>) -> Call {
    let columns = types.len();
    Call {
        name,
        types,
        columns,
        literals: vec![],
    }
}

fn with_literals(name: &'static str, types: Vec<SqlType>, literals: Vec<ScalarValue>) -> Call {
    Call {
        name,
        columns: types.len() - literals.len(),
        types,
        literals,
    }
}

fn nested() -> SqlType {
    SqlType::array(SqlType::Struct(vec![
        ("A".into(), SqlType::String),
        ("M".into(), SqlType::map(SqlType::String, SqlType::Double)),
        ("D".into(), SqlType::decimal(4, 1)),
    ]))
}

fn primitives() -> Vec<SqlType> {
    use SqlType as T;
    vec![
        T::Boolean,
        T::Int,
        T::BigInt,
        T::Double,
        T::decimal(9, 2),
        T::String,
        T::Bytes,
        T::Date,
        T::Time,
        T::Timestamp,
    ]
}

fn all_calls() -> Vec<Call> {
    use SqlType as T;
    let int = |v: i32| ScalarValue::Int32(Some(v));
    let b = |v: bool| ScalarValue::Boolean(Some(v));
    let mut calls = vec![
        call("COUNT", vec![]),
        call("COUNT", vec![T::String]),
        call("COUNT", vec![nested()]),
        call("SUM_LIST", vec![T::array(T::Int)]),
        call("SUM_LIST", vec![T::array(T::BigInt)]),
        call("SUM_LIST", vec![T::array(T::Double)]),
        call("HISTOGRAM", vec![T::String]),
        call("CORRELATION", vec![T::Double, T::Double]),
        call("CORRELATION", vec![T::Int, T::decimal(5, 2)]),
        with_literals("TOPK", vec![T::Int, T::String, T::Int], vec![int(3)]),
        with_literals(
            "TOPK",
            vec![T::Double, T::Int, T::String],
            vec![int(2), ScalarValue::Utf8(Some("x".into()))],
        ),
    ];
    for t in [T::Int, T::BigInt, T::Double, T::decimal(9, 2)] {
        for name in ["SUM", "AVG", "STDDEV_SAMP", "STDDEV_SAMPLE", "VARIANCE"] {
            calls.push(call(name, vec![t.clone()]));
        }
    }
    for t in primitives() {
        for name in ["MIN", "MAX", "COUNT_DISTINCT"] {
            calls.push(call(name, vec![t.clone()]));
        }
        if t != T::Boolean {
            for name in ["TOPK", "TOPKDISTINCT"] {
                calls.push(with_literals(name, vec![t.clone(), T::Int], vec![int(3)]));
            }
        }
    }
    let mut values = primitives();
    values.push(nested());
    values.push(T::map(T::String, T::array(T::BigInt)));
    for t in values {
        for name in ["COLLECT_LIST", "COLLECT_SET", "ATTR"] {
            calls.push(call(name, vec![t.clone()]));
        }
        for name in ["LATEST_BY_OFFSET", "EARLIEST_BY_OFFSET"] {
            calls.push(call(name, vec![t.clone()]));
            calls.push(with_literals(
                name,
                vec![t.clone(), T::Boolean],
                vec![b(false)],
            ));
            calls.push(with_literals(name, vec![t.clone(), T::Int], vec![int(2)]));
            calls.push(with_literals(
                name,
                vec![t.clone(), T::Int, T::Boolean],
                vec![int(3), b(false)],
            ));
        }
    }
    calls
}

/// The analyzer's result type, except TOPK's struct form (which it types with k second).
fn return_type(c: &Call) -> SqlType {
    if c.name == "TOPK" && c.types.len() > 2 {
        let others: Vec<SqlType> = (1..c.types.len())
            .filter(|i| *i != c.columns)
            .map(|i| c.types[i].clone())
            .collect();
        let mut fields = vec![("SORT_COL".to_string(), c.types[0].clone())];
        for (i, t) in others.into_iter().enumerate() {
            fields.push((format!("COL{i}"), t));
        }
        return SqlType::array(SqlType::Struct(fields));
    }
    aggregate_return_type(c.name, &c.types).unwrap_or_else(|e| panic!("{}: {e}", c.name))
}

fn debug(v: &ScalarValue) -> String {
    format!("{v:?}")
}

#[test]
fn every_function_is_covered() {
    let calls = all_calls();
    for name in aggregate_names() {
        assert!(
            calls.iter().any(|c| c.name == name),
            "no test call for {name}"
        );
    }
}

#[test]
fn results_have_the_declared_type_and_states_round_trip() {
    for c in all_calls() {
        let ret = return_type(&c);
        let what = format!("{}({:?})", c.name, c.types);
        let f = AggregateFunction::new(c.name, &c.types, c.columns, c.literals.clone(), &ret)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let dt = sql_to_arrow(&ret);
        assert_eq!(*f.data_type(), dt, "{what}");
        let mut acc = f.create();
        let mut results = vec![acc.value()];
        let per_row: Vec<SqlType> = if c.name == "TOPK" {
            (0..c.types.len())
                .filter(|i| *i == 0 || (*i != c.columns && *i < c.columns))
                .map(|i| c.types[i].clone())
                .collect()
        } else {
            c.types[..c.columns].to_vec()
        };
        for i in 0..12 {
            let row: Vec<ScalarValue> = per_row.iter().map(|t| sample(t, i)).collect();
            acc.add(&row)
                .unwrap_or_else(|e| panic!("{what} row {i} {row:?}: {e}"));
            results.push(acc.value());
            // Save and load in the middle of the stream: nothing changes.
            let saved = acc.save();
            let loaded = f.load(&saved).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                debug(&loaded.value()),
                debug(&acc.value()),
                "{what} row {i}"
            );
            assert_eq!(loaded.save(), saved, "{what} row {i}");
            if i == 6 {
                acc = loaded;
            }
        }
        for v in &results {
            assert_eq!(v.data_type(), dt, "{what}: {v:?}");
        }
        let column =
            ScalarValue::iter_to_array(results.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(column.data_type(), &dt, "{what}");
        assert_eq!(column.len(), results.len());
    }
}

#[test]
fn damaged_states_are_errors_not_panics() {
    for c in all_calls() {
        let ret = return_type(&c);
        let f =
            AggregateFunction::new(c.name, &c.types, c.columns, c.literals.clone(), &ret).unwrap();
        let mut acc = f.create();
        let per_row = if c.name == "TOPK" { 1 } else { c.columns };
        for i in 0..5 {
            let row: Vec<ScalarValue> = c.types[..per_row].iter().map(|t| sample(t, i)).collect();
            if c.name == "TOPK" && c.columns == 2 {
                let row = vec![row[0].clone(), sample(&c.types[1], i)];
                acc.add(&row).unwrap();
            } else {
                acc.add(&row).unwrap();
            }
        }
        let saved = acc.save();
        // Every strict prefix is missing something.
        for n in 0..saved.len() {
            match f.load(&saved[..n]) {
                Err(AggregateError::CorruptState(_)) => {}
                other => panic!("{} prefix {n} of {saved:?}: {other:?}", c.name),
            }
        }
        // Trailing garbage.
        let mut longer = saved.clone();
        longer.push(0);
        assert!(f.load(&longer).is_err(), "{}", c.name);
        // Flipped bytes: an error or some state, never a panic.
        for i in 0..saved.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = saved.clone();
                bad[i] ^= flip;
                if let Ok(a) = f.load(&bad) {
                    let _ = a.value();
                    let _ = a.save();
                }
            }
        }
    }
}

#[test]
fn a_state_of_another_function_does_not_load() {
    let sum = AggregateFunction::new("SUM", &[SqlType::Int], 1, vec![], &SqlType::Int).unwrap();
    let count = AggregateFunction::new("COUNT", &[], 0, vec![], &SqlType::BigInt).unwrap();
    let mut a = count.create();
    a.add(&[]).unwrap();
    assert!(matches!(
        sum.load(&a.save()),
        Err(AggregateError::CorruptState(_))
    ));
    assert!(sum.create().merge(a.as_ref()).is_err());
}

#[test]
fn retraction_exactly_where_ksqldb_allows_it() {
    let retractable = [
        "COUNT",
        "SUM",
        "SUM_LIST",
        "AVG",
        "COLLECT_LIST",
        "HISTOGRAM",
        "STDDEV_SAMP",
        "STDDEV_SAMPLE",
        "VARIANCE",
        "CORRELATION",
        "ATTR",
    ];
    for c in all_calls() {
        let ret = return_type(&c);
        let f =
            AggregateFunction::new(c.name, &c.types, c.columns, c.literals.clone(), &ret).unwrap();
        assert_eq!(
            f.supports_retract(),
            retractable.contains(&c.name),
            "{}",
            c.name
        );
        if !f.supports_retract() {
            let row: Vec<ScalarValue> = c.types[..1].iter().map(|t| sample(t, 0)).collect();
            let mut acc = f.create();
            assert!(matches!(
                acc.retract(&row),
                Err(AggregateError::NotRetractable(_))
            ));
        }
    }
}

#[test]
fn add_then_retract_returns_to_the_start() {
    for c in all_calls() {
        let ret = return_type(&c);
        let f =
            AggregateFunction::new(c.name, &c.types, c.columns, c.literals.clone(), &ret).unwrap();
        if !f.supports_retract()
            || c.name == "CORRELATION"
            || c.name.starts_with("STDDEV")
            || c.name == "VARIANCE"
        {
            continue;
        }
        let mut acc = f.create();
        let start = acc.value();
        let rows: Vec<Vec<ScalarValue>> = (0..6)
            .map(|i| c.types[..c.columns].iter().map(|t| sample(t, i)).collect())
            .collect();
        for r in &rows {
            acc.add(r).unwrap();
        }
        for r in rows.iter().rev() {
            acc.retract(r).unwrap();
        }
        let end = acc.value();
        if c.name == "AVG" {
            // Double sums may keep a rounding residue; the count is back to 0.
            assert_eq!(end, ScalarValue::Float64(Some(0.0)), "{}", c.name);
        } else if c.name == "ATTR" {
            assert!(end.is_null(), "{}", c.name);
        } else {
            assert_eq!(debug(&end), debug(&start), "{}({:?})", c.name, c.types);
        }
    }
}

#[test]
fn unknown_and_mistyped_calls() {
    assert!(matches!(
        AggregateFunction::new("NOPE", &[], 0, vec![], &SqlType::BigInt),
        Err(AggregateError::UnknownFunction(n)) if n == "NOPE"
    ));
    // Lower case names resolve too.
    assert!(AggregateFunction::new("count", &[], 0, vec![], &SqlType::BigInt).is_ok());
    for (name, types, ret) in [
        ("SUM", vec![SqlType::String], SqlType::String),
        ("COUNT", vec![], SqlType::Int),
        ("MIN", vec![SqlType::Int], SqlType::BigInt),
        (
            "HISTOGRAM",
            vec![SqlType::Int],
            SqlType::map(SqlType::String, SqlType::BigInt),
        ),
        ("COLLECT_LIST", vec![SqlType::Int], SqlType::Int),
    ] {
        assert!(
            matches!(
                AggregateFunction::new(name, &types, types.len(), vec![], &ret),
                Err(AggregateError::InvalidArgument(_))
            ),
            "{name}"
        );
    }
    // Literals and column counts must add up.
    assert!(AggregateFunction::new("SUM", &[SqlType::Int], 2, vec![], &SqlType::Int).is_err());
    assert!(AggregateFunction::new(
        "SUM",
        &[SqlType::Int],
        1,
        vec![ScalarValue::Int32(Some(1))],
        &SqlType::Int
    )
    .is_err());
    // A row of the wrong shape is an error, not a panic.
    let f = AggregateFunction::new("SUM", &[SqlType::Int], 1, vec![], &SqlType::Int).unwrap();
    let mut a = f.create();
    assert!(a.add(&[]).is_err());
    assert!(a.add(&[ScalarValue::Utf8(Some("x".into()))]).is_err());
    let f = AggregateFunction::new(
        "COLLECT_LIST",
        &[SqlType::Int],
        1,
        vec![],
        &SqlType::array(SqlType::Int),
    )
    .unwrap();
    let mut a = f.create();
    assert!(a.add(&[ScalarValue::Utf8(Some("x".into()))]).is_err());
    assert_eq!(a.value().data_type(), *f.data_type());
}

#[test]
fn intermediate_types_that_only_structured_formats_hold() {
    let f = |name: &str, args: &[SqlType], ret: SqlType| {
        AggregateFunction::new(name, args, args.len(), vec![], &ret).unwrap()
    };
    assert!(f("COUNT", &[], SqlType::BigInt).intermediate_is_primitive());
    assert!(f("SUM", &[SqlType::Int], SqlType::Int).intermediate_is_primitive());
    assert!(!f("AVG", &[SqlType::Int], SqlType::Double).intermediate_is_primitive());
    assert!(!f(
        "COLLECT_LIST",
        &[SqlType::Int],
        SqlType::array(SqlType::Int)
    )
    .intermediate_is_primitive());
}
