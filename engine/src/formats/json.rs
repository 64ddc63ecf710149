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
    /// Whether any column holds a MAP (whose entries decode puts in Java's order).
    has_maps: bool,
}

impl JsonFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        for f in schema.fields() {
            check_map_keys(f.data_type())?;
        }
        let unwrapped = options.unwrapped(schema.fields().len());
        let has_maps = schema.fields().iter().any(|f| holds_map(f.data_type()));
        Ok(JsonFormat {
            schema,
            unwrapped,
            has_maps,
        })
    }
}

fn holds_map(dt: &DataType) -> bool {
    match dt {
        DataType::Map(..) => true,
        DataType::List(f) => holds_map(f.data_type()),
        DataType::Struct(fs) => fs.iter().any(|f| holds_map(f.data_type())),
        _ => false,
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

/// Puts the entries of every map in `v` in the order ksqlDB holds them after reading JSON:
/// its deserializer collects an object's entries into `new HashMap<>(size)`, and functions
/// that walk a map (REDUCE, TRANSFORM) see them in that map's iteration order.
fn java_map_order(v: &mut Val, dt: &DataType) {
    match (v, dt) {
        (Val::Object(entries), DataType::Map(field, _)) => {
            let value_type = value::map_value_type(field.data_type());
            for (_, item) in entries.iter_mut() {
                java_map_order(item, &value_type);
            }
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            let order = crate::functions::map::java_hash_map_order_sized(&keys, keys.len());
            let mut taken: Vec<Option<(String, Val)>> =
                std::mem::take(entries).into_iter().map(Some).collect();
            entries.extend(order.into_iter().filter_map(|i| taken[i].take()));
        }
        (Val::Object(fields), DataType::Struct(fs)) => {
            for ((_, item), f) in fields.iter_mut().zip(fs.iter()) {
                java_map_order(item, f.data_type());
            }
        }
        (Val::Array(items), DataType::List(f)) => {
            for item in items.iter_mut() {
                java_map_order(item, f.data_type());
            }
        }
        _ => {}
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
            // A row object's field names are read in place; anything else as a whole value.
            let fields = match self.unwrapped {
                true => None,
                false => jsontext::parse_object(bytes)?,
            };
            let mut row = match fields {
                Some(entries) => Some(value::coerce_object(entries, &self.schema)?),
                None => value::coerce_row(jsontext::parse(bytes)?, &self.schema, self.unwrapped)?,
            };
            if !self.has_maps {
                return Ok(row);
            }
            for (v, f) in row.iter_mut().flatten().zip(self.schema.fields()) {
                java_map_order(v, f.data_type());
            }
            Ok(row)
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
