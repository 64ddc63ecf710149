//! Numeric functions: absolute value, rounding (CEIL, FLOOR, ROUND, TRUNC), exponentials and
//! logarithms, powers and roots, trigonometry, SIGN, RANDOM, GREATEST/LEAST, GEO_DISTANCE.
//!
//! Integer arguments widen to DOUBLE for the transcendental functions; the rounding
//! functions keep integer and DECIMAL types. Domain errors give NaN or ±Infinity as Java's
//! `Math` does, never an error; NULL in any argument gives NULL.

mod abs;
mod ceil_floor;
pub(crate) mod decimal;
mod exp_log;
mod geo_distance;
mod greatest_least;
mod random;
mod round;
mod sign;
mod trig;

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array};
use arrow::compute::kernels::arity::{binary, unary};
use arrow::datatypes::Float64Type;
use datafusion::common::Result;

use super::kernels::f64s;
use super::types::{Overload, ParamType as P};
use super::udf::{Call, Category, FunctionDef};

pub(crate) fn functions() -> Vec<FunctionDef> {
    let mut v = vec![
        abs::def(),
        ceil_floor::ceil(),
        ceil_floor::floor(),
        round::round(),
        round::trunc(),
        sign::def(),
        random::def(),
        greatest_least::greatest(),
        greatest_least::least(),
        geo_distance::def(),
        trig::pi(),
        trig::atan2(),
        exp_log::log(),
        exp_log::power(),
    ];
    v.extend(exp_log::unary_functions());
    v.extend(trig::unary_functions());
    v
}

/// A DOUBLE → DOUBLE function (INT, BIGINT and DECIMAL arguments widen to DOUBLE).
pub(crate) fn unary_double(
    name: &'static str,
    description: &'static str,
    kernel: fn(&Call) -> Result<ArrayRef>,
) -> FunctionDef {
    FunctionDef::new(
        name,
        Category::Numeric,
        description,
        vec![Overload::new(&[("value", P::Double)], P::Double)],
        kernel,
    )
}

/// Applies `f` to every non-null value of a DOUBLE argument.
pub(crate) fn map_f64(a: &ArrayRef, f: fn(f64) -> f64) -> Result<ArrayRef> {
    let out: Float64Array = unary::<Float64Type, _, Float64Type>(f64s(a), f);
    Ok(Arc::new(out))
}

/// Applies `f` to every pair of non-null values of two DOUBLE arguments.
pub(crate) fn map2_f64(a: &ArrayRef, b: &ArrayRef, f: fn(f64, f64) -> f64) -> Result<ArrayRef> {
    let out: Float64Array = binary::<_, _, _, Float64Type>(f64s(a), f64s(b), f)?;
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests;
