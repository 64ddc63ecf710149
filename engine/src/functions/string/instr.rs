//! INSTR: the 1-based position of the n-th occurrence of a substring.

use crate::functions::kernels::{any_null, i32s, map_to_i32, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `INSTR(str, substring [, position [, occurrence]])`: the 1-based character position of the
/// `occurrence`-th (default 1st) occurrence of `substring` in `str`, searching forward from
/// `position` (default 1), or backward from the `-position`-th character from the end when
/// `position` is negative. 0 when not found; NULL when any argument is NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "INSTR",
        Category::String,
        "Returns the position of substring in str (1-based), optionally searching from \
         position (negative searches backward from the end) for the given occurrence; 0 if \
         not found.",
        vec![
            Overload::new(&[("str", P::String), ("substring", P::String)], P::Int),
            Overload::new(
                &[
                    ("str", P::String),
                    ("substring", P::String),
                    ("position", P::Int),
                ],
                P::Int,
            ),
            Overload::new(
                &[
                    ("str", P::String),
                    ("substring", P::String),
                    ("position", P::Int),
                    ("occurrence", P::Int),
                ],
                P::Int,
            ),
        ],
        |c: &Call| {
            let (s, sub) = (strs(&c.args[0]), strs(&c.args[1]));
            let pos = c.args.get(2).map(i32s);
            let occ = c.args.get(3).map(i32s);
            map_to_i32(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                Ok(Some(instr(
                    s.value(i),
                    sub.value(i),
                    pos.map_or(1, |p| p.value(i)),
                    occ.map_or(1, |o| o.value(i)),
                )))
            })
        },
    )
}

/// Works on characters so positions agree with SUBSTRING.
pub(crate) fn instr(s: &str, sub: &str, position: i32, occurrence: i32) -> i32 {
    if occurrence <= 0 {
        return 0;
    }
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = sub.chars().collect();
    let n = hay.len() as i64;
    let m = needle.len() as i64;
    let matches_at = |j: i64| -> bool {
        j >= 0 && j + m <= n && hay[j as usize..(j + m) as usize] == needle[..]
    };
    let mut found = 0;
    if position >= 0 {
        let mut j = (position as i64 - 1).max(0);
        while j + m <= n {
            if matches_at(j) {
                found += 1;
                if found == occurrence {
                    return (j + 1) as i32;
                }
            }
            j += 1;
        }
    } else {
        let mut j = (n + position as i64).min(n - m);
        while j >= 0 {
            if matches_at(j) {
                found += 1;
                if found == occurrence {
                    return (j + 1) as i32;
                }
            }
            j -= 1;
        }
    }
    0
}
