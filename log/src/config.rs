//! config.rs owns topic configuration (`TopicConfig`, parsed from Kafka property names),
//! the log-wide `LogOptions`, and the `topic.properties` file a topic's config lives in.

use crate::error::{LogError, Result};

/// Kafka's default `max.message.bytes`.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1_048_588;
/// Kafka's default `segment.bytes` (1 GiB).
pub const DEFAULT_SEGMENT_BYTES: u32 = 1 << 30;
/// Kafka's default `retention.ms` (7 days).
pub const DEFAULT_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Kafka's default `delete.retention.ms` (1 day).
pub const DEFAULT_DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Kafka's default `index.interval.bytes`.
pub const DEFAULT_INDEX_INTERVAL_BYTES: u32 = 4096;
/// Largest number of partitions a topic may have.
pub const MAX_PARTITIONS: u32 = 100_000;

/// The topic config keys brook-log understands (Kafka's names).
pub const KNOWN_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "delete.retention.ms",
    "flush.messages",
    "flush.ms",
    "index.interval.bytes",
    "max.message.bytes",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.ms",
];

/// `cleanup.policy`: what happens to old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CleanupPolicy {
    /// `delete`: whole old segments are deleted by `retention.ms` / `retention.bytes`.
    #[default]
    Delete,
    /// `compact`: only the latest record per key is kept in closed segments.
    Compact,
    /// `compact,delete`: both.
    CompactDelete,
}

impl CleanupPolicy {
    /// True when retention deletes old segments.
    pub fn deletes(self) -> bool {
        matches!(self, CleanupPolicy::Delete | CleanupPolicy::CompactDelete)
    }

    /// True when compaction applies.
    pub fn compacts(self) -> bool {
        matches!(self, CleanupPolicy::Compact | CleanupPolicy::CompactDelete)
    }

    /// Kafka's spelling: `delete`, `compact` or `compact,delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::Compact => "compact",
            CleanupPolicy::CompactDelete => "compact,delete",
        }
    }
}

/// When appended data is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Neither `flush.messages` nor `flush.ms`: the OS decides when to write back.
    Os,
    /// `flush.messages=N`: fsync once at least N records were appended since the last
    /// fsync (N=1: every append is fsynced before it returns).
    Messages(u64),
    /// `flush.ms=T`: fsync when the oldest unflushed append is T ms old (checked on append
    /// and by a background flusher thread).
    Interval(u64),
    /// Both set: whichever comes first.
    MessagesOrInterval(u64, u64),
}

/// A topic's configuration. Build with [`TopicConfig::new`] or
/// [`TopicConfig::from_properties`]; every field has Kafka's default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// Number of partitions (>= 1).
    pub partitions: u32,
    /// `retention.ms`: delete closed segments whose newest record is older than this.
    /// `None` = `-1` = keep forever. Default 7 days.
    pub retention_ms: Option<i64>,
    /// `retention.bytes`: per partition, delete the oldest closed segments while the
    /// partition is larger than this. `None` = `-1` = unlimited (the default).
    pub retention_bytes: Option<u64>,
    /// `segment.bytes`: roll to a new segment file before it would grow past this.
    pub segment_bytes: u32,
    /// `segment.ms`: roll the active segment once it is this old (wall clock since it was
    /// created or the log was opened). `None` = never (the default here).
    pub segment_ms: Option<i64>,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: compaction drops a tombstone (the latest record of its key)
    /// once its timestamp is older than this.
    pub delete_retention_ms: i64,
    /// `max.message.bytes`: largest record (encoded as a batch of its own) accepted.
    pub max_message_bytes: u32,
    /// `flush.messages`: fsync after this many records (`None` = leave to the OS).
    pub flush_messages: Option<u64>,
    /// `flush.ms`: fsync on this interval (`None` = leave to the OS).
    pub flush_ms: Option<u64>,
    /// `index.interval.bytes`: bytes of log between two sparse index entries.
    pub index_interval_bytes: u32,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig::new(1)
    }
}

