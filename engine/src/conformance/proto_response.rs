//! proto_response.rs renders query results the way ksqlDB's `/query-stream` endpoint does
//! when asked for PROTOBUF (the REST files' `queryProto` responses): a header carrying a
//! proto3 schema of the result's columns, then each row as a protobuf message, shown here in
//! protobuf's text format (as ksqlDB's harness prints the rows it decodes).
//!
//! The schema is Connect's default naming: the row is `ConnectDefault1`; every nested
//! STRUCT is the next `ConnectDefault<n>` and every MAP the next `ConnectDefault<n>Entry`
//! (fields `key = 1`, `value = 2`), declared inside the message that uses it, after its
//! fields. ARRAY is `repeated`. Field numbers follow the column order.
//!
//! Row text follows proto3: a null or default value (0, "", false, empty bytes) is not
//! printed; nested messages print as `NAME {` … `}` indented by two spaces; strings and
//! bytes are quoted with C-style escapes (octal for other bytes); doubles print as Java
//! does (`1.0`, `1.0E10`). DECIMAL, DATE, TIME and TIMESTAMP columns (well-known types) are
//! not supported yet.

use crate::java_text::java_double;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use brook_sql::plan::{Schema, SqlType};

/// A message of the schema being written.
struct Message {
    name: String,
    /// `(label + type, name)` per field, numbered from 1.
    fields: Vec<(String, String)>,
    nested: Vec<Message>,
}

struct Namer {
    next: usize,
}

impl Namer {
    fn next(&mut self) -> usize {
        let n = self.next;
        self.next += 1;
        n
    }
}

/// The proto3 schema text of a result with `schema`'s columns.
pub fn proto_schema(schema: &Schema) -> Result<String, String> {
    let mut namer = Namer { next: 1 };
    let root = namer.next();
    let fields: Vec<(String, SqlType)> = schema
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.ty.clone()))
        .collect();
    let msg = message(format!("ConnectDefault{root}"), &fields, &mut namer)?;
    let mut out = String::from("syntax = \"proto3\";\n\n");
    render(&msg, 0, &mut out);
    Ok(out)
}

fn message(
    name: String,
    fields: &[(String, SqlType)],
    namer: &mut Namer,
) -> Result<Message, String> {
    let mut m = Message {
        name,
        fields: Vec::new(),
        nested: Vec::new(),
    };
    for (fname, ty) in fields {
        let t = match ty {
            SqlType::Array(inner) => {
                if matches!(**inner, SqlType::Array(_) | SqlType::Map(..)) {
                    return Err(format!("{ty} in a PROTOBUF query response"));
                }
                format!("repeated {}", field_type(inner, &mut m, namer)?)
            }
            SqlType::Map(..) => format!("repeated {}", field_type(ty, &mut m, namer)?),
            other => field_type(other, &mut m, namer)?,
        };
        m.fields.push((t, fname.clone()));
    }
    Ok(m)
}

/// The type name of a value of `ty`, declaring the nested message it needs inside `parent`.
fn field_type(ty: &SqlType, parent: &mut Message, namer: &mut Namer) -> Result<String, String> {
    Ok(match ty {
        SqlType::Boolean => "bool".into(),
        SqlType::Int => "int32".into(),
        SqlType::BigInt => "int64".into(),
        SqlType::Double => "double".into(),
        SqlType::String => "string".into(),
        SqlType::Bytes => "bytes".into(),
        SqlType::Struct(fs) => {
            let name = format!("ConnectDefault{}", namer.next());
            let m = message(name.clone(), fs, namer)?;
            parent.nested.push(m);
            name
        }
        SqlType::Map(k, v) => {
            let name = format!("ConnectDefault{}Entry", namer.next());
            let m = message(
                name.clone(),
                &[
                    ("key".into(), (**k).clone()),
                    ("value".into(), (**v).clone()),
                ],
                namer,
            )?;
            parent.nested.push(m);
            name
        }
        other => {
            return Err(format!(
                "{other} columns in PROTOBUF query responses are not supported yet"
            ))
        }
    })
}

fn render(m: &Message, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    out.push_str(&format!("{pad}message {} {{\n", m.name));
    for (i, (t, n)) in m.fields.iter().enumerate() {
        out.push_str(&format!("{pad}  {t} {n} = {};\n", i + 1));
    }
    for nested in &m.nested {
        out.push('\n');
        render(nested, indent + 2, out);
    }
    out.push_str(&format!("{pad}}}\n"));
}

/// Row `row` of `batch` (laid out as `schema`) in protobuf text format.
pub fn proto_row(schema: &Schema, batch: &RecordBatch, row: usize) -> String {
    let mut out = String::new();
    for (c, col) in schema.columns.iter().zip(batch.columns()) {
        field(&c.name, &c.ty, col.as_ref(), row, 0, &mut out);
    }
    out
}

