//! log.rs owns the data directory: opening it, the topic registry (create, look up, list,
//! delete), topic name validation, the background flusher and consumer-group offsets.

use std::path::Path;
use std::sync::Arc;

use crate::compaction::CompactionReport;
use crate::config::{LogOptions, TopicConfig};
use crate::error::Result;
use crate::retention::RetentionReport;
use crate::topic::Topic;

/// Name of the internal compacted topic that holds committed consumer-group offsets.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Checks a topic name like Kafka: non-empty, at most 249 characters, only
/// `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let _ = name;
    todo!()
}

/// A data directory of topics. Cheap to share behind an `Arc`; all methods take `&self`.
#[derive(Debug)]
pub struct Log {
    _private: (),
}

impl Log {
    /// Opens (creating if allowed) the data directory `dir`, recovering every topic: the
    /// tail of each active segment is validated and a torn batch truncated, missing or bad
    /// indexes are rebuilt.
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> Result<Log> {
        let _ = (dir, options);
        todo!()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        todo!()
    }

    /// Creates a topic; [`crate::LogError::TopicExists`] if it exists.
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        let _ = (name, config);
        todo!()
    }

    /// The topic `name`, creating it with `config` if it does not exist.
    pub fn topic_or_create(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        let _ = (name, config);
        todo!()
    }

    /// The topic `name`, or [`crate::LogError::TopicNotFound`].
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        let _ = name;
        todo!()
    }

    /// Names of the user topics, sorted (internal `__` topics hidden).
    pub fn topics(&self) -> Vec<String> {
        todo!()
    }

    /// Names of all topics including internal ones, sorted.
    pub fn all_topics(&self) -> Vec<String> {
        todo!()
    }

    /// Deletes a topic and its data (and its committed consumer offsets).
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        let _ = name;
        todo!()
    }

    /// Commits consumer-group offsets `(topic, partition, next_offset)` atomically and
    /// durably (fsynced before returning) to the internal `__consumer_offsets` topic.
    pub fn commit_offsets<S: AsRef<str>>(&self, group: &str, offsets: &[(S, u32, u64)]) -> Result<()> {
        let _ = (group, offsets);
        todo!()
    }

    /// The committed next offset of `group` for `topic`/`partition`, if any.
    pub fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        let _ = (group, topic, partition);
        todo!()
    }

    /// All committed offsets of `group`, sorted by topic and partition.
    pub fn committed_offsets(&self, group: &str) -> Vec<(String, u32, u64)> {
        let _ = group;
        todo!()
    }

    /// Consumer groups with committed offsets, sorted.
    pub fn groups(&self) -> Vec<String> {
        todo!()
    }

    /// Runs [`Topic::enforce_retention`] on every topic.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let _ = now_ms;
        todo!()
    }

    /// Runs [`Topic::compact`] on every compacted topic (including `__consumer_offsets`).
    pub fn compact(&self) -> Result<CompactionReport> {
        todo!()
    }

    /// Fsyncs every topic.
    pub fn flush(&self) -> Result<()> {
        todo!()
    }
}