impl TopicConfig {
    /// A config with `partitions` partitions and Kafka's defaults for everything else.
    pub fn new(partitions: u32) -> TopicConfig {
        TopicConfig {
            partitions,
            retention_ms: Some(DEFAULT_RETENTION_MS),
            retention_bytes: None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            segment_ms: None,
            cleanup_policy: CleanupPolicy::Delete,
            delete_retention_ms: DEFAULT_DELETE_RETENTION_MS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            flush_messages: None,
            flush_ms: None,
            index_interval_bytes: DEFAULT_INDEX_INTERVAL_BYTES,
        }
    }

    /// Parses Kafka topic properties (`retention.ms`, `segment.bytes`, `cleanup.policy`,
    /// ...) on top of the defaults. Unknown keys are an error that lists the known ones.
    pub fn from_properties(partitions: u32, props: &[(String, String)]) -> Result<TopicConfig> {
        let mut config = TopicConfig::new(partitions);
        for (key, value) in props {
            config.set(key, value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one Kafka property by name.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let v = value.trim();
        match key {
            "retention.ms" => self.retention_ms = parse_unlimited(key, v)?,
            "retention.bytes" => {
                self.retention_bytes = parse_unlimited(key, v)?.map(|b| b as u64);
            }
            "segment.bytes" => {
                self.segment_bytes = parse_int(key, v, 64, i32::MAX as i64)? as u32;
            }
            "segment.ms" => {
                self.segment_ms = match parse_int(key, v, -1, i64::MAX)? {
                    -1 | 0 => None,
                    ms => Some(ms),
                }
            }
            "cleanup.policy" => self.cleanup_policy = parse_policy(v)?,
            "delete.retention.ms" => self.delete_retention_ms = parse_int(key, v, 0, i64::MAX)?,
            "max.message.bytes" => {
                self.max_message_bytes = parse_int(key, v, 0, i32::MAX as i64)? as u32;
            }
            "flush.messages" => {
                self.flush_messages = match parse_int(key, v, 1, i64::MAX)? {
                    i64::MAX => None,
                    n => Some(n as u64),
                }
            }
            "flush.ms" => {
                self.flush_ms = match parse_int(key, v, 0, i64::MAX)? {
                    i64::MAX => None,
                    n => Some(n as u64),
                }
            }
            "index.interval.bytes" => {
                self.index_interval_bytes = parse_int(key, v, 0, i32::MAX as i64)? as u32;
            }
            _ => {
                return Err(LogError::UnknownConfig {
                    key: key.to_string(),
                    known: KNOWN_CONFIGS.join(", "),
                })
            }
        }
        Ok(())
    }

    /// Checks the whole config (partition count in range).
    pub fn validate(&self) -> Result<()> {
        if self.partitions == 0 || self.partitions > MAX_PARTITIONS {
            return Err(LogError::InvalidConfig {
                key: "partitions".into(),
                value: self.partitions.to_string(),
                reason: format!("must be between 1 and {MAX_PARTITIONS}"),
            });
        }
        if self.segment_bytes < 64 {
            return Err(LogError::InvalidConfig {
                key: "segment.bytes".into(),
                value: self.segment_bytes.to_string(),
                reason: "must be at least 64".into(),
            });
        }
        Ok(())
    }

    /// The config as Kafka properties (every key, with `partitions` first).
    pub fn to_properties(&self) -> Vec<(String, String)> {
        let unlimited = |v: Option<i64>| v.map_or("-1".to_string(), |v| v.to_string());
        vec![
            ("partitions".into(), self.partitions.to_string()),
            ("cleanup.policy".into(), self.cleanup_policy.as_str().into()),
            (
                "delete.retention.ms".into(),
                self.delete_retention_ms.to_string(),
            ),
            (
                "flush.messages".into(),
                self.flush_messages
                    .map_or(i64::MAX.to_string(), |v| v.to_string()),
            ),
            (
                "flush.ms".into(),
                self.flush_ms
                    .map_or(i64::MAX.to_string(), |v| v.to_string()),
            ),
            (
                "index.interval.bytes".into(),
                self.index_interval_bytes.to_string(),
            ),
            (
                "max.message.bytes".into(),
                self.max_message_bytes.to_string(),
            ),
            (
                "retention.bytes".into(),
                unlimited(self.retention_bytes.map(|b| b.min(i64::MAX as u64) as i64)),
            ),
            ("retention.ms".into(), unlimited(self.retention_ms)),
            ("segment.bytes".into(), self.segment_bytes.to_string()),
            ("segment.ms".into(), unlimited(self.segment_ms)),
        ]
    }

    /// The fsync policy that `flush.messages` / `flush.ms` describe.
    pub fn flush_policy(&self) -> FlushPolicy {
        match (self.flush_messages, self.flush_ms) {
            (None, None) => FlushPolicy::Os,
            (Some(n), None) => FlushPolicy::Messages(n),
            (None, Some(ms)) => FlushPolicy::Interval(ms),
            (Some(n), Some(ms)) => FlushPolicy::MessagesOrInterval(n, ms),
        }
    }

    /// Renders the `topic.properties` file.
    pub(crate) fn to_file_text(&self) -> String {
        let mut s = String::from("# brook-log topic config (Kafka property names)\n");
        for (k, v) in self.to_properties() {
            s.push_str(&k);
            s.push('=');
            s.push_str(&v);
            s.push('\n');
        }
        s
    }

    /// Parses a `topic.properties` file.
    pub(crate) fn from_file_text(text: &str) -> Result<TopicConfig> {
        let mut partitions = None;
        let mut props = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(LogError::InvalidConfig {
                    key: line.to_string(),
                    value: String::new(),
                    reason: "expected key=value".into(),
                });
            };
            let (k, v) = (k.trim(), v.trim());
            if k == "partitions" {
                partitions = Some(parse_int(k, v, 1, MAX_PARTITIONS as i64)? as u32);
            } else {
                props.push((k.to_string(), v.to_string()));
            }
        }
        let partitions = partitions.ok_or_else(|| LogError::InvalidConfig {
            key: "partitions".into(),
            value: String::new(),
            reason: "missing from topic.properties".into(),
        })?;
        TopicConfig::from_properties(partitions, &props)
    }
}

