//! The value model the formats share: `Val`, a dynamically typed value read from a payload
//! (JSON, Avro, a delimited field) and ksqlDB's coercion of such a value into a column type.
//!
//! Coercion turns a raw `Val` into its normalised form for a `DataType`, the only form the
//! Arrow builders in `columns` accept:
//! Boolean → `Bool`; Int32/Int64/Date32/Time32/Timestamp → `Int`; Float64 → `Float`;
//! Decimal128 → `Decimal` (unscaled, at the type's scale); Utf8 → `Str`; Binary → `Bytes`;
//! List → `Array`; Struct → `Object` with exactly the type's fields, in order; Map → `Object`
//! of entries. Anything may be `Null` where the type is nullable.

use arrow::datatypes::{DataType, SchemaRef};
use base64::Engine as _;

use super::columns::sql_type_name;

/// A dynamically typed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A number kept as its exact text (JSON numbers, Avro decimals).
    Num(String),
    /// A decimal's unscaled value (normalised form only).
    Decimal(i128),
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Val>),
    /// Object fields, struct fields or map entries, in order.
    Object(Vec<(String, Val)>),
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Null => "NULL",
            Val::Bool(_) => "BOOLEAN",
            Val::Int(_) | Val::Float(_) | Val::Num(_) | Val::Decimal(_) => "NUMBER",
            Val::Str(_) => "STRING",
            Val::Bytes(_) => "BYTES",
            Val::Array(_) => "ARRAY",
            Val::Object(_) => "OBJECT",
        }
    }

    /// A serde_json value as a raw `Val` (floats keep their shortest text).
    pub(crate) fn from_serde(v: &serde_json::Value) -> Val {
        match v {
            serde_json::Value::Null => Val::Null,
            serde_json::Value::Bool(b) => Val::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Num(n.to_string()),
            },
            serde_json::Value::String(s) => Val::Str(s.clone()),
            serde_json::Value::Array(a) => Val::Array(a.iter().map(Val::from_serde).collect()),
            serde_json::Value::Object(o) => Val::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), Val::from_serde(v)))
                    .collect(),
            ),
        }
    }

    /// Compact JSON text of a raw value (a container read into a STRING column).
    pub(crate) fn to_json_text(&self) -> String {
        let mut out = String::new();
        write_raw_json(&mut out, self);
        out
    }
}

fn write_raw_json(out: &mut String, v: &Val) {
    match v {
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Float(f) => out.push_str(&java_double(*f)),
        Val::Num(s) => out.push_str(s),
        Val::Decimal(i) => out.push_str(&i.to_string()),
        Val::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
        Val::Bytes(b) => {
            out.push('"');
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
            out.push('"');
        }
        Val::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_raw_json(out, item);
            }
            out.push(']');
        }
        Val::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_raw_json(out, item);
            }
            out.push('}');
        }
    }
}

/// A normalised value as logical JSON (decimals and doubles as numbers, bytes as base64).
pub(crate) fn to_serde(v: &Val, dt: &DataType) -> serde_json::Value {
    use serde_json::Value as J;
    match (v, dt) {
        (Val::Null, _) => J::Null,
        (Val::Bool(b), _) => J::Bool(*b),
        (Val::Int(i), _) => J::from(*i),
        (Val::Float(f), _) => float_to_serde(*f),
        (Val::Decimal(u), DataType::Decimal128(_, s)) => {
            let text = format_decimal(*u, *s);
            match text.parse::<f64>() {
                Ok(f) => float_to_serde(f),
                Err(_) => J::String(text),
            }
        }
        (Val::Decimal(u), _) => J::from(*u as f64),
        (Val::Num(s), _) => s
            .parse::<f64>()
            .map(float_to_serde)
            .unwrap_or(J::String(s.clone())),
        (Val::Str(s), _) => J::String(s.clone()),
        (Val::Bytes(b), _) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        (Val::Array(items), DataType::List(f)) => {
            J::Array(items.iter().map(|i| to_serde(i, f.data_type())).collect())
        }
        (Val::Array(items), _) => {
            J::Array(items.iter().map(|i| to_serde(i, &DataType::Null)).collect())
        }
        (Val::Object(fields), DataType::Struct(fs)) => J::Object(
            fields
                .iter()
                .zip(fs.iter())
                .map(|((k, v), f)| (k.clone(), to_serde(v, f.data_type())))
                .collect(),
        ),
        (Val::Object(fields), DataType::Map(entries, _)) => {
            let value_type = map_value_type(entries.data_type());
            J::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), to_serde(v, &value_type)))
                    .collect(),
            )
        }
        (Val::Object(fields), _) => J::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_serde(v, &DataType::Null)))
                .collect(),
        ),
    }
}

