//! partition.rs owns one partition: its ordered segments, the single writer (append, roll,
//! fsync policy), positioned reads, offset/timestamp lookups and tail wake-ups.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::record::{AppendInfo, ReadLimit, Record, StoredRecord};

/// One partition of a topic. Shared as `Arc<Partition>`; one writer and any number of
/// readers may use it concurrently.
#[derive(Debug)]
pub struct Partition {
    _private: (),
}

/// A description of one segment file, for tooling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    /// First offset the segment may hold (its file name).
    pub base_offset: u64,
    /// One past the last offset it holds.
    pub next_offset: u64,
    /// Size of the `.log` file in bytes.
    pub size_bytes: u64,
    /// Largest record timestamp in it (`i64::MIN` when empty).
    pub max_timestamp: i64,
    /// Path of the `.log` file.
    pub path: PathBuf,
}

impl Partition {
    /// The topic this partition belongs to.
    pub fn topic(&self) -> &str {
        todo!()
    }

    /// The partition number.
    pub fn id(&self) -> u32 {
        todo!()
    }

    /// The first offset that can be read (moves forward with retention).
    pub fn start_offset(&self) -> u64 {
        todo!()
    }

    /// The next offset to be written (one past the last record).
    pub fn end_offset(&self) -> u64 {
        todo!()
    }

    /// Appends `records` as one batch with one write; offsets are assigned densely from
    /// `end_offset()`. Returns once the configured fsync policy is satisfied.
    pub fn append(&self, records: &[Record]) -> Result<AppendInfo> {
        let _ = records;
        todo!()
    }

    /// Reads records with offsets `>= from_offset`, at most `limit` (a `usize` is a record
    /// count). Reading at `end_offset()` returns an empty vector; below `start_offset()` or
    /// above `end_offset()` is [`crate::LogError::OffsetOutOfRange`]. Offsets removed by
    /// compaction are skipped.
    pub fn read(&self, from_offset: u64, limit: impl Into<ReadLimit>) -> Result<Vec<StoredRecord>> {
        let _ = (from_offset, limit.into());
        todo!()
    }

    /// The offset of the first record whose timestamp is `>= timestamp` (Kafka's
    /// `offsetsForTimes`), found through the time index; `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<u64>> {
        let _ = timestamp;
        todo!()
    }

    /// Waits (async) until the record at `offset` exists, i.e. `end_offset() > offset`,
    /// and returns the new end offset. A tailing reader at position `pos` (the next offset
    /// it wants) calls `wait_for_append(pos).await`. Returns immediately if it exists.
    pub async fn wait_for_append(&self, offset: u64) -> u64 {
        let _ = offset;
        todo!()
    }

    /// Blocking form of [`Partition::wait_for_append`]: waits at most `timeout`; returns
    /// the end offset, which is `> offset` unless the wait timed out.
    pub fn wait_for_append_timeout(&self, offset: u64, timeout: Duration) -> u64 {
        let _ = (offset, timeout);
        todo!()
    }

    /// A watch channel of the end offset, updated after every append.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        todo!()
    }

    /// Fsyncs everything appended so far.
    pub fn flush(&self) -> Result<()> {
        todo!()
    }

    /// Total size of the partition's segment files in bytes.
    pub fn size_bytes(&self) -> u64 {
        todo!()
    }

    /// The segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        todo!()
    }
}
