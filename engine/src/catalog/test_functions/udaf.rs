//! The harness's test aggregate functions (`TEST_UDAF`, `VAR_ARG`, `MID_VAR_ARG`,
//! `MULTI_ARG`, `FOUR_ARG`, `FIVE_ARG`, `OBJ_COL_ARG`, `GENERIC_VAR_ARG`), transcribing
//! the `initialize` / `aggregate` / `undo` / `merge` / `map` of their Java classes in
//! `ksqldb-engine/src/test/java/io/confluent/ksql/function/udaf/`.
//!
//! Java `long` arithmetic wraps; `String.length()` counts UTF-16 units; a NULL where Java
//! unboxes or dereferences it (`aggregate + value` in `TestUdaf`'s sums) throws, which is
//! an error here.

use std::any::Any;
use std::sync::Arc;

use arrow::array::Array;
use arrow::datatypes::DataType;
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use crate::aggregate::codec::{read_value, tag, write_value_or_null, Reader, Writer};
use crate::aggregate::{Accumulator, AggregateError, AggregateFunction, UdafFactory};
use crate::catalog::sql_to_arrow;

const NPE: &str = "java.lang.NullPointerException";

fn npe() -> AggregateError {
    AggregateError::InvalidArgument(NPE.into())
}

/// Java's `String.length()`.
fn java_len(s: &str) -> i64 {
    s.encode_utf16().count() as i64
}

/// How many of a call's arguments are per-row columns (the rest are the Java factory's
/// literal init arguments), for the test aggregates whose count depends on the call.
pub fn column_args(name: &str, n_args: usize) -> Option<usize> {
    match name {
        "MULTI_ARG" => Some(2),
        "FOUR_ARG" => Some(4),
        "FIVE_ARG" => Some(5),
        // `createVarArgUdaf(int first, int second)`: the last two.
        "MID_VAR_ARG" => Some(n_args.saturating_sub(2)),
        // `createSumLengthString(String initialString)`.
        "TEST_UDAF" if n_args == 2 => Some(1),
        "TEST_UDAF" | "VAR_ARG" | "OBJ_COL_ARG" | "GENERIC_VAR_ARG" => Some(n_args),
        _ => None,
    }
}

/// What one test aggregate computes, with its factory's init arguments applied.
#[derive(Debug, Clone, PartialEq)]
enum Udaf {
    /// `TestUdaf.createSumLong` (a `TableUdaf`).
    SumLong,
    /// `TestUdaf.createSumInt` (a `TableUdaf`).
    SumInt,
    /// `TestUdaf.createSumDouble`.
    SumDouble,
    /// `TestUdaf.createSumLengthString(initialString)`: starts at its length.
    SumLength { init: i64 },
    /// `TestUdaf.createStructUdaf`: field-wise sums of `STRUCT<A INT, B INT>`.
    SumStruct,
    /// `VarArgUdaf`, `MultiArgUdaf`, `FourArgUdaf`, `FiveArgUdaf`, `MiddleVarArgUdaf`: the
    /// sum of the long, the string lengths and the ints of each row (NULLs count 0), from
    /// `init`; `map` adds `constant`.
    Sum { init: i64, constant: i64 },
    /// `ObjVarColArgUdaf` / `GenericVarArgUdaf`: the first argument of every row whose
    /// arguments are all non-null.
    CollectIfAllNonNull,
}

#[derive(Debug)]
struct Factory {
    udaf: Udaf,
    /// Arrow type of the result (and of `CollectIfAllNonNull`'s elements' list).
    data_type: DataType,
}

/// The state of one group.
#[derive(Debug, Clone, PartialEq)]
enum State {
    Long(i64),
    Double(f64),
    Pair(i32, i32),
    List(Vec<ScalarValue>),
}

#[derive(Debug)]
struct TestAccumulator {
    udaf: Udaf,
    data_type: DataType,
    state: State,
}

