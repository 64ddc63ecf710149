//! error.rs owns `LogError`, the one error type of brook-log, and the `Result` alias.
//! Every message names the topic / partition / file and the problem.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout brook-log.
pub type Result<T, E = LogError> = std::result::Result<T, E>;

/// Everything that can go wrong in brook-log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A topic name that Kafka would refuse (empty, too long, bad characters, `.` or `..`).
    #[error("invalid topic name {name:?}: {reason}")]
    InvalidTopicName { name: String, reason: String },

    /// `create_topic` on a name that already exists.
    #[error("topic {0:?} already exists")]
    TopicExists(String),

    /// The topic does not exist.
    #[error("topic {0:?} not found")]
    TopicNotFound(String),

    /// The topic was deleted while a handle to it was still in use.
    #[error("topic {0:?} has been deleted")]
    TopicDeleted(String),

    /// A partition number outside `0..partitions`.
    #[error("topic {topic:?} has no partition {partition} (it has {partitions} partitions)")]
    PartitionNotFound {
        topic: String,
        partition: u32,
        partitions: u32,
    },

    /// A config key that brook-log does not know.
    #[error("unknown topic config {key:?}; known configs are: {known}")]
    UnknownConfig { key: String, known: String },

    /// A known config key with a value that cannot be used.
    #[error("invalid value {value:?} for topic config {key}: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },

    /// One record (encoded as a batch of its own) is larger than `max.message.bytes`.
    /// `index` is the record's position in the slice given to `append` / `produce`;
    /// nothing of that call was written.
    #[error(
        "record {index} (0-based, in the order given) of {size} bytes exceeds \
         max.message.bytes ({max} bytes) for topic {topic:?} partition {partition}; \
         nothing was written"
    )]
    RecordTooLarge {
        topic: String,
        partition: u32,
        /// Position of the refused record in the input slice.
        index: usize,
        size: u64,
        max: u64,
    },

    /// A record or append that is not acceptable (empty append, null key on a compacted
    /// topic, an append too large for a segment, ...). `index` is the position of the
    /// refused record in the slice given to `append` / `produce` when one record is the
    /// cause (`None` when the append as a whole is). Nothing of that call was written.
    #[error("invalid append to topic {topic:?} partition {partition}: {reason}")]
    InvalidRecord {
        topic: String,
        partition: u32,
        /// Position of the refused record in the input slice, if one record is the cause.
        index: Option<usize>,
        reason: String,
    },

    /// A write (append, produce, topic creation or deletion, offset commit, retention,
    /// compaction) on a log opened with [`crate::Log::open_read_only`].
    #[error(
        "cannot {operation}: {} is open read-only (Log::open_read_only); \
         writes go through the process that opened it with Log::open",
        path.display()
    )]
    ReadOnly {
        /// What was attempted.
        operation: String,
        /// The data, topic or partition directory.
        path: PathBuf,
    },

    /// A read outside `[start_offset, end_offset]`.
    #[error(
        "offset {offset} is out of range for topic {topic:?} partition {partition} \
         (valid offsets are {start}..={end})"
    )]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        offset: u64,
        start: u64,
        end: u64,
    },

    /// Data on disk that fails validation (bad length, CRC mismatch, undecodable record).
    /// Reads never return garbage: they return this instead.
    #[error("corrupt data in {} at byte {position}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        position: u64,
        reason: String,
    },

    /// Another `Log` (in this or another process) has the data directory open.
    #[error(
        "data directory {} is in use by another process or Log instance (lock file {})",
        dir.display(),
        dir.join(".lock").display()
    )]
    Locked { dir: PathBuf },

    /// A producer whose epoch is older than the current one for its transactional id: a
    /// newer incarnation (a restarted query) has taken over, and this one may not write,
    /// commit or abort any more.
    #[error(
        "{producer} with epoch {epoch} has been fenced: a newer incarnation (epoch {current}) \
         took over its transactional id; nothing was written"
    )]
    ProducerFenced {
        /// The transactional id (or producer id) of the fenced producer.
        producer: String,
        epoch: i16,
        current: i16,
    },

    /// An idempotent append whose sequence number is neither the next one nor a retry of
    /// a recent append.
    #[error(
        "out-of-order sequence for producer id {producer_id} on topic {topic:?} partition \
         {partition}: expected sequence {expected}, got {got}; nothing was written"
    )]
    OutOfOrderSequence {
        topic: String,
        partition: u32,
        producer_id: i64,
        expected: i32,
        got: i32,
    },

    /// A transaction operation that does not fit the producer's state (commit without a
    /// transaction, a transactional write with no transaction begun, ...).
    #[error("invalid transaction state for {producer}: {reason}")]
    InvalidTxnState { producer: String, reason: String },

    /// An invalid argument to an API call (e.g. an empty consumer group name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An I/O error, with what was being done and on which file.
    #[error("{context} ({}): {source}", path.display())]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LogError {
    /// Builds an [`LogError::Io`].
    pub(crate) fn io(
        context: impl Into<String>,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        LogError::Io {
            context: context.into(),
            path: path.into(),
            source,
        }
    }

    /// Builds a [`LogError::ReadOnly`].
    pub(crate) fn read_only(operation: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        LogError::ReadOnly {
            operation: operation.into(),
            path: path.into(),
        }
    }

    /// Builds a [`LogError::Corrupt`].
    pub(crate) fn corrupt(
        path: impl Into<PathBuf>,
        position: u64,
        reason: impl Into<String>,
    ) -> Self {
        LogError::Corrupt {
            path: path.into(),
            position,
            reason: reason.into(),
        }
    }

    /// True for an I/O error on a file or directory that does not exist (any more).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, LogError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// True for an I/O error caused by a full disk (ENOSPC / EDQUOT).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, LogError::Io { source, .. } if source.kind() == io::ErrorKind::StorageFull
            || source.kind() == io::ErrorKind::QuotaExceeded)
    }
}
