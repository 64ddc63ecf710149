//! Expression compilation end to end: statements parsed and analyzed by brook-sql, the
//! Project's expressions compiled and evaluated over hand-built batches, compared with the
//! values ksqlDB's conformance files expect.

use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray,
    RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Int32Type};
use brook_sql::analyzer::{AnalyzedStatement, Analyzer};
use brook_sql::plan::{LogicalPlan, Node, TypedExpr, TypedExprKind};
use brook_sql::{parse_statements, SqlType};

use super::*;
use crate::catalog::EngineFunctions;

/// The Project of `SELECT <select> FROM S EMIT CHANGES` over `CREATE STREAM S (<cols>)`.
fn project(cols: &str, select: &str) -> (InputLayout, Vec<(String, TypedExpr)>) {
    let mut a = Analyzer::new(EngineFunctions::new());
    let sql = format!(
        "CREATE STREAM S ({cols}) WITH (kafka_topic='s', value_format='JSON');
         SELECT {select} FROM S EMIT CHANGES;"
    );
    let sts = parse_statements(&sql).unwrap();
    a.analyze(&sts[0]).unwrap();
    let st = a
        .analyze(&sts[1])
        .unwrap_or_else(|e| panic!("{select}: {e}"));
    let AnalyzedStatement::Query { plan, .. } = st else {
        panic!("not a query")
    };
    fn find(p: &LogicalPlan) -> &LogicalPlan {
        match &p.node {
            Node::Project { .. } => p,
            _ => find(p.inputs()[0]),
        }
    }
    let p = find(&plan);
    let Node::Project { input, items } = &p.node else {
        unreachable!()
    };
    (
        InputLayout::from_schema(&input.schema),
        items
            .iter()
            .map(|i| (i.name.clone(), i.expr.clone()))
            .collect(),
    )
}

/// A batch for `layout` with the named columns given (case-insensitive), NULL elsewhere.
fn batch(layout: &InputLayout, data: &[(&str, ArrayRef)]) -> RecordBatch {
    let rows = data.first().map_or(1, |(_, a)| a.len());
    let schema = layout.arrow_schema().clone();
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let short = f.name().rsplit('.').next().unwrap();
            data.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(short))
                .map(|(_, a)| a.clone())
                .unwrap_or_else(|| new_null_array(f.data_type(), rows))
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

/// Evaluates every projected expression (`ID` key columns included).
fn eval(cols: &str, select: &str, data: &[(&str, ArrayRef)]) -> Vec<ArrayRef> {
    let (layout, items) = project(cols, select);
    let b = batch(&layout, data);
    let reg = FunctionRegistry::new();
    items
        .iter()
        .map(|(n, e)| {
            let c = compile(e, &layout, &reg).unwrap_or_else(|err| panic!("{n} = {e}: {err}"));
            let out = c.evaluate(&b).unwrap().into_array(b.num_rows()).unwrap();
            assert_eq!(
                out.data_type(),
                &sql_to_arrow(&e.ty),
                "{e} produces its SQL type"
            );
            out
        })
        .collect()
}

/// The one projected expression of `SELECT ID, <expr> AS X`.
fn eval1(cols: &str, expr: &str, data: &[(&str, ArrayRef)]) -> ArrayRef {
    eval(cols, &format!("ID, {expr} AS X"), data).pop().unwrap()
}

fn i32s(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}
fn i64s(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}
fn f64s(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}
fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}
fn bools(v: &[Option<bool>]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}
fn dec(v: &[Option<&str>], p: u8, s: i8) -> ArrayRef {
    cast::cast(&strs(v), &DataType::Decimal128(p, s)).unwrap()
}
fn int_lists(v: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(v))
}
/// Decimal (or any number) as DOUBLE, for comparing values regardless of scale.
fn as_f64(a: &ArrayRef) -> ArrayRef {
    arrow::compute::cast(a, &DataType::Float64).unwrap()
}

const IDCOL: &str = "ID INT KEY";

