//! JSON functions against cases from ksqlDB's extract-json-field.json,
//! json_array_contains.json, is_json_string.json, json_array_length.json, json_keys.json,
//! json_records.json, json_concat.json and json_items.json.

use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int32Array, ListArray, StructArray};
use arrow::datatypes::{DataType, Field, Int32Type};

use crate::functions::testutil::*;

#[test]
fn extractjsonfield() {
    let src = s(&[
        Some(r#"{"name": "cdc", "version": "1", "@type": "UDF"}"#),
        Some(r#"{"name": "cdd", "version": "2", "@type": "VAL"}}"#),
        Some("not json"),
        None,
    ]);
    let r = call("EXTRACTJSONFIELD", vec![src.clone(), s1("$.name", 4)]).unwrap();
    assert_eq!(
        out_s(&r),
        vec![Some("cdc".into()), Some("cdd".into()), None, None]
    );
    let r = call("EXTRACTJSONFIELD", vec![src, s1("$.@type", 4)]).unwrap();
    assert_eq!(out_s(&r)[1], Some("VAL".into()));
    // "array bounds"
    let j = s(&[
        Some(r#"{"array": [1, 2, 3]}"#),
        Some(r#"{"array": [1.23450]}"#),
    ]);
    let get = |p: &str| out_s(&call("EXTRACTJSONFIELD", vec![j.clone(), s1(p, 2)]).unwrap());
    assert_eq!(get("$.array[-1]"), vec![None, None]);
    assert_eq!(
        get("$.array[0]"),
        vec![Some("1".into()), Some("1.23450".into())]
    );
    assert_eq!(get("$.array[1]"), vec![Some("2".into()), None]);
    // Objects come back as compact JSON.
    let r = call(
        "EXTRACTJSONFIELD",
        vec![s1(r#"{"a": {"b": [1, {"c": "d"}]}}"#, 1), s1("$.a", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some(r#"{"b":[1,{"c":"d"}]}"#.into())]);
    let e = call_err("EXTRACTJSONFIELD", vec![s1("{}", 1), s1("name", 1)]);
    assert!(e.contains("Invalid JSON path"), "{e}");
}

#[test]
fn array_contains_and_length() {
    let colors = s(&[
        Some(r#"["Red", "Green"]"#),
        Some(r#"["Pink", "Yellow", "Pink"]"#),
        Some(r#"["Pink", null]"#),
        None,
        Some("[]"),
        Some(""),
    ]);
    let r = call("JSON_ARRAY_CONTAINS", vec![colors.clone(), s1("Pink", 6)]).unwrap();
    assert_eq!(
        out_b(&r),
        vec![
            Some(false),
            Some(true),
            Some(true),
            Some(false),
            Some(false),
            Some(false)
        ]
    );
    let r = call("JSON_ARRAY_LENGTH", vec![colors]).unwrap();
    assert_eq!(
        out_i(&r),
        vec![Some(2), Some(3), Some(2), None, Some(0), None]
    );
    let r = call(
        "JSON_ARRAY_CONTAINS",
        vec![s1("[1, 2.5, true]", 3), i(&[Some(1), Some(2), Some(3)])],
    )
    .unwrap();
    assert_eq!(out_b(&r), vec![Some(true), Some(false), Some(false)]);
    let r = call(
        "JSON_ARRAY_CONTAINS",
        vec![s1("[1, 2.5, true]", 2), d(&[Some(2.5), Some(1.0)])],
    )
    .unwrap();
    assert_eq!(out_b(&r), vec![Some(true), Some(true)]);
    let r = call(
        "JSON_ARRAY_CONTAINS",
        vec![s1("[1, 2.5, true]", 1), b(&[Some(true)])],
    )
    .unwrap();
    assert_eq!(out_b(&r), vec![Some(true)]);
}

#[test]
fn is_json_string() {
    let r = call(
        "IS_JSON_STRING",
        vec![s(&[
            Some("1"),
            Some("abc"),
            Some("[1, 2, 3]"),
            Some("\"abc\""),
            Some(""),
            None,
        ])],
    )
    .unwrap();
    assert_eq!(
        out_b(&r),
        vec![
            Some(true),
            Some(false),
            Some(true),
            Some(true),
            Some(false),
            Some(false)
        ]
    );
}

#[test]
fn keys_records_items() {
    let objs = s(&[
        Some(r#"{"Red": 3, "Green": 5}"#),
        Some(r#"{"White": "Seven"}"#),
        Some("{}"),
        None,
        Some(""),
    ]);
    let r = call("JSON_KEYS", vec![objs.clone()]).unwrap();
    assert_eq!(
        render(&r),
        vec!["[Red, Green]", "[White]", "[]", "null", "null"]
    );
    let r = call("JSON_RECORDS", vec![objs]).unwrap();
    assert_eq!(
        render(&r),
        vec!["{Red=3, Green=5}", "{White=Seven}", "{}", "null", "null"]
    );
    let r = call(
        "JSON_ITEMS",
        vec![s(&[
            Some(r#"[{"type": "A", "timestamp": "2022-01-27"}, {"type": "B", "timestamp": "2022-05-18"}]"#),
            Some("[]"),
        ])],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec![
            r#"[{"type":"A","timestamp":"2022-01-27"}, {"type":"B","timestamp":"2022-05-18"}]"#,
            "[]"
        ]
    );
}

#[test]
fn json_concat() {
    let a = s(&[
        Some(r#"{"a": 1}"#),
        Some("{}"),
        Some(r#"{"a": {"5": 6}}"#),
        Some("[1, 2]"),
        Some("null"),
        Some("[1, 2]"),
        Some("[1, [2]]"),
        Some("1"),
        None,
    ]);
    let b2 = s(&[
        Some(r#"{"b": 2}"#),
        Some("{}"),
        Some(r#"{"a": {"3": 4}}"#),
        Some("[3, 4]"),
        Some("null"),
        Some(r#"{"a": 1}"#),
        Some("[[[3]], [[[4]]]]"),
        Some(""),
        None,
    ]);
    let r = call("JSON_CONCAT", vec![a, b2]).unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some(r#"{"a":1,"b":2}"#.into()),
            Some("{}".into()),
            Some(r#"{"a":{"3":4}}"#.into()),
            Some("[1,2,3,4]".into()),
            Some("[null,null]".into()),
            Some(r#"[1,2,{"a":1}]"#.into()),
            Some("[1,[2],[[3]],[[[4]]]]".into()),
            None,
            None
        ]
    );
    let r = call(
        "JSON_CONCAT",
        vec![s1("[1, 2]", 1), s1(r#"{"a": 1}"#, 1), s1("4", 1)],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some(r#"[1,2,{"a":1},4]"#.into())]);
}

#[test]
fn to_json_string() {
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
    ]));
    let r = call("TO_JSON_STRING", vec![list]).unwrap();
    assert_eq!(
        out_s(&r),
        vec![Some("[1,null]".into()), Some("null".into())]
    );
    let st: ArrayRef = Arc::new(StructArray::from(vec![
        (
            Arc::new(Field::new("A", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("B", DataType::Utf8, true)),
            s(&[Some("x\"y"), Some("z")]),
        ),
    ]));
    let r = call("TO_JSON_STRING", vec![st]).unwrap();
    assert_eq!(
        out_s(&r),
        vec![
            Some(r#"{"A":1,"B":"x\"y"}"#.into()),
            Some(r#"{"A":null,"B":"z"}"#.into())
        ]
    );
    let dec: ArrayRef = Arc::new(
        Decimal128Array::from(vec![Some(-5), Some(12345)])
            .with_precision_and_scale(5, 2)
            .unwrap(),
    );
    let r = call("TO_JSON_STRING", vec![dec]).unwrap();
    assert_eq!(out_s(&r), vec![Some("-0.05".into()), Some("123.45".into())]);
    let r = call("TO_JSON_STRING", vec![d(&[Some(1.0), Some(0.5)])]).unwrap();
    assert_eq!(out_s(&r), vec![Some("1.0".into()), Some("0.5".into())]);
}
