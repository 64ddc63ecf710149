//! Lambda functions against cases from ksqlDB's filter.json, reduce-array.json,
//! reduce-map.json and transform-map.json, with bodies built as DataFusion physical
//! expressions the way the planner will.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Builder, ListArray, ListBuilder, MapBuilder, StringBuilder};
use arrow::datatypes::{DataType, Int32Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{ColumnarValue, Operator, ScalarFunctionArgs, ScalarUDF};
use datafusion::physical_expr::expressions::{binary, col, lit};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

use super::{lambda_schema, Lambda, LambdaFunction};
use crate::functions::map::map_builder;
use crate::functions::testutil::*;
use crate::functions::FunctionRegistry;

fn run(udf: &ScalarUDF, args: Vec<ArrayRef>) -> ArrayRef {
    let rows = args[0].len();
    let arg_fields = args
        .iter()
        .map(|a| {
            Arc::new(arrow::datatypes::Field::new(
                "a",
                a.data_type().clone(),
                true,
            ))
        })
        .collect();
    let types: Vec<DataType> = args.iter().map(|a| a.data_type().clone()).collect();
    let ret = udf.return_type(&types).unwrap();
    udf.invoke_with_args(ScalarFunctionArgs {
        args: args.into_iter().map(ColumnarValue::Array).collect(),
        arg_fields,
        number_rows: rows,
        return_field: Arc::new(arrow::datatypes::Field::new("r", ret, true)),
        config_options: Arc::new(ConfigOptions::default()),
    })
    .unwrap()
    .into_array(rows)
    .unwrap()
}

/// `name(args)` over the lambda schema, using a registered scalar function.
fn call_expr(
    name: &str,
    args: Vec<Arc<dyn PhysicalExpr>>,
    schema: &arrow::datatypes::Schema,
) -> Arc<dyn PhysicalExpr> {
    let udf = FunctionRegistry::new().scalar(name).unwrap();
    Arc::new(
        ScalarFunctionExpr::try_new(udf, args, schema, Arc::new(ConfigOptions::default())).unwrap(),
    )
}

fn ints(rows: Vec<Option<Vec<Option<i32>>>>) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(rows))
}

/// Rows of (key, value) entries; None is a NULL map.
type MapRows<'a> = Vec<Option<Vec<(&'a str, Option<i32>)>>>;

