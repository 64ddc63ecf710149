//! The JSON format: a record is a JSON object of columns (or, unwrapped, the single column's
//! bare value), as ksqlDB's `JSON` format reads and writes it.
//!
//! Reading matches columns and struct fields case-insensitively (exact match first), ignores
//! unknown fields, reads missing ones as null and coerces values as ksqlDB does (numbers
//! between numeric types, numeric strings into numbers, scalars into strings, base64 strings
//! into BYTES). Writing uses the columns' names as they are, DECIMAL as a JSON number at its
//! scale, DATE as days, TIME as ms of the day, TIMESTAMP as epoch ms, BYTES as base64.

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};

use super::value::Val;
use super::{
    check_width, decode_rows, jsontext, row_values, value, Decoded, Format, FormatError,
    FormatOptions,
};

/// ksqlDB's `JSON` format.
#[derive(Debug)]
pub struct JsonFormat {
    schema: SchemaRef,
    unwrapped: bool,
}

impl JsonFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        for f in schema.fields() {
            check_map_keys(f.data_type())?;
        }
        let unwrapped = options.unwrapped(schema.fields().len());
        Ok(JsonFormat { schema, unwrapped })
    }
}

fn check_map_keys(dt: &DataType) -> Result<(), FormatError> {
    match dt {
        DataType::Map(entries, _) => {
            if let DataType::Struct(fs) = entries.data_type() {
                if fs[0].data_type() != &DataType::Utf8 {
                    return Err(FormatError::UnsupportedSchema(
                        "JSON only supports MAP types with STRING keys".into(),
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

impl Format for JsonFormat {
    fn name(&self) -> &'static str {
        "JSON"
    }

    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded {
        decode_rows(&self.schema, payloads, |bytes| {
            let raw = jsontext::parse(bytes)?;
            value::coerce_row(raw, &self.schema, self.unwrapped)
        })
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        check_width(&self.schema, batch)?;
        let fields = self.schema.fields();
        let mut out = Vec::with_capacity(batch.num_rows());
        if self.unwrapped {
            for row in 0..batch.num_rows() {
                let values = row_values(batch, row);
                if matches!(values[0], Val::Null) {
                    out.push(None);
                    continue;
                }
                let mut text = String::new();
                jsontext::write(&mut text, &values[0], fields[0].data_type());
                out.push(Some(text.into_bytes()));
            }
            return Ok(out);
        }
        // An object of the columns: the field names are escaped once per batch and each
        // cell is written straight from its column.
        let keys: Vec<String> = fields
            .iter()
            .map(|f| {
                let mut k = String::new();
                jsontext::write_str(&mut k, f.name());
                k.push(':');
                k
            })
            .collect();
        let mut text = String::new();
        for row in 0..batch.num_rows() {
            text.clear();
            text.push('{');
            for (i, (col, f)) in batch.columns().iter().zip(fields.iter()).enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&keys[i]);
                jsontext::write_cell(&mut text, col.as_ref(), row, f.data_type());
            }
            text.push('}');
            out.push(Some(text.as_bytes().to_vec()));
        }
        Ok(out)
    }

    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError> {
        // Logical JSON is the payload itself; ksqlDB reads it leniently, and so does decode.
        // Values that would not decode still go through as written, as a producer would.
        if value.is_null() {
            return Ok(None);
        }
        serde_json::to_vec(value)
            .map(Some)
            .map_err(|e| FormatError::Encode(e.to_string()))
    }

    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError> {
        match payload {
            None => Ok(serde_json::Value::Null),
            Some(bytes) => {
                serde_json::from_slice(bytes).map_err(|e| FormatError::Decode(e.to_string()))
            }
        }
    }
}
