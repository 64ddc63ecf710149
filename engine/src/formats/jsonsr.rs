//! The JSON_SR format: the JSON format's text behind Confluent's schema-registry header
//! (magic byte 0 and a 4-byte big-endian schema id, written as 0), as ksqlDB's JSON Schema
//! serializer writes it.
//!
//! The JSON text is read and written exactly as the JSON format does (see `json`): the same
//! coercions, names, encodings and single-value wrapping (values wrapped, keys unwrapped by
//! default, `WRAP_SINGLE_VALUE` honoured). As in ksqlDB, a payload without the header is not
//! read as plain JSON but reported as an error.

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
}

impl JsonSrFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        let json = JsonFormat::new(options, schema.clone())?;
        let unwrapped = options.unwrapped(schema.fields().len());
        Ok(JsonSrFormat {
            json,
            schema,
            unwrapped,
        })
    }
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
            .map(|p| p.map(frame))
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
