//! The AVRO format: records as Avro binary datums, with the schema ksqlDB derives from the
//! columns, or read with a provided writer schema.
//!
//! The derived schema is ksqlDB's: a record named `io.confluent.ksql.avro_schemas.
//! KsqlDataSourceSchema` (or `VALUE_AVRO_SCHEMA_FULL_NAME`) whose fields are the columns, each
//! an optional (`["null", T]`, default null) Connect-compatible type: DECIMAL as `bytes` with
//! the `decimal` logical type, DATE as `int`/`date`, TIME as `int`/`time-millis`, TIMESTAMP as
//! `long`/`timestamp-millis`, ARRAY as `array` of optional items, MAP as an Avro `map` of
//! optional values (ksqlDB writes native maps; arrays of key/value records are read too),
//! STRUCT as a nested record named `<parent>_<FIELD>`. An unwrapped single column is the
//! column's type itself, not optional. Payloads are plain Avro datums unless
//! `confluent_framing` asks for the schema-registry header. Schema-registry integration
//! (ids, subjects, compatibility) is not here.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::schema::{Name, Schema as AvroSchema};
use apache_avro::types::Value as AvroValue;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use base64::Engine as _;
use serde_json::json;

use super::columns::map_type;
use super::value::Val;
use super::{
    check_width, decode_rows, row_values, value, Decoded, Format, FormatError, FormatOptions,
    DEFAULT_AVRO_SCHEMA_FULL_NAME,
};
use crate::java_text::{format_decimal, parse_decimal};

/// ksqlDB's `AVRO` format.
#[derive(Debug)]
pub struct AvroFormat {
    schema: SchemaRef,
    unwrapped: bool,
    framing: bool,
    /// The schema this format writes with (derived from the columns).
    write_schema: AvroSchema,
    write_schema_json: serde_json::Value,
    /// The schema payloads were written with (the provided one, else `write_schema`).
    read_schema: AvroSchema,
    read_names: HashMap<String, AvroSchema>,
    write_names: HashMap<String, AvroSchema>,
}

impl AvroFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        for f in schema.fields() {
            check_map_keys(f.data_type())?;
        }
        let unwrapped = options.unwrapped(schema.fields().len());
        let full_name = options
            .avro_schema_full_name
            .as_deref()
            .unwrap_or(DEFAULT_AVRO_SCHEMA_FULL_NAME);
        let write_schema_json = derive_schema(&schema, unwrapped, full_name);
        let write_schema = AvroSchema::parse(&write_schema_json).map_err(|e| {
            FormatError::UnsupportedSchema(format!("cannot derive an Avro schema: {e}"))
        })?;
        let read_schema = match &options.provided_schema {
            None => write_schema.clone(),
            Some(json) => AvroSchema::parse(json)
                .map_err(|e| FormatError::InvalidConfig(format!("invalid Avro schema: {e}")))?,
        };
        let (write_schema, write_schema_json) =
            match (&options.provided_schema, options.write_provided_schema) {
                (Some(json), true) => (read_schema.clone(), json.clone()),
                _ => (write_schema, write_schema_json),
            };
        let mut read_names = HashMap::new();
        collect_names(&read_schema, None, &mut read_names);
        let mut write_names = HashMap::new();
        collect_names(&write_schema, None, &mut write_names);
        Ok(AvroFormat {
            schema,
            unwrapped,
            framing: options.confluent_framing,
            write_schema,
            write_schema_json,
            read_schema,
            read_names,
            write_names,
        })
    }

    /// The Avro schema this format writes, as JSON (what ksqlDB would register).
    pub fn write_schema_json(&self) -> &serde_json::Value {
        &self.write_schema_json
    }

    fn decode_raw(&self, bytes: &[u8]) -> Result<Val, String> {
        let mut datum = bytes;
        if self.framing {
            if datum.len() < 5 || datum[0] != 0 {
                return Err("Unknown magic byte!".into());
            }
            datum = &datum[5..];
        }
        let schema = &self.read_schema;
        if datum.is_empty() && !zero_width(schema) {
            return Err("Failed to deserialize Avro: empty payload".into());
        }
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut reader = datum;
            let v = apache_avro::from_avro_datum(schema, &mut reader, None);
            (v, reader.len())
        }));
        match decoded {
            Ok((Ok(v), 0)) => decode_with_decimals(v, schema, &self.read_names),
            Ok((Ok(_), rest)) => Err(format!("{rest} unexpected bytes after the Avro datum")),
            Ok((Err(e), _)) => Err(format!("Failed to deserialize Avro: {e}")),
            Err(_) => Err("Failed to deserialize Avro: malformed datum".into()),
        }
    }

    fn encode_val(
        &self,
        v: Val,
        schema: &AvroSchema,
        names: &HashMap<String, AvroSchema>,
    ) -> Result<Vec<u8>, FormatError> {
        let avro = to_avro(v, schema, names, "$").map_err(FormatError::Encode)?;
        let datum = apache_avro::to_avro_datum(schema, avro)
            .map_err(|e| FormatError::Encode(format!("Failed to serialize Avro: {e}")))?;
        if self.framing {
            let mut out = vec![0u8; 5];
            out.extend(datum);
            Ok(out)
        } else {
            Ok(datum)
        }
    }
}

