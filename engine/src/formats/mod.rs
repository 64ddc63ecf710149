//! Key and value formats: bytes on the log <-> Arrow columns, as ksqlDB encodes them.
//!
//! One [`Format`] per ksqlDB format (`kafka`, `json`, `delimited`, `avro`, `protobuf` for
//! PROTOBUF and PROTOBUF_NOSR, `jsonsr` for JSON_SR, `none`), made by
//! [`create`] from the format's name, its [`FormatOptions`] (the `WITH` properties that shape
//! the encoding) and the Arrow schema of the columns that side of the record carries (the key
//! columns or the value columns). `windowed` adds the window bytes that ksqlDB appends to the
//! keys of windowed tables.
//!
//! Invariants every format keeps:
//! - [`Format::decode`] never fails a batch for bad data: a payload that cannot be read becomes
//!   a [`RowError`] with its row index and an all-null row, so the engine can skip it and write
//!   the reason to the processing log. The decoded batch has exactly one row per payload.
//! - A null payload (`None`, a tombstone) decodes to an all-null row flagged in
//!   [`Decoded::null_rows`]; encoding an unwrapped single column whose value is null gives
//!   `None` (ksqlDB writes a null record, not a record holding null).
//! - Names are ksqlDB's: columns and struct fields are written as the schema spells them and
//!   matched case-insensitively (exact match first) when read.
//!
//! ```
//! use arrow::datatypes::{DataType, Field, Schema};
//! use brook_engine::formats::{create, FormatOptions};
//!
//! let schema = Schema::new(vec![Field::new("ID", DataType::Int64, true)]);
//! let json = create("json", &FormatOptions::default(), &schema).unwrap();
//! let decoded = json.decode(&[Some(br#"{"id": "7"}"#.as_slice())]);
//! assert!(decoded.errors.is_empty());
//! let bytes = json.encode(&decoded.batch).unwrap();
//! assert_eq!(bytes[0].as_deref(), Some(br#"{"ID":7}"#.as_slice()));
//! ```

pub mod avro;
pub mod delimited;
pub mod json;
pub mod jsonsr;
pub mod kafka;
pub mod none;
pub mod payloads;
pub mod protobuf;
pub mod windowed;

mod columns;
mod json_rows;
mod jsontext;
mod protoschema;
mod protowire;
mod value;

use std::fmt;
use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

pub use payloads::Payloads;

pub use columns::{map_type, sql_type_name};

/// Why a format could not be made, or a record could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// A format ksqlDB has that Brook does not implement yet.
    #[error("format {0} is not supported yet")]
    NotSupportedYet(String),
    /// A name that is no format at all.
    #[error("Unknown format: {0}")]
    Unknown(String),
    /// The columns cannot be carried by this format (ksqlDB's message).
    #[error("{0}")]
    UnsupportedSchema(String),
    /// A format property is invalid (delimiter, wrapping, provided schema).
    #[error("{0}")]
    InvalidConfig(String),
    /// A value could not be encoded, or a logical JSON value could not be converted.
    #[error("{0}")]
    Encode(String),
    /// A payload could not be decoded (from the logical-JSON helpers; batch decoding reports
    /// [`RowError`]s instead).
    #[error("{0}")]
    Decode(String),
}