#[test]
fn analyzer_to_engine_path() {
    let out = eval(
        "ID INT KEY, A INT, B STRING",
        "ID, A * 2 + 1 AS X, UCASE(B)",
        &[
            ("ID", i32s(&[Some(1), Some(2), None])),
            ("A", i32s(&[Some(1), None, Some(3)])),
            ("B", strs(&[Some("a"), None, Some("Bc")])),
        ],
    );
    assert_eq!(out.len(), 3);
    assert_eq!(&out[0], &i32s(&[Some(1), Some(2), None]));
    assert_eq!(&out[1], &i32s(&[Some(3), None, Some(7)]));
    assert_eq!(&out[2], &strs(&[Some("A"), None, Some("BC")]));
}

#[test]
fn binary_arithmetic_in_projection() {
    // binary-arithmetic.json "in projection"
    let out = eval(
        "col0 INT KEY, col1 BIGINT, col2 DOUBLE",
        "col0, col0+col1, col2+10, col1*25, 12*4+2",
        &[
            ("COL0", i32s(&[Some(6)])),
            ("COL1", i64s(&[Some(25)])),
            ("COL2", f64s(&[Some(3.21)])),
        ],
    );
    assert_eq!(&out[1], &i64s(&[Some(31)]));
    assert_eq!(&out[2], &f64s(&[Some(13.21)]));
    assert_eq!(&out[3], &i64s(&[Some(625)]));
    assert_eq!(&out[4], &i32s(&[Some(50)]));
    // operators.json precedence cases
    let out = eval(
        IDCOL,
        "6 % 4 / 2 * 6 AS V, 6 / 2 % 2 * 2 AS V2, 16 % 6 - 4 AS V3, 10 + 4 > 11 - 2 AS V4",
        &[],
    );
    assert_eq!(&out[0], &i32s(&[Some(6)]));
    assert_eq!(&out[1], &i32s(&[Some(2)]));
    assert_eq!(&out[2], &i32s(&[Some(0)]));
    assert_eq!(&out[3], &bools(&[Some(true)]));
}

#[test]
fn integers_wrap_and_divide_by_zero_to_null() {
    let cols = "ID INT KEY, A INT, B INT, L BIGINT, D DOUBLE";
    let data = [
        (
            "A",
            i32s(&[Some(i32::MAX), Some(7), Some(-7), Some(i32::MIN)]),
        ),
        ("B", i32s(&[Some(1), Some(0), Some(2), Some(-1)])),
        ("L", i64s(&[Some(i64::MAX), Some(0), None, Some(1)])),
        ("D", f64s(&[Some(1.0), Some(0.0), Some(-1.0), None])),
    ];
    let out = eval(
        cols,
        "ID, A + B AS S, A / B AS Q, A % B AS R, L + 1 AS L1, -A AS N, D / 0.0 AS DZ, 7 / L AS LZ",
        &data,
    );
    assert_eq!(
        &out[1],
        &i32s(&[Some(i32::MIN), Some(7), Some(-5), Some(i32::MAX)])
    );
    assert_eq!(
        &out[2],
        &i32s(&[Some(i32::MAX), None, Some(-3), Some(i32::MIN)])
    );
    assert_eq!(&out[3], &i32s(&[Some(0), None, Some(-1), Some(0)]));
    assert_eq!(&out[4], &i64s(&[Some(i64::MIN), Some(1), None, Some(2)]));
    assert_eq!(
        &out[5],
        &i32s(&[Some(i32::MIN + 1), Some(-7), Some(7), Some(i32::MIN)])
    );
    let dz = out[6].as_any().downcast_ref::<Float64Array>().unwrap();
    assert_eq!(dz.value(0), f64::INFINITY);
    assert!(dz.value(1).is_nan());
    assert_eq!(dz.value(2), f64::NEG_INFINITY);
    assert!(dz.is_null(3));
    assert_eq!(&out[7], &i64s(&[Some(0), None, None, Some(7)]));
}

