//! Array functions against cases from ksqlDB's array.json, arraycontains.json,
//! arrayjoin.json, array-remove.json, array-min-max-sort.json, slice.json and elt-field.json.

use std::sync::Arc;

use arrow::array::{ArrayRef, ListArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};

use crate::functions::testutil::*;
use crate::functions::types::list_of;

fn ints(rows: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(rows))
}
fn strings(rows: Vec<Option<Vec<Option<&str>>>>) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        match r {
            Some(vals) => {
                for v in vals {
                    b.values().append_option(v);
                }
                b.append(true);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

#[test]
fn array_contains() {
    let colors = strings(vec![
        Some(vec![Some("Red"), Some("Green")]),
        Some(vec![Some("Pink"), Some("Yellow"), Some("Pink")]),
        Some(vec![Some("Pink"), None]),
        None,
    ]);
    let r = call("ARRAY_CONTAINS", vec![colors, s1("Pink", 4)]).unwrap();
    assert_eq!(
        out_b(&r),
        vec![Some(false), Some(true), Some(true), Some(false)]
    );
    // Numbers widen: ARRAY<INT> against a BIGINT.
    let r = call(
        "ARRAY_CONTAINS",
        vec![ints(vec![Some(vec![Some(1), Some(2)])]), l(&[Some(2)])],
    )
    .unwrap();
    assert_eq!(out_b(&r), vec![Some(true)]);
}

#[test]
fn set_operations() {
    let a = ints(vec![
        Some(vec![Some(1), Some(2), Some(2), None, Some(3), None]),
        None,
        Some(vec![]),
    ]);
    let b2 = ints(vec![
        Some(vec![Some(3), Some(4), None]),
        Some(vec![Some(1)]),
        Some(vec![Some(5)]),
    ]);
    assert_eq!(
        render(&call("ARRAY_DISTINCT", vec![a.clone()]).unwrap()),
        vec!["[1, 2, null, 3]", "null", "[]"]
    );
    assert_eq!(
        render(&call("ARRAY_EXCEPT", vec![a.clone(), b2.clone()]).unwrap()),
        vec!["[1, 2]", "null", "[]"]
    );
    assert_eq!(
        render(&call("ARRAY_INTERSECT", vec![a.clone(), b2.clone()]).unwrap()),
        vec!["[null, 3]", "null", "[]"]
    );
    assert_eq!(
        render(&call("ARRAY_UNION", vec![a.clone(), b2.clone()]).unwrap()),
        vec!["[1, 2, null, 3, 4]", "null", "[5]"]
    );
    assert_eq!(
        render(&call("ARRAY_CONCAT", vec![a, b2]).unwrap()),
        vec!["[1, 2, 2, null, 3, null, 3, 4, null]", "[1]", "[5]"]
    );
}

#[test]
fn remove_with_primitives_and_lists() {
    // array-remove.json
    let r = call(
        "ARRAY_REMOVE",
        vec![
            ints(vec![
                Some(vec![Some(0), Some(0), Some(1), Some(0), Some(-1)]),
                Some(vec![Some(0), None, Some(1), Some(0), Some(-1)]),
                Some(vec![Some(0), None, Some(1)]),
                None,
            ]),
            i(&[Some(-1), Some(-1), None, Some(-1)]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec!["[0, 0, 1, 0]", "[0, null, 1, 0]", "[0, 1]", "null"]
    );
    // ARRAY<ARRAY<STRING>> minus one list.
    let inner = strings(vec![
        Some(vec![Some("foo"), Some("bar"), Some("foo")]),
        Some(vec![Some("foo"), Some("bar"), Some("foo")]),
        Some(vec![Some("foo")]),
    ]);
    let outer: ArrayRef = Arc::new(ListArray::new(
        Arc::new(arrow::datatypes::Field::new_list_field(
            inner.data_type().clone(),
            true,
        )),
        arrow::buffer::OffsetBuffer::new(vec![0, 3].into()),
        inner,
        None,
    ));
    let bad = strings(vec![Some(vec![Some("foo"), Some("bar"), Some("foo")])]);
    let r = call("ARRAY_REMOVE", vec![outer, bad]).unwrap();
    assert_eq!(render(&r), vec!["[[foo]]"]);
}

#[test]
fn max_min_sort() {
    let s_arr = strings(vec![
        Some(vec![
            Some("foo"),
            Some("fo"),
            Some("Food"),
            None,
            Some("F"),
            Some("food"),
        ]),
        Some(vec![]),
        None,
    ]);
    assert_eq!(
        out_s(&call("ARRAY_MAX", vec![s_arr.clone()]).unwrap()),
        vec![Some("food".into()), None, None]
    );
    assert_eq!(
        out_s(&call("ARRAY_MIN", vec![s_arr.clone()]).unwrap()),
        vec![Some("F".into()), None, None]
    );
    assert_eq!(
        render(&call("ARRAY_SORT", vec![s_arr.clone()]).unwrap()),
        vec!["[F, Food, fo, foo, food, null]", "[]", "null"]
    );
    assert_eq!(
        render(&call("ARRAY_SORT", vec![s_arr, s1("desc", 3)]).unwrap()),
        vec!["[food, foo, fo, Food, F, null]", "[]", "null"]
    );
    let d_arr: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![
            Some(0.0),
            Some(0.1),
            Some(-12345.678),
            None,
            Some(0.3),
        ]),
    ]));
    assert_eq!(
        out_d(&call("ARRAY_MAX", vec![d_arr.clone()]).unwrap()),
        vec![Some(0.3)]
    );
    assert_eq!(
        out_d(&call("ARRAY_MIN", vec![d_arr]).unwrap()),
        vec![Some(-12345.678)]
    );
    // Sorting a sliced list array still sorts the right elements.
    let big = ints(vec![
        Some(vec![Some(9), Some(8)]),
        Some(vec![Some(3), Some(1), Some(2)]),
    ])
    .slice(1, 1);
    assert_eq!(
        render(&call("ARRAY_SORT", vec![big]).unwrap()),
        vec!["[1, 2, 3]"]
    );
    let e = call_err(
        "ARRAY_SORT",
        vec![ints(vec![Some(vec![Some(1)])]), s1("up", 1)],
    );
    assert!(e.contains("ASC or DESC"), "{e}");
}

