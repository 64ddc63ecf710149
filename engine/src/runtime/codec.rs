//! codec.rs owns [`SourceCodec`]: the key and value formats of one stream or table, and the
//! two conversions the runtime makes with them: log records → [`Rows`] laid out as a plan's
//! `Source` node (key, value, header and pseudo-columns), and rows → log records for a sink.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, BinaryBuilder, Int32Array, Int64Array, ListBuilder,
    RecordBatch, StringArray, StructBuilder, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Fields, Schema as ArrowSchema, SchemaRef};
use brook_log::{Record, RecordRef, StoredRecord};
use brook_sql::analyzer::{SourceEntry, WindowType as SqlWindowType};
use brook_sql::plan::{ColumnRole, Schema};

use crate::catalog::sql_to_arrow;
use crate::formats::windowed::{append_window, decode_windowed, Window, WindowType};
use crate::formats::{self, Format, FormatOptions, Payloads};
use crate::functions::datetime::pattern::{JavaDateFormat, Zone};

use super::error::{EngineError, Result};
use super::processing_log::ProcessingError;
use super::rows::Rows;

/// Schemas registered for topics outside the statements (a case's `valueSchema`), by
/// `(topic, is_key)`: the Avro schema JSON a topic's records were written with.
pub type ProvidedSchemas = HashMap<(String, bool), serde_json::Value>;

/// The formats of one source and how its records map to columns.
#[derive(Debug)]
pub struct SourceCodec {
    pub entry: SourceEntry,
    key: Box<dyn Format>,
    value: Box<dyn Format>,
    window: Option<(WindowType, i64)>,
    timestamp: Option<TimestampExtractor>,
}

#[derive(Debug)]
struct TimestampExtractor {
    column: String,
    format: Option<JavaDateFormat>,
}

fn options(
    entry: &SourceEntry,
    is_key: bool,
    schemas: &ProvidedSchemas,
) -> Result<(String, FormatOptions)> {
    let info = if is_key {
        &entry.key_format
    } else {
        &entry.value_format
    };
    let mut o = if is_key {
        FormatOptions::key()
    } else {
        FormatOptions::value()
    };
    if !is_key {
        o.wrap_single_value = entry.wrap_single_value;
    }
    o.delimiter = info.properties.get("delimiter").cloned();
    o.avro_schema_full_name = info.properties.get("fullSchemaName").cloned();
    if info.name == "AVRO" {
        // As for PROTOBUF below: a query's sink writes (and so reads back) its own schema
        // unless a schema id names the registered one.
        if !entry.from_query || info.properties.contains_key("schemaId") {
            o.provided_schema = schemas.get(&(entry.topic.clone(), is_key)).cloned();
        }
        o.confluent_framing = true;
        o.write_provided_schema = info.properties.contains_key("schemaId");
    }
    o.nullable_representation = info.properties.get("nullableRepresentation").cloned();
    // PROTOBUF: a topic's registered .proto schema is its writer schema, except for a query's
    // sink, which writes its own schema unless a schema id names the registered one.
    let schema_id = info.properties.contains_key("schemaId");
    if (info.name == "PROTOBUF" && (!entry.from_query || schema_id))
        || (info.name == "JSON_SR" && schema_id)
    {
        o.provided_schema = schemas.get(&(entry.topic.clone(), is_key)).cloned();
    }
    Ok((info.name.clone(), o))
}

/// The Arrow schema of the columns one side of a record carries.
pub fn side_schema(entry: &SourceEntry, is_key: bool) -> ArrowSchema {
    ArrowSchema::new(
        entry
            .columns
            .iter()
            .filter(|c| {
                if is_key {
                    c.role == ColumnRole::Key
                } else {
                    c.role == ColumnRole::Value
                }
            })
            .map(|c| Field::new(&c.name, sql_to_arrow(&c.ty), true))
            .collect::<Vec<_>>(),
    )
}

