//! log.rs owns the data directory: opening it, the topic registry (create, look up, list,
//! delete), topic name validation, the background flusher and consumer-group offsets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::compaction::CompactionReport;
use crate::config::{CleanupPolicy, LogOptions, TopicConfig};
use crate::error::{LogError, Result};
use crate::offsets::OffsetStore;
use crate::partition::{lock, sync_dir};
use crate::retention::RetentionReport;
use crate::topic::{Topic, CONFIG_FILE};

/// Name of the internal compacted topic that holds committed consumer-group offsets.
pub const CONSUMER_OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Longest topic name (Kafka's limit).
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Checks a topic name like Kafka: non-empty, at most 249 characters, only
/// `[a-zA-Z0-9._-]`, and not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(LogError::InvalidTopicName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return bad("topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return bad(format!(
            "topic name is {} characters, longer than {MAX_TOPIC_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(format!(
            "topic name contains {c:?}; only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    Ok(())
}

/// The config of `__consumer_offsets`.
fn offsets_topic_config() -> TopicConfig {
    let mut c = TopicConfig::new(1);
    c.cleanup_policy = CleanupPolicy::Compact;
    c.segment_bytes = 16 << 20;
    c.flush_messages = Some(1);
    c.retention_ms = None;
    c
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serializes create/delete.
    admin: Mutex<()>,
    offsets: OffsetStore,
    notes: Vec<String>,
    /// Holds the exclusive lock on `<dir>/.lock` while the log is open.
    _lock: std::fs::File,
}

/// Takes the exclusive lock on `<dir>/.lock`; released when the file is closed (also
/// when the process dies).
fn lock_dir(dir: &Path) -> Result<std::fs::File> {
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LogError::io("opening lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(LogError::Locked {
            dir: dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(LogError::io("locking data directory", &path, e))
        }
    }
}

impl Inner {
    fn topic_list(&self) -> Vec<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// How often the background flusher wakes: the smallest `flush.ms`, within 1 ms..1 s.
    fn flush_interval(&self) -> Duration {
        let ms = self
            .topic_list()
            .iter()
            .filter_map(|t| t.config().flush_ms)
            .min()
            .unwrap_or(1000)
            .clamp(1, 1000);
        Duration::from_millis(ms)
    }
}

