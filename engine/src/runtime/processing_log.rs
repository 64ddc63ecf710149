//! processing_log.rs owns the processing log: records a query had to skip (undecodable
//! key or value, bad timestamp, an expression that failed) and why. Entries are JSON records
//! on the topic [`PROCESSING_LOG_TOPIC`], which the engine declares as the stream
//! [`PROCESSING_LOG_STREAM`] so users can query it; a query never stops for a bad record.

use std::sync::Arc;

use brook_log::{Log, Record, StoredRecord, TopicConfig};
use bytes::Bytes;
use serde_json::json;

/// The topic entries are written to.
pub const PROCESSING_LOG_TOPIC: &str = "brook_processing_log";
/// The stream over it.
pub const PROCESSING_LOG_STREAM: &str = "KSQL_PROCESSING_LOG";
/// Its declaration.
pub const PROCESSING_LOG_DDL: &str = "CREATE STREAM IF NOT EXISTS KSQL_PROCESSING_LOG (LOGGER STRING, LEVEL STRING, `TIME` BIGINT, QUERY_ID STRING, ERROR_TYPE STRING, MESSAGE STRING, `TOPIC` STRING, `PARTITION` INT, `OFFSET` BIGINT, RECORD STRING) WITH (KAFKA_TOPIC='brook_processing_log', VALUE_FORMAT='JSON', PARTITIONS=1);";

/// One skipped record and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessingError {
    pub kind: &'static str,
    pub message: String,
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
    /// The record's key and value, as text where they are UTF-8.
    pub record: String,
}

fn render(r: &StoredRecord) -> String {
    let show = |b: &Option<Bytes>| match b {
        None => "null".to_string(),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => format!("<{} bytes>", b.len()),
        },
    };
    format!("key={} value={}", show(&r.key), show(&r.value))
}

impl ProcessingError {
    pub fn new(topic: &str, partition: u32, r: &StoredRecord, message: String) -> Self {
        ProcessingError {
            kind: "RECORD_PROCESSING_ERROR",
            message,
            topic: topic.to_string(),
            partition,
            offset: r.offset,
            record: render(r),
        }
    }

    pub fn deserialize(topic: &str, partition: u32, r: &StoredRecord, message: String) -> Self {
        ProcessingError {
            kind: "DESERIALIZATION_ERROR",
            ..ProcessingError::new(topic, partition, r, message)
        }
    }

    /// An error about a row that is no longer tied to a source record.
    pub fn row(message: String) -> Self {
        ProcessingError {
            kind: "RECORD_PROCESSING_ERROR",
            message,
            topic: String::new(),
            partition: 0,
            offset: 0,
            record: String::new(),
        }
    }
}

/// Appends processing errors of a query to the processing-log topic.
pub fn write(log: &Arc<Log>, query_id: &str, errors: &[ProcessingError]) -> brook_log::Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let topic = log.topic_or_create(PROCESSING_LOG_TOPIC, TopicConfig::new(1))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let records: Vec<Record> = errors
        .iter()
        .map(|e| {
            let v = json!({
                "LOGGER": format!("processing.{query_id}"),
                "LEVEL": "ERROR",
                "TIME": now,
                "QUERY_ID": query_id,
                "ERROR_TYPE": e.kind,
                "MESSAGE": e.message,
                "TOPIC": e.topic,
                "PARTITION": e.partition,
                "OFFSET": e.offset,
                "RECORD": e.record,
            });
            Record::unkeyed(Bytes::from(v.to_string()), now)
        })
        .collect();
    topic.append(0, &records)?;
    Ok(())
}
