//! CHR: the character for a Unicode code point, given as a number or as `\uXXXX` text.

use arrow::array::Array;
use arrow::datatypes::DataType;

use crate::functions::kernels::{i32s, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `CHR(code INT)`: the one-character string for Unicode code point `code`; NULL for a
/// negative or otherwise invalid code point.
///
/// `CHR(code STRING)`: `code` is a Java escape, `\u` and four hex digits, or a surrogate
/// pair of two such escapes (`\ud820\udeb8`); anything else ("75", "004b", "") gives NULL.
/// NULL → NULL.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "CHR",
        Category::String,
        "Returns the single-character string for a Unicode code point given as a decimal \
         number or as a \\uXXXX escape.",
        vec![
            Overload::new(&[("decimalCode", P::Int)], P::String),
            Overload::new(&[("utf16Code", P::String)], P::String),
        ],
        |c: &Call| {
            if c.args[0].data_type() == &DataType::Int32 {
                let a = i32s(&c.args[0]);
                map_to_string(c.rows, |i| {
                    Ok((!a.is_null(i))
                        .then(|| u32::try_from(a.value(i)).ok().and_then(char::from_u32))
                        .flatten()
                        .map(String::from))
                })
            } else {
                let a = strs(&c.args[0]);
                map_to_string(c.rows, |i| {
                    Ok((!a.is_null(i)).then(|| unescape(a.value(i))).flatten())
                })
            }
        },
    )
}

/// Decodes one or more `\uXXXX` escapes as UTF-16; None unless the whole text is escapes
/// forming valid UTF-16.
fn unescape(s: &str) -> Option<String> {
    if s.is_empty() || !s.len().is_multiple_of(6) {
        return None;
    }
    let units = s
        .as_bytes()
        .chunks(6)
        .map(|ch| {
            if &ch[..2] != b"\\u" {
                return None;
            }
            u16::from_str_radix(std::str::from_utf8(&ch[2..]).ok()?, 16).ok()
        })
        .collect::<Option<Vec<u16>>>()?;
    String::from_utf16(&units).ok()
}
