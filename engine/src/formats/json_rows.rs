//! json_rows.rs owns the fast path of JSON decoding: when every column is flat (VARCHAR,
//! INT, BIGINT, DOUBLE, BOOLEAN), a row object is scanned once and its fields appended
//! straight to Arrow builders, with no value tree and no allocation per field.
//!
//! The scan takes only what it reads exactly as the general reader would: field names
//! matched to columns as it does (exact match first, then case-insensitive; a batch's names
//! are cached by position), unescaped strings for VARCHAR, integers for INT and
//! BIGINT, numbers for DOUBLE, `true`/`false`, `null`, and unknown fields of scalar values.
//! Any other row (escapes, strings for numbers,
//! nested values, malformed text, a null record) goes through the general reader
//! (jsontext.rs and value.rs), so both paths give the same rows and the same errors.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
};
use arrow::datatypes::{DataType, SchemaRef};

use super::jsontext::{number_end, plain_string_end};
use super::value::Val;
use super::{make_batch, Decoded, RowError};

/// The columns' types, when all of them are flat.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Flat {
    Utf8,
    Int32,
    Int64,
    Float64,
    Boolean,
}

impl Flat {
    fn of(dt: &DataType) -> Option<Flat> {
        Some(match dt {
            DataType::Utf8 => Flat::Utf8,
            DataType::Int32 => Flat::Int32,
            DataType::Int64 => Flat::Int64,
            DataType::Float64 => Flat::Float64,
            DataType::Boolean => Flat::Boolean,
            _ => return None,
        })
    }
}