/// Whether values of `schema` encode to no bytes at all.
fn zero_width(schema: &AvroSchema) -> bool {
    match schema {
        AvroSchema::Null => true,
        AvroSchema::Record(r) => r.fields.iter().all(|f| zero_width(&f.schema)),
        _ => false,
    }
}

fn check_map_keys(dt: &DataType) -> Result<(), FormatError> {
    match dt {
        DataType::Map(entries, _) => {
            if let DataType::Struct(fs) = entries.data_type() {
                if fs[0].data_type() != &DataType::Utf8 {
                    return Err(FormatError::UnsupportedSchema(
                        "Avro only supports MAPs with STRING keys".into(),
                    ));
                }
                check_map_keys(fs[1].data_type())?;
            }
            Ok(())
        }
        DataType::List(f) => check_map_keys(f.data_type()),
        DataType::Struct(fs) => fs.iter().try_for_each(|f| check_map_keys(f.data_type())),
        _ => Ok(()),
    }
}

/// The Avro schema ksqlDB derives for `schema`'s columns.
pub fn derive_schema(schema: &Schema, unwrapped: bool, full_name: &str) -> serde_json::Value {
    let (namespace, name) = match full_name.rsplit_once('.') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, full_name),
    };
    if unwrapped {
        if let Some(f) = schema.fields().first() {
            return match f.data_type() {
                DataType::Struct(fs) => record_json(fs, name, namespace, full_name),
                other => type_json(other, name),
            };
        }
    }
    record_json(schema.fields(), name, namespace, full_name)
}

fn record_json(
    fields: &Fields,
    name: &str,
    namespace: Option<&str>,
    connect_name: &str,
) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| {
            let child = format!("{name}_{}", f.name());
            json!({"name": f.name(), "type": ["null", type_json(f.data_type(), &child)], "default": null})
        })
        .collect();
    let mut record =
        json!({"type": "record", "name": name, "fields": fields, "connect.name": connect_name});
    if let Some(ns) = namespace {
        record["namespace"] = json!(ns);
    }
    record
}

