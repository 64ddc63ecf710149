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

use super::json_rows::FlatRows;
use super::value::Val;
use super::{
    check_width, decode_rows, jsontext, row_values, value, Decoded, Format, FormatError,
    FormatOptions, Payloads,
};

/// ksqlDB's `JSON` format.
#[derive(Debug)]
pub struct JsonFormat {
    schema: SchemaRef,
    unwrapped: bool,
    /// Whether any column holds a MAP (whose entries decode puts in Java's order).
    has_maps: bool,
    /// The fast path for rows of flat columns (json_rows.rs).
    flat: Option<FlatRows>,
}

impl JsonFormat {
    pub(crate) fn new(options: &FormatOptions, schema: SchemaRef) -> Result<Self, FormatError> {
        for f in schema.fields() {
            check_map_keys(f.data_type())?;
        }
        let unwrapped = options.unwrapped(schema.fields().len());
        let has_maps = schema.fields().iter().any(|f| holds_map(f.data_type()));
        let flat = match unwrapped {
            true => None,
            false => FlatRows::new(&schema),
        };
        Ok(JsonFormat {
            schema,
            unwrapped,
            has_maps,
            flat,
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

impl JsonFormat {
    /// One record by the general reader: one normalised value per column, None for a null
    /// record.
    fn decode_row(&self, bytes: &[u8]) -> Result<Option<Vec<Val>>, String> {
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
        if let Some(flat) = &self.flat {
            return flat.decode(payloads, |bytes| self.decode_row(bytes));
        }
        decode_rows(&self.schema, payloads, |bytes| self.decode_row(bytes))
    }

    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError> {
        let mut out = Payloads::with_capacity(batch.num_rows(), 0);
        self.encode_into(batch, &mut out)?;
        Ok(out.to_vecs())
    }

    fn encode_into(&self, batch: &RecordBatch, out: &mut Payloads) -> Result<(), FormatError> {
        check_width(&self.schema, batch)?;
        let fields = self.schema.fields();
        let mut text = String::new();
        if self.unwrapped {
            for row in 0..batch.num_rows() {
                let values = row_values(batch, row);
                if matches!(values[0], Val::Null) {
                    out.push(None);
                    continue;
                }
                text.clear();
                jsontext::write(&mut text, &values[0], fields[0].data_type());
                out.push(Some(text.as_bytes()));
            }
            return Ok(());
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
            out.push(Some(text.as_bytes()));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema};
    use proptest::prelude::*;

    use super::*;

    fn format(fields: &[(&str, DataType)]) -> JsonFormat {
        let schema = Arc::new(Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ));
        JsonFormat::new(&FormatOptions::value(), schema).unwrap()
    }

    fn flat_format() -> JsonFormat {
        let f = format(&[
            ("USER_ID", DataType::Utf8),
            ("N", DataType::Int32),
            ("B", DataType::Int64),
            ("D", DataType::Float64),
            ("F", DataType::Boolean),
        ]);
        assert!(f.flat.is_some());
        f
    }

    /// The fast path gives what the general reader gives: rows, null rows and errors.
    fn same_as_general(f: &JsonFormat, payloads: &[Option<&[u8]>]) {
        let fast = f.decode(payloads);
        let general = decode_rows(&f.schema, payloads, |b| f.decode_row(b));
        assert_eq!(fast.batch, general.batch, "{payloads:?}");
        assert_eq!(fast.null_rows, general.null_rows);
        let errs = |d: &Decoded| {
            d.errors
                .iter()
                .map(|e| (e.row, e.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(errs(&fast), errs(&general), "{payloads:?}");
    }

    #[test]
    fn flat_rows_read_as_the_general_reader() {
        let f = flat_format();
        let cases: &[&str] = &[
            r#"{"user_id":"u1","n":3,"b":-9007199254740993,"d":1.5,"f":true}"#,
            r#" { "USER_ID" : "exact" , "user_id" : "ci" } "#,
            r#"{"user_id":"ci first","User_Id":"ci second"}"#,
            r#"{"USER_ID":"a","USER_ID":"b"}"#,
            r#"{"user_id":"esc\"aped","n":1}"#,
            r#"{"n":"12","d":"2.5","f":"TRUE"}"#,
            r#"{"n":2147483648}"#,
            r#"{"n":1.0,"b":1e3}"#,
            r#"{"d":12345678901234567890,"b":12345678901234567890}"#,
            r#"{"d":-0,"other":[1,2],"x":{"y":1}}"#,
            r#"{"other":"x","more":null,"t":true,"num":-1.5e-3}"#,
            r#"{"user_id":12,"f":1}"#,
            r#"{"n":01}"#,
            r#"{"n":1,}"#,
            r#"{"n":1} x"#,
            r#"{}"#,
            "null",
            "[1]",
            "\"s\"",
            "{\"user_id\":\"tab\there\"}",
            "{\"user_id\":\"caf\u{e9}\"}",
        ];
        let mut payloads: Vec<Option<&[u8]>> = cases.iter().map(|c| Some(c.as_bytes())).collect();
        payloads.push(None);
        payloads.push(Some(b"{\"user_id\":\"\xff\"}"));
        // Invalid UTF-8 in a name and in an unknown field's string.
        payloads.push(Some(b"{\"n\xff\":1}"));
        payloads.push(Some(b"{\"z\":\"\xfe\"}"));
        // Names cached by position, then a longer name and other orders at the same ones.
        payloads.push(Some(br#"{"user_id":"a","n":1}"#));
        payloads.push(Some(br#"{"user_idx":"b","n":2}"#));
        payloads.push(Some(br#"{"n":3,"user_id":"c"}"#));
        payloads.push(Some(br#"{"user_id":"d","n":4}"#));
        same_as_general(&f, &payloads);
    }

    #[test]
    fn only_flat_schemas_take_the_fast_path() {
        assert!(format(&[("A", DataType::Date32)]).flat.is_none());
        // One field could feed both columns.
        assert!(format(&[("a", DataType::Utf8), ("A", DataType::Utf8)])
            .flat
            .is_none());
        // A single unwrapped key column is a bare value, not an object.
        let key = JsonFormat::new(
            &FormatOptions::key(),
            Arc::new(Schema::new(vec![Field::new("K", DataType::Int64, true)])),
        )
        .unwrap();
        assert!(key.unwrapped && key.flat.is_none());
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"user_id\"".to_string()),
            Just("\"USER_ID\"".to_string()),
            Just("\"n\"".to_string()),
            Just("\"B\"".to_string()),
            Just("\"d\"".to_string()),
            Just("\"f\"".to_string()),
            Just("\"z\"".to_string()),
            Just(":".to_string()),
            Just(",".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just(" ".to_string()),
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("\"a\\nb\"".to_string()),
            "-?[0-9]{1,20}(\\.[0-9]{1,3})?([eE][-+]?[0-9]{1,3})?",
            "\"[a-zA-Z0-9 ]{0,6}\"",
        ]
    }

    /// A row object of fields, or a token soup (mostly malformed).
    fn payload() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec((token(), token()), 0..6).prop_map(|fields| {
                let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("{{{}}}", body.join(","))
            }),
            prop::collection::vec(token(), 0..12).prop_map(|t| t.concat()),
        ]
    }

    proptest! {
        #[test]
        fn generated_rows_read_as_the_general_reader(rows in prop::collection::vec(payload(), 1..8)) {
            let f = flat_format();
            let payloads: Vec<Option<&[u8]>> = rows.iter().map(|r| Some(r.as_bytes())).collect();
            same_as_general(&f, &payloads);
        }
    }
}
