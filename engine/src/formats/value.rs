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
use crate::java_text::{format_decimal, java_double, parse_decimal, parse_java_double};

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
        Val::Object(entries) => coerce_object(entries, schema).map(Some),
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

/// An object's fields as a row of `schema` (each column the field of its name: exact match
/// first, then case-insensitive; missing fields are null).
pub(crate) fn coerce_object<K: AsRef<str>>(
    mut entries: Vec<(K, Val)>,
    schema: &SchemaRef,
) -> Result<Vec<Val>, String> {
    let fields = schema.fields();
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        let v = take_field(&mut entries, f.name());
        out.push(coerce(v, f.data_type(), f.name())?);
    }
    Ok(out)
}

/// Removes the entry named `name` (exact match first, then case-insensitive).
fn take_field<K: AsRef<str>>(entries: &mut [(K, Val)], name: &str) -> Val {
    let pos = entries
        .iter()
        .position(|(k, _)| k.as_ref() == name)
        .or_else(|| {
            entries
                .iter()
                .position(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
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

#[cfg(test)]
mod tests {
    use super::*;

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
