//! Trigonometry: SIN, COS, TAN, COT, ASIN, ACOS, ATAN, ATAN2, SINH, COSH, TANH, DEGREES,
//! RADIANS and PI. Arguments and results in radians as DOUBLE; inverse functions give NaN
//! outside their domain; `COT(0)` is Infinity. NULL → NULL.

use std::sync::Arc;

use arrow::array::Float64Array;

use super::{map2_f64, map_f64, unary_double};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

pub(crate) fn unary_functions() -> Vec<FunctionDef> {
    vec![
        unary_double("SIN", "Returns the sine of value (radians).", |c: &Call| {
            map_f64(&c.args[0], f64::sin)
        }),
        unary_double(
            "COS",
            "Returns the cosine of value (radians).",
            |c: &Call| map_f64(&c.args[0], f64::cos),
        ),
        unary_double(
            "TAN",
            "Returns the tangent of value (radians).",
            |c: &Call| map_f64(&c.args[0], f64::tan),
        ),
        unary_double(
            "COT",
            "Returns the cotangent of value (radians); Infinity at 0.",
            |c: &Call| map_f64(&c.args[0], |x| 1.0 / x.tan()),
        ),
        unary_double(
            "ASIN",
            "Returns the inverse sine of value in radians; NaN outside [-1, 1].",
            |c: &Call| map_f64(&c.args[0], f64::asin),
        ),
        unary_double(
            "ACOS",
            "Returns the inverse cosine of value in radians; NaN outside [-1, 1].",
            |c: &Call| map_f64(&c.args[0], f64::acos),
        ),
        unary_double(
            "ATAN",
            "Returns the inverse tangent of value in radians.",
            |c: &Call| map_f64(&c.args[0], f64::atan),
        ),
        unary_double(
            "SINH",
            "Returns the hyperbolic sine of value.",
            |c: &Call| map_f64(&c.args[0], f64::sinh),
        ),
        unary_double(
            "COSH",
            "Returns the hyperbolic cosine of value.",
            |c: &Call| map_f64(&c.args[0], f64::cosh),
        ),
        unary_double(
            "TANH",
            "Returns the hyperbolic tangent of value.",
            |c: &Call| map_f64(&c.args[0], f64::tanh),
        ),
        unary_double("DEGREES", "Converts radians to degrees.", |c: &Call| {
            map_f64(&c.args[0], f64::to_degrees)
        }),
        unary_double("RADIANS", "Converts degrees to radians.", |c: &Call| {
            map_f64(&c.args[0], f64::to_radians)
        }),
    ]
}

/// `ATAN2(y, x)`: the angle of the point (x, y) in radians, in (-π, π].
pub fn atan2() -> FunctionDef {
    FunctionDef::new(
        "ATAN2",
        Category::Numeric,
        "Returns the inverse tangent of y / x in radians, using the signs of both to pick \
         the quadrant.",
        vec![Overload::new(
            &[("y", P::Double), ("x", P::Double)],
            P::Double,
        )],
        |c: &Call| map2_f64(&c.args[0], &c.args[1], f64::atan2),
    )
}

/// `PI()`: π as a DOUBLE.
pub fn pi() -> FunctionDef {
    FunctionDef::new(
        "PI",
        Category::Numeric,
        "Returns an approximate value of pi.",
        vec![Overload::new(&[], P::Double)],
        |c: &Call| Ok(Arc::new(Float64Array::from(vec![std::f64::consts::PI; c.rows])) as _),
    )
}
