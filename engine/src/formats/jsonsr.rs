//! The JSON_SR format: the JSON format's text behind Confluent's schema-registry header
//! (magic byte 0 and a 4-byte big-endian schema id, written as 0), as ksqlDB's JSON Schema
//! serializer writes it.
//!
//! The JSON text is read and written exactly as the JSON format does (see `json`): the same
//! coercions, names, encodings and single-value wrapping (values wrapped, keys unwrapped by
//! default, `WRAP_SINGLE_VALUE` honoured). As in ksqlDB, a payload without the header is not
//! read as plain JSON but reported as an error.
//!
//! With a provided JSON Schema (the registered schema a schema id names), records are written
//! as that schema describes them: its properties that no column carries are written as null.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::json::JsonFormat;
use super::{decode_rows, jsontext, value, Decoded, Format, FormatError, FormatOptions};

/// Length of Confluent's header: magic byte and schema id.
const HEADER: usize = 5;

const NO_MAGIC: &str = "Got unexpected JSON serialization format that did not start with the magic byte. If this stream was not serialized using the JsonSchemaConverter, then make sure the stream is declared with a format that matches the serialization mechanism.";

/// ksqlDB's `JSON_SR` format.
#[derive(Debug)]
pub struct JsonSrFormat {
    json: JsonFormat,
    schema: SchemaRef,
    unwrapped: bool,
    /// Properties of the provided schema that no column carries, written as null.
    extra_properties: Vec<String>,
}

impl JsonSrFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        let json = JsonFormat::new(options, schema.clone())?;
        let unwrapped = options.unwrapped(schema.fields().len());
        let extra_properties = match (&options.provided_schema, unwrapped) {
            (Some(p), false) => schema_properties(p)
                .into_iter()
                .filter(|name| {
                    !schema
                        .fields()
                        .iter()
                        .any(|f| f.name().eq_ignore_ascii_case(name))
                })
                .collect(),
            _ => vec![],
        };
        Ok(JsonSrFormat {
            json,
            schema,
            unwrapped,
            extra_properties,
        })
    }

    /// Adds the extra properties, as nulls, to the JSON object text of a record.
    fn with_extra_properties(&self, text: Vec<u8>) -> Vec<u8> {
        if self.extra_properties.is_empty() || text.last() != Some(&b'}') {
            return text;
        }
        let mut out = text;
        out.pop();
        let mut first = out == b"{";
        for name in &self.extra_properties {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend(serde_json::to_string(name).unwrap_or_default().into_bytes());
            out.extend(b":null");
        }
        out.push(b'}');
        out
    }
}

/// The property names of an object JSON Schema (given as JSON or as its text).
fn schema_properties(schema: &serde_json::Value) -> Vec<String> {
    let parsed;
    let schema = match schema {
        serde_json::Value::String(s) => match serde_json::from_str(s) {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => return vec![],
        },
        v => v,
    };
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The JSON text of a framed payload.
fn unframe(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER || bytes[0] != 0 {
        return Err(NO_MAGIC.into());
    }
    Ok(&bytes[HEADER..])
}

fn frame(text: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + HEADER);
    out.extend_from_slice(&[0; HEADER]);
    out.extend(text);
    out
}

impl Format for JsonSrFormat {
    fn name(&self) -> &'static str {
        "JSON_SR"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        decode_rows(&self.schema, payloads, |bytes| {
            let raw = jsontext::parse(unframe(bytes)?)?;
            value::coerce_row(raw, &self.schema, self.unwrapped)
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        Ok(self
            .json
            .encode(batch)?
            .into_iter()
            .map(|p| p.map(|text| frame(self.with_extra_properties(text))))
            .collect())
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        Ok(self.json.json_to_payload(value)?.map(frame))
    }

    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        match payload {
            None => Ok(serde_json::Value::Null),
            Some(bytes) => {
                let text = unframe(bytes).map_err(FormatError::Decode)?;
                self.json.payload_to_json(Some(text))
            }
        }
    }
}
