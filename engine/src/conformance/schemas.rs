//! schemas.rs owns reading the schemas a conformance case registers for its topics
//! (`topics[].keySchema` / `valueSchema`, as Avro, JSON Schema or `.proto` text) into the
//! columns the analyzer infers from them, as ksqlDB's schema registry integration does.

use brook_sql::analyzer::RegisteredSchema;
use brook_sql::SqlType;
use serde_json::Value;


/// The columns a case's registered schema (`format`: AVRO, JSON(_SR), PROTOBUF) declares;
/// `topic` is the case's topic entry (for `.proto` schema references).
pub fn convert_schema(format: &str, schema: &Value, topic: &Value) -> Option<RegisteredSchema> {
    let fields = match format.to_ascii_uppercase().as_str() {
        "PROTOBUF" | "PROTOBUF_NOSR" => return proto_schema(&proto_text(topic, schema)?),
        "JSON" | "JSON_SR" => {
            let s = match schema {
                Value::String(s) => serde_json::from_str(s).ok()?,
                v => v.clone(),
            };
            json_schema_fields(&s)?
        }
        _ => {
            let s = match schema {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
                v => v.clone(),
            };
            avro_fields(&s)?
        }
    };
    Some(RegisteredSchema::new(fields))
}

fn avro_type(v: &Value) -> Option<SqlType> {
    Some(match v {
        Value::String(s) => match s.as_str() {
            "int" => SqlType::Int,
            "long" => SqlType::BigInt,
            "float" | "double" => SqlType::Double,
            "string" => SqlType::String,
            "boolean" => SqlType::Boolean,
            "bytes" | "fixed" => SqlType::Bytes,
            _ => return None,
        },
        Value::Array(union) => {
            let non_null: Vec<&Value> = union.iter().filter(|u| *u != "null").collect();
            if non_null.len() == 1 {
                avro_type(non_null[0])?
            } else {
                // A union of several types: ksqlDB makes a struct of optional fields.
                SqlType::Struct(
                    non_null
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Some((format!("{}{i}", "TYPE"), avro_type(t)?)))
                        .collect::<Option<Vec<_>>>()?,
                )
            }
        }
        Value::Object(o) => {
            let logical = o.get("logicalType").and_then(|l| l.as_str());
            match (o.get("type")?.as_str(), logical) {
                (_, Some("decimal")) => SqlType::decimal(
                    o.get("precision")?.as_u64()? as u32,
                    o.get("scale").and_then(|s| s.as_u64()).unwrap_or(0) as u32,
                ),
                (Some("int"), Some("date")) => SqlType::Date,
                (Some("int"), Some("time-millis")) => SqlType::Time,
                (Some("long"), Some("timestamp-millis")) => SqlType::Timestamp,
                (Some("record"), _) => SqlType::Struct(
                    o.get("fields")?
                        .as_array()?
                        .iter()
                        .map(|f| Some((f["name"].as_str()?.to_string(), avro_type(&f["type"])?)))
                        .collect::<Option<Vec<_>>>()?,
                ),
                (Some("array"), _) => SqlType::array(avro_type(o.get("items")?)?),
                (Some("map"), _) => SqlType::map(SqlType::String, avro_type(o.get("values")?)?),
                (Some("enum"), _) => SqlType::String,
                (Some(_), _) => avro_type(o.get("type")?)?,
                (None, _) => avro_type(o.get("type")?)?,
            }
        }
        _ => return None,
    })
}

fn avro_fields(v: &Value) -> Option<Vec<(Option<String>, SqlType)>> {
    match avro_type(v)? {
        SqlType::Struct(fields) if v.get("type").and_then(|t| t.as_str()) == Some("record") => {
            Some(fields.into_iter().map(|(n, t)| (Some(n), t)).collect())
        }
        t => Some(vec![(None, t)]),
    }
}

