//! JSON text <-> values: a strict JSON reader that keeps numbers as their exact text (so
//! DECIMAL(38, s) and BIGINT values survive) and a writer of normalised values that prints
//! them as ksqlDB's JSON serializer does (decimals at their scale, doubles as Java prints them,
//! bytes as base64).

use arrow::datatypes::DataType;
use base64::Engine as _;
use std::borrow::Cow;

use super::value::{map_value_type, Val};
use crate::java_text::{format_decimal, java_double};

const MAX_DEPTH: usize = 256;

/// An object's fields in order, names borrowed from the text where they can be.
pub(crate) type Fields<'a> = Vec<(Cow<'a, str>, Val)>;

/// Parses one JSON document (surrounding whitespace allowed).
pub(crate) fn parse(bytes: &[u8]) -> Result<Val, String> {
    let mut p = Parser::new(bytes)?;
    let v = p.value(0)?;
    p.end()?;
    Ok(v)
}

/// Parses `bytes` when they hold a JSON object: its fields in order, names borrowed from
/// `bytes` where they hold no escape (a row's field names are only matched, never kept).
/// None when the value is not an object ([`parse`] reads it then). Errors are [`parse`]'s.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Option<Fields<'_>>, String> {
    let mut p = Parser::new(bytes)?;
    if p.peek() != Some(b'{') {
        return Ok(None);
    }
    let fields = p.object(0, Parser::key)?;
    p.end()?;
    Ok(Some(fields))
}

/// JSON's number grammar over `s` from `start`: where the number ends and whether it is
/// integral (no fraction, no exponent); or where it goes wrong and why.
pub(crate) fn number_end(s: &[u8], start: usize) -> Result<(usize, bool), (usize, &'static str)> {
    let digits = |p: &mut usize| {
        let from = *p;
        while s.get(*p).is_some_and(u8::is_ascii_digit) {
            *p += 1;
        }
        *p - from
    };
    let mut p = start;
    if s.get(p) == Some(&b'-') {
        p += 1;
    }
    let int_start = p;
    let n = digits(&mut p);
    if n == 0 {
        return Err((p, "invalid number"));
    }
    if s[int_start] == b'0' && n > 1 {
        return Err((p, "leading zeros in number"));
    }
    let mut integral = true;
    if s.get(p) == Some(&b'.') {
        p += 1;
        integral = false;
        if digits(&mut p) == 0 {
            return Err((p, "invalid number"));
        }
    }
    if matches!(s.get(p), Some(b'e' | b'E')) {
        p += 1;
        integral = false;
        if matches!(s.get(p), Some(b'+' | b'-')) {
            p += 1;
        }
        if digits(&mut p) == 0 {
            return Err((p, "invalid number"));
        }
    }
    Ok((p, integral))
}

/// The closing quote of a string whose text starts at `start` (just after its opening
/// quote), when the string holds no escape and no control character; None otherwise.
pub(crate) fn plain_string_end(s: &[u8], start: usize) -> Option<usize> {
    let len = s
        .get(start..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    (s[start + len] == b'"').then_some(start + len)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the first token of `bytes` (UTF-8 checked).
    fn new(bytes: &'a [u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8 in JSON: {e}"))?;
        let mut p = Parser {
            s: text.as_bytes(),
            text,
            pos: 0,
        };
        p.ws();
        Ok(p)
    }

    /// Checks that only whitespace follows the document.
    fn end(&mut self) -> Result<(), String> {
        self.ws();
        if self.pos != self.s.len() {
            return Err(self.err("trailing characters after JSON value"));
        }
        Ok(())
    }

    fn err(&self, what: &str) -> String {
        format!("Invalid JSON at offset {}: {what}", self.pos)
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn expect_word(&mut self, word: &str, v: Val) -> Result<Val, String> {
        if self.s[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("unexpected token"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Val, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            None => Err(self.err("unexpected end of input")),
            Some(b'n') => self.expect_word("null", Val::Null),
            Some(b't') => self.expect_word("true", Val::Bool(true)),
            Some(b'f') => self.expect_word("false", Val::Bool(false)),
            Some(b'"') => self.string().map(Val::Str),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Val::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Val::Array(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'{') => self.object(depth, Self::string).map(Val::Object),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    /// An object's fields (the parser at its `{`), each name read by `key`.
    fn object<K>(
        &mut self,
        depth: usize,
        key: fn(&mut Self) -> Result<K, String>,
    ) -> Result<Vec<(K, Val)>, String> {
        self.pos += 1;
        let mut fields = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(fields);
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a field name"));
            }
            let k = key(self)?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':'"));
            }
            self.pos += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            fields.push((k, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(fields);
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
    }

    /// A field name (the parser at its opening quote): borrowed from the text when it has
    /// no escape, as [`Parser::string`] reads it otherwise.
    fn key(&mut self) -> Result<Cow<'a, str>, String> {
        let start = self.pos + 1;
        if let Some(end) = plain_string_end(self.s, start) {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        self.string().map(Cow::Owned)
    }

    fn number(&mut self) -> Result<Val, String> {
        let start = self.pos;
        let integral = match number_end(self.s, start) {
            Ok((end, integral)) => {
                self.pos = end;
                integral
            }
            Err((at, what)) => {
                self.pos = at;
                return Err(self.err(what));
            }
        };
        let text = &self.text[start..self.pos];
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Val::Int(i));
            }
        }
        Ok(Val::Num(text.to_string()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self
                .peek()
                .is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20)
            {
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.pos += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.s[self.pos..].starts_with(b"\\u") {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| self.err("invalid code point"))?,
                            );
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                Some(_) => return Err(self.err("control character in string")),
                None => return Err(self.err("unterminated string")),
            }
        }
    }
}

/// Writes a normalised value of type `dt` as JSON.
pub(crate) fn write(out: &mut String, v: &Val, dt: &DataType) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Float(f) if f.is_finite() => out.push_str(&java_double(*f)),
        // Jackson quotes non-finite doubles.
        Val::Float(f) => {
            out.push('"');
            out.push_str(&java_double(*f));
            out.push('"');
        }
        Val::Decimal(u) => match dt {
            DataType::Decimal128(_, s) => out.push_str(&format_decimal(*u, *s)),
            _ => out.push_str(&u.to_string()),
        },
        Val::Num(s) => out.push_str(s),
        Val::Str(s) => write_str(out, s),
        Val::Bytes(b) => {
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Val::Array(items) => {
            let item_type = match dt {
                DataType::List(f) | DataType::LargeList(f) => f.data_type().clone(),
                _ => DataType::Null,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, &item_type);
            }
            out.push(']');
        }
        Val::Object(entries) => {
            let value_type = match dt {
                DataType::Map(e, _) => Some(map_value_type(e.data_type())),
                _ => None,
            };
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                match (&value_type, dt) {
                    (Some(t), _) => write(out, item, t),
                    (None, DataType::Struct(fs)) => {
                        let t = fs
                            .get(i)
                            .map(|f| f.data_type().clone())
                            .unwrap_or(DataType::Null);
                        write(out, item, &t)
                    }
                    _ => write(out, item, &DataType::Null),
                }
            }
            out.push('}');
        }
    }
}

