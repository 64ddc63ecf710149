//! ENCODE: re-encode a string between the text encodings hex, utf8, ascii and base64; plus
//! the byte/text codecs that FROM_BYTES and TO_BYTES share.

use base64::Engine;

use crate::functions::kernels::{any_null, map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ENCODE(str, inputEncoding, outputEncoding)`: decodes `str` with `inputEncoding` into
/// bytes and encodes those bytes with `outputEncoding`. Encodings (case-insensitive):
/// `hex` (optionally `0x…` or `X'…'`; an odd number of bare digits gets a leading 0),
/// `utf8`, `ascii` (unmappable characters become `?`, bytes above 0x7F decode as U+FFFD) and
/// `base64`. NULL when any argument is NULL, an encoding is unknown, or `str` is not valid
/// in `inputEncoding`.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "ENCODE",
        Category::String,
        "Converts str from inputEncoding to outputEncoding; the encodings are hex, utf8, \
         ascii and base64.",
        vec![Overload::new(
            &[
                ("str", P::String),
                ("inputEncoding", P::String),
                ("outputEncoding", P::String),
            ],
            P::String,
        )],
        |c: &Call| {
            let (s, ie, oe) = (strs(&c.args[0]), strs(&c.args[1]), strs(&c.args[2]));
            map_to_string(c.rows, |i| {
                if any_null(c.args, i) {
                    return Ok(None);
                }
                let (Some(inp), Some(out)) =
                    (Encoding::parse(ie.value(i)), Encoding::parse(oe.value(i)))
                else {
                    return Ok(None);
                };
                Ok(inp
                    .decode(s.value(i))
                    .map(|bytes| out.encode(&bytes, false)))
            })
        },
    )
}

/// A text encoding of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    pub(crate) fn parse(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Some(Encoding::Hex),
            "utf8" => Some(Encoding::Utf8),
            "ascii" => Some(Encoding::Ascii),
            "base64" => Some(Encoding::Base64),
            _ => None,
        }
    }

    /// Text → bytes; None when the text is not valid in this encoding.
    pub(crate) fn decode(self, s: &str) -> Option<Vec<u8>> {
        match self {
            Encoding::Hex => decode_hex(s),
            Encoding::Utf8 => Some(s.as_bytes().to_vec()),
            Encoding::Ascii => Some(
                s.chars()
                    .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                    .collect(),
            ),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(s).ok(),
        }
    }

    /// Bytes → text.
    pub(crate) fn encode(self, b: &[u8], upper_hex: bool) -> String {
        match self {
            Encoding::Hex => {
                let mut out = String::with_capacity(b.len() * 2);
                for byte in b {
                    if upper_hex {
                        out.push_str(&format!("{byte:02X}"));
                    } else {
                        out.push_str(&format!("{byte:02x}"));
                    }
                }
                out
            }
            Encoding::Utf8 => String::from_utf8_lossy(b).into_owned(),
            Encoding::Ascii => b
                .iter()
                .map(|&c| if c < 0x80 { c as char } else { '\u{fffd}' })
                .collect(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(b),
        }
    }
}

/// Hex text as ksqlDB's `Encode.hexStrip` and commons-codec's `Hex.decodeHex` accept it:
/// `0x…` (an odd number of digits gets a leading 0), `X'…'`/`x'…'`, or bare digits; the
/// last two need an even number of digits.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits: String = if let Some(rest) = s.strip_prefix("0x") {
        if rest.len().is_multiple_of(2) {
            rest.to_string()
        } else {
            format!("0{rest}")
        }
    } else if let Some(inner) = s
        .strip_prefix("X'")
        .or_else(|| s.strip_prefix("x'"))
        .and_then(|rest| rest.strip_suffix('\''))
    {
        inner.to_string()
    } else {
        s.to_string()
    };
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|j| u8::from_str_radix(&digits[j..j + 2], 16).ok())
        .collect()
}