#[test]
fn decimal_arithmetic_as_decimal_json() {
    let cols = "ID INT KEY, a DECIMAL(4,2), b DECIMAL(4,2)";
    let a = dec(&[Some("10.01"), Some("10.01"), Some("10.01")], 4, 2);
    let b = dec(&[Some("5.1"), Some("-5.0"), Some("0.0")], 4, 2);
    let out = eval1(cols, "a + b", &[("A", a), ("B", b)]);
    assert_eq!(out.data_type(), &DataType::Decimal128(5, 2));
    assert_eq!(
        &as_f64(&out),
        &f64s(&[Some(15.11), Some(5.01), Some(10.01)])
    );

    let a = dec(&[Some("10.1"), Some("10.1"), Some("10.1")], 4, 2);
    let b = dec(&[Some("2.0"), Some("-2.0"), Some("0.0")], 4, 2);
    let data = [("A", a), ("B", b)];
    let out = eval(
        cols,
        "ID, a - b AS S, a * b AS M, a / b AS Q, a % b AS R, -a AS N, a + 1 AS I, a + 1.5e0 AS D",
        &data,
    );
    assert_eq!(
        &as_f64(&out[1]),
        &f64s(&[Some(8.1), Some(12.1), Some(10.1)])
    );
    assert_eq!(
        &as_f64(&out[2]),
        &f64s(&[Some(20.2), Some(-20.2), Some(0.0)])
    );
    assert_eq!(&as_f64(&out[3]), &f64s(&[Some(5.05), Some(-5.05), None]));
    assert_eq!(&as_f64(&out[4]), &f64s(&[Some(0.1), Some(0.1), None]));
    assert_eq!(
        &as_f64(&out[5]),
        &f64s(&[Some(-10.1), Some(-10.1), Some(-10.1)])
    );
    assert_eq!(
        &as_f64(&out[6]),
        &f64s(&[Some(11.1), Some(11.1), Some(11.1)])
    );
    assert_eq!(&out[7], &f64s(&[Some(11.6), Some(11.6), Some(11.6)]));
    // Division rounds HALF_UP at the result scale (DECIMAL(4,2)/DECIMAL(4,2) → scale 7).
    let out = eval1(
        cols,
        "a / b",
        &[
            ("A", dec(&[Some("2.00"), Some("-2.00")], 4, 2)),
            ("B", dec(&[Some("3.00"), Some("3.00")], 4, 2)),
        ],
    );
    assert_eq!(out.data_type(), &DataType::Decimal128(11, 7));
    assert_eq!(&out, &dec(&[Some("0.6666667"), Some("-0.6666667")], 11, 7));
}

#[test]
fn comparisons_with_null_are_false() {
    // null.json "null equals": ID = COL0 (INT vs BIGINT) with COL0 NULL → false.
    let out = eval1(
        "ID INT KEY, COL0 BIGINT",
        "ID = COL0",
        &[
            ("ID", i32s(&[Some(12344), Some(1), None])),
            ("COL0", i64s(&[Some(12344), None, None])),
        ],
    );
    assert_eq!(&out, &bools(&[Some(true), Some(false), Some(false)]));
    // decimal.json "less than - decimal decimal differing scale"
    let cols = "ID INT KEY, a DECIMAL(4,2), b DECIMAL(5,3)";
    let data = [
        ("A", dec(&[Some("10.01"), Some("10.01"), None, None], 4, 2)),
        (
            "B",
            dec(&[Some("10.01"), Some("10.012"), Some("10.01"), None], 5, 3),
        ),
    ];
    let out = eval(cols, "ID, a < b AS LT, a <> b AS NE, a >= b AS GE, a IS DISTINCT FROM b AS D, a IS NOT DISTINCT FROM b AS ND, NOT (a < b) AS NLT", &data);
    assert_eq!(
        &out[1],
        &bools(&[Some(false), Some(true), Some(false), Some(false)])
    );
    assert_eq!(
        &out[2],
        &bools(&[Some(false), Some(true), Some(false), Some(false)])
    );
    assert_eq!(
        &out[3],
        &bools(&[Some(true), Some(false), Some(false), Some(false)])
    );
    assert_eq!(
        &out[4],
        &bools(&[Some(false), Some(true), Some(true), Some(false)])
    );
    assert_eq!(
        &out[5],
        &bools(&[Some(true), Some(false), Some(false), Some(true)])
    );
    assert_eq!(
        &out[6],
        &bools(&[Some(true), Some(false), Some(true), Some(true)])
    );
}

