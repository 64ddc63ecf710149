//! topic.rs owns a topic: its directory, persisted config and partitions, and produce-side
//! partitioning (Kafka's default partitioner).

use std::sync::Arc;

use crate::compaction::CompactionReport;
use crate::config::TopicConfig;
use crate::error::Result;
use crate::partition::Partition;
use crate::record::{AppendInfo, Record};
use crate::retention::RetentionReport;

/// A topic: N partitions sharing one config. Shared as `Arc<Topic>`.
#[derive(Debug)]
pub struct Topic {
    _private: (),
}

impl Topic {
    /// The topic name.
    pub fn name(&self) -> &str {
        todo!()
    }

    /// The topic's config (as persisted in `topic.properties`).
    pub fn config(&self) -> &TopicConfig {
        todo!()
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        todo!()
    }

    /// All partitions, by number.
    pub fn partitions(&self) -> &[Arc<Partition>] {
        todo!()
    }

    /// Partition `p`, or [`crate::LogError::PartitionNotFound`].
    pub fn partition(&self, p: u32) -> Result<&Arc<Partition>> {
        let _ = p;
        todo!()
    }

    /// Appends `records` to partition `p` as one batch (see [`Partition::append`]).
    pub fn append(&self, partition: u32, records: &[Record]) -> Result<AppendInfo> {
        let _ = (partition, records);
        todo!()
    }

    /// Appends records choosing partitions like Kafka's default partitioner: a keyed
    /// record goes to `murmur2(key) & 0x7fffffff % partitions`; keyless records of one call
    /// all go to one (sticky) partition, the next call moves on round-robin. One append per
    /// partition touched. Returns `(partition, offset)` for each record, in input order.
    pub fn produce(&self, records: &[Record]) -> Result<Vec<(u32, u64)>> {
        let _ = records;
        todo!()
    }

    /// Deletes whole closed segments by `retention.ms` (newest record older than
    /// `now_ms - retention.ms`) and `retention.bytes` (per partition, oldest first). Never
    /// the active segment. Does nothing unless `cleanup.policy` includes `delete`.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let _ = now_ms;
        todo!()
    }

    /// Compacts closed segments at the current wall-clock time (see [`Topic::compact_at`]).
    pub fn compact(&self) -> Result<CompactionReport> {
        todo!()
    }

    /// Keeps only the latest record per key in closed segments, offsets preserved.
    /// A tombstone that is the latest for its key is dropped once its timestamp is older
    /// than `now_ms - delete.retention.ms`. Does nothing unless `cleanup.policy` includes
    /// `compact`.
    pub fn compact_at(&self, now_ms: i64) -> Result<CompactionReport> {
        let _ = now_ms;
        todo!()
    }

    /// Fsyncs all partitions.
    pub fn flush(&self) -> Result<()> {
        todo!()
    }
}