/// The aggregate function for a call of test UDAF `name` (upper case), if it is one: the
/// analyzer's argument types, how many are columns, the literal init arguments and the
/// result type.
pub fn function(
    name: &str,
    arg_types: &[SqlType],
    column_args: usize,
    literals: &[ScalarValue],
    return_type: &SqlType,
) -> Option<Result<AggregateFunction, AggregateError>> {
    let invalid = |m: String| AggregateError::InvalidArgument(m);
    let resolved = match super::resolve(name, arg_types) {
        Ok(r) => r,
        Err(e) => return Some(Err(invalid(e))),
    };
    let int_lit = |i: usize| -> Result<i64, AggregateError> {
        match literals.get(i) {
            Some(ScalarValue::Int32(Some(v))) => Ok(*v as i64),
            Some(ScalarValue::Int64(Some(v))) => Ok(*v),
            other => Err(invalid(format!(
                "{name} expects an INT literal, got {other:?}"
            ))),
        }
    };
    let str_len = |v: &ScalarValue| -> Result<i64, AggregateError> {
        match v {
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => Ok(java_len(s)),
            ScalarValue::Utf8(None) => Err(npe()),
            other => Err(invalid(format!(
                "{name} expects STRING literals, got {other:?}"
            ))),
        }
    };
    // `initArg1 + Arrays.stream(initArg2).map(String::length).reduce(0, Integer::sum)`
    let int_plus_lengths = || -> Result<i64, AggregateError> {
        let mut total = int_lit(0)?;
        for v in literals.iter().skip(1) {
            total = total.wrapping_add(str_len(v)?);
        }
        Ok(total)
    };
    let build = || -> Result<Udaf, AggregateError> {
        Ok(match (name, resolved.overload) {
            ("TEST_UDAF", 0) => Udaf::SumLong,
            ("TEST_UDAF", 1) => Udaf::SumInt,
            ("TEST_UDAF", 2) => Udaf::SumDouble,
            ("TEST_UDAF", 3) => Udaf::SumLength {
                init: str_len(literals.first().ok_or_else(npe)?)?,
            },
            ("TEST_UDAF", _) => Udaf::SumStruct,
            ("VAR_ARG", _) => Udaf::Sum {
                init: 0,
                constant: 0,
            },
            ("MID_VAR_ARG", _) => Udaf::Sum {
                init: 0,
                constant: int_lit(0)?.wrapping_add(int_lit(1)?),
            },
            ("MULTI_ARG" | "FOUR_ARG" | "FIVE_ARG", _) => Udaf::Sum {
                init: int_plus_lengths()?,
                constant: 0,
            },
            ("OBJ_COL_ARG" | "GENERIC_VAR_ARG", _) => Udaf::CollectIfAllNonNull,
            (other, _) => return Err(AggregateError::UnknownFunction(other.to_string())),
        })
    };
    if !matches!(
        name,
        "TEST_UDAF"
            | "VAR_ARG"
            | "MID_VAR_ARG"
            | "MULTI_ARG"
            | "FOUR_ARG"
            | "FIVE_ARG"
            | "OBJ_COL_ARG"
            | "GENERIC_VAR_ARG"
    ) {
        return None;
    }
    Some(build().map(|udaf| {
        let factory = Factory {
            udaf,
            data_type: sql_to_arrow(return_type),
        };
        AggregateFunction::external(name, return_type, column_args, Arc::new(factory))
    }))
}

impl Factory {
    fn initial(&self) -> State {
        match &self.udaf {
            Udaf::SumLong | Udaf::SumInt => State::Long(0),
            Udaf::SumDouble => State::Double(0.0),
            Udaf::SumLength { init } | Udaf::Sum { init, .. } => State::Long(*init),
            Udaf::SumStruct => State::Pair(0, 0),
            Udaf::CollectIfAllNonNull => State::List(Vec::new()),
        }
    }
}