#[test]
fn between_in_and_logic() {
    let out = eval1(IDCOL, "1 BETWEEN 0 AND 2 AND 'b' BETWEEN 'a' AND 'c'", &[]);
    assert_eq!(&out, &bools(&[Some(true)]));
    let cols = "ID INT KEY, A INT, S STRING";
    let data = [
        ("A", i32s(&[Some(1), Some(5), None])),
        ("S", strs(&[Some("b"), Some("z"), None])),
    ];
    let out = eval(
        cols,
        "ID, A BETWEEN 0 AND 2 AS B1, A NOT BETWEEN 0 AND 2 AS B2, A IN (1, 2) AS I1, A NOT IN (1, 2) AS I2, S IN ('z', 'y') AS I3, A BETWEEN 0.5 AND 1.5 AS B3, TRUE OR FALSE AND TRUE AS O",
        &data,
    );
    assert_eq!(&out[1], &bools(&[Some(true), Some(false), Some(false)]));
    assert_eq!(&out[2], &bools(&[Some(false), Some(true), Some(true)]));
    assert_eq!(&out[3], &bools(&[Some(true), Some(false), Some(false)]));
    assert_eq!(&out[4], &bools(&[Some(false), Some(true), Some(true)]));
    assert_eq!(&out[5], &bools(&[Some(false), Some(true), Some(false)]));
    assert_eq!(&out[6], &bools(&[Some(true), Some(false), Some(false)]));
    assert_eq!(&out[7], &bools(&[Some(true), Some(true), Some(true)]));
}

#[test]
fn like_with_patterns_and_escape() {
    // like.json "literal", "exp", "escape"
    let cols = "ID INT KEY, val STRING, pattern STRING";
    let data = [
        (
            "VAL",
            strs(&[
                Some("barfoobaz"),
                Some("foo"),
                Some("bar"),
                Some("foo"),
                Some("foobar"),
                Some("%"),
                Some("x"),
                None,
            ]),
        ),
        (
            "PATTERN",
            strs(&[
                Some("foo"),
                Some("foo"),
                Some("foo"),
                Some("f_o"),
                Some("%oba%"),
                Some("!%"),
                Some("!%"),
                Some("%"),
            ]),
        ),
    ];
    let out = eval(
        cols,
        "ID, val LIKE '%foo%' AS L, val LIKE pattern AS P, val LIKE pattern ESCAPE '!' AS E, val NOT LIKE '%foo%' AS N",
        &data,
    );
    let t = Some(true);
    let f = Some(false);
    assert_eq!(&out[1], &bools(&[t, t, f, t, t, f, f, f]));
    assert_eq!(&out[2], &bools(&[f, t, f, t, t, f, f, f]));
    assert_eq!(&out[3], &bools(&[f, t, f, t, t, t, f, f]));
    assert_eq!(&out[4], &bools(&[f, f, t, f, f, t, t, f]));
}

#[test]
fn case_searched_and_simple() {
    // ksqlDB does not widen CASE branches: C3's branches are both DOUBLE.
    let cols = "ID INT KEY, A INT";
    let data = [("A", i32s(&[Some(1), Some(2), Some(7), None]))];
    let out = eval(
        cols,
        "ID, CASE WHEN A < 2 THEN 'small' WHEN A < 5 THEN 'medium' ELSE 'large' END AS C1, CASE A WHEN 1 THEN 10 WHEN 2 THEN 20 END AS C2, CASE WHEN A = 7 THEN 1.5E0 ELSE CAST(A AS DOUBLE) END AS C3",
        &data,
    );
    assert_eq!(
        &out[1],
        &strs(&[Some("small"), Some("medium"), Some("large"), Some("large")])
    );
    assert_eq!(&out[2], &i32s(&[Some(10), Some(20), None, None]));
    assert_eq!(
        &as_f64(&out[3]),
        &f64s(&[Some(1.0), Some(2.0), Some(1.5), None])
    );
}

