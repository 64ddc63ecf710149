//! INITCAP: capitalise the first letter of each word.

use crate::functions::kernels::{map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};
use arrow::array::Array;

/// `INITCAP(str)`: every word (maximal run of non-whitespace) with its first character in
/// upper case and the rest in lower case; whitespace is kept as is. NULL → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "INITCAP",
        Category::String,
        "Capitalizes the first letter of each word in a string and lower-cases the rest.",
        vec![Overload::new(&[("input", P::String)], P::String)],
        |c: &Call| {
            let s = strs(&c.args[0]);
            map_to_string(c.rows, |i| {
                if s.is_null(i) {
                    return Ok(None);
                }
                let mut out = String::with_capacity(s.value(i).len());
                let mut word_start = true;
                for ch in s.value(i).chars() {
                    if ch.is_whitespace() {
                        word_start = true;
                        out.push(ch);
                    } else if word_start {
                        out.extend(ch.to_uppercase());
                        word_start = false;
                    } else {
                        out.extend(ch.to_lowercase());
                    }
                }
                Ok(Some(out))
            })
        },
    )
}
