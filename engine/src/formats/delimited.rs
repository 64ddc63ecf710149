//! The DELIMITED format: one CSV record of primitive columns, as ksqlDB writes it with
//! Apache Commons CSV's default format and a configurable delimiter.
//!
//! Reading: fields split on the delimiter (comma unless `VALUE_DELIMITER`/`KEY_DELIMITER` says
//! a character, `TAB` or `SPACE`), `"`-quoted fields with `""` for a quote, only the first
//! record; an empty field is null whatever its type; the field count must match the columns.
//! BOOLEAN reads as Java's `Boolean.parseBoolean` (anything but `true` is false), DECIMAL must
//! fit its type without rounding, BYTES is base64, DATE days, TIME ms of the day, TIMESTAMP
//! epoch ms. Writing quotes as Commons CSV's minimal quoting does: a first field that does not
//! start with a letter or digit, a field starting with a character up to `#`, or holding a
//! quote, the delimiter or a line break, or ending in whitespace. Nulls are empty and
//! unquoted. Nested types are refused.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use base64::Engine as _;

use super::value::Val;
use super::{
    check_width, decode_rows, reject_wrapping, row_values, unsupported_type, Decoded, Format,
    FormatError, FormatOptions,
};
use crate::java_text::{format_decimal, java_double, parse_decimal, parse_java_double};

/// ksqlDB's `DELIMITED` format.
#[derive(Debug)]
pub struct DelimitedFormat {
    schema: SchemaRef,
    delimiter: char,
}

/// Reads a `VALUE_DELIMITER` / `KEY_DELIMITER` property: a single character, `TAB` or `SPACE`.
pub fn parse_delimiter(value: &str, property: &str) -> Result<char, FormatError> {
    let invalid = |reason: String| {
        FormatError::InvalidConfig(format!(
            "Configuration {property} is invalid: {reason}\nExample valid value: ';'"
        ))
    };
    if value.eq_ignore_ascii_case("TAB") {
        return Ok('\t');
    }
    if value.eq_ignore_ascii_case("SPACE") {
        return Ok(' ');
    }
    if value.trim().is_empty() {
        return Err(invalid(
            "Delimiter cannot be empty, if you meant to have a tab or space for delimiter, please use the special values 'TAB' or 'SPACE'".into(),
        ));
    }
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(invalid(format!(
            "Invalid delimiter value: '{value}'. Delimiter must be a single character or TAB,SPACE"
        ))),
    }
}

impl DelimitedFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        reject_wrapping("DELIMITED", options)?;
        let delimiter = match &options.delimiter {
            None => ',',
            Some(d) => parse_delimiter(
                d,
                if options.is_key {
                    "KEY_DELIMITER"
                } else {
                    "VALUE_DELIMITER"
                },
            )?,
        };
        for f in schema.fields() {
            match f.data_type() {
                DataType::Boolean
                | DataType::Int32
                | DataType::Int64
                | DataType::Float64
                | DataType::Decimal128(_, _)
                | DataType::Utf8
                | DataType::Binary
                | DataType::Date32
                | DataType::Time32(_)
                | DataType::Timestamp(_, _) => {}
                other => return Err(unsupported_type("DELIMITED", other)),
            }
        }
        Ok(DelimitedFormat { schema, delimiter })
    }

    /// The delimiter in use.
    pub fn delimiter(&self) -> char {
        self.delimiter
    }
}

/// Splits the first CSV record of `text` into fields.
pub(crate) fn parse_record(text: &str, delimiter: char) -> Result<Vec<String>, String> {
    // Commons CSV skips empty lines before the first record.
    let text = text.trim_start_matches(['\r', '\n']);
    if text.is_empty() {
        return Err("No fields in record".into());
    }
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("EOF reached before encapsulated token finished".into()),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.peek() {
                None | Some('\r') | Some('\n') => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(&c) if c == delimiter => {
                    chars.next();
                    fields.push(field);
                }
                Some(_) => {
                    return Err("Invalid char between encapsulated token and delimiter".into())
                }
            }
        } else {
            loop {
                match chars.peek() {
                    None | Some('\r') | Some('\n') => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(&c) if c == delimiter => {
                        chars.next();
                        fields.push(field);
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        chars.next();
                    }
                }
            }
        }
    }
}

