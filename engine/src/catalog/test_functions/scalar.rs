//! Kernels of the harness's scalar test UDFs (`BAD_UDF`, `TEST_UDF`, `TOSTRUCT`), each
//! transcribing its Java method (see the table in [`super`]).
//!
//! ksqlDB creates one instance of a UDF class per call site of a compiled expression, and
//! `BadUdf` keeps a counter in its instance, so [`instance`] makes a new [`TestScalarUdf`]
//! for every call the expression compiler meets. A Java method that throws makes the
//! kernel fail; so does a NULL passed to a Java primitive parameter (`int`, `long`,
//! `boolean`), which cannot be unboxed. The operator evaluating the expression then
//! does what ksqlDB does with a throwing UDF (the value is NULL and the row is logged).

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, StringArray, StructArray};
use arrow::datatypes::{DataType, Field, Fields};
use brook_sql::SqlType;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::catalog::sql_to_arrow;

/// Java's message when a primitive parameter receives NULL.
const NULL_TO_PRIMITIVE: &str = "java.lang.NullPointerException";

/// A compiled call: the UDF instance, the type each argument is cast to (if any), the
/// result type.
pub type Instance = (Arc<ScalarUDF>, Vec<Option<SqlType>>, SqlType);

/// A new instance of scalar test function `name` (upper case) for this call: the UDF,
/// the type each argument must be cast to, the result type.
pub fn instance(name: &str, args: &[SqlType]) -> Option<std::result::Result<Instance, String>> {
    if !matches!(name, "BAD_UDF" | "TEST_UDF" | "TOSTRUCT") {
        return None;
    }
    Some(super::resolve(name, args).map(|r| {
        let udf = TestScalarUdf {
            name: name.to_string(),
            overload: r.overload,
            ret: sql_to_arrow(&r.ret),
            invocations: Arc::new(AtomicU64::new(0)),
            signature: Signature::user_defined(Volatility::Volatile),
        };
        (Arc::new(ScalarUDF::new_from_impl(udf)), r.params, r.ret)
    }))
}

/// One instance of a test UDF, bound to the overload its call resolved to.
#[derive(Debug)]
pub struct TestScalarUdf {
    name: String,
    overload: usize,
    ret: DataType,
    /// `BadUdf`'s instance field `i`.
    invocations: Arc<AtomicU64>,
    signature: Signature,
}

impl PartialEq for TestScalarUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.invocations, &other.invocations)
    }
}
impl Eq for TestScalarUdf {}
impl Hash for TestScalarUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.overload.hash(state);
    }
}

fn throw<T>(msg: &str) -> Result<T> {
    Err(DataFusionError::Execution(msg.to_string()))
}

/// `STRUCT<A VARCHAR>` values holding `a`.
fn struct_a(a: StringArray) -> ArrayRef {
    let fields = Fields::from(vec![Field::new("A", DataType::Utf8, true)]);
    Arc::new(StructArray::new(
        fields,
        vec![Arc::new(a) as ArrayRef],
        None,
    ))
}

/// The struct's field `A` (by name, else the first field) as strings.
fn field_a(a: &ArrayRef) -> Result<ArrayRef> {
    let s = a.as_struct();
    let col = s
        .column_by_name("A")
        .cloned()
        .or_else(|| s.columns().first().cloned())
        .ok_or_else(|| DataFusionError::Execution("struct without field A".into()))?;
    Ok(arrow::compute::cast(&col, &DataType::Utf8)?)
}

impl TestScalarUdf {
    fn run(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let no_nulls = |cols: &[ArrayRef]| -> Result<()> {
            if cols.iter().any(|c| c.null_count() > 0) {
                throw(NULL_TO_PRIMITIVE)
            } else {
                Ok(())
            }
        };
        let constant = |s: &str| -> ArrayRef { Arc::new(StringArray::from(vec![s; rows])) };
        match (self.name.as_str(), self.overload) {
            // `String blowUp(int)`
            ("BAD_UDF", 0) => {
                if rows == 0 {
                    Ok(Arc::new(StringArray::from(Vec::<Option<String>>::new())))
                } else {
                    throw("boom!")
                }
            }
            // `int mightThrow(boolean)`
            ("BAD_UDF", 1) => {
                no_nulls(args)?;
                let b: &BooleanArray = args[0].as_boolean();
                if b.iter().any(|v| v == Some(true)) {
                    return throw("You asked me to throw...");
                }
                Ok(Arc::new(Int32Array::from(vec![0; rows])))
            }
            // `String returnNull(String)`: `i++ % 2 == 0 ? null : arg`
            ("BAD_UDF", _) => {
                let s = arrow::compute::cast(&args[0], &DataType::Utf8)?;
                let s = s.as_string::<i32>();
                let out: StringArray = (0..rows)
                    .map(|r| {
                        let i = self.invocations.fetch_add(1, Ordering::Relaxed);
                        if i.is_multiple_of(2) || s.is_null(r) {
                            None
                        } else {
                            Some(s.value(r).to_string())
                        }
                    })
                    .collect();
                Ok(Arc::new(out))
            }
            ("TEST_UDF", 0) => {
                no_nulls(&args[..1])?;
                Ok(constant("doStuffIntString"))
            }
            ("TEST_UDF", 1) => {
                no_nulls(&args[..1])?;
                Ok(constant("doStuffLongString"))
            }
            ("TEST_UDF", 2) => {
                no_nulls(&args[..2])?;
                Ok(constant("doStuffLongLongString"))
            }
            // `doStuffLongVarargs(long...)`: the elements are unboxed into a `long[]`.
            ("TEST_UDF", 3) => {
                no_nulls(args)?;
                Ok(constant("doStuffLongVarargs"))
            }
            // `doStuffStruct(Struct)`: `struct.getString("A")`
            ("TEST_UDF", 4) => {
                no_nulls(args)?;
                field_a(&args[0])
            }
            // `returnStructStuff()`
            ("TEST_UDF", _) => Ok(struct_a(StringArray::from(vec!["foo"; rows]))),
            // `ToStruct.fromString(String)`: a struct with `A` set to the argument.
            ("TOSTRUCT", _) => {
                let s = arrow::compute::cast(&args[0], &DataType::Utf8)?;
                Ok(struct_a(s.as_string::<i32>().clone()))
            }
            (other, _) => throw(&format!("no kernel for test function {other}")),
        }
    }
}

