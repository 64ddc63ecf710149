//! MD5: the hex-encoded MD5 digest of a string's UTF-8 bytes (ksqlDB's `DigestUtils.md5Hex`).
//! NULL → NULL.

use std::fmt::Write;

use ::md5::{Digest, Md5};
use arrow::array::Array;

use crate::functions::kernels::{map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `MD5(s)` → 32 lower-case hex digits.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "MD5",
        Category::String,
        "Computes the hex-encoded md5 hash of the given string",
        vec![Overload::new(&[("s", P::String)], P::String)
            .describe("Returns the hex-encoded md5 hash of the input string")],
        |c: &Call| {
            let a = strs(&c.args[0]);
            map_to_string(c.rows, |i| Ok((!a.is_null(i)).then(|| md5_hex(a.value(i)))))
        },
    )
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