fn type_json(dt: &DataType, name: &str) -> serde_json::Value {
    match dt {
        DataType::Boolean => json!("boolean"),
        DataType::Int32 => json!("int"),
        DataType::Int64 => json!("long"),
        DataType::Float32 | DataType::Float64 => json!("double"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => json!("string"),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => json!("bytes"),
        DataType::Decimal128(p, s) => json!({
            "type": "bytes", "logicalType": "decimal", "precision": p, "scale": s,
            "connect.version": 1,
            "connect.parameters": {"scale": s.to_string(), "connect.decimal.precision": p.to_string()},
            "connect.name": "org.apache.kafka.connect.data.Decimal"
        }),
        DataType::Date32 => json!({
            "type": "int", "logicalType": "date", "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Date"
        }),
        DataType::Time32(_) => json!({
            "type": "int", "logicalType": "time-millis", "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Time"
        }),
        DataType::Timestamp(_, _) => json!({
            "type": "long", "logicalType": "timestamp-millis", "connect.version": 1,
            "connect.name": "org.apache.kafka.connect.data.Timestamp"
        }),
        DataType::List(f) | DataType::LargeList(f) => {
            json!({"type": "array", "items": ["null", type_json(f.data_type(), name)]})
        }
        DataType::Map(entries, _) => {
            let value_type = value::map_value_type(entries.data_type());
            json!({"type": "map", "values": ["null", type_json(&value_type, name)]})
        }
        DataType::Struct(fs) => record_json(fs, name, None, name),
        _ => json!("null"),
    }
}

fn collect_names(schema: &AvroSchema, ns: Option<&str>, out: &mut HashMap<String, AvroSchema>) {
    match schema {
        AvroSchema::Record(r) => {
            let full = r.name.fullname(ns.map(String::from));
            let inner_ns = r.name.namespace.clone().or(ns.map(String::from));
            out.insert(full, schema.clone());
            for f in &r.fields {
                collect_names(&f.schema, inner_ns.as_deref(), out);
            }
        }
        AvroSchema::Enum(e) => {
            out.insert(e.name.fullname(ns.map(String::from)), schema.clone());
        }
        AvroSchema::Fixed(f) => {
            out.insert(f.name.fullname(ns.map(String::from)), schema.clone());
        }
        AvroSchema::Array(a) => collect_names(&a.items, ns, out),
        AvroSchema::Map(m) => collect_names(&m.types, ns, out),
        AvroSchema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, ns, out)),
        _ => {}
    }
}

fn resolve<'a>(
    name: &Name,
    names: &'a HashMap<String, AvroSchema>,
) -> Result<&'a AvroSchema, String> {
    let full = name.fullname(None);
    names
        .get(&full)
        .or_else(|| {
            names
                .iter()
                .find(|(k, _)| k.rsplit('.').next() == Some(name.name.as_str()))
                .map(|(_, v)| v)
        })
        .ok_or_else(|| format!("unknown Avro type {full}"))
}