#[test]
fn casts_as_cast_json() {
    // "integer to decimal": 10 does not fit DECIMAL(2,1) → NULL.
    let out = eval1(
        "ID INT KEY, foo INT",
        "CAST(foo AS DECIMAL(2,1))",
        &[("FOO", i32s(&[Some(1), Some(0), Some(-1), Some(10)]))],
    );
    assert_eq!(
        &out,
        &dec(&[Some("1.0"), Some("0.0"), Some("-1.0"), None], 2, 1)
    );
    // "double to decimal": rounds HALF_UP.
    let out = eval1(
        "ID INT KEY, foo DOUBLE",
        "CAST(foo AS DECIMAL(2,1))",
        &[(
            "FOO",
            f64s(&[Some(0.1), Some(1.1), Some(0.0), Some(0.99), Some(0.01)]),
        )],
    );
    assert_eq!(
        &out,
        &dec(
            &[
                Some("0.1"),
                Some("1.1"),
                Some("0.0"),
                Some("1.0"),
                Some("0.0")
            ],
            2,
            1
        )
    );
    // "string to decimal"
    let out = eval1(
        "ID INT KEY, foo STRING",
        "CAST(foo AS DECIMAL(2,1))",
        &[(
            "FOO",
            strs(&[Some("0.1"), Some("0.99"), Some("0.10"), Some("x")]),
        )],
    );
    assert_eq!(
        &out,
        &dec(&[Some("0.1"), Some("1.0"), Some("0.1"), None], 2, 1)
    );
    // "decimal to other"
    let out = eval(
        "ID INT KEY, val DECIMAL(4,2)",
        "ID, CAST(val AS INT) AS I, CAST(val AS BIGINT) AS L, CAST(val AS DOUBLE) AS D, CAST(val AS STRING) AS S",
        &[("VAL", dec(&[Some("0.00"), Some("0.01"), Some("10.00"), Some("10.01")], 4, 2))],
    );
    assert_eq!(&out[1], &i32s(&[Some(0), Some(0), Some(10), Some(10)]));
    assert_eq!(&out[2], &i64s(&[Some(0), Some(0), Some(10), Some(10)]));
    assert_eq!(
        &out[3],
        &f64s(&[Some(0.0), Some(0.01), Some(10.0), Some(10.01)])
    );
    assert_eq!(
        &out[4],
        &strs(&[Some("0.00"), Some("0.01"), Some("10.00"), Some("10.01")])
    );
    // strings that are not numbers → NULL; numbers print as Java does.
    let out = eval(
        "ID INT KEY, S STRING, D DOUBLE, C0 DOUBLE, C1 DOUBLE",
        "ID, CAST(S AS INT) AS I, CAST(D AS STRING) AS DS, CAST((C0 - C1) AS INT) AS DI, CAST(S AS TIMESTAMP) AS T",
        &[
            ("S", strs(&[Some(" 12 "), Some("abc"), Some("2022-04-28T21:44:47.943Z")])),
            ("D", f64s(&[Some(1.0), Some(1e10), Some(0.5)])),
            ("C0", f64s(&[Some(3.3), None, None])),
            ("C1", f64s(&[Some(2.1), None, None])),
        ],
    );
    assert_eq!(&out[1], &i32s(&[Some(12), None, None]));
    assert_eq!(&out[2], &strs(&[Some("1.0"), Some("1.0E10"), Some("0.5")]));
    assert_eq!(&out[3], &i32s(&[Some(1), None, None]));
    let ts = arrow::compute::cast(&out[4], &DataType::Int64).unwrap();
    assert_eq!(&ts, &i64s(&[None, None, Some(1651182287943)]));
    // "of nulls"
    let out = eval(IDCOL, "ID, CAST(NULL AS INT) AS A, CAST(NULL AS ARRAY<INT>) AS B, CAST(NULL AS STRUCT<F0 INT>) AS C", &[]);
    assert!(out[1..].iter().all(|a| a.null_count() == 1));
}

