//! UUID: a random (version 4) UUID, or the UUID text of 16 bytes.

use arrow::array::Array;

use crate::functions::kernels::{bins, map_to_string};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `UUID()`: a new random v4 UUID per row, as 36-character text.
/// `UUID(bytes)`: the canonical text of a 16-byte UUID; NULL for NULL or any other length.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "UUID",
        Category::String,
        "Returns a random version-4 UUID string, or the UUID string of 16 bytes.",
        vec![
            Overload::new(&[], P::String),
            Overload::new(&[("bytes", P::Bytes)], P::String),
        ],
        |c: &Call| {
            if c.args.is_empty() {
                return map_to_string(c.rows, |_| Ok(Some(uuid::Uuid::new_v4().to_string())));
            }
            let b = bins(&c.args[0]);
            map_to_string(c.rows, |i| {
                Ok((!b.is_null(i))
                    .then(|| uuid::Uuid::from_slice(b.value(i)).ok())
                    .flatten()
                    .map(|u| u.to_string()))
            })
        },
    )
    .volatile()
}
