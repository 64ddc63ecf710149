//! brook-log: the embedded, partitioned, Kafka-like log that Brook's data lives in.
//!
//! A [`Log`] is a data directory of topics; a [`Topic`] has N [`Partition`]s; a partition
//! is a sequence of segment files holding length-prefixed, CRC32C-checked record batches
//! with dense offsets. See `README.md` for the on-disk format and the guarantees.
#![doc = include_str!("../README.md")]

mod batch;
mod compaction;
mod config;
mod error;
mod index;
mod log;
mod offsets;
mod partition;
pub mod partitioner;
mod record;
mod retention;
mod segment;
mod topic;
mod txn;
mod txn_state;

pub use bytes::Bytes;
pub use compaction::CompactionReport;
pub use config::{
    CleanupPolicy, FlushPolicy, LogOptions, ReadOnlyOptions, TopicConfig,
    DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_POLL_INTERVAL, DEFAULT_SEGMENT_BYTES, KNOWN_CONFIGS,
};
pub use error::{LogError, Result};
pub use log::{is_locked, validate_topic_name, Log, CONSUMER_OFFSETS_TOPIC};
pub use partition::{IsolationLevel, Partition, ReadBatch, SegmentInfo};
pub use record::{AppendInfo, AsRecord, Header, ReadLimit, Record, RecordRef, StoredRecord};
pub use retention::RetentionReport;
pub use topic::Topic;
pub use txn::{Producer, TRANSACTION_STATE_TOPIC};