impl UdafFactory for Factory {
    fn create(&self) -> Box<dyn Accumulator> {
        Box::new(TestAccumulator {
            udaf: self.udaf.clone(),
            data_type: self.data_type.clone(),
            state: self.initial(),
        })
    }

    fn load(&self, bytes: &[u8]) -> Result<Box<dyn Accumulator>, AggregateError> {
        let mut r = Reader::new(bytes, tag::TEST_UDAF)?;
        let state = match r.u8()? {
            0 => State::Long(r.i64()?),
            1 => State::Double(r.f64()?),
            2 => State::Pair(r.i32()?, r.i32()?),
            _ => {
                let elem = match &self.data_type {
                    DataType::List(f) => f.data_type().clone(),
                    other => other.clone(),
                };
                let n = r.len()?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(read_value(&mut r, &elem)?);
                }
                State::List(v)
            }
        };
        r.finish()?;
        Ok(Box::new(TestAccumulator {
            udaf: self.udaf.clone(),
            data_type: self.data_type.clone(),
            state,
        }))
    }

    fn supports_retract(&self) -> bool {
        // Only `createSumLong` and `createSumInt` return a `TableUdaf`.
        matches!(self.udaf, Udaf::SumLong | Udaf::SumInt)
    }

    fn intermediate_is_primitive(&self) -> bool {
        !matches!(self.udaf, Udaf::SumStruct | Udaf::CollectIfAllNonNull)
    }
}

fn as_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(x) => x.map(i64::from),
        ScalarValue::Int16(x) => x.map(i64::from),
        ScalarValue::Int32(x) => x.map(i64::from),
        ScalarValue::Int64(x) => *x,
        _ => None,
    }
}

/// A row's contribution to the null-safe sums: longs and ints as they are, strings by
/// length, NULL as 0.
fn contribution(v: &ScalarValue) -> i64 {
    match v {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) => java_len(s),
        other => as_i64(other).unwrap_or(0),
    }
}

/// `struct.getInt32(name)` (NULL struct or field: an exception when unboxed).
fn struct_int(v: &ScalarValue, name: &str) -> Result<i32, AggregateError> {
    let ScalarValue::Struct(s) = v else {
        return Err(npe());
    };
    if s.is_null(0) {
        return Err(npe());
    }
    let col = s.column_by_name(name).ok_or_else(npe)?;
    match ScalarValue::try_from_array(col, 0) {
        Ok(ScalarValue::Int32(Some(x))) => Ok(x),
        _ => Err(npe()),
    }
}

impl Accumulator for TestAccumulator {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        match (&self.udaf, &mut self.state) {
            (Udaf::SumLong | Udaf::SumInt, State::Long(total)) => {
                let v = args.first().and_then(as_i64).ok_or_else(npe)?;
                *total = total.wrapping_add(v);
            }
            (Udaf::SumDouble, State::Double(total)) => match args.first() {
                Some(ScalarValue::Float64(Some(v))) => *total += v,
                _ => return Err(npe()),
            },
            (Udaf::SumLength { .. }, State::Long(total)) => match args.first() {
                Some(ScalarValue::Utf8(Some(s))) => *total = total.wrapping_add(java_len(s)),
                _ => return Err(npe()),
            },
            (Udaf::SumStruct, State::Pair(a, b)) => {
                let v = args.first().ok_or_else(npe)?;
                // `current.getInt32("A") + aggregate.getInt32("A")`: int arithmetic.
                let (x, y) = (struct_int(v, "A")?, struct_int(v, "B")?);
                *a = a.wrapping_add(x);
                *b = b.wrapping_add(y);
            }
            (Udaf::Sum { .. }, State::Long(total)) => {
                for v in args {
                    *total = total.wrapping_add(contribution(v));
                }
            }
            (Udaf::CollectIfAllNonNull, State::List(items)) => {
                if !args.is_empty() && args.iter().all(|v| !v.is_null()) {
                    items.push(args[0].clone());
                }
            }
            (u, s) => {
                return Err(AggregateError::InvalidArgument(format!(
                    "test UDAF {u:?} with state {s:?}"
                )))
            }
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        match (&self.udaf, &mut self.state) {
            // `undo(valueToUndo, aggregateValue)`: `aggregateValue - valueToUndo`.
            (Udaf::SumLong | Udaf::SumInt, State::Long(total)) => {
                let v = args.first().and_then(as_i64).ok_or_else(npe)?;
                *total = total.wrapping_sub(v);
                Ok(())
            }
            _ => Err(AggregateError::NotRetractable("TEST_UDAF".into())),
        }
    }

