//! log.rs owns the data directory: opening it (for writing, locked; or read-only, to
//! follow a writer), the topic registry (create, look up, list, delete, refresh), topic
//! name validation, the background flusher / refresher and consumer-group offsets.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::compaction::CompactionReport;
use crate::config::{CleanupPolicy, LogOptions, ReadOnlyOptions, TopicConfig};
use crate::error::{LogError, Result};
use crate::offsets::OffsetStore;
use crate::partition::{lock, sync_dir};
use crate::retention::RetentionReport;
use crate::topic::{Topic, CONFIG_FILE};
use crate::txn::{Coordinator, Producer, TRANSACTION_STATE_TOPIC};

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

/// The config of `__transaction_state`.
fn txn_state_topic_config() -> TopicConfig {
    let mut c = offsets_topic_config();
    c.segment_bytes = 4 << 20;
    c
}

#[derive(Debug)]
pub(crate) struct Inner {
    dir: PathBuf,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serializes create/delete.
    admin: Mutex<()>,
    offsets: OffsetStore,
    /// The transaction coordinator, loaded on open when `__transaction_state` exists and
    /// created with it on first use (`None` until then, and on a read-only log).
    coordinator: Mutex<Option<Arc<Coordinator>>>,
    notes: Vec<String>,
    /// Holds the exclusive lock on `<dir>/.lock` while the log is open (`None`: a
    /// read-only log, which takes no lock).
    _lock: Option<std::fs::File>,
    read_only: bool,
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

/// Whether another process holds `dir`'s lock right now (a missing directory or lock file
/// is not locked). Takes and drops the lock when it is free.
pub fn is_locked(dir: &Path) -> bool {
    let path = dir.join(".lock");
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(&path) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

impl Inner {
    /// A topic of the registry, or [`LogError::TopicNotFound`].
    pub(crate) fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| LogError::TopicNotFound(name.to_string()))
    }

    pub(crate) fn offsets_store(&self) -> &OffsetStore {
        &self.offsets
    }

    /// The transaction coordinator, creating `__transaction_state` on first use.
    pub(crate) fn coordinator(&self) -> Result<Arc<Coordinator>> {
        if self.read_only {
            return Err(LogError::read_only(
                "use transactions or producer ids in",
                &self.dir,
            ));
        }
        let mut c = lock(&self.coordinator);
        if let Some(c) = &*c {
            return Ok(c.clone());
        }
        let _admin = lock(&self.admin);
        let topic = match self.topic(TRANSACTION_STATE_TOPIC) {
            Ok(t) => t,
            Err(_) => {
                let t = Arc::new(Topic::create(
                    &self.dir,
                    TRANSACTION_STATE_TOPIC,
                    txn_state_topic_config(),
                )?);
                self.topics
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(TRANSACTION_STATE_TOPIC.to_string(), t.clone());
                t
            }
        };
        let coord = Arc::new(Coordinator::load(topic)?);
        *c = Some(coord.clone());
        Ok(coord)
    }

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
/// One `Log` at a time may have a data directory open for writing (an exclusive lock on
/// `<dir>/.lock`; a second open fails with [`LogError::Locked`]); any number of
/// read-only logs ([`Log::open_read_only`]), in any process, may follow it.
#[derive(Debug)]
pub struct Log {
    pub(crate) inner: Arc<Inner>,
    /// The `flush.ms` thread (writer) or the refresher thread (read-only), if any.
    background: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
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
        // Transactions left open by a crash end before anyone reads (the offsets included).
        let (coordinator, txn_notes) = match topics.get(TRANSACTION_STATE_TOPIC) {
            Some(t) => {
                let coord = Arc::new(Coordinator::load(t.clone())?);
                let notes = coord.recover(&topics)?;
                (Some(coord), notes)
            }
            None => (None, Vec::new()),
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
            .chain(txn_notes)
            .collect();
        let inner = Arc::new(Inner {
            dir,
            topics: RwLock::new(topics),
            admin: Mutex::new(()),
            offsets,
            coordinator: Mutex::new(coordinator),
            notes,
            _lock: Some(lock_file),
            read_only: false,
        });
        let flusher = if options.background_flush {
            spawn_flusher(Arc::downgrade(&inner))
        } else {
            None
        };
        Ok(Log {
            inner,
            background: flusher,
        })
    }

    /// Opens the data directory `dir` read-only, to follow a writer in another process
    /// (or to read a log nobody writes), with [`ReadOnlyOptions::default`]: a background
    /// thread refreshes partitions that have async waiters every 100 ms. See
    /// [`Log::open_read_only_with`].
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Log> {
        Log::open_read_only_with(dir, ReadOnlyOptions::default())
    }

