//! FROM_BYTES, TO_BYTES and the numeric *_FROM_BYTES decoders.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array};
use datafusion::common::Result;

use crate::functions::error::eval_err;
use crate::functions::kernels::{any_null, bins, map_to_binary, map_to_string, strs};
use crate::functions::string::Encoding;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn encoding(name: &str) -> Result<Encoding> {
    match Encoding::parse(name) {
        Some(e) => Ok(e),
        None => eval_err(format!(
            "Supported encodings are: hex, utf8, ascii and base64, not '{name}'"
        )),
    }
}

/// `FROM_BYTES(bytes, encoding)`: BYTES as text in `encoding` — hex (upper case), utf8,
/// ascii or base64. NULL in either argument → NULL; an unknown encoding fails the call.
pub fn from_bytes() -> FunctionDef {
    FunctionDef::new(
        "FROM_BYTES",
        Category::Conversion,
        "Converts BYTES into a STRING with the given encoding (hex, utf8, ascii, base64).",
        vec![Overload::new(
            &[("bytes", P::Bytes), ("encoding", P::String)],
            P::String,
        )],
        |c: &Call| {
            let (b, e) = (bins(&c.args[0]), strs(&c.args[1]));
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                Ok(Some(encoding(e.value(i))?.encode(b.value(i), true)))
            })
        },
    )
}

/// `TO_BYTES(str, encoding)`: text decoded into BYTES with `encoding`. NULL in either
/// argument → NULL; an unknown encoding or text invalid in it fails the call.
pub fn to_bytes() -> FunctionDef {
    FunctionDef::new(
        "TO_BYTES",
        Category::Conversion,
        "Converts a STRING into BYTES with the given encoding (hex, utf8, ascii, base64).",
        vec![Overload::new(
            &[("str", P::String), ("encoding", P::String)],
            P::Bytes,
        )],
        |c: &Call| {
            let (s, e) = (strs(&c.args[0]), strs(&c.args[1]));
            map_to_binary(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let enc = encoding(e.value(i))?;
                match enc.decode(s.value(i)) {
                    Some(b) => Ok(Some(b)),
                    None => eval_err(format!("'{}' is not valid {:?}", s.value(i), enc)),
                }
            })
        },
    )
}

/// Decodes every row as an `N`-byte number in the given byte order.
fn decode<const N: usize, T>(
    c: &Call,
    name: &str,
    f: fn([u8; N], bool) -> T,
) -> Result<Vec<Option<T>>> {
    let b = bins(&c.args[0]);
    let order = c.args.get(1).map(strs);
    (0..c.rows)
        .map(|i| {
            if any_null(c.args, i) {
                return Ok(None);
            }
            let little = match order.map(|o| o.value(i).to_ascii_uppercase()) {
                None => false,
                Some(o) if o == "BIG_ENDIAN" => false,
                Some(o) if o == "LITTLE_ENDIAN" => true,
                Some(o) => {
                    return eval_err(format!(
                        "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN, not '{o}'"
                    ))
                }
            };
            let v = b.value(i);
            match <[u8; N]>::try_from(v) {
                Ok(arr) => Ok(Some(f(arr, little))),
                Err(_) => eval_err(format!(
                    "Number of bytes must be equal to {N}, but found {} ({name})",
                    v.len()
                )),
            }
        })
        .collect()
}

fn overloads(ret: P) -> Vec<Overload> {
    vec![
        Overload::new(&[("bytes", P::Bytes)], ret.clone()),
        Overload::new(&[("bytes", P::Bytes), ("byteOrder", P::String)], ret),
    ]
}

/// `INT_FROM_BYTES(bytes [, byteOrder])`: exactly 4 bytes as an INT, big-endian unless
/// `byteOrder` is 'LITTLE_ENDIAN'. NULL → NULL; another length fails the call.
pub fn int_from_bytes() -> FunctionDef {
    FunctionDef::new(
        "INT_FROM_BYTES",
        Category::Conversion,
        "Converts 4 bytes into an INT (big-endian unless LITTLE_ENDIAN is given).",
        overloads(P::Int),
        |c: &Call| {
            let v = decode::<4, i32>(c, "INT_FROM_BYTES", |b, le| {
                if le {
                    i32::from_le_bytes(b)
                } else {
                    i32::from_be_bytes(b)
                }
            })?;
            Ok(Arc::new(Int32Array::from(v)) as ArrayRef)
        },
    )
}

