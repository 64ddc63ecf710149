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
        "PROTOBUF" | "PROTOBUF_NOSR" => return proto_schema(topic, schema),
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

/// A `.proto` schema as the PROTOBUF format takes it: the text, with the schemas it imports
/// (the topic entry's `valueSchemaReferences` or `keySchemaReferences`, whichever belongs to
/// `schema`).
pub fn proto_provided(topic: &Value, schema: &Value) -> Option<Value> {
    let text = schema.as_str()?;
    let refs = if topic.get("keySchema") == Some(schema) && topic.get("valueSchema") != Some(schema)
    {
        topic.get("keySchemaReferences")
    } else {
        topic
            .get("valueSchemaReferences")
            .or_else(|| topic.get("keySchemaReferences"))
    };
    let refs = refs.and_then(Value::as_array).cloned().unwrap_or_default();
    Some(serde_json::json!({"schema": text, "references": refs}))
}

/// The columns of every top-level message of a `.proto` schema (the first is the default),
/// typed as ksqlDB's protobuf converter infers them.
fn proto_schema(topic: &Value, schema: &Value) -> Option<RegisteredSchema> {
    let messages =
        crate::formats::protobuf::schema_messages(&proto_provided(topic, schema)?).ok()?;
    let mut records = Vec::with_capacity(messages.len());
    for (name, cols) in messages {
        let fields = cols
            .iter()
            .map(|(n, t)| Some((Some(n.clone()), crate::catalog::arrow_to_sql(t)?)))
            .collect::<Option<Vec<_>>>()?;
        records.push((name, fields));
    }
    Some(RegisteredSchema {
        fields: records.first()?.1.clone(),
        records,
    })
}