fn parse_field(text: &str, dt: &DataType) -> Result<Val, String> {
    let bad = || {
        format!(
            "Failed to parse {} from '{text}'",
            super::columns::base_type_name(dt)
        )
    };
    Ok(match dt {
        DataType::Boolean => Val::Bool(text.eq_ignore_ascii_case("true")),
        DataType::Int32 | DataType::Date32 | DataType::Time32(_) => {
            Val::Int(text.parse::<i32>().map_err(|_| bad())? as i64)
        }
        DataType::Int64 | DataType::Timestamp(_, _) => {
            Val::Int(text.parse::<i64>().map_err(|_| bad())?)
        }
        DataType::Float64 => Val::Float(parse_java_double(text).ok_or_else(bad)?),
        DataType::Decimal128(p, s) => Val::Decimal(parse_decimal(text, *p, *s)?),
        DataType::Utf8 => Val::Str(text.to_string()),
        DataType::Binary => Val::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("Failed to parse BYTES from '{text}': {e}"))?,
        ),
        _ => return Err(bad()),
    })
}

fn field_text(v: &Val, dt: &DataType) -> Option<String> {
    Some(match v {
        Val::Null => return None,
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Float(f) => java_double(*f),
        Val::Decimal(u) => match dt {
            DataType::Decimal128(_, s) => format_decimal(*u, *s),
            _ => u.to_string(),
        },
        Val::Num(s) | Val::Str(s) => s.clone(),
        Val::Bytes(b) => base64::engine::general_purpose::STANDARD.encode(b),
        other => other.to_json_text(),
    })
}

/// Appends one field with Commons CSV's minimal quoting.
fn push_field(out: &mut String, text: Option<&str>, first: bool, delimiter: char) {
    let Some(text) = text else { return };
    let quote = match text.chars().next() {
        None => first,
        Some(c) => {
            (first && !c.is_ascii_alphanumeric())
                || c <= '#'
                || text
                    .chars()
                    .any(|c| c == '\n' || c == '\r' || c == '"' || c == delimiter)
                || text.chars().last().is_some_and(|c| c <= ' ')
        }
    };
    if quote {
        out.push('"');
        for c in text.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(text);
    }
}

impl Format for DelimitedFormat {
    fn name(&self) -> &'static str {
        "DELIMITED"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        let fields = self.schema.fields();
        decode_rows(&self.schema, payloads, |bytes| {
            if fields.is_empty() {
                return Ok(Some(vec![]));
            }
            let text = std::str::from_utf8(bytes).map_err(|e| format!("Invalid UTF-8: {e}"))?;
            let parts = parse_record(text, self.delimiter)?;
            if parts.len() != fields.len() {
                return Err(format!(
                    "Column count mismatch on deserialization. expected: {}, got: {}",
                    fields.len(),
                    parts.len()
                ));
            }
            parts
                .iter()
                .zip(fields.iter())
                .map(|(p, f)| {
                    if p.is_empty() {
                        Ok(Val::Null)
                    } else {
                        parse_field(p, f.data_type())
                            .map_err(|e| format!("{e} (column {})", f.name()))
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        check_width(&self.schema, batch)?;
        let fields = self.schema.fields();
        if fields.is_empty() {
            return Ok(vec![None; batch.num_rows()]);
        }
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let values = row_values(batch, row);
            if fields.len() == 1 && matches!(values[0], Val::Null) {
                out.push(None);
                continue;
            }
            let mut text = String::new();
            for (i, (v, f)) in values.iter().zip(fields.iter()).enumerate() {
                if i > 0 {
                    text.push(self.delimiter);
                }
                let t = field_text(v, f.data_type());
                push_field(&mut text, t.as_deref(), i == 0, self.delimiter);
            }
            out.push(Some(text.into_bytes()));
        }
        Ok(out)
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        // Logical DELIMITED values are the record's text.
        Ok(match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(other.to_string().into_bytes()),
        })
    }

    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        Ok(match payload {
            None => serde_json::Value::Null,
            Some(b) => serde_json::Value::String(String::from_utf8_lossy(b).into_owned()),
        })
    }
}