fn i128_from_be(bytes: &[u8]) -> Option<i128> {
    if bytes.is_empty() {
        return Some(0);
    }
    if bytes.len() > 16 {
        // Allow sign-extension padding beyond 16 bytes.
        let (pad, rest) = bytes.split_at(bytes.len() - 16);
        let fill = if rest[0] & 0x80 != 0 { 0xff } else { 0 };
        if pad.iter().any(|b| *b != fill) {
            return None;
        }
        return i128_from_be(rest);
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Some(i128::from_be_bytes(buf))
}

/// The shortest big-endian two's complement bytes of `v`.
fn i128_to_be(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// An Avro value as a raw `Val` (decimals as exact text, logical types as numbers in ms).
fn avro_to_val(v: AvroValue) -> Result<Val, String> {
    Ok(match v {
        AvroValue::Null => Val::Null,
        AvroValue::Boolean(b) => Val::Bool(b),
        AvroValue::Int(i) | AvroValue::Date(i) | AvroValue::TimeMillis(i) => Val::Int(i as i64),
        AvroValue::Long(i) | AvroValue::TimestampMillis(i) | AvroValue::LocalTimestampMillis(i) => {
            Val::Int(i)
        }
        AvroValue::TimeMicros(i)
        | AvroValue::TimestampMicros(i)
        | AvroValue::LocalTimestampMicros(i) => Val::Int(i.div_euclid(1000)),
        AvroValue::TimestampNanos(i) | AvroValue::LocalTimestampNanos(i) => {
            Val::Int(i.div_euclid(1_000_000))
        }
        AvroValue::Float(f) => Val::Float(f as f64),
        AvroValue::Double(f) => Val::Float(f),
        AvroValue::Bytes(b) | AvroValue::Fixed(_, b) => Val::Bytes(b),
        AvroValue::String(s) | AvroValue::Enum(_, s) => Val::Str(s),
        AvroValue::Uuid(u) => Val::Str(u.to_string()),
        AvroValue::Union(_, inner) => avro_to_val(*inner)?,
        AvroValue::Array(items) => Val::Array(
            items
                .into_iter()
                .map(avro_to_val)
                .collect::<Result<_, _>>()?,
        ),
        AvroValue::Map(m) => {
            let mut entries = m
                .into_iter()
                .map(|(k, v)| Ok((k, avro_to_val(v)?)))
                .collect::<Result<Vec<_>, String>>()?;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Val::Object(entries)
        }
        AvroValue::Record(fields) => Val::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, avro_to_val(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        AvroValue::Decimal(_) | AvroValue::BigDecimal(_) | AvroValue::Duration(_) => {
            return Err("unexpected Avro value without its schema".into())
        }
    })
}

/// Reads decimals with their schema's scale, then converts as `avro_to_val`.
fn decode_with_decimals(
    v: AvroValue,
    schema: &AvroSchema,
    names: &HashMap<String, AvroSchema>,
) -> Result<Val, String> {
    match (v, schema) {
        (AvroValue::Decimal(d), AvroSchema::Decimal(ds)) => {
            let bytes: Vec<u8> = Vec::try_from(&d).map_err(|e| e.to_string())?;
            let unscaled = i128_from_be(&bytes).ok_or("Avro decimal too large")?;
            Ok(Val::Num(format_decimal(unscaled, ds.scale as i8)))
        }
        (AvroValue::BigDecimal(b), _) => Ok(Val::Num(b.to_string())),
        (AvroValue::Union(i, inner), AvroSchema::Union(u)) => match u.variants().get(i as usize) {
            Some(s) => decode_with_decimals(*inner, s, names),
            None => Err("Avro union index out of range".into()),
        },
        (v, AvroSchema::Ref { name }) => {
            let s = resolve(name, names)?.clone();
            decode_with_decimals(v, &s, names)
        }
        (AvroValue::Array(items), AvroSchema::Array(a)) => Ok(Val::Array(
            items
                .into_iter()
                .map(|i| decode_with_decimals(i, &a.items, names))
                .collect::<Result<_, _>>()?,
        )),
        (AvroValue::Map(m), AvroSchema::Map(ms)) => {
            let mut entries = m
                .into_iter()
                .map(|(k, v)| Ok((k, decode_with_decimals(v, &ms.types, names)?)))
                .collect::<Result<Vec<_>, String>>()?;
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Val::Object(entries))
        }
        (AvroValue::Record(fields), AvroSchema::Record(r)) => Ok(Val::Object(
            fields
                .into_iter()
                .zip(r.fields.iter())
                .map(|((k, v), f)| Ok((k, decode_with_decimals(v, &f.schema, names)?)))
                .collect::<Result<_, String>>()?,
        )),
        (v, _) => avro_to_val(v),
    }
}

fn type_error(v: &Val, schema: &AvroSchema, path: &str) -> String {
    format!(
        "Cannot write {:?} as Avro {:?} at {path}",
        v_kind(v),
        apache_avro::schema::SchemaKind::from(schema)
    )
}

fn v_kind(v: &Val) -> &'static str {
    match v {
        Val::Null => "null",
        Val::Bool(_) => "boolean",
        Val::Int(_) | Val::Float(_) | Val::Num(_) | Val::Decimal(_) => "number",
        Val::Str(_) => "string",
        Val::Bytes(_) => "bytes",
        Val::Array(_) => "array",
        Val::Object(_) => "object",
    }
}

fn val_i64(v: &Val) -> Option<i64> {
    match v {
        Val::Int(i) => Some(*i),
        Val::Float(f) if f.is_finite() => Some(f.trunc() as i64),
        Val::Num(s) | Val::Str(s) => s.parse::<i64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        _ => None,
    }
}

fn val_f64(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        Val::Num(s) | Val::Str(s) => crate::java_text::parse_java_double(s),
        _ => None,
    }
}