fn float_to_serde(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None => serde_json::Value::String(java_double(f)),
    }
}

/// The value type of a Map's entries struct.
pub(crate) fn map_value_type(entries: &DataType) -> DataType {
    match entries {
        DataType::Struct(fs) if fs.len() == 2 => fs[1].data_type().clone(),
        _ => DataType::Null,
    }
}

/// Coerces a whole record into one normalised value per column: an object of columns
/// (matched case-insensitively), or a bare value for an unwrapped single column.
/// `Ok(None)` for a null record.
pub(crate) fn coerce_row(
    val: Val,
    schema: &SchemaRef,
    unwrapped: bool,
) -> Result<Option<Vec<Val>>, String> {
    if matches!(val, Val::Null) {
        return Ok(None);
    }
    let fields = schema.fields();
    if unwrapped {
        let f = &fields[0];
        let v = coerce(val, f.data_type(), f.name())?;
        return Ok(Some(vec![v]));
    }
    match val {
        Val::Object(mut entries) => {
            let mut out = Vec::with_capacity(fields.len());
            for f in fields {
                let v = take_field(&mut entries, f.name());
                out.push(coerce(v, f.data_type(), f.name())?);
            }
            Ok(Some(out))
        }
        other => Err(format!(
            "Can't convert type. sourceType: {}, requiredType: STRUCT<{}>",
            other.kind(),
            fields
                .iter()
                .map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Removes the entry named `name` (exact match first, then case-insensitive).
fn take_field(entries: &mut [(String, Val)], name: &str) -> Val {
    let pos = entries.iter().position(|(k, _)| k == name).or_else(|| {
        entries
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))
    });
    match pos {
        Some(i) => std::mem::replace(&mut entries[i].1, Val::Null),
        None => Val::Null,
    }
}

fn mismatch(v: &Val, dt: &DataType, path: &str) -> String {
    format!(
        "Can't convert type. sourceType: {}, requiredType: {}, path: {}",
        v.kind(),
        sql_type_name(dt),
        path
    )
}

/// Coerces a raw value into the normalised form for `dt`, as ksqlDB's deserializers do:
/// numbers convert between numeric types, numeric strings parse into numbers, anything
/// scalar reads as a string, struct fields match case-insensitively.
pub(crate) fn coerce(v: Val, dt: &DataType, path: &str) -> Result<Val, String> {
    if matches!(v, Val::Null) {
        return Ok(Val::Null);
    }
    match dt {
        DataType::Null => Ok(Val::Null),
        DataType::Boolean => match v {
            Val::Bool(b) => Ok(Val::Bool(b)),
            Val::Str(ref s) if s.eq_ignore_ascii_case("true") => Ok(Val::Bool(true)),
            Val::Str(ref s) if s.eq_ignore_ascii_case("false") => Ok(Val::Bool(false)),
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::Int32 | DataType::Date32 | DataType::Time32(_) => {
            let i = to_i64(&v).ok_or_else(|| mismatch(&v, dt, path))?;
            if i < i32::MIN as i64 || i > i32::MAX as i64 {
                return Err(format!(
                    "Value {i} out of range for {} at {path}",
                    sql_type_name(dt)
                ));
            }
            Ok(Val::Int(i))
        }
        DataType::Int64 | DataType::Timestamp(_, _) => to_i64(&v)
            .map(Val::Int)
            .ok_or_else(|| mismatch(&v, dt, path)),
        DataType::Float64 | DataType::Float32 => match v {
            Val::Int(i) => Ok(Val::Float(i as f64)),
            Val::Float(f) => Ok(Val::Float(f)),
            Val::Num(ref s) => s
                .parse()
                .map(Val::Float)
                .map_err(|_| mismatch(&v, dt, path)),
            Val::Str(ref s) => parse_java_double(s)
                .map(Val::Float)
                .ok_or_else(|| mismatch(&v, dt, path)),
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::Decimal128(p, s) => {
            let text = match v {
                Val::Int(i) => i.to_string(),
                Val::Float(f) => f.to_string(),
                Val::Num(s) => s,
                Val::Str(s) => s.trim().to_string(),
                other => return Err(mismatch(&other, dt, path)),
            };
            parse_decimal(&text, *p, *s).map(Val::Decimal)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => match v {
            Val::Str(s) => Ok(Val::Str(s)),
            Val::Bool(b) => Ok(Val::Str(b.to_string())),
            Val::Int(i) => Ok(Val::Str(i.to_string())),
            Val::Float(f) => Ok(Val::Str(java_double(f))),
            Val::Num(s) => Ok(Val::Str(s)),
            other @ (Val::Array(_) | Val::Object(_)) => Ok(Val::Str(other.to_json_text())),
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => match v {
            Val::Bytes(b) => Ok(Val::Bytes(b)),
            Val::Str(s) => base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map(Val::Bytes)
                .map_err(|e| format!("Value at {path} is not valid base64: {e}")),
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::List(item) | DataType::LargeList(item) => match v {
            Val::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, it) in items.into_iter().enumerate() {
                    let c = coerce(it, item.data_type(), &format!("{path}[{i}]"))?;
                    if matches!(c, Val::Null) && !item.is_nullable() {
                        return Err(format!("null element at {path}[{i}]"));
                    }
                    out.push(c);
                }
                Ok(Val::Array(out))
            }
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::Struct(fields) => match v {
            Val::Object(mut entries) => {
                let mut out = Vec::with_capacity(fields.len());
                for f in fields.iter() {
                    let fpath = format!("{path}.{}", f.name());
                    let c = coerce(take_field(&mut entries, f.name()), f.data_type(), &fpath)?;
                    if matches!(c, Val::Null) && !f.is_nullable() {
                        return Err(format!("null value for non-nullable field {fpath}"));
                    }
                    out.push((f.name().clone(), c));
                }
                Ok(Val::Object(out))
            }
            other => Err(mismatch(&other, dt, path)),
        },
        DataType::Map(entries_field, _) => {
            let value_type = map_value_type(entries_field.data_type());
            let value_nullable = match entries_field.data_type() {
                DataType::Struct(fs) if fs.len() == 2 => fs[1].is_nullable(),
                _ => true,
            };
            let entries = match v {
                Val::Object(entries) => entries,
                // Avro writers that cannot express maps write arrays of key/value records.
                Val::Array(items) => {
                    let mut entries = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Val::Object(mut kv) => {
                                let key = match take_field(&mut kv, "key") {
                                    Val::Str(s) => s,
                                    other => return Err(mismatch(&other, &DataType::Utf8, path)),
                                };
                                entries.push((key, take_field(&mut kv, "value")));
                            }
                            other => return Err(mismatch(&other, dt, path)),
                        }
                    }
                    entries
                }
                other => return Err(mismatch(&other, dt, path)),
            };
            let mut out = Vec::with_capacity(entries.len());
            for (k, item) in entries {
                let c = coerce(item, &value_type, &format!("{path}['{k}']"))?;
                if matches!(c, Val::Null) && !value_nullable {
                    return Err(format!("null value at {path}['{k}']"));
                }
                out.push((k, c));
            }
            Ok(Val::Object(out))
        }
        other => Err(format!("Unsupported column type {other} at {path}")),
    }
}

/// A raw value as an integer, as Java's `longValue()` and `Long.parseLong` read them
/// (doubles truncate, strings must be integral).
fn to_i64(v: &Val) -> Option<i64> {
    match v {
        Val::Int(i) => Some(*i),
        Val::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        Val::Num(s) => s.parse::<i64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Val::Str(s) => s.parse::<i64>().ok(),
        _ => None,
    }
}

/// Java's `Double.parseDouble`: surrounding whitespace allowed, `NaN`, `Infinity`, and an
/// optional `d`/`f` suffix.
pub(crate) fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|r| !r.is_empty() && !r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => t.parse().ok(),
        _ => None,
    }
}

/// Java's `Double.toString`: plain notation with at least one fractional digit for
/// 1e-3 <= |d| < 1e7, otherwise `d.dddE±n`, always with the shortest digits that round-trip.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // `{:e}` gives the shortest digits as d.ddde±n.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

/// Parses decimal text into an unscaled value at `scale`, as ksqlDB's `DecimalUtil.ensureFit`
/// does: no rounding, and no more integer digits than `precision - scale`.
pub(crate) fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let invalid = || format!("Invalid decimal value: '{text}'");
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (
            &body[..i],
            body[i + 1..].parse::<i32>().map_err(|_| invalid())?,
        ),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    // digits with an implied scale of (frac len - exp)
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut value_scale = frac_part.len() as i64 - exp as i64;
    let target = scale as i64;
    if value_scale > target {
        let drop = (value_scale - target) as usize;
        let cut = digits.len().saturating_sub(drop);
        if digits[cut..].bytes().any(|b| b != b'0') {
            let plain = plain_decimal_text(neg, &digits, value_scale);
            return Err(format!(
                "Cannot fit decimal '{plain}' into DECIMAL({precision}, {scale}) without rounding. (Requires {}, {})",
                significant_precision(&digits, value_scale),
                value_scale.max(0)
            ));
        }
        digits.truncate(cut);
        value_scale = target;
    }
    while value_scale < target {
        digits.push('0');
        value_scale += 1;
    }
    let trimmed = digits.trim_start_matches('0');
    let int_digits = trimmed.len() as i64 - target;
    if int_digits > precision as i64 - target || trimmed.len() > 38 {
        let plain = plain_decimal_text(neg, &digits, target);
        return Err(format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute value less than 10^{}. Got {plain}",
            precision as i64 - target
        ));
    }
    let unscaled: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().map_err(|_| invalid())?
    };
    Ok(if neg { -unscaled } else { unscaled })
}

