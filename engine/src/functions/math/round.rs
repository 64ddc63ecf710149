//! ROUND and TRUNC: round half toward positive infinity, or truncate toward zero, to an
//! integer or to a number of decimal places.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int32Array};
use arrow::compute::kernels::arity::unary;
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use datafusion::common::Result;

use super::decimal::{java_round, round_decimal, round_double, Mode};
use crate::functions::error::FunctionError;
use crate::functions::kernels::{f64s, i32s, map_to_f64};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// DECIMAL(p - s, 0): the integral digits of a DECIMAL(p, s) (at least one).
fn decimal_integral(a: &[DataType]) -> Result<DataType, FunctionError> {
    match a[0] {
        DataType::Decimal128(p, s) => Ok(DataType::Decimal128(
            ((p as i16 - s as i16).clamp(1, 38)) as u8,
            0,
        )),
        _ => Err(FunctionError::Evaluation("expected DECIMAL".into())),
    }
}

/// `ROUND(x)` / `ROUND(x, places)`.
///
/// Halves round toward positive infinity (`ROUND(1.5)` = 2, `ROUND(-1.5)` = -1), as Java's
/// `Math.round`. `ROUND(DOUBLE)` → BIGINT; `ROUND(DOUBLE, INT)` → DOUBLE, rounding the
/// shortest decimal form of the double; negative `places` round left of the point
/// (`ROUND(12345.678, -2)` = 12300.0). `ROUND(DECIMAL(p, s))` → DECIMAL(p-s, 0);
/// `ROUND(DECIMAL(p, s), places)` → DECIMAL(p, s) (ksqlDB's schema providers). INT and BIGINT round to themselves.
/// NULL in any argument → NULL.
pub fn round() -> FunctionDef {
    FunctionDef::new(
        "ROUND",
        Category::Numeric,
        "Rounds a value to the nearest integer, or to the given number of decimal places; \
         halves round toward positive infinity.",
        vec![
            Overload::new(&[("value", P::Int)], P::Int),
            Overload::new(&[("value", P::BigInt)], P::BigInt),
            Overload::new(&[("value", P::Double)], P::BigInt),
            Overload::new(&[("value", P::Double), ("places", P::Int)], P::Double),
            Overload::computed(
                &[("value", P::Decimal)],
                decimal_integral,
                "DECIMAL(p - s, 0)",
            ),
            Overload::computed(
                &[("value", P::Decimal), ("places", P::Int)],
                |a| Ok(a[0].clone()),
                "DECIMAL(p, s)",
            ),
        ],
        |c: &Call| run(c, Mode::HalfCeiling),
    )
}

/// `TRUNC(x)` / `TRUNC(x, places)`: like ROUND but dropping digits toward zero.
/// `TRUNC(DOUBLE)` → BIGINT; `TRUNC(DOUBLE, INT)` → DOUBLE; `TRUNC(DECIMAL(p, s))` →
/// DECIMAL(p-s, 0); `TRUNC(DECIMAL(p, s), places)` → DECIMAL(p, s). NULL → NULL.
pub fn trunc() -> FunctionDef {
    FunctionDef::new(
        "TRUNC",
        Category::Numeric,
        "Truncates a value toward zero to an integer, or to the given number of decimal \
         places.",
        vec![
            Overload::new(&[("value", P::Int)], P::Int),
            Overload::new(&[("value", P::BigInt)], P::BigInt),
            Overload::new(&[("value", P::Double)], P::BigInt),
            Overload::new(&[("value", P::Double), ("places", P::Int)], P::Double),
            Overload::computed(
                &[("value", P::Decimal)],
                decimal_integral,
                "DECIMAL(p - s, 0)",
            ),
            Overload::computed(
                &[("value", P::Decimal), ("places", P::Int)],
                |a| Ok(a[0].clone()),
                "DECIMAL(p, s)",
            ),
        ],
        |c: &Call| run(c, Mode::Down),
    )
}

fn run(c: &Call, mode: Mode) -> Result<ArrayRef> {
    let a = &c.args[0];
    let places = c.args.get(1).map(i32s);
    match (a.data_type(), places) {
        (DataType::Int32 | DataType::Int64, _) => Ok(a.clone()),
        (DataType::Float64, None) => {
            let f: fn(f64) -> i64 = if mode == Mode::Down {
                |x: f64| x as i64
            } else {
                java_round
            };
            Ok(Arc::new(unary::<Float64Type, _, Int64Type>(
                a.as_primitive(),
                f,
            )))
        }
        (DataType::Float64, Some(p)) => {
            let x = f64s(a);
            map_to_f64(c.rows, |i| {
                Ok((x.is_valid(i) && p.is_valid(i))
                    .then(|| round_double(x.value(i), p.value(i), mode)))
            })
        }
        (DataType::Decimal128(_, s), places) => round_decimals(a, places, *s, c.return_type, mode),
        (other, _) => datafusion::common::exec_err!("ROUND/TRUNC of {other}"),
    }
}

/// Rounds every DECIMAL value to `places` (0 when absent) into `out` type.
pub(crate) fn round_decimals(
    a: &ArrayRef,
    places: Option<&Int32Array>,
    scale: i8,
    out: &DataType,
    mode: Mode,
) -> Result<ArrayRef> {
    let DataType::Decimal128(op, os) = *out else {
        return datafusion::common::exec_err!("expected a DECIMAL result, not {out}");
    };
    let v = a.as_primitive::<Decimal128Type>();
    let res: Decimal128Array = (0..v.len())
        .map(|i| {
            if v.is_null(i) || places.is_some_and(|p| p.is_null(i)) {
                return None;
            }
            let n = places.map_or(0, |p| p.value(i));
            round_decimal(v.value(i), scale, n, os, mode)
        })
        .collect();
    Ok(Arc::new(res.with_precision_and_scale(op, os)?))
}
