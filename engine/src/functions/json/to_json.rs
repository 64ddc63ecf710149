//! TO_JSON_STRING: any value serialised as JSON text.

use crate::java_text::format_decimal;
use std::fmt::Write;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimestampMillisecondType,
};
use base64::Engine;
use datafusion::common::Result;

use super::value::write_string;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `TO_JSON_STRING(value)`: `value` as compact JSON: strings quoted, BYTES as base64
/// strings, DECIMAL as a number with its scale, DATE as days and TIME / TIMESTAMP as
/// milliseconds (numbers), ARRAY as an array, MAP as an object (keys as text), STRUCT as an
/// object with its field names. A NULL value gives the text `null`.
pub fn def() -> FunctionDef {
    FunctionDef::new(
        "TO_JSON_STRING",
        Category::Json,
        "Serializes any value (including ARRAY, MAP and STRUCT) into a JSON string.",
        vec![Overload::new(&[("value", P::T)], P::String)],
        |c: &Call| {
            let a = &c.args[0];
            let mut b = StringBuilder::with_capacity(c.rows, c.rows * 16);
            let mut buf = String::new();
            for i in 0..c.rows {
                buf.clear();
                write_json(a, i, &mut buf)?;
                b.append_value(&buf);
            }
            Ok(std::sync::Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// Appends the JSON of `a[i]` to `out`.
pub(crate) fn write_json(a: &ArrayRef, i: usize, out: &mut String) -> Result<()> {
    if a.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match a.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if a.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        DataType::Int32 => write!(out, "{}", a.as_primitive::<Int32Type>().value(i))?,
        DataType::Int64 => write!(out, "{}", a.as_primitive::<Int64Type>().value(i))?,
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>().value(i);
            if v.is_finite() {
                out.push_str(&crate::java_text::java_double(v))
            } else {
                write_string(&v.to_string(), out)
            }
        }
        DataType::Decimal128(_, s) => {
            let v = a.as_primitive::<Decimal128Type>().value(i);
            out.push_str(&format_decimal(v, *s));
        }
        DataType::Utf8 => write_string(a.as_string::<i32>().value(i), out),
        DataType::Binary => write_string(
            &base64::engine::general_purpose::STANDARD.encode(a.as_binary::<i32>().value(i)),
            out,
        ),
        DataType::Date32 => write!(out, "{}", a.as_primitive::<Date32Type>().value(i))?,
        DataType::Time32(_) => write!(
            out,
            "{}",
            a.as_primitive::<Time32MillisecondType>().value(i)
        )?,
        DataType::Timestamp(..) => write!(
            out,
            "{}",
            a.as_primitive::<TimestampMillisecondType>().value(i)
        )?,
        DataType::List(_) => {
            let l = a.as_list::<i32>();
            let vals = l.value(i);
            out.push('[');
            for j in 0..vals.len() {
                if j > 0 {
                    out.push(',');
                }
                write_json(&vals, j, out)?;
            }
            out.push(']');
        }
        DataType::Map(..) => {
            let m = a.as_map();
            let entries = m.value(i);
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push(',');
                }
                let mut key = String::new();
                write_json(entries.column(0), j, &mut key)?;
                match entries.column(0).data_type() {
                    DataType::Utf8 => out.push_str(&key),
                    _ => write_string(&key, out),
                }
                out.push(':');
                write_json(entries.column(1), j, out)?;
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            out.push('{');
            for (j, f) in fields.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_string(f.name(), out);
                out.push(':');
                write_json(s.column(j), i, out)?;
            }
            out.push('}');
        }
        other => return datafusion::common::exec_err!("TO_JSON_STRING does not support {other}"),
    }
    Ok(())
}
