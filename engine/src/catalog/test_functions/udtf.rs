//! The harness's test table functions, `TEST_UDTF` (`udf.TestUdtf`) and `THROWING_UDTF`
//! (`udf.ThrowingUdtf`), transcribing their Java methods.
//!
//! A method that throws (including a NULL passed to a Java primitive parameter, or read
//! through one: `list.get(0)` of an empty list, `ImmutableList.of(null)`) yields an `Err`:
//! ksqlDB then logs the row and produces nothing for it.

use arrow::array::{Array, ArrayRef, AsArray, MapArray};
use arrow::datatypes::DataType;
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use crate::catalog::sql_to_arrow;
use crate::java_text::java_double;

const NPE: &str = "java.lang.NullPointerException";

/// A call of a test table function, bound to the overload it resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct TestUdtf {
    name: String,
    overload: usize,
    /// The type each argument is cast to before the call.
    params: Vec<Option<DataType>>,
}

/// The call of test table function `name` (upper case) over these argument types, and the
/// type of the values it produces; `None` if `name` is not one.
pub fn instance(
    name: &str,
    args: &[SqlType],
) -> Option<std::result::Result<(TestUdtf, SqlType), String>> {
    if !matches!(name, "TEST_UDTF" | "THROWING_UDTF") {
        return None;
    }
    Some(super::resolve(name, args).map(|r| {
        (
            TestUdtf {
                name: name.to_string(),
                overload: r.overload,
                params: r
                    .params
                    .iter()
                    .map(|p| p.as_ref().map(sql_to_arrow))
                    .collect(),
            },
            r.ret,
        )
    }))
}

/// `String.valueOf(x)` of one value (`"null"` for NULL), as Java prints it: doubles as
/// `Double.toString`, decimals with their scale, structs as Kafka Connect's
/// `Struct{A=bar}`.
fn java_string(a: &ArrayRef, row: usize) -> Result<String, String> {
    if a.is_null(row) {
        return Ok("null".into());
    }
    Ok(match a.data_type() {
        DataType::Float64 => {
            java_double(a.as_primitive::<arrow::datatypes::Float64Type>().value(row))
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let parts = fields
                .iter()
                .zip(s.columns())
                .filter(|(_, c)| !c.is_null(row))
                .map(|(f, c)| Ok(format!("{}={}", f.name(), java_string(c, row)?)))
                .collect::<Result<Vec<_>, String>>()?;
            format!("Struct{{{}}}", parts.join(","))
        }
        _ => {
            let one = a.slice(row, 1);
            let s = arrow::compute::cast(&one, &DataType::Utf8).map_err(|e| e.to_string())?;
            s.as_string::<i32>().value(0).to_string()
        }
    })
}

/// `list.get(0)`: the first element (an exception for an empty or NULL list).
fn first_element(a: &ArrayRef, row: usize) -> Result<ArrayRef, String> {
    if a.is_null(row) {
        return Err(NPE.into());
    }
    let l = a.as_list::<i32>().value(row);
    if l.is_empty() {
        return Err(
            "java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0".into(),
        );
    }
    Ok(l.slice(0, 1))
}

/// `map.values().iterator().next()`: the first value (an exception for an empty or NULL
/// map).
fn first_value(a: &ArrayRef, row: usize) -> Result<ArrayRef, String> {
    if a.is_null(row) {
        return Err(NPE.into());
    }
    let m: &MapArray = a.as_map();
    let entries = m.value(row);
    if entries.is_empty() {
        return Err("java.util.NoSuchElementException".into());
    }
    Ok(entries.column(1).slice(0, 1))
}

impl TestUdtf {
    /// Casts a batch's argument arrays to the overload's parameter types.
    pub fn prepare(&self, args: &[ArrayRef]) -> Result<Vec<ArrayRef>, String> {
        args.iter()
            .zip(self.params.iter().chain(std::iter::repeat(&None)))
            .map(|(a, p)| match p {
                Some(t) if a.data_type() != t => {
                    arrow::compute::cast(a, t).map_err(|e| e.to_string())
                }
                _ => Ok(a.clone()),
            })
            .collect()
    }