fn json_schema_type(v: &Value) -> Option<SqlType> {
    if let Some(one_of) = v.get("oneOf").and_then(|o| o.as_array()) {
        let non_null: Vec<&Value> = one_of
            .iter()
            .filter(|u| u.get("type") != Some(&Value::from("null")))
            .collect();
        return json_schema_type(non_null.first()?);
    }
    let ty = match v.get("type")? {
        Value::Array(ts) => ts.iter().find(|t| *t != "null")?.as_str()?.to_string(),
        t => t.as_str()?.to_string(),
    };
    Some(match ty.as_str() {
        "integer" => match v.get("connect.type").and_then(|c| c.as_str()) {
            Some("int32") | Some("int16") | Some("int8") => SqlType::Int,
            _ => SqlType::BigInt,
        },
        "number" => match v.get("connect.type").and_then(|c| c.as_str()) {
            Some("bytes") => SqlType::decimal(
                v.get("connect.parameters")
                    .and_then(|p| p.get("connect.decimal.precision"))
                    .and_then(|p| p.as_str()?.parse().ok())
                    .unwrap_or(38),
                v.get("connect.parameters")
                    .and_then(|p| p.get("scale"))
                    .and_then(|p| p.as_str()?.parse().ok())
                    .unwrap_or(0),
            ),
            _ => SqlType::Double,
        },
        "string" => SqlType::String,
        "boolean" => SqlType::Boolean,
        "array" => SqlType::array(json_schema_type(v.get("items")?)?),
        "object" => match v.get("properties").and_then(|p| p.as_object()) {
            Some(props) => SqlType::Struct(
                props
                    .iter()
                    .map(|(n, t)| Some((n.clone(), json_schema_type(t)?)))
                    .collect::<Option<Vec<_>>>()?,
            ),
            None => SqlType::map(
                SqlType::String,
                json_schema_type(v.get("additionalProperties")?).unwrap_or(SqlType::String),
            ),
        },
        _ => return None,
    })
}

fn json_schema_fields(v: &Value) -> Option<Vec<(Option<String>, SqlType)>> {
    match json_schema_type(v)? {
        SqlType::Struct(fields) if v.get("properties").is_some() => {
            Some(fields.into_iter().map(|(n, t)| (Some(n), t)).collect())
        }
        t => Some(vec![(None, t)]),
    }
}

/// A `.proto` message: its name and its fields as `(name, type, repeated)`.
type ProtoMessage = (String, Vec<(String, String, bool)>);

/// A schema's text with the text of the schemas it references appended.
fn proto_text(topic: &Value, schema: &Value) -> Option<String> {
    let mut text = schema.as_str()?.to_string();
    for r in topic
        .get("valueSchemaReferences")
        .or_else(|| topic.get("keySchemaReferences"))
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
    {
        if let Some(s) = r.get("schema").and_then(|s| s.as_str()) {
            text.push('\n');
            text.push_str(s);
        }
    }
    Some(text)
}

/// A small reader of `.proto` text: every top-level message (the first is the default),
/// nested messages as structs.
fn proto_schema(text: &str) -> Option<RegisteredSchema> {
    let tokens: Vec<String> = tokenize_proto(text);
    let mut messages: Vec<ProtoMessage> = Vec::new();
    parse_proto_messages(&tokens, &mut 0, &mut messages, 0);
    let fields_of = |fields: &[(String, String, bool)]| -> Option<Vec<(Option<String>, SqlType)>> {
        let mut out = Vec::new();
        for (name, ty, repeated) in fields {
            let t = proto_type(ty, &messages, 0)?;
            out.push((
                Some(name.clone()),
                if *repeated { SqlType::array(t) } else { t },
            ));
        }
        Some(out)
    };
    let top: Vec<&ProtoMessage> = messages
        .iter()
        .filter(|(n, _)| !n.starts_with('.'))
        .collect();
    let default = fields_of(&top.first()?.1)?;
    let mut records = Vec::new();
    for (n, f) in &top {
        records.push((n.clone(), fields_of(f)?));
    }
    Some(RegisteredSchema {
        fields: default,
        records,
    })
}

