//! topic.rs owns a topic: its directory, persisted config (`topic.properties`) and
//! partitions, and produce-side partitioning (Kafka's default partitioner).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::compaction::{self, CompactionReport};
use crate::config::TopicConfig;
use crate::error::{LogError, Result};
use crate::partition::{self, sync_dir, Partition};
use crate::partitioner::{kafka_partition, StickyPartitioner};
use crate::record::{AppendInfo, AsRecord};
use crate::retention::{self, RetentionReport};

/// Name of the file holding a topic's config, in the topic directory.
pub(crate) const CONFIG_FILE: &str = "topic.properties";

/// A topic: N partitions sharing one config. Shared as `Arc<Topic>`.
#[derive(Debug)]
pub struct Topic {
    name: String,
    dir: PathBuf,
    config: Arc<TopicConfig>,
    partitions: Vec<Arc<Partition>>,
    sticky: StickyPartitioner,
    deleted: Arc<AtomicBool>,
    read_only: bool,
    /// Inode of the topic directory when opened (a re-created topic has another).
    dir_ino: u64,
}

impl Topic {
    /// Creates the topic directory `<parent>/<name>` atomically (built under a temporary
    /// name, then renamed) and opens it.
    pub(crate) fn create(parent: &Path, name: &str, config: TopicConfig) -> Result<Topic> {
        config.validate()?;
        let dir = parent.join(name);
        if dir.exists() {
            return Err(LogError::TopicExists(name.to_string()));
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        // Kept short: a 249-character topic name plus a prefix would exceed NAME_MAX.
        let tmp = parent.join(format!("~creating-{}-{nanos}", std::process::id()));
        let io =
            |what: &str, p: &Path, e| LogError::io(format!("{what} for new topic {name:?}"), p, e);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io("removing stale directory", &tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| io("creating directory", &tmp, e))?;
        let cfg_path = tmp.join(CONFIG_FILE);
        std::fs::File::create(&cfg_path)
            .and_then(|mut f| {
                f.write_all(config.to_file_text().as_bytes())?;
                f.sync_all()
            })
            .map_err(|e| io("writing config", &cfg_path, e))?;
        for p in 0..config.partitions {
            let pd = tmp.join(p.to_string());
            std::fs::create_dir(&pd).map_err(|e| io("creating partition directory", &pd, e))?;
        }
        sync_dir(&tmp).map_err(|e| io("syncing directory", &tmp, e))?;
        std::fs::rename(&tmp, &dir).map_err(|e| io("renaming directory into place", &dir, e))?;
        sync_dir(parent).map_err(|e| io("syncing data directory", parent, e))?;
        Topic::open(dir, name)
    }

    /// Opens the topic directory `dir` (its `topic.properties` and partitions).
    pub(crate) fn open(dir: PathBuf, name: &str) -> Result<Topic> {
        let cfg_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|e| LogError::io(format!("reading config of topic {name:?}"), &cfg_path, e))?;
        let config = Arc::new(TopicConfig::from_file_text(&text)?);
        let deleted = Arc::new(AtomicBool::new(false));
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            partitions.push(Arc::new(Partition::open(
                dir.join(p.to_string()),
                name,
                p,
                config.clone(),
                deleted.clone(),
            )?));
        }
        let dir_ino = std::fs::metadata(&dir).map_or(0, |m| m.ino());
        Ok(Topic {
            name: name.to_string(),
            dir,
            config,
            partitions,
            sticky: StickyPartitioner::new(),
            deleted,
            read_only: false,
            dir_ino,
        })
    }

    /// Opens the topic directory `dir` for a read-only follower (see
    /// [`Partition::open_read_only`]): nothing on disk is changed.
    pub(crate) fn open_read_only(dir: PathBuf, name: &str) -> Result<Topic> {
        let dir_ino = std::fs::metadata(&dir)
            .map_err(|e| LogError::io(format!("opening topic {name:?}"), &dir, e))?
            .ino();
        let cfg_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&cfg_path)
            .map_err(|e| LogError::io(format!("reading config of topic {name:?}"), &cfg_path, e))?;
        let config = Arc::new(TopicConfig::from_file_text(&text)?);
        let deleted = Arc::new(AtomicBool::new(false));
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in 0..config.partitions {
            partitions.push(Arc::new(Partition::open_read_only(
                dir.join(p.to_string()),
                name,
                p,
                config.clone(),
                deleted.clone(),
            )?));
        }
        Ok(Topic {
            name: name.to_string(),
            dir,
            config,
            partitions,
            sticky: StickyPartitioner::new(),
            deleted,
            read_only: true,
            dir_ino,
        })
    }

    /// True when the topic belongs to a log opened with [`crate::Log::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// True once the topic was deleted (by this log, or, on a read-only log, noticed by a
    /// refresh).
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    pub(crate) fn dir_ino(&self) -> u64 {
        self.dir_ino
    }

    fn refuse_read_only(&self, operation: &str) -> Result<()> {
        if self.read_only {
            return Err(LogError::read_only(
                format!("{operation} topic {:?}", self.name),
                &self.dir,
            ));
        }
        Ok(())
    }

    /// On a read-only log, [`Partition::refresh`]es every partition (all are tried; the
    /// first error is returned, [`LogError::TopicDeleted`] once the topic is gone). On the
    /// writer's log, does nothing.
    pub fn refresh(&self) -> Result<()> {
        let mut first_err = None;
        for p in &self.partitions {
            if let Err(e) = p.refresh() {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Marks the topic deleted: in-flight appends finish, later ones fail, waiters wake.
    pub(crate) fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
        for p in &self.partitions {
            p.quiesce();
            p.wake_all();
        }
    }

    /// The topic directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The topic name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The topic's config (as persisted in `topic.properties`).
    pub fn config(&self) -> &TopicConfig {
        &self.config
    }

    /// Number of partitions.
    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    /// All partitions, by number.
    pub fn partitions(&self) -> &[Arc<Partition>] {
        &self.partitions
    }

    /// Partition `p`, or [`LogError::PartitionNotFound`].
    pub fn partition(&self, p: u32) -> Result<&Arc<Partition>> {
        self.partitions
            .get(p as usize)
            .ok_or_else(|| LogError::PartitionNotFound {
                topic: self.name.clone(),
                partition: p,
                partitions: self.partition_count(),
            })
    }

    /// Appends `records` to partition `p` as one batch (see [`Partition::append`]).
    pub fn append<R: AsRecord>(&self, partition: u32, records: &[R]) -> Result<AppendInfo> {
        self.partition(partition)?.append(records)
    }

    /// The partition Kafka's default partitioner picks for `key`
    /// (`murmur2(key) & 0x7fffffff % partitions`).
    pub fn partition_for_key(&self, key: &[u8]) -> u32 {
        kafka_partition(key, self.partition_count())
    }

    /// Appends records choosing partitions like Kafka's default partitioner: a keyed
    /// record goes to `murmur2(key) & 0x7fffffff % partitions`; keyless records of one call
    /// all go to one (sticky) partition, the next call moves on round-robin. One append per
    /// partition touched. Returns `(partition, offset)` for each record, in input order.
    ///
    /// All or nothing: every record is checked first (size against `max.message.bytes`,
    /// a key on a compacted topic) and if one is refused nothing is written and the error
    /// ([`LogError::RecordTooLarge`] / [`LogError::InvalidRecord`]) carries its `index` in
    /// `records`. The partitions touched are then locked together (in partition order),
    /// written, fsynced as their flush policy asks, and only then made visible; a write or
    /// fsync that fails on one partition (a full disk, say) rolls back what was written to
    /// the others, so a caller can retry the whole call without duplicating records. (A
    /// crash of the process in the middle of the writes may keep some partitions' records
    /// and not others'; there are no cross-partition transactions.)
    pub fn produce<R: AsRecord + Clone>(&self, records: &[R]) -> Result<Vec<(u32, u64)>> {
        self.refuse_read_only("produce to")?;
        let n = self.partition_count();
        let sticky = records
            .iter()
            .any(|r| r.key().is_none())
            .then(|| self.sticky.next_partition(n));
        let assign: Vec<u32> = records
            .iter()
            .map(|r| match r.key() {
                Some(k) => kafka_partition(k, n),
                None => sticky.unwrap_or(0),
            })
            .collect();
        // Check every record before anything is locked or written.
        for (i, (r, &p)) in records.iter().zip(&assign).enumerate() {
            self.partitions[p as usize].check_record(i, r)?;
        }
        let mut out = vec![(0u32, 0u64); records.len()];
        if let Some(&first) = assign.first() {
            if assign.iter().all(|&p| p == first) {
                let info = self.append(first, records)?;
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (first, info.base_offset + i as u64);
                }
                return Ok(out);
            }
        }
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n as usize];
        for (i, &p) in assign.iter().enumerate() {
            groups[p as usize].push(i);
        }
        let touched: Vec<(u32, Vec<R>, &[usize])> = groups
            .iter()
            .enumerate()
            .filter(|(_, idx)| !idx.is_empty())
            .map(|(p, idx)| {
                let batch = idx.iter().map(|&i| records[i].clone()).collect();
                (p as u32, batch, &idx[..])
            })
            .collect();
        let parts: Vec<partition::AppendPart<'_, R>> = touched
            .iter()
            .map(|(p, batch, idx)| (&*self.partitions[*p as usize], &batch[..], Some(*idx)))
            .collect();
        let infos = partition::append_all(&parts)?;
        for ((p, _, idx), info) in touched.iter().zip(infos) {
            for (j, &i) in idx.iter().enumerate() {
                out[i] = (*p, info.base_offset + j as u64);
            }
        }
        Ok(out)
    }

    /// Deletes whole closed segments by `retention.ms` (newest record older than
    /// `now_ms - retention.ms`) and `retention.bytes` (per partition, oldest first). Never
    /// the active segment; the start offset moves forward. Does nothing unless
    /// `cleanup.policy` includes `delete`. [`LogError::ReadOnly`] on a read-only log.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport> {
        self.refuse_read_only("enforce retention on")?;
        let mut total = RetentionReport::default();
        for p in &self.partitions {
            let r = retention::enforce(p, now_ms)?;
            total.segments_deleted += r.segments_deleted;
            total.bytes_deleted += r.bytes_deleted;
        }
        Ok(total)
    }

    /// Compacts closed segments at the current wall-clock time (see [`Topic::compact_at`]).
    pub fn compact(&self) -> Result<CompactionReport> {
        self.compact_at(crate::log::now_ms())
    }

    /// Keeps only the latest record per key in closed segments (the active segment is
    /// left alone), offsets preserved: reads skip the gaps. A tombstone that is the latest
    /// for its key is kept until its timestamp is older than `now_ms -
    /// delete.retention.ms`, then dropped. Does nothing unless `cleanup.policy` includes
    /// `compact`. [`LogError::ReadOnly`] on a read-only log.
    pub fn compact_at(&self, now_ms: i64) -> Result<CompactionReport> {
        self.refuse_read_only("compact")?;
        let mut total = CompactionReport::default();
        for p in &self.partitions {
            total.add(compaction::compact(p, now_ms)?);
        }
        Ok(total)
    }

    /// Fsyncs all partitions (nothing to do on a read-only log).
    pub fn flush(&self) -> Result<()> {
        for p in &self.partitions {
            p.flush()?;
        }
        Ok(())
    }

    /// Fsyncs partitions whose `flush.ms` interval has passed.
    pub(crate) fn flush_due(&self) {
        if self.config.flush_ms.is_none() {
            return;
        }
        for p in &self.partitions {
            let _ = p.flush_if_due();
        }
    }
}