/// Converts a value (raw or normalised) into an Avro value of `schema`, coercing as ksqlDB's
/// conformance runner does when it writes logical JSON with a schema.
fn to_avro(
    v: Val,
    schema: &AvroSchema,
    names: &HashMap<String, AvroSchema>,
    path: &str,
) -> Result<AvroValue, String> {
    let err = |v: &Val| type_error(v, schema, path);
    let int32 = |v: &Val| -> Result<i32, String> {
        val_i64(v)
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| err(v))
    };
    Ok(match schema {
        AvroSchema::Ref { name } => {
            let s = resolve(name, names)?.clone();
            return to_avro(v, &s, names, path);
        }
        AvroSchema::Union(u) => {
            let variants = u.variants();
            if matches!(v, Val::Null) {
                let i = variants
                    .iter()
                    .position(|s| matches!(s, AvroSchema::Null))
                    .ok_or_else(|| format!("null value for non-optional Avro field at {path}"))?;
                return Ok(AvroValue::Union(i as u32, Box::new(AvroValue::Null)));
            }
            let mut last = None;
            for (i, s) in variants.iter().enumerate() {
                if matches!(s, AvroSchema::Null) {
                    continue;
                }
                match to_avro(v.clone(), s, names, path) {
                    Ok(a) => return Ok(AvroValue::Union(i as u32, Box::new(a))),
                    Err(e) => last = Some(e),
                }
            }
            return Err(last.unwrap_or_else(|| err(&v)));
        }
        AvroSchema::Null => match v {
            Val::Null => AvroValue::Null,
            other => return Err(err(&other)),
        },
        _ if matches!(v, Val::Null) => {
            return Err(format!("null value for non-optional Avro field at {path}"))
        }
        AvroSchema::Boolean => match v {
            Val::Bool(b) => AvroValue::Boolean(b),
            Val::Str(ref s) if s.eq_ignore_ascii_case("true") => AvroValue::Boolean(true),
            Val::Str(ref s) if s.eq_ignore_ascii_case("false") => AvroValue::Boolean(false),
            other => return Err(err(&other)),
        },
        AvroSchema::Int => AvroValue::Int(int32(&v)?),
        AvroSchema::Date => AvroValue::Date(int32(&v)?),
        AvroSchema::TimeMillis => AvroValue::TimeMillis(int32(&v)?),
        AvroSchema::Long => AvroValue::Long(val_i64(&v).ok_or_else(|| err(&v))?),
        AvroSchema::TimestampMillis => {
            AvroValue::TimestampMillis(val_i64(&v).ok_or_else(|| err(&v))?)
        }
        AvroSchema::LocalTimestampMillis => {
            AvroValue::LocalTimestampMillis(val_i64(&v).ok_or_else(|| err(&v))?)
        }
        AvroSchema::TimeMicros => AvroValue::TimeMicros(val_i64(&v).ok_or_else(|| err(&v))? * 1000),
        AvroSchema::TimestampMicros => {
            AvroValue::TimestampMicros(val_i64(&v).ok_or_else(|| err(&v))? * 1000)
        }
        AvroSchema::Float => AvroValue::Float(val_f64(&v).ok_or_else(|| err(&v))? as f32),
        AvroSchema::Double => AvroValue::Double(val_f64(&v).ok_or_else(|| err(&v))?),
        AvroSchema::String => match v {
            Val::Str(s) => AvroValue::String(s),
            Val::Bool(b) => AvroValue::String(b.to_string()),
            Val::Int(i) => AvroValue::String(i.to_string()),
            Val::Float(f) => AvroValue::String(crate::java_text::java_double(f)),
            Val::Num(s) => AvroValue::String(s),
            other => return Err(err(&other)),
        },
        AvroSchema::Uuid => match v {
            Val::Str(ref s) => AvroValue::Uuid(s.parse().map_err(|_| err(&v))?),
            other => return Err(err(&other)),
        },
        AvroSchema::Bytes => AvroValue::Bytes(bytes_of(v, path)?),
        AvroSchema::Fixed(f) => {
            let b = bytes_of(v, path)?;
            if b.len() != f.size {
                return Err(format!(
                    "fixed value of {} bytes where {} expected at {path}",
                    b.len(),
                    f.size
                ));
            }
            AvroValue::Fixed(f.size, b)
        }
        AvroSchema::Enum(e) => match v {
            Val::Str(s) => match e.symbols.iter().position(|x| *x == s) {
                Some(i) => AvroValue::Enum(i as u32, s),
                None => return Err(format!("'{s}' is not a symbol of enum at {path}")),
            },
            other => return Err(err(&other)),
        },
        AvroSchema::Decimal(d) => {
            let unscaled = match v {
                Val::Decimal(u) => u,
                Val::Int(i) => {
                    parse_decimal(&i.to_string(), d.precision.min(38) as u8, d.scale as i8)?
                }
                Val::Float(f) => {
                    parse_decimal(&f.to_string(), d.precision.min(38) as u8, d.scale as i8)?
                }
                Val::Num(s) | Val::Str(s) => {
                    parse_decimal(s.trim(), d.precision.min(38) as u8, d.scale as i8)?
                }
                other => return Err(err(&other)),
            };
            let mut bytes = i128_to_be(unscaled);
            if let AvroSchema::Fixed(f) = d.inner.as_ref() {
                if bytes.len() > f.size {
                    return Err(format!("decimal too large for fixed({}) at {path}", f.size));
                }
                let fill = if unscaled < 0 { 0xff } else { 0 };
                let mut padded = vec![fill; f.size - bytes.len()];
                padded.extend(bytes);
                bytes = padded;
            }
            AvroValue::Decimal(apache_avro::Decimal::from(bytes))
        }
        AvroSchema::Array(a) => match v {
            Val::Array(items) => AvroValue::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, it)| to_avro(it, &a.items, names, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            // A map given where the writer schema has an array of key/value records.
            Val::Object(entries) => AvroValue::Array(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let kv =
                            Val::Object(vec![("key".into(), Val::Str(k)), ("value".into(), v)]);
                        to_avro(kv, &a.items, names, path)
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => return Err(err(&other)),
        },
        AvroSchema::Map(m) => match v {
            Val::Object(entries) => {
                let mut out = HashMap::with_capacity(entries.len());
                for (k, item) in entries {
                    let p = format!("{path}['{k}']");
                    out.insert(k, to_avro(item, &m.types, names, &p)?);
                }
                AvroValue::Map(out)
            }
            other => return Err(err(&other)),
        },
        AvroSchema::Record(r) => match v {
            Val::Object(mut entries) => {
                let mut out = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    let pos = entries.iter().position(|(k, _)| *k == f.name).or_else(|| {
                        entries
                            .iter()
                            .position(|(k, _)| k.eq_ignore_ascii_case(&f.name))
                    });
                    let p = format!("{path}.{}", f.name);
                    // A missing field, or a null the field cannot hold, takes its default.
                    let given = pos
                        .map(|i| std::mem::replace(&mut entries[i].1, Val::Null))
                        .filter(|v| !matches!(v, Val::Null) || f.default.is_none());
                    let value = match given {
                        Some(v) => to_avro(v, &f.schema, names, &p)?,
                        None => match (&f.default, to_avro(Val::Null, &f.schema, names, &p)) {
                            (_, Ok(null)) => null,
                            (Some(default), Err(_)) => {
                                to_avro(Val::from_serde(default), &f.schema, names, &p)?
                            }
                            (None, Err(e)) => return Err(e),
                        },
                    };
                    out.push((f.name.clone(), value));
                }
                AvroValue::Record(out)
            }
            other => return Err(err(&other)),
        },
        other => return Err(format!("unsupported Avro type {other:?} at {path}")),
    })
}