    fn value(&self) -> ScalarValue {
        let v = match (&self.udaf, &self.state) {
            (Udaf::Sum { constant, .. }, State::Long(t)) => {
                ScalarValue::Int64(Some(t.wrapping_add(*constant)))
            }
            (_, State::Long(t)) => ScalarValue::Int64(Some(*t)),
            (_, State::Double(t)) => ScalarValue::Float64(Some(*t)),
            (_, State::Pair(a, b)) => {
                let fields = match &self.data_type {
                    DataType::Struct(f) => f.clone(),
                    _ => {
                        return ScalarValue::try_from(&self.data_type).unwrap_or(ScalarValue::Null)
                    }
                };
                let cols: Vec<arrow::array::ArrayRef> = vec![
                    Arc::new(arrow::array::Int32Array::from(vec![*a])),
                    Arc::new(arrow::array::Int32Array::from(vec![*b])),
                ];
                ScalarValue::Struct(Arc::new(arrow::array::StructArray::new(fields, cols, None)))
            }
            (_, State::List(items)) => {
                let elem = match &self.data_type {
                    DataType::List(f) => f.data_type().clone(),
                    other => other.clone(),
                };
                ScalarValue::List(ScalarValue::new_list_nullable(items, &elem))
            }
        };
        if v.data_type() == self.data_type {
            v
        } else {
            v.cast_to(&self.data_type).unwrap_or(v)
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::TEST_UDAF);
        match &self.state {
            State::Long(v) => {
                w.u8(0);
                w.i64(*v);
            }
            State::Double(v) => {
                w.u8(1);
                w.f64(*v);
            }
            State::Pair(a, b) => {
                w.u8(2);
                w.i64(*a as i64);
                w.i64(*b as i64);
            }
            State::List(items) => {
                w.u8(3);
                w.usize(items.len());
                let elem = match &self.data_type {
                    DataType::List(f) => f.data_type().clone(),
                    other => other.clone(),
                };
                for v in items {
                    write_value_or_null(&mut w, v, &elem);
                }
            }
        }
        w.finish()
    }

    /// `merge(aggOne, aggTwo)`: sums add, lists concatenate.
    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let other = other
            .as_any()
            .downcast_ref::<TestAccumulator>()
            .ok_or_else(|| AggregateError::InvalidArgument("merge of another function".into()))?;
        match (&mut self.state, &other.state) {
            (State::Long(a), State::Long(b)) => *a = a.wrapping_add(*b),
            (State::Double(a), State::Double(b)) => *a += b,
            (State::Pair(a, b), State::Pair(c, d)) => {
                *a = a.wrapping_add(*c);
                *b = b.wrapping_add(*d);
            }
            (State::List(a), State::List(b)) => a.extend(b.iter().cloned()),
            _ => {
                return Err(AggregateError::InvalidArgument(
                    "merge of another function".into(),
                ))
            }
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, types: &[SqlType], lits: Vec<ScalarValue>) -> AggregateFunction {
        let cols = column_args(name, types.len()).unwrap();
        let ret = super::super::return_type(name, types).unwrap();
        function(name, types, cols, &lits, &ret).unwrap().unwrap()
    }

    fn s(v: Option<&str>) -> ScalarValue {
        ScalarValue::Utf8(v.map(str::to_string))
    }