#[test]
fn join_and_length() {
    // arrayjoin.json
    let r = call(
        "ARRAY_JOIN",
        vec![
            Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
                Some(vec![Some(1.23), Some(-23.42), Some(0.0)]),
            ])) as ArrayRef,
        ],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("1.23,-23.42,0.0".into())]);
    let bools: ArrayRef = Arc::new(arrow::array::BooleanArray::from(vec![
        Some(true),
        None,
        Some(false),
    ]));
    let blist: ArrayRef = Arc::new(ListArray::new(
        Arc::new(arrow::datatypes::Field::new_list_field(
            DataType::Boolean,
            true,
        )),
        arrow::buffer::OffsetBuffer::new(vec![0, 3].into()),
        bools,
        None,
    ));
    let r = call("ARRAY_JOIN", vec![blist.clone(), s1("|", 1)]).unwrap();
    assert_eq!(out_s(&r), vec![Some("true|null|false".into())]);
    let r = call("ARRAY_JOIN", vec![blist, s(&[None])]).unwrap();
    assert_eq!(out_s(&r), vec![Some("truenullfalse".into())]);
    let big: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(-4294967297), Some(8589934592)]),
    ]));
    let r = call("ARRAY_JOIN", vec![big, s1(";", 1)]).unwrap();
    assert_eq!(out_s(&r), vec![Some("-4294967297;8589934592".into())]);
    let r = call(
        "ARRAY_LENGTH",
        vec![ints(vec![Some(vec![Some(-1), None]), None, Some(vec![])])],
    )
    .unwrap();
    assert_eq!(out_i(&r), vec![Some(2), None, Some(0)]);
    let reg = crate::functions::FunctionRegistry::new();
    assert!(reg
        .return_type("ARRAY_JOIN", &[list_of(list_of(DataType::Int32))])
        .is_err());
}

#[test]
fn slice_cases() {
    let l4 = strings(vec![
        Some(vec![Some("a"), Some("b"), Some("c"), Some("d")]);
        5
    ]);
    let r = call(
        "SLICE",
        vec![
            l4,
            i(&[Some(2), None, Some(3), Some(0), Some(2)]),
            i(&[Some(3), Some(2), None, Some(2), Some(9)]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec!["[b, c]", "[a, b]", "[c, d]", "null", "null"]
    );
}

#[test]
fn generate_series_cases() {
    // array.json "GENERATE_SERIES" and "... with step"
    let r = call(
        "GENERATE_SERIES",
        vec![
            i(&[Some(0), Some(-2), Some(4), Some(4)]),
            i(&[Some(3), Some(1), Some(3), Some(0)]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec![
            "[0, 1, 2, 3]",
            "[-2, -1, 0, 1]",
            "[4, 3]",
            "[4, 3, 2, 1, 0]"
        ]
    );
    let r = call(
        "GENERATE_SERIES",
        vec![
            i(&[Some(-2), Some(0), Some(1), Some(9), Some(0)]),
            i(&[Some(1), Some(9), Some(-2), Some(0), Some(5)]),
            i(&[Some(2), Some(3), Some(-2), Some(-3), Some(-1)]),
        ],
    )
    .unwrap();
    assert_eq!(
        render(&r),
        vec!["[-2, 0]", "[0, 3, 6, 9]", "[1, -1]", "[9, 6, 3, 0]", "null"]
    );
    let r = call("GENERATE_SERIES", vec![l(&[Some(1)]), l(&[Some(2)])]).unwrap();
    assert_eq!(r.data_type(), &list_of(DataType::Int64));
}

#[test]
fn elt_and_field() {
    // elt-field.json
    let a = s(&[Some("hello"), None, Some("world"), None]);
    let b2 = s(&[Some("world"), Some("world"), Some("hello"), None]);
    let pos = call("FIELD", vec![s1("hello", 4), a.clone(), b2.clone()]).unwrap();
    assert_eq!(out_i(&pos), vec![Some(1), Some(0), Some(2), Some(0)]);
    let back = call("ELT", vec![pos, a, b2]).unwrap();
    assert_eq!(
        out_s(&back),
        vec![Some("hello".into()), None, Some("hello".into()), None]
    );
    let r = call(
        "ELT",
        vec![i1(2, 2), s1("ignored", 2), s(&[Some("something"), None])],
    )
    .unwrap();
    assert_eq!(out_s(&r), vec![Some("something".into()), None]);
}
