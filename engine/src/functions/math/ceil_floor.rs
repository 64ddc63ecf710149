//! CEIL and FLOOR: the nearest integral value above or below.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::Result;

use super::decimal::Mode;
use super::map_f64;
use super::round::round_decimals;
use crate::functions::error::FunctionError;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn overloads() -> Vec<Overload> {
    vec![
        Overload::new(&[("value", P::Int)], P::Int),
        Overload::new(&[("value", P::BigInt)], P::BigInt),
        Overload::new(&[("value", P::Double)], P::Double),
        Overload::computed(
            &[("value", P::Decimal)],
            |a| match a[0] {
                DataType::Decimal128(p, s) => Ok(DataType::Decimal128(
                    (p as i16 - s as i16 + 1).clamp(1, 38) as u8,
                    0,
                )),
                _ => Err(FunctionError::Evaluation("expected DECIMAL".into())),
            },
            "DECIMAL(p - s + 1, 0)",
        ),
    ]
}

fn run(c: &Call, mode: Mode, f: fn(f64) -> f64) -> Result<ArrayRef> {
    let a = &c.args[0];
    match a.data_type() {
        DataType::Int32 | DataType::Int64 => Ok(Arc::clone(a)),
        DataType::Decimal128(_, s) => round_decimals(a, None, *s, c.return_type, mode),
        _ => map_f64(a, f),
    }
}

/// `CEIL(x)`: the smallest integral value ≥ x. INT/BIGINT unchanged, DOUBLE → DOUBLE,
/// DECIMAL(p, s) → DECIMAL(p-s+1, 0). NULL → NULL.
pub fn ceil() -> FunctionDef {
    FunctionDef::new(
        "CEIL",
        Category::Numeric,
        "Returns the smallest integral value greater than or equal to its argument.",
        overloads(),
        |c: &Call| run(c, Mode::Ceiling, f64::ceil),
    )
}

/// `FLOOR(x)`: the largest integral value ≤ x. Types as CEIL. NULL → NULL.
pub fn floor() -> FunctionDef {
    FunctionDef::new(
        "FLOOR",
        Category::Numeric,
        "Returns the largest integral value less than or equal to its argument.",
        overloads(),
        |c: &Call| run(c, Mode::Floor, f64::floor),
    )
}
