//! The KAFKA format: one primitive column in Kafka's own serializers' encodings.
//!
//! INT is 4 bytes big-endian, BIGINT 8 bytes big-endian, DOUBLE 8 bytes big-endian IEEE 754,
//! STRING UTF-8, BYTES the raw bytes. Only one column, never wrapped; any other type is
//! refused with ksqlDB's message. With no columns (a keyless stream's key) payloads are
//! ignored.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type, SchemaRef};
use base64::Engine as _;

use super::value::Val;
use super::{
    check_width, decode_rows, json_to_payload_via_encode, payload_to_json_via_decode,
    reject_wrapping, row_values, sql_type_name, unsupported_type, Decoded, Format, FormatError,
    FormatOptions, Payloads,
};

/// ksqlDB's `KAFKA` format.
#[derive(Debug)]
pub struct KafkaFormat {
    schema: SchemaRef,
}

impl KafkaFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        reject_wrapping("KAFKA", options)?;
        if schema.fields().len() > 1 {
            let cols: Vec<String> = schema
                .fields()
                .iter()
                .map(|f| format!("`{}` {}", f.name(), sql_type_name(f.data_type())))
                .collect();
            return Err(FormatError::UnsupportedSchema(format!(
                "The 'KAFKA' format only supports a single field. Got: [{}]",
                cols.join(", ")
            )));
        }
        if let Some(f) = schema.fields().first() {
            match f.data_type() {
                DataType::Int32
                | DataType::Int64
                | DataType::Float64
                | DataType::Utf8
                | DataType::Binary => {}
                other => return Err(unsupported_type("KAFKA", other)),
            }
        }
        Ok(KafkaFormat { schema })
    }
}

/// Decodes one payload of type `dt` as Kafka's deserializers do.
pub(crate) fn decode_primitive(bytes: &[u8], dt: &DataType) -> Result<Val, String> {
    fn fixed<const N: usize>(bytes: &[u8], name: &str) -> Result<[u8; N], String> {
        bytes.try_into().map_err(|_| {
            format!(
                "Size of data received by {name}Deserializer is not {N} (got {})",
                bytes.len()
            )
        })
    }
    Ok(match dt {
        DataType::Int32 => Val::Int(i32::from_be_bytes(fixed::<4>(bytes, "Integer")?) as i64),
        DataType::Int64 => Val::Int(i64::from_be_bytes(fixed::<8>(bytes, "Long")?)),
        DataType::Float64 => Val::Float(f64::from_be_bytes(fixed::<8>(bytes, "Double")?)),
        DataType::Utf8 => Val::Str(
            std::str::from_utf8(bytes)
                .map_err(|e| format!("Invalid UTF-8 in STRING: {e}"))?
                .to_string(),
        ),
        DataType::Binary => Val::Bytes(bytes.to_vec()),
        other => {
            return Err(format!(
                "The 'KAFKA' format does not support type '{other}'"
            ))
        }
    })
}

/// Encodes one normalised value as Kafka's serializers do (`None` for null).
pub(crate) fn encode_primitive(v: &Val) -> Option<Vec<u8>> {
    match v {
        Val::Null => None,
        Val::Int(i) => Some(i.to_be_bytes().to_vec()),
        Val::Float(f) => Some(f.to_be_bytes().to_vec()),
        Val::Str(s) => Some(s.as_bytes().to_vec()),
        Val::Bytes(b) => Some(b.clone()),
        _ => None,
    }
}

/// A column of STRING, INT, BIGINT or DOUBLE encoded straight from the array (what
/// [`encode_primitive`] writes for its values) into `out`; false (nothing written) for
/// other types.
fn encode_column(col: &dyn Array, out: &mut Payloads) -> bool {
    fn each(col: &dyn Array, out: &mut Payloads, f: impl Fn(usize, &mut Vec<u8>)) {
        for r in 0..col.len() {
            if col.is_valid(r) {
                f(r, out.buf_mut());
                out.end_row();
            } else {
                out.push(None);
            }
        }
    }
    match col.data_type() {
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            each(col, out, |r, b| b.extend_from_slice(a.value(r).as_bytes()));
        }
        DataType::Int32 => {
            let a = col.as_primitive::<Int32Type>();
            each(col, out, |r, b| {
                b.extend_from_slice(&a.value(r).to_be_bytes())
            });
        }
        DataType::Int64 => {
            let a = col.as_primitive::<Int64Type>();
            each(col, out, |r, b| {
                b.extend_from_slice(&a.value(r).to_be_bytes())
            });
        }
        DataType::Float64 => {
            let a = col.as_primitive::<Float64Type>();
            each(col, out, |r, b| {
                b.extend_from_slice(&a.value(r).to_be_bytes())
            });
        }
        _ => return false,
    }
    true
}

impl Format for KafkaFormat {
    fn name(&self) -> &'static str {
        "KAFKA"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        match self.schema.fields().first() {
            None => decode_rows(&self.schema, payloads, |_| Ok(Some(vec![]))),
            Some(f) => decode_rows(&self.schema, payloads, |bytes| {
                decode_primitive(bytes, f.data_type()).map(|v| Some(vec![v]))
            }),
        }
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let mut out = Payloads::with_capacity(batch.num_rows(), 0);
        self.encode_into(batch, &mut out)?;
        Ok(out.to_vecs())
    }

    fn encode_into(&self, batch: &RecordBatch, out: &mut Payloads) -> Result<(), FormatError> {
        check_width(&self.schema, batch)?;
        if self.schema.fields().is_empty() {
            for _ in 0..batch.num_rows() {
                out.push(None);
            }
            return Ok(());
        }
        let col = batch.column(0);
        if col.data_type() == self.schema.field(0).data_type() && encode_column(col.as_ref(), out) {
            return Ok(());
        }
        for row in 0..batch.num_rows() {
            let v = &row_values(batch, row)[0];
            match v {
                // INT is 4 bytes even though it is held as i64.
                Val::Int(i) if self.schema.field(0).data_type() == &DataType::Int32 => {
                    out.push(Some(&(*i as i32).to_be_bytes()))
                }
                other => out.push(encode_primitive(other).as_deref()),
            }
        }
        Ok(())
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        if self.schema.fields().is_empty() {
            return schemaless_payload(value);
        }
        json_to_payload_via_encode(self, true, value)
    }

    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        if self.schema.fields().is_empty() {
            return Ok(match payload {
                None => serde_json::Value::Null,
                Some(b) => match std::str::from_utf8(b) {
                    Ok(s) => serde_json::Value::String(s.to_string()),
                    Err(_) => serde_json::Value::String(
                        base64::engine::general_purpose::STANDARD.encode(b),
                    ),
                },
            });
        }
        payload_to_json_via_decode(self, true, payload)
    }
}

/// A payload for a format with no columns, whose bytes nobody reads: strings as UTF-8,
/// integers as INT or BIGINT, other numbers as DOUBLE.
fn schemaless_payload(value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
    Ok(match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => Some((i as i32).to_be_bytes().to_vec()),
            Some(i) => Some(i.to_be_bytes().to_vec()),
            None => Some(n.as_f64().unwrap_or(0.0).to_be_bytes().to_vec()),
        },
        other => Some(other.to_string().into_bytes()),
    })
}