    /// The values the function returns for `row` of `args` (prepared), or the message of
    /// the exception it throws.
    pub fn produce(&self, args: &[ArrayRef], row: usize) -> Result<Vec<ScalarValue>, String> {
        let value =
            |a: &ArrayRef, r: usize| ScalarValue::try_from_array(a, r).map_err(|e| e.to_string());
        let strings = |items: Vec<String>| -> Vec<ScalarValue> {
            items
                .into_iter()
                .map(|s| ScalarValue::Utf8(Some(s)))
                .collect()
        };
        match (self.name.as_str(), self.overload) {
            // `throwIfTrue(boolean)`
            ("THROWING_UDTF", _) => {
                let b = &args[0];
                if b.is_null(row) {
                    return Err(NPE.into());
                }
                if b.as_boolean().value(row) {
                    return Err("You asked me to throw...".into());
                }
                Ok(vec![ScalarValue::Boolean(Some(false))])
            }
            // `standardParams(int, long, double, boolean, String, BigDecimal, Struct)`:
            // `ImmutableList.of(String.valueOf(i), ..., s, bd.toString(), struct.toString())`
            // throws on any NULL (unboxing, `toString()`, or a NULL list element).
            ("TEST_UDTF", 0) => {
                if args.iter().any(|a| a.is_null(row)) {
                    return Err(NPE.into());
                }
                Ok(strings(
                    args.iter()
                        .map(|a| java_string(a, row))
                        .collect::<Result<_, _>>()?,
                ))
            }
            // `parameterizedListParams` / `parameterizedMapParams(2)`: the first element or
            // value of each, through `String.valueOf` (decimal and struct `toString()`).
            ("TEST_UDTF", 1..=3) => {
                let mut out = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let first = if self.overload == 1 {
                        first_element(a, row)?
                    } else {
                        first_value(a, row)?
                    };
                    // `s.get(0)` itself, `bd.get(0).toString()`, `struct.get(0).toString()`:
                    // a NULL there throws; `String.valueOf` prints the others as "null".
                    if first.is_null(0) && i >= 4 {
                        return Err(NPE.into());
                    }
                    out.push(ScalarValue::Utf8(Some(java_string(&first, 0)?)));
                }
                Ok(out)
            }
            // `listXReturn(x)`: `ImmutableList.of(x)`, which rejects NULL.
            ("TEST_UDTF", _) => {
                if args[0].is_null(row) {
                    return Err(NPE.into());
                }
                Ok(vec![value(&args[0], row)?])
            }
            (other, _) => Err(format!("no kernel for test table function {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{BooleanArray, Decimal128Array, Float64Array, Int32Array, Int64Array};
    use arrow::array::{StringArray, StructArray};
    use arrow::datatypes::{Field, Fields};

    use super::*;

    fn struct_a(v: &str) -> ArrayRef {
        Arc::new(StructArray::new(
            Fields::from(vec![Field::new("A", DataType::Utf8, true)]),
            vec![Arc::new(StringArray::from(vec![v])) as ArrayRef],
            None,
        ))
    }

    #[test]
    fn standard_params_print_as_java_does() {
        let types = [
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::Boolean,
            SqlType::String,
            SqlType::decimal(20, 10),
            SqlType::Struct(vec![("A".into(), SqlType::String)]),
        ];
        let (f, ret) = instance("TEST_UDTF", &types).unwrap().unwrap();
        assert_eq!(ret, SqlType::String);
        let args: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![2])),
            Arc::new(Float64Array::from(vec![3.1])),
            Arc::new(BooleanArray::from(vec![true])),
            Arc::new(StringArray::from(vec!["foo"])),
            Arc::new(
                Decimal128Array::from(vec![1_234_560_000_000i128])
                    .with_precision_and_scale(20, 10)
                    .unwrap(),
            ),
            struct_a("bar"),
        ];
        let args = f.prepare(&args).unwrap();
        let out: Vec<String> = f
            .produce(&args, 0)
            .unwrap()
            .into_iter()
            .map(|v| v.to_string())
            .collect();
        assert_eq!(
            out,
            [
                "1",
                "2",
                "3.1",
                "true",
                "foo",
                "123.4560000000",
                "Struct{A=bar}"
            ]
        );
        // NULL cannot be unboxed to `int`.
        let mut with_null = args.clone();
        with_null[0] = Arc::new(Int32Array::from(vec![None]));
        assert!(f.produce(&with_null, 0).is_err());
    }

    #[test]
    fn single_value_overloads_and_throwing_udtf() {
        let (f, ret) = instance("TEST_UDTF", &[SqlType::Int]).unwrap().unwrap();
        assert_eq!(ret, SqlType::Int);
        let v: ArrayRef = Arc::new(Int32Array::from(vec![Some(10), None]));
        assert_eq!(
            f.produce(std::slice::from_ref(&v), 0).unwrap(),
            vec![ScalarValue::Int32(Some(10))]
        );
        assert!(f.produce(&[v], 1).is_err());
        let (t, _) = instance("THROWING_UDTF", &[SqlType::Boolean])
            .unwrap()
            .unwrap();
        let b: ArrayRef = Arc::new(BooleanArray::from(vec![false, true]));
        assert_eq!(
            t.produce(std::slice::from_ref(&b), 0).unwrap(),
            vec![ScalarValue::Boolean(Some(false))]
        );
        assert_eq!(t.produce(&[b], 1).unwrap_err(), "You asked me to throw...");
    }
}