    /// Opens the data directory `dir` read-only. It takes no lock, so it works while a
    /// writer ([`Log::open`]) holds the directory, in this process or another, and when
    /// there is none; and it never creates, writes, truncates, renames or deletes
    /// anything: no recovery, indexes that need rebuilding are rebuilt in memory, an
    /// incomplete or invalid batch at the end of a partition is treated as not yet
    /// written (not served, not an error).
    ///
    /// The view is a snapshot until refreshed: [`Log::refresh`] (new and deleted topics,
    /// then every partition), [`Topic::refresh`], [`Partition::refresh`], or the waits
    /// that poll ([`Partition::wait_for_append_polling`],
    /// [`Partition::wait_for_append_timeout`]). With `options.poll_interval` set, a
    /// background thread refreshes the partitions that have async waiters
    /// ([`Partition::wait_for_append`], [`Partition::subscribe`]) on that interval, so
    /// async tailing code written for the writer's log works unchanged.
    ///
    /// Appends, produce, topic creation and deletion, offset commits, retention and
    /// compaction fail with [`LogError::ReadOnly`]; `flush` does nothing.
    pub fn open_read_only_with(dir: impl AsRef<Path>, options: ReadOnlyOptions) -> Result<Log> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.is_dir() {
            return Err(LogError::io(
                "opening data directory read-only",
                &dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            ));
        }
        let mut topics = BTreeMap::new();
        for (name, path, _) in topic_dirs(&dir)? {
            match Topic::open_read_only(path, &name) {
                Ok(t) => {
                    topics.insert(name, Arc::new(t));
                }
                // Deleted (or still being created) by the writer meanwhile.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let (offsets, offset_notes) = match topics.get(CONSUMER_OFFSETS_TOPIC) {
            Some(t) => OffsetStore::open(t.clone())?,
            None => (OffsetStore::empty(), Vec::new()),
        };
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
            coordinator: Mutex::new(None),
            notes,
            _lock: None,
            read_only: true,
        });
        let flusher = options
            .poll_interval
            .and_then(|every| spawn_refresher(Arc::downgrade(&inner), every));
        Ok(Log {
            inner,
            background: flusher,
        })
    }

    /// True for a log opened with [`Log::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only
    }

    fn refuse_read_only(&self, operation: &str) -> Result<()> {
        if self.inner.read_only {
            return Err(LogError::read_only(operation, &self.inner.dir));
        }
        Ok(())
    }

    /// On a read-only log, catches up with the writer: topics created since are opened,
    /// topics deleted (or deleted and re-created) are dropped (handles to them fail with
    /// [`LogError::TopicDeleted`]), every partition is [`Partition::refresh`]ed and new
    /// consumer-group commits are read. Every topic is tried; the first error is returned.
    /// On the writer's log it does nothing.
    pub fn refresh(&self) -> Result<()> {
        if !self.inner.read_only {
            return Ok(());
        }
        let _admin = lock(&self.inner.admin);
        let current: BTreeMap<String, Arc<Topic>> = self
            .inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut next = BTreeMap::new();
        let mut first_err = None;
        for (name, path, ino) in topic_dirs(&self.inner.dir)? {
            let topic = match current.get(&name) {
                Some(t) if t.dir_ino() == ino && !t.is_deleted() => t.clone(),
                _ => match Topic::open_read_only(path, &name) {
                    Ok(t) => Arc::new(t),
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        first_err.get_or_insert(e);
                        continue;
                    }
                },
            };
            let topic = match topic.refresh() {
                Ok(()) => topic,
                // Deleted and re-created between the listing and the refresh (or with
                // the old directory's inode): open what is there now.
                Err(LogError::TopicDeleted(_)) => {
                    match Topic::open_read_only(self.inner.dir.join(&name), &name) {
                        Ok(t) => Arc::new(t),
                        Err(e) if e.is_not_found() => continue,
                        Err(e) => {
                            first_err.get_or_insert(e);
                            continue;
                        }
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                    topic
                }
            };
            next.insert(name, topic);
        }
        for (name, t) in &current {
            if !next.get(name).is_some_and(|n| Arc::ptr_eq(n, t)) {
                t.mark_deleted();
            }
        }
        let offsets_topic = next.get(CONSUMER_OFFSETS_TOPIC).cloned();
        *self.inner.topics.write().unwrap_or_else(|e| e.into_inner()) = next;
        if let Err(e) = self.inner.offsets.catch_up(offsets_topic) {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
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
        self.refuse_read_only(&format!("create topic {name:?} in"))?;
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
        if self.inner.read_only {
            return match self.topic(name) {
                Err(LogError::TopicNotFound(_)) => Err(LogError::read_only(
                    format!("create topic {name:?} in"),
                    &self.inner.dir,
                )),
                r => r,
            };
        }
        match self.create_topic(name, config) {
            Err(LogError::TopicExists(_)) => self.topic(name),
            r => r,
        }
    }

    /// The topic `name`, or [`LogError::TopicNotFound`]. On a read-only log, a topic the
    /// writer created (or re-created) since the last refresh is looked up on disk.
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        validate_topic_name(name)?;
        let known = self
            .inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        match known {
            Some(t) if !(self.inner.read_only && t.is_deleted()) => Ok(t),
            _ if self.inner.read_only => self.load_topic_read_only(name),
            _ => Err(LogError::TopicNotFound(name.to_string())),
        }
    }

    /// Read-only log: opens topic `name` from disk (if it exists) into the registry.
    fn load_topic_read_only(&self, name: &str) -> Result<Arc<Topic>> {
        let _admin = lock(&self.inner.admin);
        let mut topics = self.inner.topics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = topics.get(name).filter(|t| !t.is_deleted()) {
            return Ok(t.clone());
        }
        topics.remove(name);
        let path = self.inner.dir.join(name);
        if !path.join(CONFIG_FILE).is_file() {
            return Err(LogError::TopicNotFound(name.to_string()));
        }
        match Topic::open_read_only(path, name) {
            Ok(t) => {
                let t = Arc::new(t);
                topics.insert(name.to_string(), t.clone());
                Ok(t)
            }
            Err(e) if e.is_not_found() => Err(LogError::TopicNotFound(name.to_string())),
            Err(e) => Err(e),
        }
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
        self.refuse_read_only(&format!("delete topic {name:?} in"))?;
        if name == CONSUMER_OFFSETS_TOPIC || name == TRANSACTION_STATE_TOPIC {
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
        self.refuse_read_only(&format!("commit offsets of group {group:?} in"))?;
        self.inner.offsets.commit(group, offsets, now_ms())
    }

    /// A transactional producer for `transactional_id` (Kafka's `initTransactions`): the
    /// id's previous incarnation is fenced (its later writes, commits and aborts fail
    /// with [`LogError::ProducerFenced`]) and its unfinished transaction ended (aborted,
    /// or committed if it had reached its commit point). Share it as `Arc<Producer>`.
    pub fn init_transactions(&self, transactional_id: &str) -> Result<Producer> {
        self.refuse_read_only(&format!("init transactions of {transactional_id:?} in"))?;
        Producer::init(&self.inner, transactional_id)
    }

    /// An idempotent producer (a new producer id, no transactions): its appends carry
    /// sequence numbers, so a retried append is written once.
    pub fn idempotent_producer(&self) -> Result<Producer> {
        self.refuse_read_only("create a producer in")?;
        Producer::idempotent(&self.inner)
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
        self.refuse_read_only("enforce retention in")?;
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
        self.refuse_read_only("compact topics in")?;
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
        if let Some((tx, handle)) = self.background.take() {
            drop(tx);
            let _ = handle.join();
        }
        // Topics with flush.ms get their pending data fsynced on a clean close.
        if self.inner.read_only {
            return;
        }
        for t in self.inner.topic_list() {
            if t.config().flush_ms.is_some() {
                let _ = t.flush();
            }
            // The next open loads the active segments' indexes instead of scanning them.
            for p in t.partitions() {
                p.mark_clean();
            }
        }
    }
}