fn bytes_of(v: Val, path: &str) -> Result<Vec<u8>, String> {
    match v {
        Val::Bytes(b) => Ok(b),
        Val::Str(s) => base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| format!("value at {path} is not valid base64: {e}")),
        other => Err(format!(
            "Cannot write {} as Avro bytes at {path}",
            v_kind(&other)
        )),
    }
}

/// The columns ksqlDB infers from an Avro schema: a record's fields (names upper-cased), or
/// one column called `single_column` for any other schema.
pub fn infer_columns(
    schema_json: &serde_json::Value,
    single_column: &str,
) -> Result<Schema, FormatError> {
    let schema = AvroSchema::parse(schema_json)
        .map_err(|e| FormatError::InvalidConfig(format!("invalid Avro schema: {e}")))?;
    let mut names = HashMap::new();
    collect_names(&schema, None, &mut names);
    let fields = match &schema {
        AvroSchema::Record(r) => r
            .fields
            .iter()
            .map(|f| {
                Ok(Field::new(
                    f.name.to_ascii_uppercase(),
                    arrow_type(&f.schema, &names, 0)?,
                    true,
                ))
            })
            .collect::<Result<Vec<_>, FormatError>>()?,
        other => vec![Field::new(
            single_column,
            arrow_type(other, &names, 0)?,
            true,
        )],
    };
    Ok(Schema::new(fields))
}

