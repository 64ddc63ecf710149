//! ABS: absolute value, keeping the argument's type.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray};
use arrow::compute::kernels::arity::unary;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};

use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ABS(x)`: |x| for INT, BIGINT, DOUBLE and DECIMAL (same type out). As in Java, the
/// absolute value of the most negative INT/BIGINT wraps to itself. NULL → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ABS",
        Category::Numeric,
        "Returns the absolute value of its argument.",
        vec![
            Overload::new(&[("value", P::Int)], P::Int),
            Overload::new(&[("value", P::BigInt)], P::BigInt),
            Overload::new(&[("value", P::Double)], P::Double),
            Overload::computed(
                &[("value", P::Decimal)],
                |a| Ok(a[0].clone()),
                "DECIMAL (same as value)",
            ),
        ],
        |c: &Call| {
            let a = &c.args[0];
            Ok(match a.data_type() {
                DataType::Int32 => Arc::new(unary::<Int32Type, _, Int32Type>(
                    a.as_primitive(),
                    i32::wrapping_abs,
                )) as ArrayRef,
                DataType::Int64 => Arc::new(unary::<Int64Type, _, Int64Type>(
                    a.as_primitive(),
                    i64::wrapping_abs,
                )),
                DataType::Decimal128(p, s) => Arc::new(
                    unary::<Decimal128Type, _, Decimal128Type>(a.as_primitive(), i128::abs)
                        .with_precision_and_scale(*p, *s)?,
                ),
                _ => Arc::new(unary::<Float64Type, _, Float64Type>(
                    a.as_primitive(),
                    f64::abs,
                )),
            })
        },
    )
}