/// The topic directories of a data directory as (name, path, inode), skipping
/// in-progress creations and deletions (`~...`), names Kafka would refuse and directories
/// without a `topic.properties`.
fn topic_dirs(dir: &Path) -> Result<Vec<(String, PathBuf, u64)>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| LogError::io("listing data directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| LogError::io("listing data directory", dir, e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('~') || validate_topic_name(&name).is_err() {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() && path.join(CONFIG_FILE).is_file() {
            out.push((name, path, meta.ino()));
        }
    }
    out.sort();
    Ok(out)
}

/// Starts the thread of a read-only log that refreshes, every `every`, the partitions
/// someone waits on asynchronously; `None` if no thread can be started.
fn spawn_refresher(
    inner: Weak<Inner>,
    every: Duration,
) -> Option<(mpsc::Sender<()>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<()>();
    let every = every.max(Duration::from_millis(1));
    let handle = std::thread::Builder::new()
        .name("brook-log-refresher".into())
        .spawn(move || loop {
            match rx.recv_timeout(every) {
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let Some(i) = inner.upgrade() else { return };
                    for t in i.topic_list() {
                        for p in t.partitions() {
                            if p.has_async_waiters() {
                                // Errors (a deleted topic) reach the waiters themselves.
                                let _ = p.refresh();
                            }
                        }
                    }
                }
                _ => return,
            }
        });
    handle.ok().map(|h| (tx, h))
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
