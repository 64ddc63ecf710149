//! The MASK family: replace letters, digits and other characters with mask characters.
//!
//! Defaults as in ksqlDB: upper-case letters → `X`, lower-case → `x`, digits → `n`, any
//! other character → `-`. Each optional replacement argument overrides its class; a NULL
//! replacement leaves that class unmasked (only its first character is used). A NULL input
//! gives NULL.

use arrow::array::{Array, ArrayRef};
use datafusion::common::Result;

use crate::functions::kernels::{i32s, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

const CLASSES: [(&str, P); 4] = [
    ("upper", P::String),
    ("lower", P::String),
    ("digit", P::String),
    ("other", P::String),
];

/// The signatures: `NAME(input [, n])` then up to four replacement characters.
fn overloads(with_count: bool) -> Vec<Overload> {
    let mut base: Vec<(&'static str, P)> = vec![("input", P::String)];
    if with_count {
        base.push(("numChars", P::Int));
    }
    (0..=4)
        .map(|k| {
            let mut ps = base.clone();
            ps.extend(CLASSES[..k].iter().cloned());
            Overload::new(&ps, P::String)
        })
        .collect()
}

struct Masks([Option<char>; 4]);

impl Masks {
    fn at(args: &[ArrayRef], i: usize) -> Masks {
        let defaults = ['X', 'x', 'n', '-'];
        let mut m = [None; 4];
        for (k, slot) in m.iter_mut().enumerate() {
            *slot = match args.get(k) {
                None => Some(defaults[k]),
                Some(a) if a.is_null(i) => None,
                Some(a) => strs(a).value(i).chars().next(),
            };
        }
        Masks(m)
    }
    fn mask(&self, ch: char) -> char {
        let k = if ch.is_uppercase() {
            0
        } else if ch.is_lowercase() {
            1
        } else if ch.is_ascii_digit() {
            2
        } else {
            3
        };
        self.0[k].unwrap_or(ch)
    }
}

/// Masks the characters whose index `keep` says to mask.
fn run(c: &Call, with_count: bool, masked: fn(usize, usize, usize) -> bool) -> Result<ArrayRef> {
    let s = strs(&c.args[0]);
    let n = with_count.then(|| i32s(&c.args[1]));
    let first_mask_arg = if with_count { 2 } else { 1 };
    map_to_string(c.rows, |i| {
        if s.is_null(i) || n.is_some_and(|n| n.is_null(i)) {
            return Ok(None);
        }
        let count = n.map_or(0, |n| n.value(i).max(0) as usize);
        let masks = Masks::at(&c.args[first_mask_arg..], i);
        let v = s.value(i);
        let len = v.chars().count();
        Ok(Some(
            v.chars()
                .enumerate()
                .map(|(j, ch)| {
                    if masked(j, len, count) {
                        masks.mask(ch)
                    } else {
                        ch
                    }
                })
                .collect(),
        ))
    })
}

/// `MASK(input [, upper [, lower [, digit [, other]]]])`: every character masked.
pub fn mask() -> FunctionDef {
    FunctionDef::new(
        "MASK",
        Category::String,
        "Returns a masked version of the input string: upper-case letters become 'X', \
         lower-case 'x', digits 'n' and other characters '-', unless overridden.",
        overloads(false),
        |c: &Call| run(c, false, |_, _, _| true),
    )
}

/// `MASK_LEFT(input, numChars, ...)`: the first `numChars` characters masked.
pub fn mask_left() -> FunctionDef {
    FunctionDef::new(
        "MASK_LEFT",
        Category::String,
        "Returns the input string with its first numChars characters masked.",
        overloads(true),
        |c: &Call| run(c, true, |j, _, n| j < n),
    )
}

/// `MASK_RIGHT(input, numChars, ...)`: the last `numChars` characters masked.
pub fn mask_right() -> FunctionDef {
    FunctionDef::new(
        "MASK_RIGHT",
        Category::String,
        "Returns the input string with its last numChars characters masked.",
        overloads(true),
        |c: &Call| run(c, true, |j, len, n| j + n >= len),
    )
}

/// `MASK_KEEP_LEFT(input, numChars, ...)`: all but the first `numChars` characters masked.
pub fn mask_keep_left() -> FunctionDef {
    FunctionDef::new(
        "MASK_KEEP_LEFT",
        Category::String,
        "Returns the input string with all but its first numChars characters masked.",
        overloads(true),
        |c: &Call| run(c, true, |j, _, n| j >= n),
    )
}

/// `MASK_KEEP_RIGHT(input, numChars, ...)`: all but the last `numChars` characters masked.
pub fn mask_keep_right() -> FunctionDef {
    FunctionDef::new(
        "MASK_KEEP_RIGHT",
        Category::String,
        "Returns the input string with all but its last numChars characters masked.",
        overloads(true),
        |c: &Call| run(c, true, |j, len, n| j + n < len),
    )
}