impl SourceCodec {
    pub fn new(entry: &SourceEntry, schemas: &ProvidedSchemas) -> Result<Self> {
        let (kname, kopts) = options(entry, true, schemas)?;
        let (vname, vopts) = options(entry, false, schemas)?;
        let key = formats::create(&kname, &kopts, &side_schema(entry, true))?;
        let value = formats::create(&vname, &vopts, &side_schema(entry, false))?;
        let window = entry.window.map(|w| match w.kind {
            SqlWindowType::Session => (WindowType::Session, 0),
            _ => (WindowType::Time, w.size_ms.unwrap_or(0) as i64),
        });
        let timestamp = match &entry.timestamp {
            None => None,
            Some(t) => Some(TimestampExtractor {
                column: t.column.clone(),
                format: match &t.format {
                    Some(p) => Some(JavaDateFormat::new(p).map_err(|e| {
                        EngineError::Statement(format!("Invalid TIMESTAMP_FORMAT '{p}': {e}"))
                    })?),
                    None => None,
                },
            }),
        };
        Ok(SourceCodec {
            entry: entry.clone(),
            key,
            value,
            window,
            timestamp,
        })
    }

    pub fn key_format(&self) -> &dyn Format {
        &*self.key
    }

    pub fn value_format(&self) -> &dyn Format {
        &*self.value
    }

    /// Whether keys carry a window, and which.
    pub fn window_type(&self) -> Option<WindowType> {
        self.window.map(|(t, _)| t)
    }