/// One field's value as the scan read it.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Null,
    Str(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The fast decoder of a schema whose columns are all flat.
#[derive(Debug)]
pub(crate) struct FlatRows {
    schema: SchemaRef,
    names: Vec<String>,
    kinds: Vec<Flat>,
}

impl FlatRows {
    /// None when some column is not flat (or there are none).
    pub(crate) fn new(schema: &SchemaRef) -> Option<FlatRows> {
        let kinds = schema
            .fields()
            .iter()
            .map(|f| Flat::of(f.data_type()))
            .collect::<Option<Vec<_>>>()?;
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        // A field could then feed two columns: left to the general reader.
        let clash = names
            .iter()
            .enumerate()
            .any(|(i, a)| names[i + 1..].iter().any(|b| a.eq_ignore_ascii_case(b)));
        if kinds.is_empty() || clash {
            return None;
        }
        Some(FlatRows {
            schema: schema.clone(),
            names,
            kinds,
        })
    }

    /// Decodes `payloads`: scanned rows straight into the builders, the others by `general`
    /// (the format's row reader: one normalised value per column, None for a null record).
    pub(crate) fn decode<F>(&self, payloads: &[Option<&[u8]>], general: F) -> Decoded
    where
        F: Fn(&[u8]) -> Result<Option<Vec<Val>>, String>,
    {
        let n = payloads.len();
        let mut builders: Vec<Builder> = self
            .kinds
            .iter()
            .map(|k| Builder::new(*k, n, payloads))
            .collect();
        let mut cells: Vec<Option<(Cell<'_>, bool)>> = vec![None; self.kinds.len()];
        let mut null_rows = Vec::with_capacity(n);
        let mut errors = Vec::new();
        let mut names = NameCache::default();
        for (row, payload) in payloads.iter().enumerate() {
            let Some(bytes) = payload else {
                null_rows.push(true);
                builders.iter_mut().for_each(Builder::null);
                continue;
            };
            cells.iter_mut().for_each(|c| *c = None);
            if self.scan(bytes, &mut cells, &mut names).is_some() {
                null_rows.push(false);
                for (b, c) in builders.iter_mut().zip(&cells) {
                    b.cell(c.map_or(Cell::Null, |(c, _)| c));
                }
                continue;
            }
            match general(bytes) {
                Ok(Some(values)) => {
                    null_rows.push(false);
                    let mut it = values.into_iter();
                    for b in builders.iter_mut() {
                        b.val(it.next().unwrap_or(Val::Null));
                    }
                }
                Ok(None) => {
                    null_rows.push(true);
                    builders.iter_mut().for_each(Builder::null);
                }
                Err(message) => {
                    null_rows.push(false);
                    errors.push(RowError { row, message });
                    builders.iter_mut().for_each(Builder::null);
                }
            }
        }
        let arrays = builders.into_iter().map(Builder::finish).collect();
        Decoded {
            batch: make_batch(&self.schema, arrays, n),
            null_rows,
            errors,
        }
    }

    /// The column a field named `name` feeds, and whether the names match exactly (no two
    /// columns match alike, see `new`). Rows usually list their fields in column order, so
    /// the `field`-th column is tried first.
    fn column_of(&self, field: usize, name: &[u8]) -> Option<(usize, bool)> {
        if let Some(exact) = self.names.get(field).and_then(|c| name_match(c, name)) {
            return Some((field, exact));
        }
        self.names
            .iter()
            .enumerate()
            .find_map(|(i, c)| name_match(c, name).map(|exact| (i, exact)))
    }

    /// Reads one row object into `cells` (by column); None when the row is not one the
    /// scan takes exactly. Text outside strings is checked by the grammar (ASCII only);
    /// strings are checked as UTF-8 where they are read, so a row that passes is valid
    /// UTF-8 as a whole, as the general reader requires.
    fn scan<'a>(
        &self,
        bytes: &'a [u8],
        cells: &mut [Option<(Cell<'a>, bool)>],
        names: &mut NameCache<'a>,
    ) -> Option<()> {
        let mut s = Scanner { b: bytes, pos: 0 };
        s.ws();
        s.eat(b'{')?;
        s.ws();
        if s.eat(b'}').is_none() {
            let mut field = 0;
            loop {
                let column = names.field(self, &mut s, field)?;
                s.ws();
                s.eat(b':')?;
                s.ws();
                match column {
                    Some((col, exact)) => {
                        // The general reader's rule: the first exact match, else the first
                        // case-insensitive one.
                        let cell = s.cell(self.kinds[col])?;
                        let take = match cells[col] {
                            None => true,
                            Some((_, was_exact)) => exact && !was_exact,
                        };
                        if take {
                            cells[col] = Some((cell, exact));
                        }
                    }
                    None => s.skip_scalar()?,
                }
                field += 1;
                s.ws();
                match s.next()? {
                    b',' => s.ws(),
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        s.ws();
        (s.pos == s.b.len()).then_some(())
    }
}

/// The column a field feeds, with whether its name matches exactly (None: no column).
type ColumnMatch = Option<(usize, bool)>;

/// The field names a batch's rows used, by position in the row, with the column each one
/// feeds. Rows of one topic nearly always repeat the same names in the same order, so a
/// name is usually taken by comparing its quoted bytes with the one cached for its
/// position, instead of being scanned and matched against every column again.
#[derive(Default)]
struct NameCache<'a> {
    /// Per position: the quoted name as it appeared (checked UTF-8, no escape) and its
    /// column (with whether the match is exact).
    seen: Vec<(&'a [u8], ColumnMatch)>,
}

impl<'a> NameCache<'a> {
    /// Reads the name of the `field`-th field of a row (the scanner at its opening quote)
    /// and returns its column; None when it is not a plain, valid string.
    fn field(
        &mut self,
        rows: &FlatRows,
        s: &mut Scanner<'a>,
        field: usize,
    ) -> Option<Option<(usize, bool)>> {
        if let Some((quoted, column)) = self.seen.get(field) {
            if s.b[s.pos..].starts_with(quoted) {
                s.pos += quoted.len();
                return Some(*column);
            }
        }
        let open = s.pos;
        let name = s.plain_bytes()?;
        std::str::from_utf8(name).ok()?;
        let column = rows.column_of(field, name);
        let quoted = &s.b[open..s.pos];
        if field < self.seen.len() {
            self.seen[field] = (quoted, column);
        } else if field == self.seen.len() {
            self.seen.push((quoted, column));
        }
        Some(column)
    }
}

/// The value of an integral number's text (an optional `-` then digits, as `number_end`
/// checked it); None when it does not fit an i64. Up to 18 digits cannot overflow, so
/// they are summed without a check per digit.
fn parse_integral(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return text.parse().ok();
    }
    let v = digits
        .iter()
        .fold(0i64, |v, d| v * 10 + i64::from(d.wrapping_sub(b'0')));
    Some(if negative { -v } else { v })
}

/// Whether `name` names `column` ignoring ASCII case, and if so whether exactly (one pass,
/// no call per comparison).
fn name_match(column: &str, name: &[u8]) -> Option<bool> {
    let (a, b) = (column.as_bytes(), name);
    if a.len() != b.len() {
        return None;
    }
    let mut exact = true;
    for (x, y) in a.iter().zip(b) {
        if x != y {
            if !x.eq_ignore_ascii_case(y) {
                return None;
            }
            exact = false;
        }
    }
    Some(exact)
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        let b = self.b;
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.pos) == Some(&c)).then(|| self.pos += 1)
    }

    fn word(&mut self, w: &str) -> Option<()> {
        self.b[self.pos..]
            .starts_with(w.as_bytes())
            .then(|| self.pos += w.len())
    }

    /// The bytes of a string without escapes or control characters (the scanner at its
    /// quote), not yet checked as UTF-8.
    fn plain_bytes(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        let end = plain_string_end(self.b, start)?;
        self.pos = end + 1;
        Some(&self.b[start..end])
    }

    /// A string without escapes or control characters, valid UTF-8.
    fn plain_string(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.plain_bytes()?).ok()
    }

    /// A number in JSON's grammar: its text and whether it is integral.
    fn number(&mut self) -> Option<(&'a str, bool)> {
        let start = self.pos;
        let (end, integral) = number_end(self.b, start).ok()?;
        self.pos = end;
        // Digits, sign, point and exponent: ASCII, so this cannot fail.
        let text = std::str::from_utf8(&self.b[start..end]).ok()?;
        Some((text, integral))
    }

    /// A plain integer read in one pass: `-`, then 1 to 18 digits without a leading zero,
    /// not followed by a fraction or exponent. None (the scanner unmoved) for anything
    /// else, which [`Scanner::number`] then reads by the full grammar.
    fn integer(&mut self) -> Option<i64> {
        let b = self.b;
        let negative = b.get(self.pos) == Some(&b'-');
        let start = self.pos + usize::from(negative);
        let mut p = start;
        let mut v: i64 = 0;
        while let Some(d) = b.get(p).filter(|d| d.is_ascii_digit()) {
            if p - start == 18 {
                return None;
            }
            v = v * 10 + i64::from(d - b'0');
            p += 1;
        }
        let n = p - start;
        if n == 0 || (n > 1 && b[start] == b'0') || matches!(b.get(p), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.pos = p;
        Some(if negative { -v } else { v })
    }

    /// The value of a column of kind `kind`.
    fn cell(&mut self, kind: Flat) -> Option<Cell<'a>> {
        if self.b.get(self.pos) == Some(&b'n') && self.word("null").is_some() {
            return Some(Cell::Null);
        }
        match kind {
            Flat::Utf8 => self.plain_string().map(Cell::Str),
            Flat::Boolean => {
                if self.word("true").is_some() {
                    Some(Cell::Bool(true))
                } else {
                    self.word("false").map(|_| Cell::Bool(false))
                }
            }
            Flat::Int32 | Flat::Int64 => {
                let i: i64 = match self.integer() {
                    Some(i) => i,
                    None => {
                        let (text, integral) = self.number()?;
                        if integral {
                            parse_integral(text)?
                        } else {
                            None?
                        }
                    }
                };
                if kind == Flat::Int32 && i32::try_from(i).is_err() {
                    return None; // the general reader reports the range
                }
                Some(Cell::Int(i))
            }
            Flat::Float64 => {
                if let Some(i) = self.integer() {
                    return Some(Cell::Float(i as f64));
                }
                let (text, integral) = self.number()?;
                // As the general reader: an integer that fits i64 converts from it.
                match integral.then(|| parse_integral(text)).flatten() {
                    Some(i) => Some(Cell::Float(i as f64)),
                    None => text.parse().ok().map(Cell::Float),
                }
            }
        }
    }

    /// Skips an unknown field's scalar value (None for nested values and anything else).
    fn skip_scalar(&mut self) -> Option<()> {
        match *self.b.get(self.pos)? {
            b'"' => self.plain_string().map(|_| ()),
            b'n' => self.word("null"),
            b't' => self.word("true"),
            b'f' => self.word("false"),
            b'-' | b'0'..=b'9' => self.number().map(|_| ()),
            _ => None,
        }
    }
}

/// One column's builder.
enum Builder {
    Utf8(StringBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
}

impl Builder {
    fn new(kind: Flat, rows: usize, payloads: &[Option<&[u8]>]) -> Builder {
        match kind {
            Flat::Utf8 => {
                // Room for the strings without a regrowth: at most the payloads' bytes,
                // capped so that wide rows of short strings do not over-reserve.
                let bytes: usize = payloads.iter().flatten().map(|p| p.len()).sum();
                Builder::Utf8(StringBuilder::with_capacity(rows, (bytes / 4).max(rows)))
            }
            Flat::Int32 => Builder::Int32(Int32Builder::with_capacity(rows)),
            Flat::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
            Flat::Float64 => Builder::Float64(Float64Builder::with_capacity(rows)),
            Flat::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
        }
    }

    fn null(&mut self) {
        match self {
            Builder::Utf8(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
        }
    }

    /// A scanned cell (of this column's kind, or null).
    fn cell(&mut self, c: Cell<'_>) {
        match (self, c) {
            (Builder::Utf8(b), Cell::Str(s)) => b.append_value(s),
            (Builder::Int32(b), Cell::Int(i)) => b.append_value(i as i32),
            (Builder::Int64(b), Cell::Int(i)) => b.append_value(i),
            (Builder::Float64(b), Cell::Float(f)) => b.append_value(f),
            (Builder::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (b, _) => b.null(),
        }
    }

    /// A value normalised by the general reader (anything not normalised for this column
    /// is null, as `columns::build_array` reads it).
    fn val(&mut self, v: Val) {
        self.cell(match &v {
            Val::Str(s) => Cell::Str(s),
            Val::Int(i) => Cell::Int(*i),
            Val::Float(f) => Cell::Float(*f),
            Val::Bool(b) => Cell::Bool(*b),
            _ => Cell::Null,
        });
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Utf8(mut b) => Arc::new(b.finish()),
            Builder::Int32(mut b) => Arc::new(b.finish()),
            Builder::Int64(mut b) => Arc::new(b.finish()),
            Builder::Float64(mut b) => Arc::new(b.finish()),
            Builder::Boolean(mut b) => Arc::new(b.finish()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integers of up to 18 digits: what the one-pass read takes.
    const PLAIN: [&str; 7] = [
        "0",
        "-0",
        "7",
        "-42",
        "1700000000000",
        "999999999999999999",
        "-999999999999999999",
    ];

    #[test]
    fn integral_numbers_parse_as_rust_parses_them() {
        for text in PLAIN.into_iter().chain([
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901",
        ]) {
            assert_eq!(parse_integral(text), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn plain_integers_are_read_in_one_pass_and_the_rest_left_to_the_grammar() {
        for text in PLAIN {
            let mut s = Scanner {
                b: text.as_bytes(),
                pos: 0,
            };
            assert_eq!(s.integer(), text.parse().ok(), "{text}");
            assert_eq!(s.pos, text.len(), "{text}");
        }
        let others = [
            "1234567890123456789",
            "01",
            "-07",
            "-",
            "",
            "1.5",
            "2e3",
            "4E1",
            "x",
        ];
        for text in others {
            let mut s = Scanner {
                b: text.as_bytes(),
                pos: 0,
            };
            assert_eq!(s.integer(), None, "{text}");
            assert_eq!(s.pos, 0, "{text}");
        }
    }
}
