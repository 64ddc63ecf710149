//! SIGN: -1, 0 or 1 as an INT.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};

use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `SIGN(x)`: -1, 0 or 1 (INT) by the sign of an INT, BIGINT, DOUBLE or DECIMAL; NaN and
/// -0.0 give 0. NULL → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "SIGN",
        Category::Numeric,
        "Returns the sign of its argument as an INT: -1 if negative, 0 if zero, 1 if positive.",
        vec![
            Overload::new(&[("value", P::Int)], P::Int),
            Overload::new(&[("value", P::BigInt)], P::Int),
            Overload::new(&[("value", P::Double)], P::Int),
            Overload::new(&[("value", P::Decimal)], P::Int),
        ],
        |c: &Call| {
            let a = &c.args[0];
            let out: Int32Array = match a.data_type() {
                DataType::Int32 => a
                    .as_primitive::<Int32Type>()
                    .iter()
                    .map(|v| v.map(i32::signum))
                    .collect(),
                DataType::Int64 => a
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|x| x.signum() as i32))
                    .collect(),
                DataType::Decimal128(..) => a
                    .as_primitive::<Decimal128Type>()
                    .iter()
                    .map(|v| v.map(|x| x.signum() as i32))
                    .collect(),
                _ => a
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| {
                        v.map(|x| {
                            if x > 0.0 {
                                1
                            } else if x < 0.0 {
                                -1
                            } else {
                                0
                            }
                        })
                    })
                    .collect(),
            };
            debug_assert_eq!(out.len(), a.len());
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}
