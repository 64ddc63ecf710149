//! RANDOM: a uniformly distributed DOUBLE in [0.0, 1.0), new for every row.

use std::sync::Arc;

use arrow::array::Float64Array;
use rand::Rng;

use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `RANDOM()`: a pseudo-random DOUBLE in [0.0, 1.0) per row (volatile: never folded).
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "RANDOM",
        Category::Numeric,
        "Returns a random DOUBLE between 0.0 (inclusive) and 1.0 (exclusive).",
        vec![Overload::new(&[], P::Double)],
        |c: &Call| {
            let mut rng = rand::rng();
            let v: Float64Array = (0..c.rows).map(|_| Some(rng.random::<f64>())).collect();
            Ok(Arc::new(v) as _)
        },
    )
    .volatile()
}