/// The `WITH` properties that shape a format's encoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormatOptions {
    /// `WRAP_SINGLE_VALUE`: `Some(false)` writes a single column as a bare value instead of an
    /// object/record holding it. `None` takes the side's default: wrapped for values,
    /// unwrapped for keys. Ignored when there is not exactly one column. KAFKA and DELIMITED
    /// refuse `Some(true)` with ksqlDB's message, so pass the statement's explicit setting
    /// here, not the `ksql.persistence.wrap.single.values` default.
    pub wrap_single_value: Option<bool>,
    /// The format carries key columns (single key columns are unwrapped by default).
    pub is_key: bool,
    /// `VALUE_DELIMITER` / `KEY_DELIMITER` as written: a single character or `TAB` / `SPACE`.
    /// Only DELIMITED accepts it; the default is a comma.
    pub delimiter: Option<String>,
    /// The `fullSchemaName` format property (`VALUE_SCHEMA_FULL_NAME`,
    /// `VALUE_AVRO_SCHEMA_FULL_NAME`, `KEY_SCHEMA_FULL_NAME`). AVRO: the full name of the
    /// generated record, default `io.confluent.ksql.avro_schemas.KsqlDataSourceSchema`.
    /// PROTOBUF: the message of the provided schema to use, and the name of the generated
    /// message (default `ConnectDefault1`).
    pub avro_schema_full_name: Option<String>,
    /// A schema the topic was written with, e.g. a conformance case's `topics[].valueSchema`.
    /// AVRO: the Avro schema as JSON; payloads are read with it as the writer schema, and
    /// logical JSON is encoded with it. PROTOBUF: the `.proto` text as a JSON string, or
    /// `{"schema": <text>, "references": [{"name": .., "schema": <text>}]}` when it imports
    /// other schemas; records are read and written as its message (see `protobuf`).
    pub provided_schema: Option<serde_json::Value>,
    /// AVRO: write with `provided_schema` too (a source whose `VALUE_SCHEMA_ID` /
    /// `KEY_SCHEMA_ID` names the registered schema writes with that schema, as ksqlDB does),
    /// instead of the schema derived from the columns.
    pub write_provided_schema: bool,
    /// AVRO only: payloads carry Confluent's wire header (magic byte 0 and a 4-byte schema id)
    /// before the Avro datum, as schema-registry clients write them. Written with id 0.
    /// (PROTOBUF and JSON_SR always carry it; PROTOBUF_NOSR never does.)
    pub confluent_framing: bool,
    /// PROTOBUF and PROTOBUF_NOSR: the `nullableRepresentation` format property
    /// (`KEY_/VALUE_PROTOBUF_NULLABLE_REPRESENTATION`): `OPTIONAL` or `WRAPPER` make nullable
    /// primitive columns `optional` fields or `google.protobuf.*Value` wrappers, which read a
    /// missing field as null; unset, they are plain proto3 fields (null reads as the default).
    pub nullable_representation: Option<String>,
}

impl FormatOptions {
    /// Options for the key side (single key columns are unwrapped).
    pub fn key() -> Self {
        FormatOptions {
            is_key: true,
            ..Default::default()
        }
    }

    /// Options for the value side (single value columns are wrapped unless told otherwise).
    pub fn value() -> Self {
        FormatOptions::default()
    }

    /// Whether a single column is written bare rather than inside an object/record.
    pub(crate) fn unwrapped(&self, columns: usize) -> bool {
        columns == 1 && !self.wrap_single_value.unwrap_or(!self.is_key)
    }
}

/// A payload that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Index of the payload in the decoded slice (and of its all-null row in the batch).
    pub row: usize,
    /// Why, in words for the processing log.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}: {}", self.row, self.message)
    }
}

/// The result of decoding a batch of payloads.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// One row per payload, in order, with the format's schema. Null payloads and payloads
    /// that failed to decode are all-null rows.
    pub batch: RecordBatch,
    /// `true` where the payload was null (a tombstone) or decoded to a null record.
    pub null_rows: Vec<bool>,
    /// The payloads that could not be decoded, by row index, in ascending order.
    pub errors: Vec<RowError>,
}

impl Decoded {
    /// Rows that hold a record: neither null nor failed.
    pub fn valid_rows(&self) -> BooleanArray {
        let mut mask: Vec<bool> = self.null_rows.iter().map(|null| !null).collect();
        for e in &self.errors {
            mask[e.row] = false;
        }
        BooleanArray::from(mask)
    }
}

/// A key or value format: ksqlDB's encoding of a set of columns in one Kafka record part.
///
/// Owns the mapping between serialized payloads and Arrow columns for one fixed schema (the
/// columns this side of the record carries, made nullable at top level since a null or bad
/// payload decodes to an all-null row). Decoding reports bad payloads per row and never fails
/// the batch; encoding fails only for values the format cannot represent.
///
/// The logical-JSON helpers serve the conformance runner, whose records are written as
/// JSON: [`Format::json_to_payload`] turns a case's logical key or value into the bytes
/// ksqlDB would find on the topic, and [`Format::payload_to_json`] turns bytes back into the
/// logical form the case's outputs use.
pub trait Format: Send + Sync + fmt::Debug {
    /// The format's ksqlDB name (`KAFKA`, `JSON`, ...).
    fn name(&self) -> &'static str;

    /// The columns this format carries.
    fn schema(&self) -> &SchemaRef;

    /// Decodes payloads (`None` = null/tombstone) into one row each.
    fn decode(&self, payloads: &[Option<&[u8]>]) -> Decoded;

    /// Encodes every row of `batch` (which must have this format's columns, by position).
    fn encode(&self, batch: &RecordBatch) -> Result<Vec<Option<Vec<u8>>>, FormatError>;

    /// [`Format::encode`] into one buffer for the batch (a sink's path; formats that write
    /// rows straight into it skip a vector per row).
    fn encode_into(&self, batch: &RecordBatch, out: &mut Payloads) -> Result<(), FormatError> {
        for p in self.encode(batch)? {
            out.push(p.as_deref());
        }
        Ok(())
    }