fn str_int_map(rows: MapRows) -> ArrayRef {
    let mut b: MapBuilder<StringBuilder, Int32Builder> =
        map_builder(StringBuilder::new(), Int32Builder::new());
    for r in rows {
        match r {
            Some(es) => {
                for (k, v) in es {
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
fn filter_int_array() {
    // filter.json "apply lambda filter to int array": filter(numbers, x => x > 5)
    let schema = lambda_schema(&[("X", DataType::Int32)], &[]);
    let body = binary(col("X", &schema).unwrap(), Operator::Gt, lit(5i32), &schema).unwrap();
    let udf = LambdaFunction::Filter.bind(vec![Lambda {
        schema,
        params: 1,
        body,
    }]);
    let r = run(
        &udf,
        vec![ints(vec![
            Some(vec![Some(3), Some(6), Some(2), Some(10)]),
            Some(vec![Some(5), None]),
            None,
        ])],
    );
    assert_eq!(render(&r), vec!["[6, 10]", "[]", "null"]);
}

#[test]
fn transform_array_with_a_captured_column() {
    // TRANSFORM(arr, x => x + K) where K is an outer column.
    let schema = lambda_schema(&[("X", DataType::Int32)], &[("K", DataType::Int32)]);
    let body = binary(
        col("X", &schema).unwrap(),
        Operator::Plus,
        col("K", &schema).unwrap(),
        &schema,
    )
    .unwrap();
    let udf = LambdaFunction::Transform.bind(vec![Lambda {
        schema,
        params: 1,
        body,
    }]);
    let r = run(
        &udf,
        vec![
            ints(vec![
                Some(vec![Some(1), Some(2)]),
                None,
                Some(vec![Some(5), None]),
            ]),
            i(&[Some(10), Some(20), Some(100)]),
        ],
    );
    assert_eq!(render(&r), vec!["[11, 12]", "null", "[105, null]"]);
}

#[test]
fn reduce_arrays() {
    // reduce-array.json "reduce an array": REDUCE(numbers, 2, (s, x) => s + x)
    let schema = lambda_schema(&[("S", DataType::Int32), ("X", DataType::Int32)], &[]);
    let body = binary(
        col("S", &schema).unwrap(),
        Operator::Plus,
        col("X", &schema).unwrap(),
        &schema,
    )
    .unwrap();
    let udf = LambdaFunction::Reduce.bind(vec![Lambda {
        schema,
        params: 2,
        body,
    }]);
    let r = run(
        &udf,
        vec![
            ints(vec![
                Some(vec![Some(3), Some(6)]),
                Some(vec![Some(5), None]),
                None,
                Some(vec![]),
            ]),
            i1(2, 4),
        ],
    );
    assert_eq!(out_i(&r), vec![Some(11), None, Some(2), Some(2)]);

    // "reduce a string array": REDUCE(numbers, '', (state, x) => concat(state, x))
    let schema = lambda_schema(&[("STATE", DataType::Utf8), ("X", DataType::Utf8)], &[]);
    let body = call_expr(
        "CONCAT",
        vec![col("STATE", &schema).unwrap(), col("X", &schema).unwrap()],
        &schema,
    );
    let udf = LambdaFunction::Reduce.bind(vec![Lambda {
        schema,
        params: 2,
        body,
    }]);
    let mut b = ListBuilder::new(StringBuilder::new());
    for row in [
        Some(vec![Some("blah"), Some("blah"), Some("blaaah")]),
        Some(vec![Some("to be or"), None]),
        None,
    ] {
        match row {
            Some(v) => {
                for x in v {
                    b.values().append_option(x);
                }
                b.append(true);
            }
            None => b.append_null(),
        }
    }
    let r = run(&udf, vec![Arc::new(b.finish()), s1("", 3)]);
    assert_eq!(
        out_s(&r),
        vec![
            Some("blahblahblaaah".into()),
            Some("to be or".into()),
            Some("".into())
        ]
    );
}

#[test]
fn reduce_map() {
    // reduce-map.json: REDUCE(map, 0, (s, k, v) => CASE WHEN LEN(k) > 3 THEN s + v ELSE s - v END)
    // written here as s + v * SIGN(LEN(k) - 3) for the same entries (no length 3 key).
    let schema = lambda_schema(
        &[
            ("S", DataType::Int32),
            ("K", DataType::Utf8),
            ("V", DataType::Int32),
        ],
        &[],
    );
    let len = call_expr("LEN", vec![col("K", &schema).unwrap()], &schema);
    let sign = call_expr(
        "SIGN",
        vec![binary(len, Operator::Minus, lit(3i32), &schema).unwrap()],
        &schema,
    );
    let body = binary(
        col("S", &schema).unwrap(),
        Operator::Plus,
        binary(
            col("V", &schema).unwrap(),
            Operator::Multiply,
            sign,
            &schema,
        )
        .unwrap(),
        &schema,
    )
    .unwrap();
    let udf = LambdaFunction::Reduce.bind(vec![Lambda {
        schema,
        params: 3,
        body,
    }]);
    let r = run(
        &udf,
        vec![
            str_int_map(vec![
                Some(vec![("12", Some(3)), ("1", Some(7)), ("1234", Some(2))]),
                Some(vec![("1", Some(1)), ("ttttt", None)]),
                None,
            ]),
            i1(0, 3),
        ],
    );
    assert_eq!(out_i(&r), vec![Some(-8), None, Some(0)]);
}

#[test]
fn transform_and_filter_maps() {
    // transform-map.json: TRANSFORM(VALUE, (x,y) => UCASE(x), (x,y) => y + 1)
    let schema = lambda_schema(&[("X", DataType::Utf8), ("Y", DataType::Int32)], &[]);
    let key = call_expr("UCASE", vec![col("X", &schema).unwrap()], &schema);
    let val = binary(
        col("Y", &schema).unwrap(),
        Operator::Plus,
        lit(1i32),
        &schema,
    )
    .unwrap();
    let udf = LambdaFunction::Transform.bind(vec![
        Lambda {
            schema: schema.clone(),
            params: 2,
            body: key,
        },
        Lambda {
            schema: schema.clone(),
            params: 2,
            body: val,
        },
    ]);
    let m = str_int_map(vec![
        Some(vec![("test", Some(3)), ("hello", Some(4))]),
        Some(vec![("a", Some(1)), ("A", Some(2))]),
        Some(vec![("q", None)]),
        None,
    ]);
    let r = run(&udf, vec![m.clone()]);
    // Row 2 maps two keys to "A", row 3 has a NULL value: both NULL, as in ksqlDB.
    assert_eq!(
        render(&r),
        vec!["{TEST=4, HELLO=5}", "null", "null", "null"]
    );

    // FILTER(map, (x, y) => y > 1)
    let body = binary(col("Y", &schema).unwrap(), Operator::Gt, lit(1i32), &schema).unwrap();
    let udf = LambdaFunction::Filter.bind(vec![Lambda {
        schema,
        params: 2,
        body,
    }]);
    let r = run(&udf, vec![m]);
    assert_eq!(render(&r), vec!["{test=3, hello=4}", "{A=2}", "{}", "null"]);
}

#[test]
fn typing_for_the_planner() {
    let arr = crate::functions::list_of(DataType::Int32);
    assert_eq!(
        LambdaFunction::Transform
            .lambda_param_types(std::slice::from_ref(&arr))
            .unwrap(),
        vec![vec![DataType::Int32]]
    );
    assert_eq!(
        LambdaFunction::Reduce
            .lambda_param_types(&[arr.clone(), DataType::Int64])
            .unwrap(),
        vec![vec![DataType::Int64, DataType::Int32]]
    );
    assert_eq!(
        LambdaFunction::Transform
            .return_type(std::slice::from_ref(&arr), &[DataType::Utf8])
            .unwrap(),
        crate::functions::list_of(DataType::Utf8)
    );
    assert!(LambdaFunction::Filter
        .return_type(std::slice::from_ref(&arr), &[DataType::Int32])
        .is_err());
    assert!(LambdaFunction::Filter
        .lambda_param_types(&[DataType::Int32])
        .is_err());
    let reg = FunctionRegistry::new();
    assert_eq!(reg.lambda("transform"), Some(LambdaFunction::Transform));
    assert!(reg.scalar("TRANSFORM").is_none());
    assert!(reg.names().contains(&"REDUCE".to_string()));
    assert!(reg.describe("FILTER").unwrap().variations.len() == 2);
    let _ = ScalarValue::Null;
}