#[test]
fn structs_arrays_maps() {
    let cols = "ID INT KEY, S STRUCT<F0 INT, F1 STRING>, ARR ARRAY<INT>, M MAP<STRING, INT>, I INT";
    let (layout, _) = project(cols, "ID");
    let _ = layout;
    // Build the nested inputs with the constructors, then read them back.
    let out = eval(
        cols,
        "ID, STRUCT(F0 := I, F1 := 'x')->F0 AS F, ARRAY[I, 2, 3][1] AS A1, ARRAY[I, 2, 3][-1] AS AL, ARRAY[I, 2, 3][4] AS AO, ARRAY[I, 2, 3][0] AS AZ, MAP('a' := I, 'b' := 2)['a'] AS MA, MAP('a' := I)['z'] AS MZ, ARRAY[I, 2] AS ARR2",
        &[("I", i32s(&[Some(1), None]))],
    );
    assert_eq!(&out[1], &i32s(&[Some(1), None]));
    assert_eq!(&out[2], &i32s(&[Some(1), None]));
    assert_eq!(&out[3], &i32s(&[Some(3), Some(3)]));
    assert_eq!(&out[4], &i32s(&[None, None]));
    assert_eq!(&out[5], &i32s(&[None, None]));
    assert_eq!(&out[6], &i32s(&[Some(1), None]));
    assert_eq!(&out[7], &i32s(&[None, None]));
    assert_eq!(
        &out[8],
        &int_lists(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![None, Some(2)])
        ])
    );

    // Column inputs: a struct that is NULL gives NULL fields; arrays of different lengths.
    let s = nested::make_struct(
        &match sql_to_arrow(&SqlType::Struct(vec![
            ("F0".into(), SqlType::Int),
            ("F1".into(), SqlType::String),
        ])) {
            DataType::Struct(f) => f,
            _ => unreachable!(),
        },
        &[
            i32s(&[Some(1), Some(2), Some(3)]),
            strs(&[Some("a"), Some("b"), None]),
        ],
        3,
    )
    .unwrap();
    let s = {
        let d = s
            .to_data()
            .into_builder()
            .nulls(Some(arrow::buffer::NullBuffer::from(vec![
                true, false, true,
            ])))
            .build()
            .unwrap();
        arrow::array::make_array(d)
    };
    let arr = int_lists(vec![
        Some(vec![Some(1), Some(2), Some(3)]),
        None,
        Some(vec![Some(4)]),
    ]);
    let out = eval(
        cols,
        "ID, S->F0 AS F0, S->F1 AS F1, ARR[2] AS A2, ARR[-2] AS AM2, ARR[ID] AS AI",
        &[
            ("S", s),
            ("ARR", arr),
            ("ID", i32s(&[Some(3), Some(1), Some(1)])),
        ],
    );
    assert_eq!(&out[1], &i32s(&[Some(1), None, Some(3)]));
    assert_eq!(&out[2], &strs(&[Some("a"), None, None]));
    assert_eq!(&out[3], &i32s(&[Some(2), None, None]));
    assert_eq!(&out[4], &i32s(&[Some(2), None, None]));
    assert_eq!(&out[5], &i32s(&[Some(3), None, Some(4)]));
}

#[test]
fn string_concatenation_and_functions() {
    let out = eval(
        "ID INT KEY, B STRING",
        "ID, B + '_new' AS P, B || 'x' AS C, CONCAT(B, 'y') AS F, LEN(B) + 1 AS N, ABS(ID) AS A",
        &[
            ("B", strs(&[Some("a"), None])),
            ("ID", i32s(&[Some(-2), Some(3)])),
        ],
    );
    assert_eq!(&out[1], &strs(&[Some("a_new"), None]));
    assert_eq!(&out[2], &strs(&[Some("ax"), None]));
    assert_eq!(out[3].data_type(), &DataType::Utf8);
    assert_eq!(&out[4], &i32s(&[Some(2), None]));
    assert_eq!(&out[5], &i32s(&[Some(2), Some(3)]));
}

#[test]
fn lambdas_bind_compiled_bodies() {
    let cols = "ID INT KEY, ARR ARRAY<INT>, T INT";
    let arr = int_lists(vec![Some(vec![Some(1), Some(5), None]), None, Some(vec![])]);
    let out = eval(
        cols,
        "ID, TRANSFORM(ARR, x => x * 2) AS TR, FILTER(ARR, x => x > T) AS FI, REDUCE(ARR, 0, (s, x) => s + x) AS RE, TRANSFORM(ARR, x => x + T) AS CAP",
        &[("ARR", arr), ("T", i32s(&[Some(2), Some(0), Some(0)]))],
    );
    assert_eq!(
        &out[1],
        &int_lists(vec![
            Some(vec![Some(2), Some(10), None]),
            None,
            Some(vec![])
        ])
    );
    assert_eq!(
        &out[2],
        &int_lists(vec![Some(vec![Some(5)]), None, Some(vec![])])
    );
    // reduce-array.json: a NULL element makes the sum NULL; a NULL or empty array gives the
    // initial state.
    assert_eq!(&out[3], &i32s(&[None, Some(0), Some(0)]));
    assert_eq!(
        &out[4],
        &int_lists(vec![Some(vec![Some(3), Some(7), None]), None, Some(vec![])])
    );
}

