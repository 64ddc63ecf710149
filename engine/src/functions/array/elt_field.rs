//! ELT and FIELD: pick the n-th of several strings, or find a string's position among them.

use arrow::array::Array;

use crate::functions::kernels::{i32s, map_to_i32, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ELT(n, s1, s2, ...)`: the `n`-th string (1-based); NULL when `n` is NULL or outside
/// 1..=count, or that string is NULL.
pub fn elt() -> FunctionDef {
    FunctionDef::new(
        "ELT",
        Category::Array,
        "Returns the n-th of the string arguments (1-based); NULL if out of range.",
        vec![Overload::new(&[("n", P::Int), ("args", P::String)], P::String).variadic()],
        |c: &Call| {
            let n = i32s(&c.args[0]);
            map_to_string(c.rows, |i| {
                if n.is_null(i) {
                    return Ok(None);
                }
                let k = n.value(i);
                if k < 1 || k as usize >= c.args.len() {
                    return Ok(None);
                }
                let a = &c.args[k as usize];
                Ok(a.is_valid(i).then(|| strs(a).value(i).to_string()))
            })
        },
    )
}

/// `FIELD(s, s1, s2, ...)`: the 1-based position of the first `sN` equal to `s`; 0 when not
/// found or when `s` is NULL (NULL never matches).
pub fn field() -> FunctionDef {
    FunctionDef::new(
        "FIELD",
        Category::Array,
        "Returns the 1-based position of str among the following arguments; 0 if absent or \
         NULL.",
        vec![Overload::new(&[("str", P::String), ("args", P::String)], P::Int).variadic()],
        |c: &Call| {
            let s = strs(&c.args[0]);
            map_to_i32(c.rows, |i| {
                if s.is_null(i) {
                    return Ok(Some(0));
                }
                let v = s.value(i);
                let pos = c.args[1..]
                    .iter()
                    .position(|a| a.is_valid(i) && strs(a).value(i) == v);
                Ok(Some(pos.map_or(0, |p| p as i32 + 1)))
            })
        },
    )
}
