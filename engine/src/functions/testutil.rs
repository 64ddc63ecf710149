//! Test helpers: call a registered function on Arrow arrays exactly as DataFusion would.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
};
use arrow::datatypes::{DataType, Field};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs};

use super::FunctionRegistry;

thread_local! {
    static REG: FunctionRegistry = FunctionRegistry::new();
}

/// Runs `name(args...)` over arrays (all of the same length, or scalars of length 1).
pub fn call(name: &str, args: Vec<ArrayRef>) -> Result<ArrayRef> {
    let rows = args.iter().map(|a| a.len()).max().unwrap_or(1);
    call_values(
        name,
        args.into_iter().map(ColumnarValue::Array).collect(),
        rows,
    )
    .and_then(|v| v.into_array(rows))
}

/// Runs `name` with columnar values (to exercise the all-scalar path).
pub fn call_values(name: &str, args: Vec<ColumnarValue>, rows: usize) -> Result<ColumnarValue> {
    REG.with(|reg| {
        let udf = reg
            .scalar(name)
            .unwrap_or_else(|| panic!("{name} registered"));
        let types: Vec<DataType> = args.iter().map(|a| a.data_type()).collect();
        let ret = reg.return_type(name, &types)?;
        let arg_fields = types
            .iter()
            .map(|t| Arc::new(Field::new("a", t.clone(), true)))
            .collect();
        udf.invoke_with_args(ScalarFunctionArgs {
            args,
            arg_fields,
            number_rows: rows,
            return_field: Arc::new(Field::new(name, ret, true)),
            config_options: Arc::new(ConfigOptions::default()),
        })
    })
}

/// The error message of a failing call.
pub fn call_err(name: &str, args: Vec<ArrayRef>) -> String {
    match call(name, args) {
        Ok(a) => panic!("{name} should fail, returned {a:?}"),
        Err(e) => e.to_string(),
    }
}

/// The scalar a one-row call returns.
pub fn call1(name: &str, args: Vec<ScalarValue>) -> ScalarValue {
    let v = call_values(
        name,
        args.into_iter().map(ColumnarValue::Scalar).collect(),
        1,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    match v {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0).unwrap(),
    }
}

pub fn s(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}
pub fn s1(v: &str, n: usize) -> ArrayRef {
    Arc::new(StringArray::from(vec![Some(v); n]))
}
pub fn i(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}
pub fn i1(v: i32, n: usize) -> ArrayRef {
    Arc::new(Int32Array::from(vec![Some(v); n]))
}
pub fn l(v: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}
pub fn d(v: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}
pub fn b(v: &[Option<bool>]) -> ArrayRef {
    Arc::new(BooleanArray::from(v.to_vec()))
}
pub fn bytes<T: AsRef<[u8]>>(v: &[Option<T>]) -> ArrayRef {
    Arc::new(BinaryArray::from(
        v.iter()
            .map(|x| x.as_ref().map(|b| b.as_ref()))
            .collect::<Vec<_>>(),
    ))
}

/// Values of a Utf8 result.
pub fn out_s(a: &ArrayRef) -> Vec<Option<String>> {
    let a = a.as_any().downcast_ref::<StringArray>().expect("Utf8");
    a.iter().map(|v| v.map(str::to_string)).collect()
}
pub fn out_i(a: &ArrayRef) -> Vec<Option<i32>> {
    let a = a.as_any().downcast_ref::<Int32Array>().expect("Int32");
    a.iter().collect()
}
pub fn out_l(a: &ArrayRef) -> Vec<Option<i64>> {
    let a = a.as_any().downcast_ref::<Int64Array>().expect("Int64");
    a.iter().collect()
}
pub fn out_d(a: &ArrayRef) -> Vec<Option<f64>> {
    let a = a.as_any().downcast_ref::<Float64Array>().expect("Float64");
    a.iter().collect()
}
pub fn out_b(a: &ArrayRef) -> Vec<Option<bool>> {
    let a = a.as_any().downcast_ref::<BooleanArray>().expect("Boolean");
    a.iter().collect()
}
pub fn out_bytes(a: &ArrayRef) -> Vec<Option<Vec<u8>>> {
    let a = a.as_any().downcast_ref::<BinaryArray>().expect("Binary");
    a.iter().map(|v| v.map(<[u8]>::to_vec)).collect()
}

/// Renders any array's values as JSON-ish text for compact assertions on nested results
/// (`[1, 2]`, `{a=1}`, `null`).
pub fn render(a: &ArrayRef) -> Vec<String> {
    (0..a.len())
        .map(|i| {
            let v = ScalarValue::try_from_array(a, i).unwrap();
            render_scalar(&v)
        })
        .collect()
}

fn render_scalar(v: &ScalarValue) -> String {
    if v.is_null() {
        return "null".into();
    }
    match v {
        ScalarValue::List(l) => {
            let arr = l.value(0);
            format!("[{}]", render(&arr).join(", "))
        }
        ScalarValue::Map(m) => {
            let entries = m.value(0);
            let keys = render(entries.column(0));
            let vals = render(entries.column(1));
            format!(
                "{{{}}}",
                keys.iter()
                    .zip(vals)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        ScalarValue::Utf8(Some(s)) => s.clone(),
        other => other.to_string(),
    }
}