/// Writes the cell at `row` of `array` (declared as `dt`) as [`write`] writes its value,
/// without building the value first for the common scalar types.
pub(crate) fn write_cell(
    out: &mut String,
    array: &dyn arrow::array::Array,
    row: usize,
    dt: &DataType,
) {
    use arrow::array::AsArray;
    use arrow::datatypes::{Int32Type, Int64Type};
    if array.is_null(row) {
        out.push_str("null");
        return;
    }
    match array.data_type() {
        DataType::Int64 => {
            out.push_str(itoa::Buffer::new().format(array.as_primitive::<Int64Type>().value(row)))
        }
        DataType::Int32 => {
            out.push_str(itoa::Buffer::new().format(array.as_primitive::<Int32Type>().value(row)))
        }
        DataType::Utf8 => write_str(out, array.as_string::<i32>().value(row)),
        DataType::Boolean => out.push_str(if array.as_boolean().value(row) {
            "true"
        } else {
            "false"
        }),
        _ => write(out, &super::columns::read_cell(array, row), dt),
    }
}

pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Nothing to escape (the usual case): one copy.
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_numbers() {
        assert_eq!(
            parse(b"12345678987654321.2345678987654321").unwrap(),
            Val::Num("12345678987654321.2345678987654321".into())
        );
        assert_eq!(parse(b" -7 ").unwrap(), Val::Int(-7));
        assert_eq!(
            parse(b"99999999999999999999").unwrap(),
            Val::Num("99999999999999999999".into())
        );
    }

    #[test]
    fn parses_nested() {
        let v = parse(br#"{"a": [1, "x\u00e9\n", null, true], "b": {}}"#).unwrap();
        assert_eq!(
            v,
            Val::Object(vec![
                (
                    "a".into(),
                    Val::Array(vec![
                        Val::Int(1),
                        Val::Str("x\u{e9}\n".into()),
                        Val::Null,
                        Val::Bool(true)
                    ])
                ),
                ("b".into(), Val::Object(vec![]))
            ])
        );
    }

    #[test]
    fn parse_object_reads_what_parse_reads() {
        let fields = parse_object(br#" {"a": 1, "b\u0041": [true], "c": {"d": null}} "#)
            .unwrap()
            .unwrap();
        assert!(matches!(fields[0].0, Cow::Borrowed("a")));
        assert!(matches!(&fields[1].0, Cow::Owned(k) if k == "bA"));
        let Val::Object(whole) =
            parse(br#" {"a": 1, "b\u0041": [true], "c": {"d": null}} "#).unwrap()
        else {
            panic!("an object")
        };
        let as_owned: Vec<(String, Val)> = fields
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect();
        assert_eq!(as_owned, whole);
        // Not an object: left to parse.
        assert_eq!(parse_object(b" [1] ").unwrap(), None);
        assert_eq!(parse_object(b"null").unwrap(), None);
        // Malformed: the same error as parse.
        for bad in [
            &b"{\"a\": 1,}"[..],
            b"{\"a\" 1}",
            b"{\"a\": 1} x",
            b"{\"a\x01\": 1}",
        ] {
            assert_eq!(parse_object(bad).unwrap_err(), parse(bad).unwrap_err());
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            &b"{"[..],
            b"{\"a\" 1}",
            b"[1,]",
            b"01",
            b"1.",
            b"tru",
            b"\"abc",
            b"{} x",
            b"",
            b"\xff",
            b"\"\\ud800\"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "[".repeat(10_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn writes_strings_escaped() {
        let mut out = String::new();
        write(
            &mut out,
            &Val::Str("a\"b\\c\n\u{1}".into()),
            &DataType::Utf8,
        );
        assert_eq!(out, r#""a\"b\\c\n\u0001""#);
        let cases = [
            ("plain é", r#""plain é""#),
            ("tab\t", r#""tab\t""#),
            ("", "\"\""),
        ];
        for (s, want) in cases {
            let mut out = String::new();
            write_str(&mut out, s);
            assert_eq!(out, want);
        }
    }
}
