//! URL_ENCODE_PARAM and URL_DECODE_PARAM: a value escaped for, or unescaped from, a URL
//! query parameter, as Guava's `urlFormParameterEscaper` and `java.net.URLDecoder` do it.

use arrow::array::Array;
use datafusion::common::Result;

use crate::functions::error::eval_err;
use crate::functions::kernels::{map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `URL_ENCODE_PARAM(input)`: letters, digits and `-_.*` kept, a space as `+`, every other
/// character as the `%XX` escapes of its UTF-8 bytes (upper-case hex). NULL → NULL.
pub fn url_encode_param() -> FunctionDef {
    FunctionDef::new(
        "URL_ENCODE_PARAM",
        Category::Url,
        "Returns a version of the input with all URL sensitive characters encoded using the application/x-www-form-urlencoded standard.",
        vec![Overload::new(&[("input", P::String)], P::String)],
        |c: &Call| {
            let a = strs(&c.args[0]);
            map_to_string(c.rows, |i| Ok((!a.is_null(i)).then(|| encode(a.value(i)))))
        },
    )
}

/// `URL_DECODE_PARAM(input)`: `+` as a space, runs of `%XX` escapes as the UTF-8 text they
/// encode. A `%` without two hex digits after it is an error, as `URLDecoder` throws.
pub fn url_decode_param() -> FunctionDef {
    FunctionDef::new(
        "URL_DECODE_PARAM",
        Category::Url,
        "Decodes a previously encoded application/x-www-form-urlencoded String",
        vec![Overload::new(&[("input", P::String)], P::String)],
        |c: &Call| {
            let a = strs(&c.args[0]);
            map_to_string(c.rows, |i| {
                if a.is_null(i) {
                    return Ok(None);
                }
                decode(a.value(i)).map(Some)
            })
        },
    )
}

pub(super) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '*' => out.push(c),
            ' ' => out.push('+'),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// One escape's value as `Integer.parseInt(s, i + 1, i + 3, 16)` reads it (a sign is
/// allowed), or the error `URLDecoder` throws.
fn escape_value(two: &[u8]) -> Result<u8> {
    let digit = |c: u8| (c as char).to_digit(16);
    let v: i32 = match two {
        [b'+', d] => digit(*d).map(|d| d as i32),
        [b'-', d] => digit(*d).map(|d| -(d as i32)),
        [h, l] => digit(*h).zip(digit(*l)).map(|(h, l)| (h * 16 + l) as i32),
        _ => None,
    }
    .map_or_else(
        || {
            eval_err(format!(
                "URLDecoder: Illegal hex characters in escape (%) pattern - For input string: \"{}\"",
                String::from_utf8_lossy(two)
            ))
        },
        Ok,
    )?;
    if v < 0 {
        return eval_err(
            "URLDecoder: Illegal hex characters in escape (%) pattern - negative value",
        );
    }
    Ok(v as u8)
}

pub(super) fn decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut plain = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push_str(&s[plain..i]);
                out.push(' ');
                i += 1;
                plain = i;
            }
            b'%' => {
                out.push_str(&s[plain..i]);
                let mut run = Vec::new();
                while i + 2 < b.len() && b[i] == b'%' {
                    run.push(escape_value(&b[i + 1..i + 3])?);
                    i += 3;
                }
                if i < b.len() && b[i] == b'%' {
                    return eval_err("URLDecoder: Incomplete trailing escape (%) pattern");
                }
                out.push_str(&String::from_utf8_lossy(&run));
                plain = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&s[plain..]);
    Ok(out)
}