impl ScalarUDFImpl for TestScalarUdf {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.ret.clone())
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        Ok(arg_types.to_vec())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let out = self.run(&arrays, rows)?;
        let out = if out.data_type() != &self.ret {
            arrow::compute::cast(&out, &self.ret)?
        } else {
            out
        };
        Ok(ColumnarValue::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::common::config::ConfigOptions;

    fn call(udf: &ScalarUDF, args: Vec<ArrayRef>, ret: &SqlType) -> Result<ArrayRef> {
        let rows = args.first().map(|a| a.len()).unwrap_or(1);
        let arg_fields = args
            .iter()
            .map(|a| Arc::new(Field::new("a", a.data_type().clone(), true)))
            .collect();
        udf.invoke_with_args(ScalarFunctionArgs {
            args: args.into_iter().map(ColumnarValue::Array).collect(),
            arg_fields,
            number_rows: rows,
            return_field: Arc::new(Field::new("r", sql_to_arrow(ret), true)),
            config_options: Arc::new(ConfigOptions::default()),
        })?
        .into_array(rows)
    }

    #[test]
    fn bad_udf_returns_null_every_other_call_per_instance() {
        let (udf, params, ret) = instance("BAD_UDF", &[SqlType::String]).unwrap().unwrap();
        assert_eq!(params, vec![Some(SqlType::String)]);
        let input: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c"]));
        let out = call(&udf, vec![input.clone()], &ret).unwrap();
        let out = out.as_string::<i32>();
        assert!(out.is_null(0) && out.value(1) == "b" && out.is_null(2));
        // The counter lives on: the next call starts at an odd invocation.
        let out = call(&udf, vec![Arc::new(StringArray::from(vec!["d"]))], &ret).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "d");
        // A new call site is a new instance.
        let (fresh, _, _) = instance("BAD_UDF", &[SqlType::String]).unwrap().unwrap();
        assert!(call(&fresh, vec![input], &ret).unwrap().is_null(0));
    }

    #[test]
    fn bad_udf_throws_as_java_does() {
        let (blow_up, _, ret) = instance("BAD_UDF", &[SqlType::Int]).unwrap().unwrap();
        let e = call(&blow_up, vec![Arc::new(Int32Array::from(vec![1]))], &ret).unwrap_err();
        assert!(e.to_string().contains("boom!"));
        let (might, _, ret) = instance("BAD_UDF", &[SqlType::Boolean]).unwrap().unwrap();
        assert_eq!(ret, SqlType::Int);
        let ok = call(
            &might,
            vec![Arc::new(BooleanArray::from(vec![false]))],
            &ret,
        )
        .unwrap();
        assert_eq!(ok.as_primitive::<arrow::datatypes::Int32Type>().value(0), 0);
        assert!(call(&might, vec![Arc::new(BooleanArray::from(vec![true]))], &ret).is_err());
        // NULL cannot be unboxed to `boolean`.
        let null: ArrayRef = Arc::new(BooleanArray::from(vec![None]));
        assert!(call(&might, vec![null], &ret).is_err());
    }

    #[test]
    fn test_udf_names_the_java_method_and_reads_structs() {
        let (udf, params, ret) = instance("TEST_UDF", &[SqlType::Int, SqlType::String])
            .unwrap()
            .unwrap();
        assert_eq!(params, vec![Some(SqlType::Int), Some(SqlType::String)]);
        let out = call(
            &udf,
            vec![
                Arc::new(Int32Array::from(vec![1])),
                Arc::new(StringArray::from(vec![None::<&str>])),
            ],
            &ret,
        )
        .unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "doStuffIntString");
        let (unit, _, ret) = instance("TEST_UDF", &[]).unwrap().unwrap();
        let out = call(&unit, vec![], &ret).unwrap();
        assert_eq!(field_a(&out).unwrap().as_string::<i32>().value(0), "foo");
        let (to_struct, _, ret) = instance("TOSTRUCT", &[SqlType::String]).unwrap().unwrap();
        let s = call(
            &to_struct,
            vec![Arc::new(StringArray::from(vec!["x"]))],
            &ret,
        )
        .unwrap();
        let (get_a, _, ret) = instance("TEST_UDF", &[ret]).unwrap().unwrap();
        let out = call(&get_a, vec![s], &ret).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), "x");
        assert!(instance("TEST_UDAF", &[SqlType::Int]).is_none());
    }
}