fn parse_int(key: &str, v: &str, min: i64, max: i64) -> Result<i64> {
    let n: i64 = v.parse().map_err(|_| LogError::InvalidConfig {
        key: key.to_string(),
        value: v.to_string(),
        reason: "not an integer".into(),
    })?;
    if n < min || n > max {
        return Err(LogError::InvalidConfig {
            key: key.to_string(),
            value: v.to_string(),
            reason: format!("must be between {min} and {max}"),
        });
    }
    Ok(n)
}

/// `-1` means unlimited; otherwise a non-negative integer.
fn parse_unlimited(key: &str, v: &str) -> Result<Option<i64>> {
    match parse_int(key, v, -1, i64::MAX)? {
        -1 => Ok(None),
        n => Ok(Some(n)),
    }
}

fn parse_policy(v: &str) -> Result<CleanupPolicy> {
    let mut compact = false;
    let mut delete = false;
    for part in v.split(',') {
        match part.trim().to_ascii_lowercase().as_str() {
            "compact" => compact = true,
            "delete" => delete = true,
            _ => {
                return Err(LogError::InvalidConfig {
                    key: "cleanup.policy".into(),
                    value: v.to_string(),
                    reason: "expected delete, compact or compact,delete".into(),
                })
            }
        }
    }
    Ok(match (compact, delete) {
        (true, true) => CleanupPolicy::CompactDelete,
        (true, false) => CleanupPolicy::Compact,
        _ => CleanupPolicy::Delete,
    })
}

/// Options for [`crate::Log::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOptions {
    /// Create the data directory when it does not exist (default true).
    pub create_if_missing: bool,
    /// Run a background thread that fsyncs topics with `flush.ms` set on their interval
    /// (default true). Without it, `flush.ms` is only checked on append.
    pub background_flush: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            create_if_missing: true,
            background_flush: true,
        }
    }
}

