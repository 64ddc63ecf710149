//! CAST with ksqlDB's semantics: a value that does not convert (a malformed number, a
//! number too large for the DECIMAL) becomes NULL; strings are trimmed before parsing;
//! DOUBLE prints as Java's `Double.toString`, TIMESTAMP as `yyyy-MM-ddTHH:mm:ss.SSS`;
//! structs convert field by field by name (fields the source lacks are NULL); arrays and
//! maps convert element-wise.

use crate::java_text::java_double;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, ListArray,
    MapArray, StringArray, StructArray,
};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    DataType, Float64Type, Int64Type, Time32MillisecondType, TimeUnit, TimestampMillisecondType,
};
use datafusion::common::Result;

/// Whether [`cast`] supports `from → to` (the analyzer has already rejected what ksqlDB
/// rejects; this lists what Brook does not do yet).
pub fn supported(from: &DataType, to: &DataType) -> Result<(), String> {
    use DataType as D;
    if from == to || *from == D::Null {
        return Ok(());
    }
    match (from, to) {
        (D::List(a), D::List(b)) => supported(a.data_type(), b.data_type()),
        (D::Map(a, _), D::Map(b, _)) => match (a.data_type(), b.data_type()) {
            (D::Struct(x), D::Struct(y)) => {
                supported(x[0].data_type(), y[0].data_type())?;
                supported(x[1].data_type(), y[1].data_type())
            }
            _ => Err(format!("CAST from {from} to {to}")),
        },
        (D::Struct(a), D::Struct(b)) => {
            for f in b {
                if let Some(s) = a.iter().find(|s| s.name() == f.name()) {
                    supported(s.data_type(), f.data_type())?;
                }
            }
            Ok(())
        }
        (D::List(_) | D::Map(..) | D::Struct(_) | D::Time32(_), D::Utf8) => Ok(()),
        (D::Binary, _) | (_, D::Binary) => Err(format!("CAST from {from} to {to}")),
        (f, t) if f.is_nested() || t.is_nested() => Err(format!("CAST from {from} to {to}")),
        _ => Ok(()),
    }
}

fn arrow_cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    let opts = CastOptions {
        safe: true,
        ..Default::default()
    };
    Ok(cast_with_options(a, to, &opts)?)
}