fn arrow_type(
    schema: &AvroSchema,
    names: &HashMap<String, AvroSchema>,
    depth: usize,
) -> Result<DataType, FormatError> {
    let unsupported =
        |what: &str| FormatError::UnsupportedSchema(format!("Avro type {what} is not supported"));
    if depth > 64 {
        return Err(unsupported("nested this deep (recursive?)"));
    }
    Ok(match schema {
        AvroSchema::Boolean => DataType::Boolean,
        AvroSchema::Int => DataType::Int32,
        AvroSchema::Long => DataType::Int64,
        AvroSchema::Float | AvroSchema::Double => DataType::Float64,
        AvroSchema::String | AvroSchema::Enum(_) | AvroSchema::Uuid => DataType::Utf8,
        AvroSchema::Bytes | AvroSchema::Fixed(_) => DataType::Binary,
        AvroSchema::Decimal(d) => {
            DataType::Decimal128(d.precision.min(38) as u8, d.scale.min(38) as i8)
        }
        AvroSchema::Date => DataType::Date32,
        AvroSchema::TimeMillis | AvroSchema::TimeMicros => DataType::Time32(TimeUnit::Millisecond),
        AvroSchema::TimestampMillis
        | AvroSchema::TimestampMicros
        | AvroSchema::TimestampNanos
        | AvroSchema::LocalTimestampMillis
        | AvroSchema::LocalTimestampMicros
        | AvroSchema::LocalTimestampNanos => DataType::Timestamp(TimeUnit::Millisecond, None),
        AvroSchema::Array(a) => DataType::List(Arc::new(Field::new(
            "item",
            arrow_type(&a.items, names, depth + 1)?,
            true,
        ))),
        AvroSchema::Map(m) => map_type(arrow_type(&m.types, names, depth + 1)?),
        AvroSchema::Record(r) => DataType::Struct(
            r.fields
                .iter()
                .map(|f| {
                    Ok(Field::new(
                        f.name.to_ascii_uppercase(),
                        arrow_type(&f.schema, names, depth + 1)?,
                        true,
                    ))
                })
                .collect::<Result<Vec<_>, FormatError>>()?
                .into(),
        ),
        AvroSchema::Union(u) => {
            let non_null: Vec<&AvroSchema> = u
                .variants()
                .iter()
                .filter(|s| !matches!(s, AvroSchema::Null))
                .collect();
            match non_null.as_slice() {
                [one] => arrow_type(one, names, depth + 1)?,
                _ => return Err(unsupported("union of several types")),
            }
        }
        AvroSchema::Ref { name } => {
            let s = resolve(name, names).map_err(FormatError::UnsupportedSchema)?;
            arrow_type(s, names, depth + 1)?
        }
        other => return Err(unsupported(&format!("{other:?}"))),
    })
}

impl Format for AvroFormat {
    fn name(&self) -> &'static str {
        "AVRO"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        decode_rows(&self.schema, payloads, |bytes| {
            let raw = self.decode_raw(bytes)?;
            value::coerce_row(raw, &self.schema, self.unwrapped)
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        check_width(&self.schema, batch)?;
        let fields = self.schema.fields();
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let mut values = row_values(batch, row);
            let v = if self.unwrapped {
                let v = values.pop().unwrap_or(Val::Null);
                if matches!(v, Val::Null) {
                    out.push(None);
                    continue;
                }
                v
            } else {
                Val::Object(
                    values
                        .into_iter()
                        .zip(fields.iter())
                        .map(|(v, f)| (f.name().clone(), v))
                        .collect(),
                )
            };
            out.push(Some(self.encode_val(
                v,
                &self.write_schema,
                &self.write_names,
            )?));
        }
        Ok(out)
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        if value.is_null() {
            return Ok(None);
        }
        self.encode_val(Val::from_serde(value), &self.read_schema, &self.read_names)
            .map(Some)
    }

    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        let Some(bytes) = payload else {
            return Ok(serde_json::Value::Null);
        };
        let raw = self.decode_raw(bytes).map_err(FormatError::Decode)?;
        Ok(raw_to_serde(&raw))
    }
}

/// A raw value as logical JSON (exact decimals as numbers, bytes as base64).
fn raw_to_serde(v: &Val) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Val::Num(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(J::Number)
            .unwrap_or_else(|| J::String(s.clone())),
        Val::Array(items) => J::Array(items.iter().map(raw_to_serde).collect()),
        Val::Object(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), raw_to_serde(v)))
                .collect(),
        ),
        other => value::to_serde(other, &DataType::Null),
    }
}