    /// Serializes a logical JSON value (as written in a conformance case) into a payload.
    /// JSON `null` is a null payload.
    fn json_to_payload(&self, value: &serde_json::Value) -> Result<Option<Vec<u8>>, FormatError>;

    /// Deserializes a payload into its logical JSON form (null payload = JSON `null`).
    fn payload_to_json(&self, payload: Option<&[u8]>) -> Result<serde_json::Value, FormatError>;
}

/// The generated Avro record name ksqlDB uses when none is configured.
pub const DEFAULT_AVRO_SCHEMA_FULL_NAME: &str =
    "io.confluent.ksql.avro_schemas.KsqlDataSourceSchema";

/// Makes the format called `name` (case-insensitive) for `schema`'s columns.
///
/// Fails with ksqlDB's message when the format does not exist, is not implemented yet, cannot
/// carry the columns' types, or is given properties it does not accept.
pub fn create(
    name: &str,
    options: &FormatOptions,
    schema: &Schema,
) -> Result<Box<dyn Format>, FormatError> {
    let upper = name.trim().to_ascii_uppercase();
    if options.delimiter.is_some() && upper != "DELIMITED" {
        return Err(FormatError::InvalidConfig(format!(
            "{upper} does not support the following configs: [delimiter]"
        )));
    }
    let schema = nullable_top_level(schema);
    match upper.as_str() {
        "KAFKA" => Ok(Box::new(kafka::KafkaFormat::new(options, schema)?)),
        "JSON" => Ok(Box::new(json::JsonFormat::new(options, schema)?)),
        "DELIMITED" => Ok(Box::new(delimited::DelimitedFormat::new(options, schema)?)),
        "AVRO" => Ok(Box::new(avro::AvroFormat::new(options, schema)?)),
        "NONE" => Ok(Box::new(none::NoneFormat::new(options, schema)?)),
        "PROTOBUF" => Ok(Box::new(protobuf::ProtobufFormat::new(
            protobuf::Flavor::Registry,
            options,
            schema,
        )?)),
        "PROTOBUF_NOSR" => Ok(Box::new(protobuf::ProtobufFormat::new(
            protobuf::Flavor::NoRegistry,
            options,
            schema,
        )?)),
        "JSON_SR" => Ok(Box::new(jsonsr::JsonSrFormat::new(options, schema)?)),
        _ => Err(FormatError::Unknown(upper)),
    }
}

fn nullable_top_level(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Fails with ksqlDB's message if WRAP_SINGLE_VALUE=true was asked of a format that only
/// writes bare values.
pub(crate) fn reject_wrapping(format: &str, options: &FormatOptions) -> Result<(), FormatError> {
    if options.wrap_single_value == Some(true) {
        return Err(FormatError::InvalidConfig(format!(
            "Format '{format}' does not support 'WRAP_SINGLE_VALUE' set to 'true'."
        )));
    }
    Ok(())
}

/// ksqlDB's message for a column type a format cannot carry.
pub(crate) fn unsupported_type(format: &str, dt: &DataType) -> FormatError {
    let name = columns::base_type_name(dt);
    FormatError::UnsupportedSchema(format!(
        "The '{format}' format does not support type '{name}'"
    ))
}

/// An empty-column batch of `rows` rows, or a batch of `columns`.
pub(crate) fn make_batch(
    schema: &SchemaRef,
    columns: Vec<arrow::array::ArrayRef>,
    rows: usize,
) -> RecordBatch {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    RecordBatch::try_new_with_options(schema.clone(), columns, &options)
        .expect("decoded columns match the format's schema")
}

/// Decodes payloads row by row with `decode_row`, which yields one normalised value per
/// column (or `None` for a null record). Shared by the formats that parse each payload on
/// its own.
pub(crate) fn decode_rows<F>(
    schema: &SchemaRef,
    payloads: &[Option<&[u8]>],
    decode_row: F,
) -> Decoded
where
    F: Fn(&[u8]) -> Result<Option<Vec<value::Val>>, String>,
{
    let n = payloads.len();
    let width = schema.fields().len();
    let mut cols: Vec<Vec<value::Val>> = (0..width).map(|_| Vec::with_capacity(n)).collect();
    let mut null_rows = Vec::with_capacity(n);
    let mut errors = Vec::new();
    for (row, payload) in payloads.iter().enumerate() {
        let decoded = match payload {
            None => Ok(None),
            Some(bytes) => decode_row(bytes),
        };
        match decoded {
            Ok(Some(values)) => {
                null_rows.push(false);
                let mut it = values.into_iter();
                for col in cols.iter_mut() {
                    col.push(it.next().unwrap_or(value::Val::Null));
                }
            }
            Ok(None) => {
                null_rows.push(true);
                cols.iter_mut().for_each(|c| c.push(value::Val::Null));
            }
            Err(message) => {
                null_rows.push(false);
                errors.push(RowError { row, message });
                cols.iter_mut().for_each(|c| c.push(value::Val::Null));
            }
        }
    }
    let arrays = cols
        .into_iter()
        .zip(schema.fields())
        .map(|(vals, f)| columns::build_array(vals, f.data_type()))
        .collect();
    Decoded {
        batch: make_batch(schema, arrays, n),
        null_rows,
        errors,
    }
}

/// Checks that `batch` has the format's number of columns.
pub(crate) fn check_width(schema: &SchemaRef, batch: &RecordBatch) -> Result<(), FormatError> {
    if batch.num_columns() != schema.fields().len() {
        return Err(FormatError::Encode(format!(
            "expected {} columns to encode, got {}",
            schema.fields().len(),
            batch.num_columns()
        )));
    }
    Ok(())
}

/// The normalised values of one row of `batch`.
pub(crate) fn row_values(batch: &RecordBatch, row: usize) -> Vec<value::Val> {
    batch
        .columns()
        .iter()
        .map(|c| columns::read_cell(c.as_ref(), row))
        .collect()
}

/// Every row of `batch` as a JSON object of its columns (ksqlDB's logical JSON of each
/// value: DECIMAL as a number, BYTES as base64, STRUCT as an object...), for front ends
/// that print rows as JSON.
pub fn batch_to_json_rows(batch: &RecordBatch) -> Vec<serde_json::Value> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|r| row_to_logical_json(&schema, false, &row_values(batch, r)))
        .collect()
}