/// `LocalTime.ofSecondOfDay(s).toString()`, which is how ksqlDB renders a TIME as a
/// STRING: `HH:mm`, with `:ss` only when the seconds are not zero.
fn java_local_time_of_second(s: i32) -> String {
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

/// `String.valueOf(x)` of the value at `row` as the JVM prints it (`"null"` for NULL):
/// lists as `[1, 3]`, maps as `{k=v, k2=v2}`, structs as Kafka Connect's `Struct{A=1,B=2}`
/// (NULL fields left out), doubles as `Double.toString`, TIME as `java.sql.Time`
/// (`HH:mm:ss`), DATE as `yyyy-MM-dd`, TIMESTAMP as `java.sql.Timestamp`
/// (`yyyy-MM-dd HH:mm:ss.S`). ksqlDB's CAST of an ARRAY, MAP or STRUCT to STRING is this.
pub fn java_string(a: &ArrayRef, row: usize) -> String {
    use DataType as D;
    if a.is_null(row) {
        return "null".into();
    }
    match a.data_type() {
        D::Float64 => java_double(a.as_primitive::<Float64Type>().value(row)),
        D::List(_) => {
            let l = a.as_list::<i32>().value(row);
            let parts: Vec<String> = (0..l.len()).map(|i| java_string(&l, i)).collect();
            format!("[{}]", parts.join(", "))
        }
        D::Map(..) => {
            let e = a.as_map().value(row);
            let parts: Vec<String> = (0..e.len())
                .map(|i| {
                    format!(
                        "{}={}",
                        java_string(e.column(0), i),
                        java_string(e.column(1), i)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        D::Struct(fields) => {
            let s = a.as_struct();
            let parts: Vec<String> = fields
                .iter()
                .zip(s.columns())
                .filter(|(_, c)| !c.is_null(row))
                .map(|(f, c)| format!("{}={}", f.name(), java_string(c, row)))
                .collect();
            format!("Struct{{{}}}", parts.join(","))
        }
        D::Time32(TimeUnit::Millisecond) => {
            let s = a.as_primitive::<Time32MillisecondType>().value(row) / 1000;
            format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        }
        D::Timestamp(TimeUnit::Millisecond, None) => {
            let ms = a.as_primitive::<TimestampMillisecondType>().value(row);
            match chrono::DateTime::from_timestamp_millis(ms) {
                Some(t) => {
                    let frac = format!("{:03}", ms.rem_euclid(1000));
                    let frac = frac.trim_end_matches('0');
                    let frac = if frac.is_empty() { "0" } else { frac };
                    format!("{}.{frac}", t.format("%Y-%m-%d %H:%M:%S"))
                }
                None => ms.to_string(),
            }
        }
        _ => {
            let one = a.slice(row, 1);
            match arrow_cast(&one, &D::Utf8) {
                Ok(s) if !s.is_null(0) => s.as_string::<i32>().value(0).to_string(),
                _ => "null".into(),
            }
        }
    }
}

/// Converts `a` to `to` as ksqlDB's CAST does.
pub fn cast(a: &ArrayRef, to: &DataType) -> Result<ArrayRef> {
    use DataType as D;
    let from = a.data_type();
    if from == to {
        return Ok(a.clone());
    }
    if *from == D::Null {
        return Ok(new_null_array(to, a.len()));
    }
    match (from, to) {
        (D::Utf8, D::Boolean) => {
            let s = a.as_string::<i32>();
            let r: BooleanArray = s
                .iter()
                .map(|v| match v?.trim().to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "y" => Some(true),
                    "false" | "f" | "no" | "n" => Some(false),
                    _ => None,
                })
                .collect();
            Ok(Arc::new(r))
        }
        (D::Utf8, t) if t.is_numeric() => {
            let s = a.as_string::<i32>();
            let trimmed: StringArray = s.iter().map(|v| v.map(str::trim)).collect();
            arrow_cast(&(Arc::new(trimmed) as ArrayRef), t)
        }
        (D::Float64, D::Utf8) => {
            let r: StringArray = a
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.map(java_double))
                .collect();
            Ok(Arc::new(r))
        }
        (D::Timestamp(TimeUnit::Millisecond, None), D::Utf8) => {
            let r: StringArray = a
                .as_primitive::<TimestampMillisecondType>()
                .iter()
                .map(|v| {
                    v.and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
                })
                .collect();
            Ok(Arc::new(r))
        }
        // Java's `Number.intValue()` / `longValue()`: a BIGINT keeps its low 32 bits, a
        // DOUBLE saturates (NaN is 0), as Rust's `as` does.
        (D::Int64, D::Int32) => {
            let r: Int32Array = a.as_primitive::<Int64Type>().unary(|v| v as i32);
            Ok(Arc::new(r))
        }
        (D::Float64, D::Int32) => {
            let r: Int32Array = a.as_primitive::<Float64Type>().unary(|v| v as i32);
            Ok(Arc::new(r))
        }
        (D::Float64, D::Int64) => {
            let r: Int64Array = a.as_primitive::<Float64Type>().unary(|v| v as i64);
            Ok(Arc::new(r))
        }
        (D::List(_) | D::Map(..) | D::Struct(_), D::Utf8) => {
            let r: StringArray = (0..a.len())
                .map(|row| (!a.is_null(row)).then(|| java_string(a, row)))
                .collect();
            Ok(Arc::new(r))
        }
        (D::Time32(TimeUnit::Millisecond), D::Utf8) => {
            let r: StringArray = a
                .as_primitive::<Time32MillisecondType>()
                .iter()
                .map(|v| v.map(|ms| java_local_time_of_second(ms / 1000)))
                .collect();
            Ok(Arc::new(r))
        }
        (D::List(_), D::List(f)) => {
            let l = a.as_list::<i32>();
            let values = cast(l.values(), f.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                f.clone(),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?))
        }
        (D::Map(..), D::Map(entries, sorted)) => {
            let m = a.as_map();
            let D::Struct(kv) = entries.data_type() else {
                return arrow_cast(a, to);
            };
            let k = cast(m.keys(), kv[0].data_type())?;
            let v = cast(m.values(), kv[1].data_type())?;
            let e = StructArray::try_new(kv.clone(), vec![k, v], None)?;
            Ok(Arc::new(MapArray::try_new(
                entries.clone(),
                m.offsets().clone(),
                e,
                m.nulls().cloned(),
                *sorted,
            )?))
        }
        (D::Struct(_), D::Struct(fields)) => {
            let s = a.as_struct();
            let cols = fields
                .iter()
                .map(|f| match s.column_by_name(f.name()) {
                    Some(c) => cast(c, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), a.len())),
                })
                .collect::<Result<Vec<_>>>()?;
            if fields.is_empty() {
                return Ok(Arc::new(StructArray::new_empty_fields(
                    a.len(),
                    s.nulls().cloned(),
                )));
            }
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                cols,
                s.nulls().cloned(),
            )?))
        }
        _ => arrow_cast(a, to),
    }
}