    #[test]
    fn sums_of_longs_and_string_lengths_from_init_args() {
        use SqlType as T;
        // MULTI_ARG(FIRST, SECOND, 5, '10', '20', '3'): starts at 5 + 2 + 2 + 1.
        let f = call(
            "MULTI_ARG",
            &[
                T::BigInt,
                T::String,
                T::Int,
                T::String,
                T::String,
                T::String,
            ],
            vec![
                ScalarValue::Int32(Some(5)),
                s(Some("10")),
                s(Some("20")),
                s(Some("3")),
            ],
        );
        let mut acc = f.create();
        acc.add(&[ScalarValue::Int64(Some(6)), s(Some("hi"))])
            .unwrap();
        assert_eq!(acc.value(), ScalarValue::Int64(Some(18)));
        acc.add(&[ScalarValue::Int64(None), s(Some("hello"))])
            .unwrap();
        assert_eq!(acc.value(), ScalarValue::Int64(Some(23)));
        let back = f.load(&acc.save()).unwrap();
        assert_eq!(back.value(), ScalarValue::Int64(Some(23)));
        // MID_VAR_ARG(FIRST, 7, 3): `map` adds 10.
        let f = call(
            "MID_VAR_ARG",
            &[T::BigInt, T::Int, T::Int],
            vec![ScalarValue::Int32(Some(7)), ScalarValue::Int32(Some(3))],
        );
        let mut acc = f.create();
        acc.add(&[ScalarValue::Int64(Some(6))]).unwrap();
        assert_eq!(acc.value(), ScalarValue::Int64(Some(16)));
    }

    #[test]
    fn test_udaf_undoes_over_tables_and_sums_structs() {
        use SqlType as T;
        let f = call("TEST_UDAF", &[T::BigInt], vec![]);
        assert!(f.supports_retract());
        let mut acc = f.create();
        acc.add(&[ScalarValue::Int64(Some(2))]).unwrap();
        acc.add(&[ScalarValue::Int64(Some(3))]).unwrap();
        acc.retract(&[ScalarValue::Int64(Some(2))]).unwrap();
        assert_eq!(acc.value(), ScalarValue::Int64(Some(3)));
        assert!(acc.add(&[ScalarValue::Int64(None)]).is_err());
        assert!(!call("TEST_UDAF", &[T::Double], vec![]).supports_retract());
        let ab = T::Struct(vec![("A".into(), T::Int), ("B".into(), T::Int)]);
        let f = call("TEST_UDAF", std::slice::from_ref(&ab), vec![]);
        let mut acc = f.create();
        let row = |a: i32, b: i32| {
            let fields = match sql_to_arrow(&ab) {
                DataType::Struct(f) => f,
                _ => unreachable!(),
            };
            ScalarValue::Struct(Arc::new(arrow::array::StructArray::new(
                fields,
                vec![
                    Arc::new(arrow::array::Int32Array::from(vec![a])),
                    Arc::new(arrow::array::Int32Array::from(vec![b])),
                ],
                None,
            )))
        };
        acc.add(&[row(1, 2)]).unwrap();
        acc.add(&[row(2, 3)]).unwrap();
        assert_eq!(acc.value(), row(3, 5));
    }

    #[test]
    fn collects_first_argument_of_rows_without_nulls() {
        use SqlType as T;
        let f = call("GENERIC_VAR_ARG", &[T::Double, T::String, T::Int], vec![]);
        let mut acc = f.create();
        acc.add(&[
            ScalarValue::Float64(Some(1.5)),
            s(Some("a")),
            ScalarValue::Int32(Some(1)),
        ])
        .unwrap();
        acc.add(&[
            ScalarValue::Float64(Some(2.5)),
            s(None),
            ScalarValue::Int32(Some(1)),
        ])
        .unwrap();
        let back = f.load(&acc.save()).unwrap();
        assert_eq!(
            back.value(),
            ScalarValue::List(ScalarValue::new_list_nullable(
                &[ScalarValue::Float64(Some(1.5))],
                &DataType::Float64
            ))
        );
    }
}