/// Converts a logical JSON value into one row of normalised column values, as ksqlDB's
/// JSON deserializer would read it: an object of columns, or a bare value for an unwrapped
/// single column. `Ok(None)` for JSON null.
pub(crate) fn logical_json_to_row(
    schema: &SchemaRef,
    unwrapped: bool,
    value: &serde_json::Value,
) -> Result<Option<Vec<value::Val>>, String> {
    let val = value::Val::from_serde(value);
    value::coerce_row(val, schema, unwrapped)
}

/// Converts one decoded row into its logical JSON form.
pub(crate) fn row_to_logical_json(
    schema: &SchemaRef,
    unwrapped: bool,
    values: &[value::Val],
) -> serde_json::Value {
    if unwrapped {
        return match (values.first(), schema.fields().first()) {
            (Some(v), Some(f)) => value::to_serde(v, f.data_type()),
            _ => serde_json::Value::Null,
        };
    }
    let mut map = serde_json::Map::new();
    for (v, f) in values.iter().zip(schema.fields()) {
        map.insert(f.name().clone(), value::to_serde(v, f.data_type()));
    }
    serde_json::Value::Object(map)
}

/// `payload_to_json` for formats that decode through Arrow: decodes the single payload and
/// writes the row as logical JSON.
pub(crate) fn payload_to_json_via_decode(
    format: &dyn Format,
    unwrapped: bool,
    payload: Option<&[u8]>,
) -> Result<serde_json::Value, FormatError> {
    let decoded = format.decode(&[payload]);
    if let Some(e) = decoded.errors.first() {
        return Err(FormatError::Decode(e.message.clone()));
    }
    if decoded.null_rows[0] {
        return Ok(serde_json::Value::Null);
    }
    let values = row_values(&decoded.batch, 0);
    Ok(row_to_logical_json(format.schema(), unwrapped, &values))
}

/// `json_to_payload` for formats that encode through Arrow: reads the logical JSON as a row
/// and encodes it.
pub(crate) fn json_to_payload_via_encode(
    format: &dyn Format,
    unwrapped: bool,
    value: &serde_json::Value,
) -> Result<Option<Vec<u8>>, FormatError> {
    let schema = format.schema();
    let Some(row) = logical_json_to_row(schema, unwrapped, value).map_err(FormatError::Encode)?
    else {
        return Ok(None);
    };
    let arrays = row
        .into_iter()
        .zip(schema.fields())
        .map(|(v, f)| columns::build_array(vec![v], f.data_type()))
        .collect();
    let batch = make_batch(schema, arrays, 1);
    Ok(format.encode(&batch)?.pop().flatten())
}

#[cfg(test)]
mod tests;