/// `BIGINT_FROM_BYTES(bytes [, byteOrder])`: exactly 8 bytes as a BIGINT.
pub fn bigint_from_bytes() -> FunctionDef {
    FunctionDef::new(
        "BIGINT_FROM_BYTES",
        Category::Conversion,
        "Converts 8 bytes into a BIGINT (big-endian unless LITTLE_ENDIAN is given).",
        overloads(P::BigInt),
        |c: &Call| {
            let v = decode::<8, i64>(c, "BIGINT_FROM_BYTES", |b, le| {
                if le {
                    i64::from_le_bytes(b)
                } else {
                    i64::from_be_bytes(b)
                }
            })?;
            Ok(Arc::new(Int64Array::from(v)) as ArrayRef)
        },
    )
}

/// `DOUBLE_FROM_BYTES(bytes [, byteOrder])`: exactly 8 bytes as an IEEE-754 DOUBLE.
pub fn double_from_bytes() -> FunctionDef {
    FunctionDef::new(
        "DOUBLE_FROM_BYTES",
        Category::Conversion,
        "Converts 8 bytes into a DOUBLE (big-endian unless LITTLE_ENDIAN is given).",
        overloads(P::Double),
        |c: &Call| {
            let v = decode::<8, f64>(c, "DOUBLE_FROM_BYTES", |b, le| {
                if le {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                }
            })?;
            debug_assert!(v.len() == c.rows);
            Ok(Arc::new(Float64Array::from(v)) as ArrayRef)
        },
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use crate::functions::testutil::*;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }

    #[test]
    fn from_and_to_bytes() {
        // bytes-and-strings.json
        let r = call(
            "FROM_BYTES",
            vec![
                bytes(&[Some(&b64("IQ==")), Some(&b64("GrI="))]),
                s1("hex", 2),
            ],
        )
        .unwrap();
        assert_eq!(out_s(&r), vec![Some("21".into()), Some("1AB2".into())]);
        let r = call("TO_BYTES", vec![s1("1aB2", 1), s1("hex", 1)]).unwrap();
        assert_eq!(out_bytes(&r), vec![Some(b64("GrI="))]);
        let r = call("FROM_BYTES", vec![bytes(&[Some(b"!")]), s1("base64", 1)]).unwrap();
        assert_eq!(out_s(&r), vec![Some("IQ==".into())]);
        let r = call("TO_BYTES", vec![s1("#", 1), s1("ascii", 1)]).unwrap();
        assert_eq!(out_bytes(&r), vec![Some(b"#".to_vec())]);
        let e = call_err("FROM_BYTES", vec![bytes(&[Some(b"!")]), s1("ebcdic", 1)]);
        assert!(e.contains("Supported encodings"), "{e}");
    }

    #[test]
    fn numbers_from_bytes() {
        // "convert bytes to INT, BIGINT, and DOUBLE using BIG ENDIAN" / "LITTLE ENDIAN"
        let r = call("INT_FROM_BYTES", vec![bytes(&[Some(&b64("AAAH5Q=="))])]).unwrap();
        assert_eq!(out_i(&r), vec![Some(2021)]);
        let r = call(
            "BIGINT_FROM_BYTES",
            vec![bytes(&[Some(&b64("AAAAASoF8gA="))])],
        )
        .unwrap();
        assert_eq!(out_l(&r), vec![Some(5000000000)]);
        let r = call(
            "DOUBLE_FROM_BYTES",
            vec![bytes(&[Some(&b64("QICm/ZvJ9YI="))])],
        )
        .unwrap();
        assert_eq!(out_d(&r), vec![Some(532.8738323)]);
        let r = call(
            "INT_FROM_BYTES",
            vec![bytes(&[Some(&b64("5QcAAA=="))]), s1("LITTLE_ENDIAN", 1)],
        )
        .unwrap();
        assert_eq!(out_i(&r), vec![Some(2021)]);
        let r = call(
            "DOUBLE_FROM_BYTES",
            vec![bytes(&[Some(&b64("gvXJm/2mgEA="))]), s1("LITTLE_ENDIAN", 1)],
        )
        .unwrap();
        assert_eq!(out_d(&r), vec![Some(532.8738323)]);
        let e = call_err("INT_FROM_BYTES", vec![bytes(&[Some(b"abc")])]);
        assert!(e.contains("must be equal to 4"), "{e}");
    }
}