fn proto_type(t: &str, messages: &[ProtoMessage], depth: usize) -> Option<SqlType> {
    if depth > 16 {
        return None;
    }
    Some(match t {
        "int32" | "sint32" | "sfixed32" | "uint32" | "fixed32" => SqlType::Int,
        "int64" | "sint64" | "sfixed64" | "uint64" | "fixed64" => SqlType::BigInt,
        "double" | "float" => SqlType::Double,
        "bool" => SqlType::Boolean,
        "string" => SqlType::String,
        "bytes" => SqlType::Bytes,
        "google.protobuf.Timestamp" => SqlType::Timestamp,
        "google.protobuf.BoolValue" => SqlType::Boolean,
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => SqlType::Int,
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => SqlType::BigInt,
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => SqlType::Double,
        "google.protobuf.StringValue" => SqlType::String,
        "google.protobuf.BytesValue" => SqlType::Bytes,
        "google.type.Date" => SqlType::Date,
        "google.type.TimeOfDay" => SqlType::Time,
        "confluent.type.Decimal" => SqlType::decimal(38, 0),
        _ if t.starts_with("map<") => {
            let inner = &t[4..t.len() - 1];
            let (k, v) = inner.split_once(',')?;
            SqlType::map(
                proto_type(k.trim(), messages, depth + 1)?,
                proto_type(v.trim(), messages, depth + 1)?,
            )
        }
        _ => {
            let short = t.rsplit('.').next().unwrap_or(t);
            let (_, fields) = messages
                .iter()
                .find(|(n, _)| n == t || n.rsplit('.').next() == Some(short))?;
            if fields.is_empty() {
                // An enum (or an empty message): read as a string.
                return Some(SqlType::String);
            }
            SqlType::Struct(
                fields
                    .iter()
                    .map(|(n, ft, rep)| {
                        let ty = proto_type(ft, messages, depth + 1)?;
                        Some((n.clone(), if *rep { SqlType::array(ty) } else { ty }))
                    })
                    .collect::<Option<Vec<_>>>()?,
            )
        }
    })
}

fn tokenize_proto(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth_angle = 0;
    for c in text.chars() {
        match c {
            '<' => {
                depth_angle += 1;
                cur.push(c);
            }
            '>' => {
                depth_angle -= 1;
                cur.push(c);
            }
            c if depth_angle > 0 => {
                if !c.is_whitespace() {
                    cur.push(c);
                }
            }
            '{' | '}' | ';' | '=' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_proto_messages(t: &[String], i: &mut usize, out: &mut Vec<ProtoMessage>, depth: usize) {
    while *i < t.len() {
        if t[*i] == "message" && *i + 2 < t.len() && t[*i + 2] == "{" {
            let name = t[*i + 1].clone();
            *i += 3;
            let idx = out.len();
            out.push((
                if depth == 0 {
                    name.clone()
                } else {
                    format!(".{name}")
                },
                Vec::new(),
            ));
            let mut fields = Vec::new();
            while *i < t.len() && t[*i] != "}" {
                if t[*i] == "message" || t[*i] == "enum" {
                    if t[*i] == "enum" {
                        // Skip enums: their fields read as strings.
                        let ename = t[*i + 1].clone();
                        while *i < t.len() && t[*i] != "}" {
                            *i += 1;
                        }
                        *i += 1;
                        out.push((format!(".{ename}"), Vec::new()));
                        continue;
                    }
                    parse_proto_messages(t, i, out, depth + 1);
                    continue;
                }
                // [repeated|optional] type name = n ;
                let mut repeated = false;
                if t[*i] == "repeated" {
                    repeated = true;
                    *i += 1;
                } else if t[*i] == "optional" {
                    *i += 1;
                }
                if *i + 1 < t.len() {
                    let ty = t[*i].clone();
                    let name = t[*i + 1].clone();
                    fields.push((name, ty, repeated));
                }
                while *i < t.len() && t[*i] != ";" {
                    *i += 1;
                }
                *i += 1;
            }
            *i += 1;
            out[idx].1 = fields;
            if depth > 0 {
                return;
            }
        } else {
            *i += 1;
        }
    }
}