    /// Decodes records read from `partition` into rows laid out as `schema` (a `Source`
    /// node's schema) with Arrow schema `arrow`. Records that cannot be decoded, or whose
    /// timestamp column is null or unreadable, are left out and reported in `errors`. A null
    /// value is a delete for tables; streams skip it.
    pub fn decode(
        &self,
        schema: &Schema,
        arrow: &SchemaRef,
        partition: u32,
        records: &[StoredRecord],
        errors: &mut Vec<ProcessingError>,
    ) -> Result<Rows> {
        let n = records.len();
        let mut ok = vec![true; n];
        let mut windows = Vec::new();
        let mut key_payloads: Vec<Option<&[u8]>> = Vec::with_capacity(n);
        for (i, r) in records.iter().enumerate() {
            match (&self.window, r.key.as_deref()) {
                (Some((wt, size)), Some(k)) => match decode_windowed(k, *wt, *size) {
                    Ok((inner, w)) => {
                        key_payloads.push(Some(inner));
                        windows.push(w);
                    }
                    Err(e) => {
                        ok[i] = false;
                        key_payloads.push(None);
                        windows.push(Window { start: 0, end: 0 });
                        errors.push(ProcessingError::deserialize(
                            &self.entry.topic,
                            partition,
                            r,
                            format!("Failed to deserialize key: {e}"),
                        ));
                    }
                },
                (Some(_), None) => {
                    key_payloads.push(None);
                    windows.push(Window { start: 0, end: 0 });
                }
                (None, k) => key_payloads.push(k),
            }
        }
        // A table has no row without a key: a record with a null key is dropped, as
        // ksqlDB's table source drops it.
        if self.entry.kind == brook_sql::ast::SourceKind::Table
            && self.entry.key_columns().next().is_some()
        {
            for (i, r) in records.iter().enumerate() {
                if r.key.is_none() {
                    ok[i] = false;
                }
            }
        }
        let keys = self.key.decode(&key_payloads);
        for e in &keys.errors {
            if ok[e.row] {
                ok[e.row] = false;
                errors.push(ProcessingError::deserialize(
                    &self.entry.topic,
                    partition,
                    &records[e.row],
                    format!(
                        "Failed to deserialize key from topic: {}. {}",
                        self.entry.topic, e.message
                    ),
                ));
            }
        }
        let value_payloads: Vec<Option<&[u8]>> =
            records.iter().map(|r| r.value.as_deref()).collect();
        let values = self.value.decode(&value_payloads);
        for e in &values.errors {
            if ok[e.row] {
                ok[e.row] = false;
                errors.push(ProcessingError::deserialize(
                    &self.entry.topic,
                    partition,
                    &records[e.row],
                    format!(
                        "Failed to deserialize value from topic: {}. {}",
                        self.entry.topic, e.message
                    ),
                ));
            }
        }
        // A null value deletes a table's key; on a stream it is a null row, which
        // projections pass on as a null value and filters and aggregations skip.
        let deletes: Vec<bool> = (0..n)
            .map(|i| records[i].value.is_none() || values.null_rows[i])
            .collect();
        let mut timestamps: Vec<i64> = records.iter().map(|r| r.timestamp).collect();

        let key_names: Vec<&str> = self.entry.key_columns().map(|c| c.name.as_str()).collect();
        let value_names: Vec<&str> = self
            .entry
            .columns
            .iter()
            .filter(|c| c.role == ColumnRole::Value)
            .map(|c| c.name.as_str())
            .collect();
        let column_of = |name: &str| -> Option<ArrayRef> {
            if let Some(i) = key_names.iter().position(|k| *k == name) {
                return Some(keys.batch.column(i).clone());
            }
            value_names
                .iter()
                .position(|k| *k == name)
                .map(|i| values.batch.column(i).clone())
        };

        if let Some(ts) = &self.timestamp {
            if let Some(col) = column_of(&ts.column) {
                let col = TimestampColumn::of(&col, ts.format.as_ref());
                for (i, t) in timestamps.iter_mut().enumerate() {
                    if !ok[i] || deletes[i] {
                        continue;
                    }
                    match col.at(i) {
                        Ok(Some(v)) if v >= 0 => *t = v,
                        Ok(_) => {
                            ok[i] = false;
                            errors.push(ProcessingError::new(
                                &self.entry.topic,
                                partition,
                                &records[i],
                                format!("Invalid timestamp in column {}: null or negative; record skipped", ts.column),
                            ));
                        }
                        Err(m) => {
                            ok[i] = false;
                            errors.push(ProcessingError::new(
                                &self.entry.topic,
                                partition,
                                &records[i],
                                m,
                            ));
                        }
                    }
                }
            }
        }

        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.columns.len());
        for (field, col) in arrow.fields().iter().zip(&schema.columns) {
            let array: ArrayRef = match &col.role {
                ColumnRole::Key | ColumnRole::Value => {
                    column_of(&col.name).unwrap_or_else(|| new_null_array(field.data_type(), n))
                }
                ColumnRole::Headers => headers_array(records, None, field.data_type())?,
                ColumnRole::Header(k) => headers_array(records, Some(k), field.data_type())?,
                ColumnRole::Pseudo => match col.name.as_str() {
                    "ROWTIME" => Arc::new(Int64Array::from(timestamps.clone())),
                    "ROWPARTITION" => Arc::new(Int32Array::from(vec![partition as i32; n])),
                    "ROWOFFSET" => Arc::new(Int64Array::from(
                        records.iter().map(|r| r.offset as i64).collect::<Vec<_>>(),
                    )),
                    "WINDOWSTART" => Arc::new(Int64Array::from(
                        windows.iter().map(|w| w.start).collect::<Vec<_>>(),
                    )),
                    "WINDOWEND" => Arc::new(Int64Array::from(
                        windows.iter().map(|w| w.end).collect::<Vec<_>>(),
                    )),
                    _ => new_null_array(field.data_type(), n),
                },
            };
            columns.push(cast_to(array, field.data_type())?);
        }
        let batch = RecordBatch::try_new(arrow.clone(), columns)?;
        let rows = Rows {
            batch,
            timestamps,
            deletes,
            windows: self.window.map(|_| windows),
            partition,
        };
        rows.filter(&arrow::array::BooleanArray::from(ok))
    }

    /// Encodes rows whose batch holds this source's key columns then its value columns (a
    /// sink's input) into records. Deletes become tombstones.
    /// When the source names a TIMESTAMP column, each record's timestamp is its value; a
    /// row whose value there is negative or does not parse is left out (as ksqlDB's sink
    /// drops it) and the reason pushed to `skipped`.
    pub fn encode(&self, rows: &Rows, skipped: &mut Vec<String>) -> Result<Vec<Record>> {
        Ok(self.encode_batch(rows, skipped)?.into_records())
    }

    /// [`SourceCodec::encode`] into one buffer of keys and one of values, for an append of
    /// borrowed records ([`EncodedBatch::records`]).
    pub fn encode_batch(&self, rows: &Rows, skipped: &mut Vec<String>) -> Result<EncodedBatch> {
        let n_keys = self.entry.key_columns().count();
        let batch = &rows.batch;
        let n_values = self.value.schema().fields().len();
        let key_batch = RecordBatch::try_new_with_options(
            self.key.schema().clone(),
            batch.columns()[..n_keys].to_vec(),
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?;
        let value_batch = RecordBatch::try_new_with_options(
            self.value.schema().clone(),
            batch.columns()[n_keys..n_keys + n_values].to_vec(),
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )?;
        // Keys and values each go into one buffer for the batch; records take slices of it.
        let n = batch.num_rows();
        let mut keys = Payloads::with_capacity(n, n * 24);
        if let (Some((wt, _)), Some(ws)) = (&self.window, &rows.windows) {
            // Each key ends with its window, written as the key's row ends.
            if ws.len() != n {
                return Err(EngineError::Format(formats::FormatError::Encode(format!(
                    "{n} rows with {} windows",
                    ws.len()
                ))));
            }
            let mut suffixes = Vec::with_capacity(n * 16);
            for w in ws {
                append_window(&mut suffixes, *w, *wt);
            }
            let width = suffixes.len().checked_div(n).unwrap_or(0);
            keys.set_row_suffixes(suffixes, width);
        }
        if n_keys == 0 {
            // A sink without key columns writes records without a key.
            for _ in 0..n {
                keys.push(None);
            }
        } else {
            self.key.encode_into(&key_batch, &mut keys)?;
        }
        let mut values = Payloads::with_capacity(n, n * 32);
        self.value.encode_into(&value_batch, &mut values)?;
        if keys.len() != n || values.len() != n {
            return Err(EngineError::Format(formats::FormatError::Encode(format!(
                "{n} rows encoded into {} keys and {} values",
                keys.len(),
                values.len()
            ))));
        }
        let ts_col = self.timestamp.as_ref().and_then(|t| {
            let pos = self
                .entry
                .columns
                .iter()
                .filter(|c| c.role == ColumnRole::Key)
                .chain(
                    self.entry
                        .columns
                        .iter()
                        .filter(|c| c.role == ColumnRole::Value),
                )
                .position(|c| c.name == t.column)?;
            Some(TimestampColumn::of(batch.column(pos), t.format.as_ref()))
        });
        let mut kept = Vec::with_capacity(n);
        for i in 0..n {
            let mut ts = rows.timestamps[i];
            if let Some(c) = &ts_col {
                match c.at(i) {
                    Ok(Some(t)) if t >= 0 => ts = t,
                    Ok(Some(t)) => {
                        skipped.push(format!(
                            "Invalid timestamp in column {}: {t} is negative; record skipped",
                            self.timestamp.as_ref().map_or("", |t| t.column.as_str())
                        ));
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => {
                        skipped.push(format!("{e}; record skipped"));
                        continue;
                    }
                }
            }
            kept.push((i, ts, rows.deletes[i]));
        }
        Ok(EncodedBatch { keys, values, kept })
    }
}

/// Sink records encoded into one buffer of keys and one of values.
#[derive(Debug)]
pub struct EncodedBatch {
    keys: Payloads,
    values: Payloads,
    /// The records: row, timestamp, and whether it is a tombstone.
    kept: Vec<(usize, i64, bool)>,
}

impl EncodedBatch {
    /// The records, borrowing the buffers.
    pub fn records(&self) -> Vec<RecordRef<'_>> {
        self.kept
            .iter()
            .map(|&(i, ts, delete)| RecordRef {
                key: self.keys.get(i),
                value: if delete { None } else { self.values.get(i) },
                timestamp: ts,
                headers: &[],
            })
            .collect()
    }

    /// The records as owned records (slices of the two buffers).
    pub fn into_records(self) -> Vec<Record> {
        let (keys, values) = (self.keys.freeze(), self.values.freeze());
        self.kept
            .into_iter()
            .map(|(i, ts, delete)| {
                let value = if delete { None } else { values.get(i) };
                Record::new(keys.get(i), value, ts)
            })
            .collect()
    }
}