/// A data directory of topics. Share it behind an `Arc`; all methods take `&self`.
/// One `Log` at a time may have a data directory open (an exclusive lock on
/// `<dir>/.lock`; a second open fails with [`LogError::Locked`]).
#[derive(Debug)]
pub struct Log {
    inner: Arc<Inner>,
    flusher: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Log {
    /// Opens (creating if allowed) the data directory `dir`, recovering every topic: the
    /// tail of each active segment is validated and a torn batch truncated, missing or bad
    /// indexes are rebuilt. What was repaired is in [`Log::recovery_notes`].
    pub fn open(dir: impl AsRef<Path>, options: LogOptions) -> Result<Log> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            if !options.create_if_missing {
                return Err(LogError::io(
                    "opening data directory",
                    &dir,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                ));
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| LogError::io("creating data directory", &dir, e))?;
        }
        let lock_file = lock_dir(&dir)?;
        let mut topics = BTreeMap::new();
        let entries =
            std::fs::read_dir(&dir).map_err(|e| LogError::io("listing data directory", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| LogError::io("listing data directory", &dir, e))?;
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('~') {
                // A topic creation or deletion that was interrupted.
                std::fs::remove_dir_all(&path)
                    .map_err(|e| LogError::io("removing leftover directory", &path, e))?;
                continue;
            }
            if validate_topic_name(&name).is_err() || !path.join(CONFIG_FILE).is_file() {
                continue;
            }
            topics.insert(name.clone(), Arc::new(Topic::open(path, &name)?));
        }
        let offsets_topic = match topics.get(CONSUMER_OFFSETS_TOPIC) {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(Topic::create(
                    &dir,
                    CONSUMER_OFFSETS_TOPIC,
                    offsets_topic_config(),
                )?);
                topics.insert(CONSUMER_OFFSETS_TOPIC.to_string(), t.clone());
                t
            }
        };
        let (offsets, offset_notes) = OffsetStore::open(offsets_topic)?;
        let notes = topics
            .values()
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .flat_map(|p| p.recovery_notes().iter().cloned())
            })
            .chain(offset_notes)
            .collect();
        let inner = Arc::new(Inner {
            dir,
            topics: RwLock::new(topics),
            admin: Mutex::new(()),
            offsets,
            notes,
            _lock: lock_file,
        });
        let flusher = if options.background_flush {
            spawn_flusher(Arc::downgrade(&inner))
        } else {
            None
        };
        Ok(Log { inner, flusher })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// What opening the log found and repaired: truncated torn tails, rebuilt indexes,
    /// corruption left in closed segments. Empty after a clean open.
    pub fn recovery_notes(&self) -> &[String] {
        &self.inner.notes
    }

    /// Creates a topic; [`LogError::TopicExists`] if it exists, [`LogError::InvalidTopicName`]
    /// for a name Kafka would refuse.
    pub fn create_topic(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        validate_topic_name(name)?;
        let _admin = lock(&self.inner.admin);
        if self
            .inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(name)
        {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let topic = Arc::new(Topic::create(&self.inner.dir, name, config)?);
        self.inner
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    /// The topic `name`, creating it with `config` if it does not exist.
    pub fn topic_or_create(&self, name: &str, config: TopicConfig) -> Result<Arc<Topic>> {
        match self.create_topic(name, config) {
            Err(LogError::TopicExists(_)) => self.topic(name),
            r => r,
        }
    }

    /// The topic `name`, or [`LogError::TopicNotFound`].
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        validate_topic_name(name)?;
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| LogError::TopicNotFound(name.to_string()))
    }

    /// Names of the user topics, sorted (internal topics, named `__...`, are hidden).
    pub fn topics(&self) -> Vec<String> {
        self.all_topics()
            .into_iter()
            .filter(|t| !t.starts_with("__"))
            .collect()
    }

    /// Names of all topics including internal ones, sorted.
    pub fn all_topics(&self) -> Vec<String> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Deletes a topic, its data and its committed consumer offsets. Handles to it that
    /// are still held fail with [`LogError::TopicDeleted`].
    pub fn delete_topic(&self, name: &str) -> Result<()> {
        validate_topic_name(name)?;
        if name == CONSUMER_OFFSETS_TOPIC {
            return Err(LogError::InvalidArgument(format!(
                "the internal topic {name} cannot be deleted"
            )));
        }
        let _admin = lock(&self.inner.admin);
        let topic = self
            .inner
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
            .ok_or_else(|| LogError::TopicNotFound(name.to_string()))?;
        topic.mark_deleted();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let doomed = self
            .inner
            .dir
            .join(format!("~deleted-{}-{nanos}", std::process::id()));
        std::fs::rename(topic.dir(), &doomed)
            .map_err(|e| LogError::io(format!("deleting topic {name:?}"), topic.dir(), e))?;
        sync_dir(&self.inner.dir)
            .map_err(|e| LogError::io("syncing data directory", &self.inner.dir, e))?;
        std::fs::remove_dir_all(&doomed)
            .map_err(|e| LogError::io(format!("removing files of topic {name:?}"), &doomed, e))?;
        self.inner.offsets.remove_topic(name, now_ms())
    }

    /// Commits consumer-group offsets `(topic, partition, next_offset)` atomically (one
    /// batch) and durably (fsynced before returning) to the internal `__consumer_offsets`
    /// topic.
    pub fn commit_offsets<S: AsRef<str>>(
        &self,
        group: &str,
        offsets: &[(S, u32, u64)],
    ) -> Result<()> {
        self.inner.offsets.commit(group, offsets, now_ms())
    }

    /// The committed next offset of `group` for `topic`/`partition`, if any.
    pub fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        self.inner.offsets.get(group, topic, partition)
    }

    /// All committed offsets of `group` as `(topic, partition, next_offset)`, sorted.
    pub fn committed_offsets(&self, group: &str) -> Vec<(String, u32, u64)> {
        self.inner.offsets.group(group)
    }

    /// Consumer groups with committed offsets, sorted.
    pub fn groups(&self) -> Vec<String> {
        self.inner.offsets.groups()
    }

    /// Runs [`Topic::enforce_retention`] on every topic.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        let mut total = RetentionReport::default();
        for t in self.inner.topic_list() {
            let r = t.enforce_retention(now_ms)?;
            total.segments_deleted += r.segments_deleted;
            total.bytes_deleted += r.bytes_deleted;
        }
        Ok(total)
    }

    /// Runs [`Topic::compact`] on every compacted topic (including `__consumer_offsets`).
    pub fn compact(&self) -> Result<CompactionReport> {
        let mut total = CompactionReport::default();
        for t in self.inner.topic_list() {
            total.add(t.compact()?);
        }
        Ok(total)
    }

    /// Fsyncs every topic.
    pub fn flush(&self) -> Result<()> {
        for t in self.inner.topic_list() {
            t.flush()?;
        }
        Ok(())
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.flusher.take() {
            drop(tx);
            let _ = handle.join();
        }
        // Topics with flush.ms get their pending data fsynced on a clean close.
        for t in self.inner.topic_list() {
            if t.config().flush_ms.is_some() {
                let _ = t.flush();
            }
        }
    }
}

/// Starts the `flush.ms` thread; `None` if no thread can be started (then `flush.ms` is
/// only checked on append).
fn spawn_flusher(inner: Weak<Inner>) -> Option<(mpsc::Sender<()>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<()>();
    let handle = std::thread::Builder::new()
        .name("brook-log-flusher".into())
        .spawn(move || loop {
            let Some(interval) = inner.upgrade().map(|i| i.flush_interval()) else {
                return;
            };
            match rx.recv_timeout(interval) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let Some(i) = inner.upgrade() else { return };
                    for t in i.topic_list() {
                        t.flush_due();
                    }
                }
                _ => return,
            }
        });
    handle.ok().map(|h| (tx, h))
}
