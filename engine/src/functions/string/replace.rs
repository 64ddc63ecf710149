//! REPLACE: replace every occurrence of a literal substring.

use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `REPLACE(str, old, new)`: `str` with every (non-overlapping, left to right) occurrence of
/// the literal `old` replaced by `new`. NULL when any argument is NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "REPLACE",
        Category::String,
        "Returns str with all occurrences of the substring old replaced with new.",
        vec![Overload::new(
            &[("str", P::String), ("old", P::String), ("new", P::String)],
            P::String,
        )],
        |c: &Call| {
            let (s, o, n) = (strs(&c.args[0]), strs(&c.args[1]), strs(&c.args[2]));
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                Ok(Some(java_replace(s.value(i), o.value(i), n.value(i))))
            })
        },
    )
}

/// Java's `String.replace`: an empty target inserts the replacement between characters.
fn java_replace(s: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        let mut out = String::with_capacity(s.len() * (new.len() + 1) + new.len());
        out.push_str(new);
        for ch in s.chars() {
            out.push(ch);
            out.push_str(new);
        }
        out
    } else {
        s.replace(old, new)
    }
}