fn significant_precision(digits: &str, scale: i64) -> i64 {
    let t = digits.trim_start_matches('0').len() as i64;
    t.max(scale).max(1)
}

fn plain_decimal_text(neg: bool, digits: &str, scale: i64) -> String {
    let v: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    format_decimal(if neg { -v } else { v }, scale.clamp(0, 76) as i8)
}

/// An unscaled decimal as plain text at its scale (Java's `toPlainString`): `1200, 2` → `12.00`.
pub(crate) fn format_decimal(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = unscaled.to_string();
        if unscaled != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let scale = scale as usize;
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{}.{}", if neg { "-" } else { "" }, i, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(532.8738323), "532.8738323");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(-2.5e10), "-2.5E10");
        assert_eq!(java_double(0.001), "0.001");
    }

    #[test]
    fn decimals_fit_without_rounding() {
        assert_eq!(parse_decimal("12.0", 6, 4), Ok(120000));
        assert_eq!(parse_decimal(".12", 33, 16), Ok(1_200_000_000_000_000));
        assert_eq!(
            parse_decimal("-12345.12", 33, 16).unwrap(),
            -123_451_200_000_000_000_000
        );
        assert_eq!(parse_decimal("1.50", 3, 1), Ok(15));
        assert_eq!(parse_decimal("1e2", 5, 1), Ok(1000));
        assert!(parse_decimal("1.23", 3, 1)
            .unwrap_err()
            .contains("without rounding"));
        assert!(parse_decimal("100", 3, 1)
            .unwrap_err()
            .contains("Numeric field overflow"));
        assert!(parse_decimal("abc", 3, 1).is_err());
        assert!(parse_decimal("", 3, 1).is_err());
        assert!(parse_decimal("-", 3, 1).is_err());
    }

    #[test]
    fn decimal_text() {
        assert_eq!(format_decimal(120000, 4), "12.0000");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(0, 3), "0.000");
        assert_eq!(format_decimal(12, 0), "12");
    }

    #[test]
    fn coercions() {
        assert_eq!(
            coerce(Val::Str("10".into()), &DataType::Int32, "$"),
            Ok(Val::Int(10))
        );
        assert_eq!(
            coerce(Val::Float(1.9), &DataType::Int64, "$"),
            Ok(Val::Int(1))
        );
        assert_eq!(
            coerce(Val::Int(3), &DataType::Utf8, "$"),
            Ok(Val::Str("3".into()))
        );
        assert!(coerce(Val::Str("x".into()), &DataType::Int32, "$").is_err());
        assert!(coerce(Val::Int(1 << 40), &DataType::Int32, "$").is_err());
        assert!(coerce(Val::Bool(true), &DataType::Float64, "$").is_err());
        assert_eq!(
            coerce(Val::Str("TRUE".into()), &DataType::Boolean, "$"),
            Ok(Val::Bool(true))
        );
    }
}