/// The timestamp (ms) held at row `i` of a BIGINT, TIMESTAMP or (with a pattern) STRING column.
/// A timestamp column with its type resolved once per batch, so that each row is read
/// without a dynamic call: BIGINT and TIMESTAMP as they are, a string through its
/// `timestamp_format`; any other column gives no timestamp.
enum TimestampColumn<'a> {
    BigInt(&'a Int64Array),
    Millis(&'a TimestampMillisecondArray),
    Text(&'a StringArray, &'a JavaDateFormat),
    Other,
}

impl<'a> TimestampColumn<'a> {
    fn of(col: &'a ArrayRef, format: Option<&'a JavaDateFormat>) -> Self {
        let any = col.as_any();
        if let Some(a) = any.downcast_ref::<Int64Array>() {
            return TimestampColumn::BigInt(a);
        }
        if let Some(a) = any.downcast_ref::<TimestampMillisecondArray>() {
            return TimestampColumn::Millis(a);
        }
        match (any.downcast_ref::<StringArray>(), format) {
            (Some(a), Some(f)) => TimestampColumn::Text(a, f),
            _ => TimestampColumn::Other,
        }
    }

    /// Row `i`'s timestamp (None when null or not a timestamp column).
    fn at(&self, i: usize) -> std::result::Result<Option<i64>, String> {
        Ok(match self {
            TimestampColumn::BigInt(a) => a.is_valid(i).then(|| a.value(i)),
            TimestampColumn::Millis(a) => a.is_valid(i).then(|| a.value(i)),
            TimestampColumn::Text(a, f) if a.is_valid(i) => Some(
                f.parse_millis(a.value(i), &Zone::utc())
                    .map_err(|e| format!("Failed to parse timestamp '{}': {e}", a.value(i)))?,
            ),
            TimestampColumn::Text(..) | TimestampColumn::Other => None,
        })
    }
}

fn cast_to(array: ArrayRef, dt: &DataType) -> Result<ArrayRef> {
    if array.data_type() == dt {
        return Ok(array);
    }
    Ok(arrow::compute::cast(&array, dt)?)
}

/// `HEADERS` (every header as `ARRAY<STRUCT<KEY STRING, VALUE BYTES>>`) or `HEADER('k')`
/// (the last header named k, as BYTES).
fn headers_array(
    records: &[StoredRecord],
    only: Option<&String>,
    dt: &DataType,
) -> Result<ArrayRef> {
    if let Some(k) = only {
        let mut b = BinaryBuilder::new();
        for r in records {
            match r.headers.iter().rev().find(|(n, _)| n == k) {
                Some((_, Some(v))) => b.append_value(v),
                _ => b.append_null(),
            }
        }
        return Ok(Arc::new(b.finish()));
    }
    let fields = Fields::from(vec![
        Field::new("KEY", DataType::Utf8, true),
        Field::new("VALUE", DataType::Binary, true),
    ]);
    let mut b = ListBuilder::new(StructBuilder::from_fields(fields, 0));
    for r in records {
        for (name, value) in &r.headers {
            let s = b.values();
            s.field_builder::<arrow::array::StringBuilder>(0)
                .expect("KEY field")
                .append_value(name);
            let vb = s.field_builder::<BinaryBuilder>(1).expect("VALUE field");
            match value {
                Some(v) => vb.append_value(v),
                None => vb.append_null(),
            }
            s.append(true);
        }
        b.append(true);
    }
    cast_to(Arc::new(b.finish()), dt)
}
