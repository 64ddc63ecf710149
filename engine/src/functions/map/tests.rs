//! Map functions against cases from ksqlDB's map.json, create_map.json and array.json
//! (ENTRIES).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Builder, MapBuilder, StringBuilder};

use super::map_builder;
use crate::functions::testutil::*;

/// Rows of (key, value) entries; None is a NULL map.
type MapRows<'a> = Vec<Option<Vec<(&'a str, Option<i32>)>>>;

fn str_int_maps(rows: MapRows) -> ArrayRef {
    let mut b: MapBuilder<StringBuilder, Int32Builder> =
        map_builder(StringBuilder::new(), Int32Builder::new());
    for r in rows {
        match r {
            Some(entries) => {
                for (k, v) in entries {
                    b.keys().append_value(k);
                    b.values().append_option(v);
                }
                b.append(true).unwrap();
            }
            None => b.append(false).unwrap(),
        }
    }
    Arc::new(b.finish())
}

#[test]
fn keys_and_values() {
    let m = str_int_maps(vec![
        Some(vec![("foo", Some(10)), ("bar", None)]),
        Some(vec![]),
        None,
    ]);
    assert_eq!(
        render(&call("MAP_KEYS", vec![m.clone()]).unwrap()),
        vec!["[foo, bar]", "[]", "null"]
    );
    assert_eq!(
        render(&call("MAP_VALUES", vec![m]).unwrap()),
        vec!["[10, null]", "[]", "null"]
    );
}

#[test]
fn union() {
    // map.json "map_union"
    let a = str_int_maps(vec![
        Some(vec![
            ("foo", Some(10)),
            ("bar", Some(20)),
            ("baz", Some(30)),
        ]),
        Some(vec![("foo", Some(10)), ("bar", Some(20))]),
        Some(vec![]),
        None,
        None,
    ]);
    let b = str_int_maps(vec![
        Some(vec![("foo", Some(99)), ("apple", Some(-1))]),
        Some(vec![("foo", None)]),
        Some(vec![]),
        Some(vec![("foo", None)]),
        None,
    ]);
    assert_eq!(
        render(&call("MAP_UNION", vec![a, b]).unwrap()),
        vec![
            "{foo=99, bar=20, baz=30, apple=-1}",
            "{foo=null, bar=20}",
            "{}",
            "{foo=null}",
            "null"
        ]
    );
}

#[test]
fn as_map_from_lists() {
    // create_map.json "create map from key/value lists"
    let mut kb = arrow::array::ListBuilder::new(StringBuilder::new());
    for ks in [vec!["a", "b"], vec!["a", "b", "c"], vec!["a", "b"]] {
        for k in ks {
            kb.values().append_value(k);
        }
        kb.append(true);
    }
    let keys: ArrayRef = Arc::new(kb.finish());
    let vals: ArrayRef = Arc::new(arrow::array::ListArray::from_iter_primitive::<
        arrow::datatypes::Int32Type,
        _,
        _,
    >(vec![
        Some(vec![Some(1), Some(2)]),
        Some(vec![Some(1), Some(2), None]),
        Some(vec![Some(1), Some(2), Some(3)]),
    ]));
    assert_eq!(
        render(&call("AS_MAP", vec![keys, vals]).unwrap()),
        vec!["{a=1, b=2}", "{a=1, b=2, c=null}", "{a=1, b=2}"]
    );
}

#[test]
fn entries_sorted_and_not() {
    let m = str_int_maps(vec![Some(vec![("K2", Some(2)), ("K1", Some(1))]), None]);
    let r = call("ENTRIES", vec![m.clone(), b(&[Some(true), Some(true)])]).unwrap();
    assert_eq!(render(&r), vec!["[{K:K1,V:1}, {K:K2,V:2}]", "null"]);
    let r = call("ENTRIES", vec![m, b(&[Some(false), Some(false)])]).unwrap();
    assert_eq!(render(&r)[0], "[{K:K2,V:2}, {K:K1,V:1}]");
}

#[test]
fn java_hash_map_order_follows_string_hash_buckets() {
    use super::java_hash_map_order;
    // "D" (68) and "Q" (81) fall in buckets 4 and 1 of a 16-bucket table.
    assert_eq!(java_hash_map_order(&["D", "Q"]), vec![1, 0]);
    assert_eq!(java_hash_map_order(&["A", "B"]), vec![0, 1]);
    // Same bucket: insertion order.
    assert_eq!(java_hash_map_order(&["A", "Q"]), vec![0, 1]);
    assert!(java_hash_map_order(&[]).is_empty());
}

#[test]
fn a_sized_java_hash_map_starts_at_the_power_of_two_of_its_size() {
    use super::java_hash_map_order_sized;
    let keys = ["yes, thanks", "nope", "sure, yeah"];
    // `new HashMap<>(3)`: four buckets; "yes, thanks" and "sure, yeah" share bucket 0.
    assert_eq!(java_hash_map_order_sized(&keys, 3), vec![0, 2, 1]);
    // `new HashMap<>()`: sixteen buckets (0, 5 and 12).
    assert_eq!(java_hash_map_order_sized(&keys, 16), vec![0, 1, 2]);
    // `new HashMap<>(1)` holding two keys grows to four buckets: "D" (68) in bucket 0
    // comes before "Q" (81) in bucket 1, the other way round from sixteen buckets.
    assert_eq!(java_hash_map_order_sized(&["Q", "D"], 1), vec![1, 0]);
    assert_eq!(java_hash_map_order_sized(&["Q", "D"], 16), vec![0, 1]);
}