fn field(name: &str, ty: &SqlType, a: &dyn Array, i: usize, indent: usize, out: &mut String) {
    if a.is_null(i) {
        return;
    }
    match ty {
        SqlType::Array(inner) => {
            let Some(list) = a.as_list_opt::<i32>() else {
                return;
            };
            let items = list.value(i);
            for j in 0..items.len() {
                element(name, inner, items.as_ref(), j, indent, out);
            }
        }
        SqlType::Map(k, v) => {
            let Some(map) = a.as_map_opt() else { return };
            let entries = map.value(i);
            let pad = " ".repeat(indent);
            for j in 0..entries.len() {
                out.push_str(&format!("{pad}{name} {{\n"));
                field("key", k, entries.column(0).as_ref(), j, indent + 2, out);
                field("value", v, entries.column(1).as_ref(), j, indent + 2, out);
                out.push_str(&format!("{pad}}}\n"));
            }
        }
        _ => element(name, ty, a, i, indent, out),
    }
}

/// One value of a field (a singular field or an element of a repeated one).
fn element(name: &str, ty: &SqlType, a: &dyn Array, i: usize, indent: usize, out: &mut String) {
    if a.is_null(i) {
        return;
    }
    let pad = " ".repeat(indent);
    let text = match ty {
        SqlType::Struct(fs) => {
            let Some(st) = a.as_struct_opt() else { return };
            out.push_str(&format!("{pad}{name} {{\n"));
            for ((fname, fty), col) in fs.iter().zip(st.columns()) {
                field(fname, fty, col.as_ref(), i, indent + 2, out);
            }
            out.push_str(&format!("{pad}}}\n"));
            return;
        }
        SqlType::Boolean => match a.as_boolean_opt().map(|b| b.value(i)) {
            Some(true) => "true".to_string(),
            _ => return,
        },
        SqlType::Int => match a.as_primitive_opt::<Int32Type>().map(|x| x.value(i)) {
            Some(0) | None => return,
            Some(v) => v.to_string(),
        },
        SqlType::BigInt => match a.as_primitive_opt::<Int64Type>().map(|x| x.value(i)) {
            Some(0) | None => return,
            Some(v) => v.to_string(),
        },
        SqlType::Double => match a.as_primitive_opt::<Float64Type>().map(|x| x.value(i)) {
            Some(v) if v != 0.0 => java_double(v),
            _ => return,
        },
        SqlType::String => match a.as_string_opt::<i32>().map(|x| x.value(i)) {
            Some(v) if !v.is_empty() => quote(v.as_bytes()),
            _ => return,
        },
        SqlType::Bytes => match a.as_binary_opt::<i32>().map(|x| x.value(i)) {
            Some(v) if !v.is_empty() => quote(v),
            _ => return,
        },
        _ => return,
    };
    out.push_str(&format!("{pad}{name}: {text}\n"));
}

/// Bytes as protobuf's text format quotes them.
fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            0x07 => s.push_str("\\a"),
            0x08 => s.push_str("\\b"),
            0x0c => s.push_str("\\f"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x0b => s.push_str("\\v"),
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use brook_sql::plan::{Column, ColumnRole};

    fn schema(cols: Vec<(&str, SqlType)>) -> Schema {
        Schema::new(
            cols.into_iter()
                .map(|(n, t)| Column::new(n, t, ColumnRole::Value))
                .collect(),
        )
    }

    #[test]
    fn schemas_name_nested_types_in_order() {
        let s = schema(vec![
            ("ID", SqlType::BigInt),
            (
                "M",
                SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)),
            ),
            (
                "H",
                SqlType::Array(Box::new(SqlType::Struct(vec![
                    ("KEY".into(), SqlType::String),
                    ("VALUE".into(), SqlType::Bytes),
                ]))),
            ),
        ]);
        assert_eq!(
            proto_schema(&s).unwrap(),
            "syntax = \"proto3\";\n\nmessage ConnectDefault1 {\n  int64 ID = 1;\n  repeated ConnectDefault2Entry M = 2;\n  repeated ConnectDefault3 H = 3;\n\n  message ConnectDefault2Entry {\n    string key = 1;\n    int32 value = 2;\n  }\n\n  message ConnectDefault3 {\n    string KEY = 1;\n    bytes VALUE = 2;\n  }\n}\n"
        );
    }

    #[test]
    fn rows_leave_out_nulls_and_defaults() {
        use arrow::array::{ArrayRef, BinaryArray, Float64Array, Int64Array, StringArray};
        use std::sync::Arc;
        let s = schema(vec![
            ("ID", SqlType::BigInt),
            ("NAME", SqlType::String),
            ("D", SqlType::Double),
            ("B", SqlType::Bytes),
        ]);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![0])),
            Arc::new(StringArray::from(vec!["a\"b"])),
            Arc::new(Float64Array::from(vec![-122.5])),
            Arc::new(BinaryArray::from(vec![b"!\n".as_slice()])),
        ];
        let batch =
            RecordBatch::try_from_iter(["ID", "NAME", "D", "B"].into_iter().zip(cols)).unwrap();
        assert_eq!(
            proto_row(&s, &batch, 0),
            "NAME: \"a\\\"b\"\nD: -122.5\nB: \"!\\n\"\n"
        );
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1e10), "1.0E10");
    }
}