#[test]
fn unsupported_is_reported_not_guessed() {
    let reg = FunctionRegistry::new();
    let layout = InputLayout::new(vec![(
        brook_sql::plan::ColumnRef {
            source: Some("S".into()),
            name: "T".into(),
        },
        SqlType::Timestamp,
    )]);
    let t = TypedExpr::column(Some("S".into()), "T", SqlType::Timestamp);
    let e = TypedExpr::new(
        TypedExprKind::AtTimeZone {
            expr: Box::new(t.clone()),
            zone: "UTC".into(),
        },
        SqlType::Timestamp,
        Default::default(),
    );
    assert!(matches!(
        compile(&e, &layout, &reg),
        Err(ExprError::NotSupportedYet(_))
    ));
    let e = TypedExpr::new(
        TypedExprKind::Cast(Box::new(TypedExpr::new(
            TypedExprKind::Array(vec![t.clone()]),
            SqlType::array(SqlType::Timestamp),
            Default::default(),
        ))),
        SqlType::String,
        Default::default(),
    );
    // CAST of an ARRAY to STRING is supported now (Java's List rendering).
    assert!(compile(&e, &layout, &reg).is_ok());
    let missing = TypedExpr::column(None, "NOPE", SqlType::Int);
    assert!(matches!(
        compile(&missing, &layout, &reg),
        Err(ExprError::UnknownColumn(_))
    ));
    // Qualified and unqualified references both find the column.
    let bare = TypedExpr::column(None, "T", SqlType::Timestamp);
    assert!(compile(&bare, &layout, &reg).is_ok());
    assert_eq!(layout.index_of(t.as_column().unwrap()), Some(0));
}

#[test]
fn casts_wrap_like_java_and_render_nested_values_as_java_strings() {
    // BIGINT → INT keeps the low 32 bits (Java's `Long.intValue()`), also inside arrays;
    // DOUBLE → INT saturates.
    let out = eval(
        "ID INT KEY, L BIGINT, D DOUBLE",
        "ID, CAST(L AS INT) AS A, CAST(D AS INT) AS B",
        &[
            ("L", i64s(&[Some(2147483648), Some(-1), None])),
            ("D", f64s(&[Some(1e20), Some(-2.7), None])),
        ],
    );
    assert_eq!(&out[1], &i32s(&[Some(-2147483648), Some(-1), None]));
    assert_eq!(&out[2], &i32s(&[Some(i32::MAX), Some(-2), None]));
    // ARRAY, MAP and STRUCT to STRING print as Java's List, Map and Connect Struct do.
    let list = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(3), None]),
        None,
    ])) as ArrayRef;
    let a = cast::cast(&list, &DataType::Utf8).unwrap();
    assert_eq!(&a, &strs(&[Some("[1, 3, null]"), None]));
    let s = arrow::array::StructArray::from(vec![
        (
            Arc::new(arrow::datatypes::Field::new("F0", DataType::Int32, true)),
            i32s(&[Some(1)]),
        ),
        (
            Arc::new(arrow::datatypes::Field::new("f1", DataType::Int32, true)),
            i32s(&[None]),
        ),
    ]);
    let a = cast::cast(&(Arc::new(s) as ArrayRef), &DataType::Utf8).unwrap();
    assert_eq!(&a, &strs(&[Some("Struct{F0=1}")]));
    // TIME to STRING as `LocalTime.ofSecondOfDay(..).toString()`.
    let t = Arc::new(arrow::array::Time32MillisecondArray::from(vec![
        Some(5000),
        Some(3_600_000),
        None,
    ])) as ArrayRef;
    let a = cast::cast(&t, &DataType::Utf8).unwrap();
    assert_eq!(&a, &strs(&[Some("00:00:05"), Some("01:00"), None]));
}