/// How often a read-only log looks for new data by default (what a tailing CLI should
/// use): 100 ms.
pub const DEFAULT_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Options for [`crate::Log::open_read_only_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnlyOptions {
    /// Run a background thread that, every this often, refreshes the partitions someone
    /// waits on asynchronously ([`crate::Partition::wait_for_append`]) or holds a
    /// [`crate::Partition::subscribe`] receiver of, so that those wake up when the writer
    /// process appends. `None`: no thread; the caller refreshes. Default
    /// [`DEFAULT_POLL_INTERVAL`] (100 ms).
    pub poll_interval: Option<std::time::Duration>,
}

impl Default for ReadOnlyOptions {
    fn default() -> Self {
        ReadOnlyOptions {
            poll_interval: Some(DEFAULT_POLL_INTERVAL),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_kafkas() {
        let c = TopicConfig::from_properties(3, &[]).unwrap();
        assert_eq!(c.partitions, 3);
        assert_eq!(c.max_message_bytes, 1_048_588);
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.index_interval_bytes, 4096);
        assert_eq!(c.retention_ms, Some(604_800_000));
        assert_eq!(c.retention_bytes, None);
        assert_eq!(c.cleanup_policy, CleanupPolicy::Delete);
        assert_eq!(c.flush_policy(), FlushPolicy::Os);
    }

    #[test]
    fn parses_kafka_names() {
        let c = TopicConfig::from_properties(
            2,
            &props(&[
                ("retention.ms", "-1"),
                ("retention.bytes", "1000000"),
                ("segment.bytes", "65536"),
                ("segment.ms", "3600000"),
                ("cleanup.policy", "compact,delete"),
                ("max.message.bytes", "2000"),
                ("flush.messages", "1"),
                ("flush.ms", "50"),
                ("index.interval.bytes", "0"),
                ("delete.retention.ms", "10"),
            ]),
        )
        .unwrap();
        assert_eq!(c.retention_ms, None);
        assert_eq!(c.retention_bytes, Some(1_000_000));
        assert_eq!(c.segment_bytes, 65536);
        assert_eq!(c.segment_ms, Some(3_600_000));
        assert_eq!(c.cleanup_policy, CleanupPolicy::CompactDelete);
        assert!(c.cleanup_policy.compacts() && c.cleanup_policy.deletes());
        assert_eq!(c.max_message_bytes, 2000);
        assert_eq!(c.flush_policy(), FlushPolicy::MessagesOrInterval(1, 50));
        assert_eq!(c.index_interval_bytes, 0);
        assert_eq!(c.delete_retention_ms, 10);
        assert_eq!(
            TopicConfig::from_properties(1, &props(&[("cleanup.policy", "delete, compact")]))
                .unwrap()
                .cleanup_policy,
            CleanupPolicy::CompactDelete
        );
        assert_eq!(
            TopicConfig::from_properties(1, &props(&[("flush.ms", "10")]))
                .unwrap()
                .flush_policy(),
            FlushPolicy::Interval(10)
        );
    }

    #[test]
    fn roundtrips_through_the_file() {
        let c = TopicConfig::from_properties(
            4,
            &props(&[
                ("retention.bytes", "77"),
                ("cleanup.policy", "compact"),
                ("flush.messages", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(TopicConfig::from_file_text(&c.to_file_text()).unwrap(), c);
        let d = TopicConfig::new(1);
        assert_eq!(TopicConfig::from_file_text(&d.to_file_text()).unwrap(), d);
        assert!(TopicConfig::from_file_text("retention.ms=5\n").is_err());
        assert!(TopicConfig::from_file_text("partitions=1\nnonsense\n").is_err());
    }

    #[test]
    fn unknown_key_lists_known_ones() {
        let e = TopicConfig::from_properties(1, &props(&[("retention.hours", "5")])).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, LogError::UnknownConfig { .. }));
        assert!(msg.contains("retention.hours"), "{msg}");
        for k in KNOWN_CONFIGS {
            assert!(msg.contains(k), "{msg} should list {k}");
        }
    }

    #[test]
    fn bad_values_are_clear_errors() {
        for (k, v) in [
            ("retention.ms", "soon"),
            ("retention.ms", "-2"),
            ("segment.bytes", "10"),
            ("segment.bytes", "99999999999"),
            ("cleanup.policy", "shred"),
            ("flush.messages", "0"),
            ("max.message.bytes", "-5"),
        ] {
            let e = TopicConfig::from_properties(1, &props(&[(k, v)])).unwrap_err();
            assert!(matches!(e, LogError::InvalidConfig { .. }), "{k}={v}: {e}");
            assert!(e.to_string().contains(k), "{e}");
        }
        assert!(TopicConfig::from_properties(0, &[]).is_err());
    }
}
