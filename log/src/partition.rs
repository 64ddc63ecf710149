//! partition.rs owns one partition: its ordered segments, the single writer (append, roll,
//! fsync policy, all-or-nothing appends across partitions), the read-only follower
//! (refresh from another process's writes), positioned reads, offset/timestamp lookups
//! and tail wake-ups.

use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use crate::batch::{self, BatchMeta, ControlKind, EncodeError, ProducerStamp};
use crate::config::{FlushPolicy, TopicConfig};
use crate::error::{LogError, Result};
use crate::record::{AppendInfo, AsRecord, ReadLimit, Record, StoredRecord};
use crate::segment::{self, BatchFilter, Follow, Segment, TailMark};
use crate::txn_state::{AbortedTxn, PartitionTxns, SequenceCheck};

/// Which records a read returns: every data record (`ReadUncommitted`, Kafka's default), or
/// only those of committed transactions and plain appends, up to the last stable offset
/// (`ReadCommitted`). Control records (transaction markers) are never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

/// What [`Partition::read_isolated`] returns: the records, and the offset to read from
/// next (past skipped markers and aborted records, so a reader never reads them again).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadBatch {
    pub records: Vec<StoredRecord>,
    pub next_offset: u64,
}

/// Largest encoded size of one append (segment positions are 32-bit).
const MAX_APPEND_BYTES: usize = i32::MAX as usize;

/// One partition of a topic. Shared as `Arc<Partition>`; one writer and any number of
/// readers may use it concurrently.
#[derive(Debug)]
pub struct Partition {
    topic: String,
    id: u32,
    dir: PathBuf,
    config: Arc<TopicConfig>,
    segments: RwLock<BTreeMap<u64, Arc<Segment>>>,
    mode: Mode,
    start_offset: AtomicU64,
    end_offset: AtomicU64,
    tx: tokio::sync::watch::Sender<u64>,
    wait_lock: Mutex<()>,
    wait_cv: Condvar,
    maintenance: Mutex<()>,
    deleted: Arc<AtomicBool>,
    notes: Vec<String>,
    /// Producers and transactions (see `txn_state`).
    txns: Mutex<PartitionTxns>,
    /// One past the last data (non-marker) record: waiters wake for data, not markers.
    data_end: AtomicU64,
}

/// How the partition was opened.
#[derive(Debug)]
enum Mode {
    /// By the single writer ([`crate::Log::open`]).
    Writer(Mutex<Writer>),
    /// Read-only, following another process's writer ([`crate::Log::open_read_only`]).
    Follower(Mutex<Follower>),
}

/// State of a read-only follower between refreshes.
#[derive(Debug)]
struct Follower {
    /// The last batch accepted from the active segment (to notice it being rewritten).
    mark: Option<TailMark>,
    /// Inode of the partition directory when opened: a different one (or none) means the
    /// topic was deleted (and maybe re-created).
    dir_ino: u64,
    /// Inode of each segment file as listed when it was opened: a segment replaced by
    /// compaction (renamed over) or a re-created topic lists another. (Compared listing
    /// to listing: on some file systems, overlayfs for one, a directory entry's inode
    /// number is not the one `fstat` reports.)
    inos: BTreeMap<u64, u64>,
}

/// An append checked and encoded into the writer's buffer, not yet written.
struct Staged {
    base: u64,
    last: u64,
    total: usize,
    count: u64,
    active: Arc<Segment>,
}

/// One partition's share of an [`append_all`]: the partition, its records, and where
/// each record is in the caller's input (identity when `None`).
pub(crate) type AppendPart<'a, R = Record> = (&'a Partition, &'a [R], Option<&'a [usize]>);

/// Appends to several partitions (of one topic, in ascending partition order) all or
/// nothing: every record is checked and encoded before anything is written; a write or
/// fsync that fails on one partition rolls back what was written to the others (none of
/// it was visible yet). `indexes` maps each slice's positions to the caller's input.
pub(crate) fn append_all<R: AsRecord>(parts: &[AppendPart<'_, R>]) -> Result<Vec<AppendInfo>> {
    let mut guards = Vec::with_capacity(parts.len());
    for (p, _, _) in parts {
        guards.push(p.writer("append to")?);
    }
    let mut staged = Vec::with_capacity(parts.len());
    for ((p, records, indexes), w) in parts.iter().zip(guards.iter_mut()) {
        staged.push(p.stage(w, records, *indexes, None)?);
    }
    let undo_others = |guards: &mut [MutexGuard<'_, Writer>], except: usize, upto: usize| {
        for j in (0..upto).filter(|&j| j != except) {
            parts[j].0.undo(
                &mut guards[j],
                &staged[j].active,
                "append to another partition failed",
            );
        }
    };
    for i in 0..parts.len() {
        if let Err(e) = parts[i].0.write_staged(&mut guards[i], &staged[i]) {
            undo_others(&mut guards, i, i);
            return Err(e);
        }
    }
    let mut synced = Vec::with_capacity(parts.len());
    for i in 0..parts.len() {
        match parts[i].0.sync_staged(&mut guards[i], &staged[i]) {
            Ok(s) => synced.push(s),
            Err(e) => {
                undo_others(&mut guards, i, parts.len());
                return Err(e);
            }
        }
    }
    let mut ends = Vec::with_capacity(parts.len());
    for i in 0..parts.len() {
        ends.push(
            parts[i]
                .0
                .commit_staged(&mut guards[i], &staged[i], synced[i]),
        );
    }
    drop(guards);
    for ((p, _, _), end) in parts.iter().zip(ends) {
        p.notify(end);
    }
    Ok(staged
        .iter()
        .map(|st| AppendInfo {
            base_offset: st.base,
            last_offset: st.last,
        })
        .collect())
}

#[derive(Debug)]
struct Writer {
    active: Arc<Segment>,
    buf: Vec<u8>,
    metas: Vec<BatchMeta>,
    /// Records appended since the last fsync.
    unflushed: u64,
    /// When the oldest unflushed append happened.
    unflushed_since: Option<Instant>,
    /// Closed segments not yet fsynced (rolled under the OS flush policy).
    unsynced_closed: Vec<Arc<Segment>>,
    /// Set when a failed append could not be rolled back: appends are refused until the
    /// log is reopened (which validates and repairs the tail).
    poisoned: Option<String>,
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

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// fsync of a directory, so that created/renamed/removed entries are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl Partition {
    /// Opens (creating if needed) the partition directory `dir`, recovering its segments.
    pub(crate) fn open(
        dir: PathBuf,
        topic: &str,
        id: u32,
        config: Arc<TopicConfig>,
        deleted: Arc<AtomicBool>,
    ) -> Result<Partition> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| LogError::io("creating partition directory", &dir, e))?;
        let mut bases = Vec::new();
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| LogError::io("listing partition directory", &dir, e))?;
        let mut leftovers = Vec::new();
        let mut index_files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| LogError::io("listing partition directory", &dir, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(stem) = name.strip_suffix(segment::LOG_SUFFIX) {
                if let Some(base) = parse_base(stem) {
                    bases.push(base);
                    continue;
                }
            }
            if name.ends_with(".cleaned") || name.ends_with(".tmp") {
                leftovers.push(entry.path());
            } else if let Some(stem) = name
                .strip_suffix(segment::INDEX_SUFFIX)
                .or_else(|| name.strip_suffix(segment::TIMEINDEX_SUFFIX))
            {
                if let Some(base) = parse_base(stem) {
                    index_files.push((base, entry.path()));
                }
            }
        }
        bases.sort_unstable();
        let mut notes = Vec::new();
        // Leftovers of an interrupted compaction, and indexes whose log is gone.
        for p in leftovers {
            std::fs::remove_file(&p).map_err(|e| LogError::io("removing leftover file", &p, e))?;
            notes.push(format!(
                "{}: removed leftover of an interrupted compaction or index write",
                p.display()
            ));
        }
        for (base, p) in index_files {
            if bases.binary_search(&base).is_err() {
                std::fs::remove_file(&p)
                    .map_err(|e| LogError::io("removing orphan index", &p, e))?;
            }
        }
        let interval = config.index_interval_bytes;
        let mut segments = BTreeMap::new();
        if bases.is_empty() {
            let seg = Segment::create(&dir, 0)?;
            sync_dir(&dir).map_err(|e| LogError::io("syncing partition directory", &dir, e))?;
            segments.insert(0, Arc::new(seg));
        } else {
            for (i, &base) in bases.iter().enumerate() {
                let (seg, note) = if i + 1 == bases.len() {
                    Segment::open_active(&dir, base, interval)?
                } else {
                    Segment::open_closed(&dir, base, bases[i + 1], interval, true)?
                };
                notes.extend(note);
                segments.insert(base, Arc::new(seg));
            }
        }
        let first = segments.values().next().map(|s| s.base_offset).unwrap_or(0);
        let active = match segments.values().next_back() {
            Some(s) => s.clone(),
            None => {
                return Err(LogError::InvalidArgument(
                    "partition has no segments".into(),
                ))
            }
        };
        let end = active.next_offset();
        let mut data_end = end;
        for seg in segments.values().rev() {
            if let Some(e) = seg.last_data_end()? {
                data_end = e;
                break;
            }
            data_end = seg.base_offset;
        }
        let txns = PartitionTxns::load(&dir, true)
            .map_err(|e| LogError::io("reading the aborted-transaction index of", &dir, e))?;
        let (tx, _) = tokio::sync::watch::channel(data_end.min(end));
        Ok(Partition {
            topic: topic.to_string(),
            id,
            dir,
            config,
            segments: RwLock::new(segments),
            mode: Mode::Writer(Mutex::new(Writer {
                active,
                buf: Vec::new(),
                metas: Vec::new(),
                unflushed: 0,
                unflushed_since: None,
                unsynced_closed: Vec::new(),
                poisoned: None,
            })),
            start_offset: AtomicU64::new(first),
            end_offset: AtomicU64::new(end),
            tx,
            wait_lock: Mutex::new(()),
            wait_cv: Condvar::new(),
            maintenance: Mutex::new(()),
            deleted,
            notes,
            txns: Mutex::new(txns),
            data_end: AtomicU64::new(data_end.min(end)),
        })
    }

    /// Opens the partition directory `dir` for a read-only follower of another process's
    /// writer: nothing is created, written, truncated or removed. Closed segments' index
    /// files are used when they check out (else rebuilt in memory); the last segment is
    /// indexed in memory up to its last valid batch, and anything after that (a batch
    /// being written, or a torn one a crashed writer left) is not served until a
    /// [`Partition::refresh`] finds it complete.
    pub(crate) fn open_read_only(
        dir: PathBuf,
        topic: &str,
        id: u32,
        config: Arc<TopicConfig>,
        deleted: Arc<AtomicBool>,
    ) -> Result<Partition> {
        let dir_ino = std::fs::metadata(&dir)
            .map_err(|e| LogError::io("opening partition directory", &dir, e))?
            .ino();
        let listed = list_segments(&dir)
            .map_err(|e| LogError::io("listing partition directory", &dir, e))?;
        let interval = config.index_interval_bytes;
        let mut segments = BTreeMap::new();
        let mut notes = Vec::new();
        let mut mark = None;
        for (i, &(base, _)) in listed.iter().enumerate() {
            if let Some(&(next_base, _)) = listed.get(i + 1) {
                match Segment::open_closed(&dir, base, next_base, interval, false) {
                    Ok((seg, note)) => {
                        notes.extend(note);
                        segments.insert(base, Arc::new(seg));
                    }
                    // Deleted by the writer's retention since the listing.
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e),
                }
            } else {
                let (seg, m) = Segment::open_tail_read_only(&dir, base, interval)?;
                mark = m;
                segments.insert(base, Arc::new(seg));
            }
        }
        let first = segments.keys().next().copied().unwrap_or(0);
        let end = segments.values().next_back().map_or(0, |s| s.next_offset());
        let (tx, _) = tokio::sync::watch::channel(end);
        // Derived from the batches as they are read (see `follow_txns`): the writer's
        // aborted-transaction index may hold an entry whose marker is not written yet.
        let txns = PartitionTxns::follower();
        Ok(Partition {
            topic: topic.to_string(),
            id,
            dir,
            config,
            segments: RwLock::new(segments),
            mode: Mode::Follower(Mutex::new(Follower {
                mark,
                dir_ino,
                inos: listed.iter().copied().collect(),
            })),
            start_offset: AtomicU64::new(first),
            end_offset: AtomicU64::new(end),
            tx,
            wait_lock: Mutex::new(()),
            wait_cv: Condvar::new(),
            maintenance: Mutex::new(()),
            deleted,
            notes,
            txns: Mutex::new(txns),
            data_end: AtomicU64::new(u64::MAX),
        })
    }

    /// True when this partition belongs to a log opened with
    /// [`crate::Log::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        matches!(self.mode, Mode::Follower(_))
    }

    /// On a read-only log, picks up what the writer process did since the last refresh
    /// and returns the new end offset; on the writer's own log it does nothing and
    /// returns `end_offset()`.
    ///
    /// It reads the active segment on from the last batch it had accepted (each batch
    /// checked like recovery does: length, magic, CRC32C, offsets going up) and stops
    /// before an incomplete or invalid batch at the end: that one is being written, and
    /// is looked at again next time, never served and never an error. It finds segments
    /// rolled since (the previous one is then read to its final end), segments deleted by
    /// retention (`start_offset()` moves up; a read below it is
    /// [`LogError::OffsetOutOfRange`] as usual) and segments rewritten by compaction. Then
    /// it wakes [`Partition::wait_for_append`] / [`Partition::wait_for_append_timeout`]
    /// waiters and [`Partition::subscribe`] receivers if the end offset moved. If the
    /// topic was deleted (its directory is gone or was replaced) it fails with
    /// [`LogError::TopicDeleted`], as do waiters.
    ///
    /// A refresh costs a directory listing, an `fstat` and a small read when nothing
    /// changed. Safe to call from several threads (they take turns).
    pub fn refresh(&self) -> Result<u64> {
        let Mode::Follower(f) = &self.mode else {
            return Ok(self.end_offset());
        };
        let mut f = lock(f);
        if self.deleted.load(Ordering::Acquire) {
            return Err(LogError::TopicDeleted(self.topic.clone()));
        }
        match self.refresh_locked(&mut f)? {
            Some(end) => Ok(end),
            None => {
                self.deleted.store(true, Ordering::Release);
                drop(f);
                self.wake_all();
                Err(LogError::TopicDeleted(self.topic.clone()))
            }
        }
    }

    /// The body of [`Partition::refresh`]; `Ok(None)` when the topic is gone.
    fn refresh_locked(&self, f: &mut Follower) -> Result<Option<u64>> {
        let io = |what: &str, e| self.io_err(what, &self.dir, e);
        match std::fs::metadata(&self.dir) {
            Ok(m) if m.ino() == f.dir_ino => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("checking the directory of", e)),
        }
        let listed = match list_segments(&self.dir) {
            Ok(l) => l,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("listing the directory of", e)),
        };
        let on_disk: BTreeMap<u64, u64> = listed.into_iter().collect();
        let interval = self.config.index_interval_bytes;
        let current = self.segment_list();
        let (closed, active) = match current.split_last() {
            Some((a, c)) => (c, Some(a.clone())),
            None => (&[][..], None),
        };
        let reopen_closed = |base: u64, next_base: u64| match Segment::open_closed(
            &self.dir, base, next_base, interval, false,
        ) {
            Ok((seg, _)) => Ok(Some(Arc::new(seg))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        };
        let mut removed = Vec::new();
        let mut fresh: Vec<Arc<Segment>> = Vec::new();
        // Whether the writer took back batches this follower had read.
        let mut rewound = false;
        // Closed segments: deleted by retention, or rewritten by compaction (a new file
        // renamed over the old one).
        for (i, s) in closed.iter().enumerate() {
            match on_disk.get(&s.base_offset) {
                None => removed.push(s.base_offset),
                Some(&ino) if f.inos.get(&s.base_offset) != Some(&ino) => {
                    match reopen_closed(s.base_offset, current[i + 1].base_offset)? {
                        Some(seg) => fresh.push(seg),
                        None => removed.push(s.base_offset),
                    }
                }
                Some(_) => {}
            }
        }
        let newer: Vec<u64> = on_disk
            .keys()
            .copied()
            .filter(|&b| active.as_ref().is_none_or(|a| b > a.base_offset))
            .collect();
        if let Some(a) = &active {
            let next_base = newer.first().copied();
            let listed_ino = f.inos.get(&a.base_offset).copied();
            let replaced = |ino: u64| listed_ino != Some(ino);
            match (on_disk.get(&a.base_offset), next_base) {
                // The writer never deletes or replaces its active segment: the topic was
                // deleted (and maybe re-created).
                (None, None) => return Ok(None),
                (Some(&ino), None) if replaced(ino) => return Ok(None),
                // Rolled, then deleted by retention: nothing more to read from it.
                (None, Some(_)) => removed.push(a.base_offset),
                // Rolled, then compacted.
                (Some(&ino), Some(nb)) if replaced(ino) => {
                    match reopen_closed(a.base_offset, nb)? {
                        Some(seg) => fresh.push(seg),
                        None => removed.push(a.base_offset),
                    }
                }
                (Some(_), next_base) => match (a.follow(&mut f.mark, interval)?, next_base) {
                    // Rolled: the file is final (the writer finished with it before it
                    // created the next one), so a bad batch at its end is corruption.
                    (Follow::Extended { problem }, Some(nb)) => {
                        a.close_read_only(problem.is_some(), nb)?
                    }
                    (Follow::Extended { .. }, None) => {}
                    // The writer truncated an append it had to roll back (a failed write
                    // or fsync) and wrote something else: read the segment again.
                    (Follow::Rewound, Some(nb)) => {
                        rewound = true;
                        match reopen_closed(a.base_offset, nb)? {
                            Some(seg) => fresh.push(seg),
                            None => removed.push(a.base_offset),
                        }
                    }
                    (Follow::Rewound, None) => {
                        rewound = true;
                        let (seg, m) =
                            Segment::open_tail_read_only(&self.dir, a.base_offset, interval)?;
                        f.mark = m;
                        fresh.push(Arc::new(seg));
                    }
                },
            }
        }
        // Segments rolled since the last refresh; the last one is the writer's active one.
        for (i, &base) in newer.iter().enumerate() {
            if let Some(&nb) = newer.get(i + 1) {
                fresh.extend(reopen_closed(base, nb)?);
                continue;
            }
            match Segment::open_tail_read_only(&self.dir, base, interval) {
                Ok((seg, m)) => {
                    f.mark = m;
                    fresh.push(Arc::new(seg));
                }
                // The writer's active segment is never deleted: the topic is being
                // deleted, or try again next time.
                Err(e) if e.is_not_found() => {
                    return Ok(self.dir.is_dir().then(|| self.end_offset()));
                }
                Err(e) => return Err(e),
            }
        }
        let (start, end) = {
            let mut segs = self.segments.write().unwrap_or_else(|e| e.into_inner());
            for b in &removed {
                segs.remove(b);
            }
            for s in fresh {
                segs.insert(s.base_offset, s);
            }
            f.inos = on_disk
                .iter()
                .filter(|(b, _)| segs.contains_key(b))
                .map(|(&b, &ino)| (b, ino))
                .collect();
            (
                segs.keys().next().copied(),
                segs.values().next_back().map(|s| s.next_offset()),
            )
        };
        if rewound {
            // Transactions were derived from batches that are gone: derive them again.
            lock(&self.txns).reset_follower();
        }
        let old_start = match start {
            Some(s) => self.start_offset.swap(s, Ordering::AcqRel),
            None => self.start_offset(),
        };
        let end = end.unwrap_or_else(|| self.end_offset());
        let old_end = self.end_offset.swap(end, Ordering::AcqRel);
        if old_end != end || start.is_some_and(|s| s != old_start) {
            self.notify(end);
        }
        Ok(Some(end))
    }

    /// The topic this partition belongs to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition number.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The partition's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first offset that can be read (moves forward with retention).
    pub fn start_offset(&self) -> u64 {
        self.start_offset.load(Ordering::Acquire)
    }

    /// The next offset to be written (one past the last record).
    pub fn end_offset(&self) -> u64 {
        self.end_offset.load(Ordering::Acquire)
    }

    /// What opening this partition found and repaired (truncated torn tails, rebuilt
    /// indexes, corrupt closed segments). Empty after a clean open.
    pub fn recovery_notes(&self) -> &[String] {
        &self.notes
    }

    fn invalid(&self, index: Option<usize>, reason: impl Into<String>) -> LogError {
        LogError::InvalidRecord {
            topic: self.topic.clone(),
            partition: self.id,
            index,
            reason: reason.into(),
        }
    }

    /// Checks one record against everything that can make an append refuse it: a null
    /// key on a compacted topic, and its size (encoded as a batch of its own) against
    /// `max.message.bytes`. `index` is its position in the caller's input, for the error.
    pub(crate) fn check_record<R: AsRecord>(&self, index: usize, r: &R) -> Result<()> {
        if r.key().is_none() && self.config.cleanup_policy.compacts() {
            return Err(self.invalid(
                Some(index),
                format!(
                    "record {index} (0-based, in the order given) has no key, and a compacted \
                     topic (cleanup.policy=compact) needs a key on every record; nothing was \
                     written"
                ),
            ));
        }
        let size = batch::single_record_batch_len(r);
        let max = self.config.max_message_bytes as usize;
        if size > max {
            return Err(self.too_large(index, size));
        }
        Ok(())
    }

    fn too_large(&self, index: usize, size: usize) -> LogError {
        LogError::RecordTooLarge {
            topic: self.topic.clone(),
            partition: self.id,
            index,
            size: size as u64,
            max: self.config.max_message_bytes as u64,
        }
    }

    /// The writer, or [`LogError::ReadOnly`] on a follower.
    fn writer(&self, operation: &str) -> Result<MutexGuard<'_, Writer>> {
        match &self.mode {
            Mode::Writer(w) => Ok(lock(w)),
            Mode::Follower(_) => Err(LogError::read_only(
                format!("{operation} topic {:?} partition {}", self.topic, self.id),
                &self.dir,
            )),
        }
    }

    /// Appends `records` as one batch with one write; offsets are assigned densely from
    /// `end_offset()`. Returns once the configured fsync policy is satisfied (with
    /// `flush.messages=1` the records are on disk). Records larger than
    /// `max.message.bytes` are refused; a large append is split into several on-disk
    /// batches of at most `max.message.bytes`, still written with one write.
    ///
    /// All or nothing: every record is checked before anything is written, and an error
    /// ([`LogError::RecordTooLarge`], [`LogError::InvalidRecord`] with the `index` of the
    /// refused record, a failed write or fsync) leaves the partition as it was. On a log
    /// opened read-only this is [`LogError::ReadOnly`].
    pub fn append<R: AsRecord>(&self, records: &[R]) -> Result<AppendInfo> {
        let infos = append_all(&[(self, records, None)])?;
        Ok(infos[0])
    }

    /// Locks nothing, writes nothing: checks the append and encodes it into the writer's
    /// buffer, rolling the segment if it would not fit. `indexes` maps a position in
    /// `records` to the caller's input (identity when `None`).
    fn stage<R: AsRecord>(
        &self,
        w: &mut Writer,
        records: &[R],
        indexes: Option<&[usize]>,
        stamp: Option<ProducerStamp>,
    ) -> Result<Staged> {
        let index_of = |i: usize| indexes.map_or(i, |x| x[i]);
        if records.is_empty() {
            return Err(self.invalid(None, "no records to append"));
        }
        for (i, r) in records.iter().enumerate() {
            self.check_record(index_of(i), r)?;
        }
        if self.deleted.load(Ordering::Acquire) {
            return Err(LogError::TopicDeleted(self.topic.clone()));
        }
        if let Some(why) = &w.poisoned {
            return Err(self.invalid(
                None,
                format!("partition refuses appends until the log is reopened: {why}"),
            ));
        }
        let base = self.end_offset();
        w.buf.clear();
        w.metas.clear();
        let max = self.config.max_message_bytes as usize;
        if let Err(EncodeError::RecordTooLarge { index, size }) =
            batch::encode_records(&mut w.buf, &mut w.metas, base, records, max, stamp)
        {
            w.buf = Vec::new();
            return Err(self.too_large(index_of(index), size));
        }
        let total = w.buf.len();
        if total > MAX_APPEND_BYTES {
            w.buf = Vec::new();
            return Err(self.invalid(
                None,
                format!("append of {total} bytes is larger than {MAX_APPEND_BYTES} bytes"),
            ));
        }
        let last = base + records.len() as u64 - 1;
        self.maybe_roll(w, base, last, total)?;
        Ok(Staged {
            base,
            last,
            total,
            count: records.len() as u64,
            active: w.active.clone(),
        })
    }

    /// Writes a staged append (not yet visible); on failure it is rolled back.
    fn write_staged(&self, w: &mut Writer, st: &Staged) -> Result<()> {
        if let Err(e) = st.active.write(&w.buf) {
            self.undo(w, &st.active, "write failed");
            return Err(self.io_err("appending to", &st.active.path, e));
        }
        Ok(())
    }

    /// Fsyncs a written append if the flush policy says so (returns whether it did); on
    /// failure it is rolled back.
    fn sync_staged(&self, w: &mut Writer, st: &Staged) -> Result<bool> {
        if !self.sync_due(w, st.count) {
            return Ok(false);
        }
        if let Err(e) = st.active.sync() {
            self.undo(w, &st.active, "fsync failed");
            return Err(self.io_err("fsyncing", &st.active.path, e));
        }
        Ok(true)
    }

    /// Makes a written append visible; returns the new end offset (waiters are to be
    /// notified once the writer is unlocked).
    fn commit_staged(&self, w: &mut Writer, st: &Staged, synced: bool) -> u64 {
        if synced {
            w.unflushed = 0;
            w.unflushed_since = None;
        } else {
            w.unflushed += st.count;
            w.unflushed_since.get_or_insert_with(Instant::now);
        }
        st.active
            .commit(&w.metas, st.total, self.config.index_interval_bytes);
        if w.buf.capacity() > (8 << 20) {
            w.buf = Vec::new();
        }
        self.end_offset.store(st.last + 1, Ordering::Release);
        self.data_end.store(st.last + 1, Ordering::Release);
        st.last + 1
    }

    fn io_err(&self, what: &str, path: &Path, e: io::Error) -> LogError {
        LogError::io(
            format!("{what} topic {:?} partition {}", self.topic, self.id),
            path,
            e,
        )
    }

    /// Rolls back a failed append; if even that fails, refuses further appends.
    fn undo(&self, w: &mut Writer, active: &Segment, what: &str) {
        if let Err(e) = active.rollback() {
            w.poisoned = Some(format!(
                "{what} and truncating {} back failed: {e}",
                active.path.display()
            ));
        }
    }

    /// Whether `pending` more records (written, not yet counted) make an fsync due.
    fn sync_due(&self, w: &Writer, pending: u64) -> bool {
        let unflushed = w.unflushed + pending;
        // The oldest unflushed append is this one when nothing is pending yet.
        let elapsed = |ms: u64| {
            w.unflushed_since
                .map_or(ms == 0, |t| t.elapsed() >= Duration::from_millis(ms))
        };
        match self.config.flush_policy() {
            FlushPolicy::Os => false,
            FlushPolicy::Messages(n) => unflushed >= n,
            FlushPolicy::Interval(ms) => unflushed > 0 && elapsed(ms),
            FlushPolicy::MessagesOrInterval(n, ms) => {
                unflushed >= n || (unflushed > 0 && elapsed(ms))
            }
        }
    }

    fn maybe_roll(&self, w: &mut Writer, base: u64, last: u64, total: usize) -> Result<()> {
        let a = &w.active;
        let size = a.size();
        let full = size + total as u64 > self.config.segment_bytes as u64
            || size + total as u64 > u32::MAX as u64;
        let old = self
            .config
            .segment_ms
            .is_some_and(|ms| a.created.elapsed() >= Duration::from_millis(ms.max(0) as u64));
        let far = last - a.base_offset > u32::MAX as u64;
        if size == 0 && !far {
            return Ok(());
        }
        if full || old || far {
            self.roll(w, base)?;
        }
        Ok(())
    }

    /// Closes the active segment (indexes written) and starts a new one at `base`.
    fn roll(&self, w: &mut Writer, base: u64) -> Result<()> {
        let sync = self.config.flush_policy() != FlushPolicy::Os;
        let old = w.active.clone();
        old.seal(sync)
            .map_err(|e| self.io_err("writing indexes of", &old.path, e))?;
        if sync {
            old.sync()
                .map_err(|e| self.io_err("fsyncing", &old.path, e))?;
        }
        let seg = Arc::new(Segment::create(&self.dir, base)?);
        if sync {
            if let Err(e) = sync_dir(&self.dir) {
                let _ = std::fs::remove_file(&seg.path);
                return Err(self.io_err("fsyncing directory of", &self.dir, e));
            }
        }
        self.segments
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(base, seg.clone());
        if !sync {
            w.unsynced_closed.push(old);
        }
        w.active = seg;
        w.unflushed = 0;
        w.unflushed_since = None;
        Ok(())
    }

    fn notify(&self, _end: u64) {
        {
            let _g = lock(&self.wait_lock);
            self.wait_cv.notify_all();
        }
        self.tx.send_replace(self.visible_end());
    }

    /// Wakes every waiter (used when the topic is deleted).
    pub(crate) fn wake_all(&self) {
        self.notify(self.end_offset());
    }

    /// Waits for an in-flight append to finish (used when the topic is deleted).
    pub(crate) fn quiesce(&self) {
        match &self.mode {
            Mode::Writer(w) => drop(lock(w)),
            Mode::Follower(f) => drop(lock(f)),
        }
    }

    /// Reads records with offsets `>= from_offset`, at most `limit` (a `usize` is a record
    /// count). Reading at `end_offset()` returns an empty vector; below `start_offset()` or
    /// above `end_offset()` is [`LogError::OffsetOutOfRange`]. Offsets removed by
    /// compaction are skipped, and so are transaction markers (control records); records of
    /// open and aborted transactions are returned (`read_uncommitted`, see
    /// [`Partition::read_isolated`]). Data that fails its CRC is never returned: records
    /// before it are, and a read that starts in it is [`LogError::Corrupt`].
    pub fn read(&self, from_offset: u64, limit: impl Into<ReadLimit>) -> Result<Vec<StoredRecord>> {
        self.read_isolated(from_offset, limit, IsolationLevel::ReadUncommitted)
            .map(|r| r.records)
    }

    /// [`Partition::read`] at an isolation level, with the offset to read from next.
    /// `ReadCommitted` returns nothing at or past [`Partition::last_stable_offset`] and
    /// skips the records of aborted transactions. `next_offset` moves past skipped
    /// markers and aborted records (at most to the last stable offset for
    /// `ReadCommitted`), so a reader that goes on from it never sees them again and
    /// reaches the end offset once it has read everything.
    pub fn read_isolated(
        &self,
        from_offset: u64,
        limit: impl Into<ReadLimit>,
        isolation: IsolationLevel,
    ) -> Result<ReadBatch> {
        let limit = limit.into();
        let end = self.end_offset();
        let start = self.start_offset();
        if from_offset < start || from_offset > end {
            return Err(self.out_of_range(from_offset));
        }
        let (upto, aborted) = match isolation {
            IsolationLevel::ReadUncommitted => (end, Vec::new()),
            IsolationLevel::ReadCommitted => {
                let mut t = lock(&self.txns);
                // The end is read under the lock: see `append_producer`.
                let end = self.end_offset();
                self.follow_txns(&mut t, end)?;
                let lso = t.last_stable_offset(end);
                (lso, t.aborted_between(from_offset, lso))
            }
        };
        let mut out = Vec::new();
        if from_offset >= upto || limit.max_records == 0 {
            return Ok(ReadBatch {
                records: out,
                next_offset: from_offset,
            });
        }
        let filter = BatchFilter {
            upto,
            aborted: &aborted,
        };
        let mut bytes = 0usize;
        let mut off = from_offset;
        let mut last_off: Option<u64> = None;
        let mut seg = match self.segment_for(off) {
            Some(s) => s,
            None => return Err(self.out_of_range(from_offset)),
        };
        let mut full = false;
        loop {
            let scanned_to = match seg.read_into(off, &limit, &filter, &mut out, &mut bytes) {
                Ok(None) => {
                    full = true;
                    break;
                }
                Ok(Some(to)) => to,
                Err(e) if out.is_empty() => return Err(e),
                Err(_) => {
                    full = true;
                    break;
                }
            };
            off = out.last().map_or(off, |r| r.offset + 1).max(scanned_to);
            if off >= upto {
                break;
            }
            // The segment may have grown while it was read (it was the active one): read
            // the rest before moving on, or those offsets would be skipped. A segment's
            // final size is visible once the next segment is.
            let next = self.segment_after(seg.base_offset);
            if seg.next_offset() > off && last_off != Some(off) {
                last_off = Some(off);
                continue;
            }
            match next {
                Some(next) => {
                    off = off.max(next.base_offset);
                    seg = next;
                }
                None => break,
            }
        }
        let next_offset = if full {
            out.last().map_or(from_offset, |r| r.offset + 1)
        } else {
            off.min(upto)
                .max(out.last().map_or(from_offset, |r| r.offset + 1))
        };
        Ok(ReadBatch {
            records: out,
            next_offset,
        })
    }

    /// The last stable offset: the first offset of the oldest transaction still open on
    /// this partition, or the end offset when none is. `read_committed` readers read up
    /// to it.
    ///
    /// On a read-only log the transactions are those of the batches read so far: a batch
    /// of a transaction opens it, its marker ends it (see [`Partition::refresh`] for what
    /// is read). If that scan fails (a corrupt batch), the offset stays where the scan
    /// stopped; reads report the error.
    pub fn last_stable_offset(&self) -> u64 {
        let mut t = lock(&self.txns);
        let end = self.end_offset();
        if self.follow_txns(&mut t, end).is_err() {
            return t.last_stable_offset(end).min(t.scanned());
        }
        t.last_stable_offset(end)
    }

    /// On a read-only log: accounts the batches in `[scanned, end)` for the transactions
    /// of the writer process (open ones bound the last stable offset, aborted ones are
    /// skipped by `read_committed` readers). Does nothing on the writer's log, which
    /// learns them from its own appends and markers.
    fn follow_txns(&self, t: &mut PartitionTxns, end: u64) -> Result<()> {
        if !self.is_read_only() {
            return Ok(());
        }
        let from = t.scanned().max(self.start_offset());
        if from >= end {
            return Ok(());
        }
        for seg in self.segment_list() {
            if seg.next_offset() <= from {
                continue;
            }
            if seg.base_offset >= end {
                break;
            }
            seg.for_each_batch_between(from, end, |b| {
                let h = &b.header;
                let marker = if h.is_control() {
                    let mut control = None;
                    batch::decode_records(&b.bytes, h, h.base_offset, |r, _| {
                        control = batch::parse_control(&r);
                        false
                    })
                    .map_err(|reason| LogError::corrupt(&seg.path, b.position, reason))?;
                    match control {
                        Some((kind, first)) => Some((kind == ControlKind::Abort, first)),
                        // Not a marker Brook writes: account it as nothing.
                        None => return Ok(()),
                    }
                } else {
                    None
                };
                t.on_follower_batch(h.producer_id, h.base_offset, h.is_transactional(), marker);
                Ok(())
            })?;
        }
        // The segments hold every batch below the end offset (a refresh publishes them
        // before it moves the end).
        t.set_scanned(end);
        Ok(())
    }

    /// The end offset for a reader at `isolation`: the last stable offset for
    /// `ReadCommitted`, the end offset otherwise.
    pub fn end_offset_for(&self, isolation: IsolationLevel) -> u64 {
        match isolation {
            IsolationLevel::ReadUncommitted => self.end_offset(),
            IsolationLevel::ReadCommitted => self.last_stable_offset(),
        }
    }

    /// What waiters wait for: one past the last data record that is stable (below the last
    /// stable offset). Markers alone do not move it, so a reader whose position is past
    /// the last data record sleeps until new data is committed.
    pub fn visible_end(&self) -> u64 {
        let lso = self.last_stable_offset();
        self.data_end.load(Ordering::Acquire).min(lso)
    }

    /// Whether a batch of `producer_id` at `offset` belongs to an aborted transaction.
    pub(crate) fn is_aborted(&self, producer_id: i64, offset: u64) -> bool {
        lock(&self.txns).is_aborted(producer_id, offset)
    }

    /// Appends `records` for a producer (idempotent, or in its open transaction): one
    /// batch with the producer's id, epoch and sequence numbers. A retry of an append that
    /// was written (same base sequence and count) writes nothing and returns where it went.
    pub(crate) fn append_producer<R: AsRecord>(
        &self,
        records: &[R],
        stamp: ProducerStamp,
    ) -> Result<AppendInfo> {
        let mut w = self.writer("append to")?;
        let count = records.len() as i32;
        match lock(&self.txns).check_sequence(
            stamp.producer_id,
            stamp.epoch,
            stamp.base_sequence,
            count,
        ) {
            SequenceCheck::Append => {}
            SequenceCheck::Duplicate(info) => return Ok(info),
            SequenceCheck::Fenced { current } => {
                return Err(LogError::ProducerFenced {
                    producer: format!("producer id {}", stamp.producer_id),
                    epoch: stamp.epoch,
                    current,
                })
            }
            SequenceCheck::OutOfOrder { expected } => {
                return Err(LogError::OutOfOrderSequence {
                    topic: self.topic.clone(),
                    partition: self.id,
                    producer_id: stamp.producer_id,
                    expected,
                    got: stamp.base_sequence,
                })
            }
        }
        let st = self.stage(&mut w, records, None, Some(stamp))?;
        self.write_staged(&mut w, &st)?;
        let synced = self.sync_staged(&mut w, &st)?;
        let info = AppendInfo {
            base_offset: st.base,
            last_offset: st.last,
        };
        // Open before visible: a read_committed reader that sees the new end also sees
        // the transaction that bounds it.
        lock(&self.txns).on_append(
            stamp.producer_id,
            stamp.epoch,
            stamp.base_sequence,
            count,
            info,
            stamp.transactional,
        );
        let end = self.commit_staged(&mut w, &st, synced);
        drop(w);
        self.notify(end);
        Ok(info)
    }

    /// Ends `producer_id`'s transaction on this partition with a commit or abort marker
    /// (fsynced). `first_hint` is where the transaction started here when the partition
    /// does not know (after a restart). An abort is first recorded in the
    /// aborted-transaction index. Returns the marker's offset.
    pub(crate) fn write_marker(
        &self,
        producer_id: i64,
        epoch: i16,
        kind: ControlKind,
        first_hint: Option<u64>,
    ) -> Result<u64> {
        let mut w = self.writer("write a transaction marker to")?;
        if let Some(why) = &w.poisoned {
            return Err(self.invalid(
                None,
                format!("partition refuses appends until the log is reopened: {why}"),
            ));
        }
        let at = self.end_offset();
        let first = lock(&self.txns)
            .open_first(producer_id)
            .or(first_hint)
            .unwrap_or(at)
            .min(at);
        let aborted = (kind == ControlKind::Abort).then_some(AbortedTxn {
            producer_id,
            first,
            last: at,
        });
        let index_before = match aborted {
            Some(a) => lock(&self.txns).persist_abort(a).map_err(|e| {
                self.io_err("writing the aborted-transaction index of", &self.dir, e)
            })?,
            None => None,
        };
        let written = (|| {
            w.buf.clear();
            w.metas.clear();
            let ts = crate::log::now_ms();
            batch::encode_control(&mut w.buf, at, producer_id, epoch, kind, first, ts);
            let total = w.buf.len();
            self.maybe_roll(&mut w, at, at, total)?;
            w.metas.push(BatchMeta {
                start: 0,
                len: total,
                base_offset: at,
                last_offset: at,
                max_timestamp: ts,
            });
            let st = Staged {
                base: at,
                last: at,
                total,
                count: 1,
                active: w.active.clone(),
            };
            self.write_staged(&mut w, &st)?;
            if let Err(e) = st.active.sync() {
                self.undo(&mut w, &st.active, "fsync failed");
                return Err(self.io_err("fsyncing", &st.active.path, e));
            }
            Ok(st)
        })();
        let st = match written {
            Ok(st) => st,
            Err(e) => {
                // No marker at `at`: later records go there, and must not read as aborted.
                if let Err(undo) = lock(&self.txns).unpersist_abort(index_before) {
                    w.poisoned = Some(format!(
                        "an abort marker failed ({e}) and its index entry could not be taken \
                         back ({undo})"
                    ));
                }
                return Err(e);
            }
        };
        // A marker is not data: the data end stays where it was.
        let data_end = self.data_end.load(Ordering::Acquire);
        {
            let mut t = lock(&self.txns);
            t.bump_epoch(producer_id, epoch);
            self.commit_staged(&mut w, &st, true);
            t.on_marker(producer_id, aborted);
        }
        self.data_end.store(data_end, Ordering::Release);
        drop(w);
        self.notify(at + 1);
        Ok(at)
    }

    /// Fsyncs what the writer has appended (before a transaction commits).
    pub(crate) fn sync_for_commit(&self) -> Result<()> {
        self.flush()
    }

    fn out_of_range(&self, offset: u64) -> LogError {
        LogError::OffsetOutOfRange {
            topic: self.topic.clone(),
            partition: self.id,
            offset,
            start: self.start_offset(),
            end: self.end_offset(),
        }
    }

    fn segment_for(&self, offset: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segs.range(..=offset).next_back().map(|(_, s)| s.clone())
    }

    fn segment_after(&self, base: u64) -> Option<Arc<Segment>> {
        let segs = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segs.range(base + 1..).next().map(|(_, s)| s.clone())
    }

    /// All segments, oldest first; the last one is the active segment.
    pub(crate) fn segment_list(&self) -> Vec<Arc<Segment>> {
        let segs = self.segments.read().unwrap_or_else(|e| e.into_inner());
        segs.values().cloned().collect()
    }

    /// Removes closed segments from the partition and moves the start offset forward.
    pub(crate) fn remove_segments(&self, bases: &[u64]) {
        let mut segs = self.segments.write().unwrap_or_else(|e| e.into_inner());
        for b in bases {
            if segs.len() > 1 {
                segs.remove(b);
            }
        }
        if let Some((&first, _)) = segs.iter().next() {
            self.start_offset.fetch_max(first, Ordering::AcqRel);
        }
    }

    /// Replaces a closed segment by a rewritten one with the same base offset.
    pub(crate) fn replace_segment(&self, seg: Arc<Segment>) {
        let mut segs = self.segments.write().unwrap_or_else(|e| e.into_inner());
        segs.insert(seg.base_offset, seg);
    }

    /// Serializes retention and compaction on this partition.
    pub(crate) fn maintenance_lock(&self) -> MutexGuard<'_, ()> {
        lock(&self.maintenance)
    }

    pub(crate) fn config(&self) -> &TopicConfig {
        &self.config
    }

    /// The offset of the first record whose timestamp is `>= timestamp` (Kafka's
    /// `offsetsForTimes`), found through the time index; `None` if there is none.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<u64>> {
        let start = self.start_offset();
        for seg in self.segment_list() {
            if seg.max_timestamp() < timestamp {
                continue;
            }
            if let Some(o) = seg.find_timestamp(timestamp, start)? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Waits (async) until the record at `offset` exists, i.e. `end_offset() > offset`,
    /// and returns the new end offset. A tailing reader at position `pos` (the next offset
    /// it wants) calls `wait_for_append(pos).await`. Returns at once if it exists; fails
    /// with [`LogError::TopicDeleted`] if the topic is deleted while waiting. Needs no
    /// particular async runtime.
    pub async fn wait_for_append(&self, offset: u64) -> Result<u64> {
        let mut rx = self.tx.subscribe();
        let deleted = &self.deleted;
        let woke = rx
            .wait_for(|&end| end > offset || deleted.load(Ordering::Acquire))
            .await
            .map(|v| *v);
        if self.deleted.load(Ordering::Acquire) {
            return Err(LogError::TopicDeleted(self.topic.clone()));
        }
        Ok(woke.unwrap_or_else(|_| self.end_offset()))
    }

    /// Blocking form of [`Partition::wait_for_append`]: waits at most `timeout`; returns
    /// the end offset, which is `> offset` unless the wait timed out. On a read-only log
    /// this is [`Partition::wait_for_append_polling`] with
    /// [`crate::DEFAULT_POLL_INTERVAL`] (100 ms).
    pub fn wait_for_append_timeout(&self, offset: u64, timeout: Duration) -> Result<u64> {
        if self.is_read_only() {
            return self.wait_for_append_polling(offset, crate::DEFAULT_POLL_INTERVAL, timeout);
        }
        let deadline = Instant::now() + timeout;
        let mut g = lock(&self.wait_lock);
        loop {
            if self.deleted.load(Ordering::Acquire) {
                return Err(LogError::TopicDeleted(self.topic.clone()));
            }
            let end = self.visible_end();
            let now = Instant::now();
            if end > offset || now >= deadline {
                return Ok(end);
            }
            g = self
                .wait_cv
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits (blocking) at most `timeout` until the record at `offset` exists, calling
    /// [`Partition::refresh`] every `poll_interval` (on a read-only log; on the writer's
    /// log appends wake it at once). Returns the end offset, which is `> offset` unless
    /// the wait timed out; [`LogError::TopicDeleted`] if the topic is deleted. A refresh
    /// by another thread (or the background refresher) wakes it early.
    ///
    /// A tailing consumer of a read-only log: `read(pos, ..)` until it returns nothing,
    /// then `wait_for_append_polling(pos, 100ms, timeout)`, and read again.
    pub fn wait_for_append_polling(
        &self,
        offset: u64,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Result<u64> {
        let deadline = Instant::now().checked_add(timeout);
        let poll = poll_interval.max(Duration::from_millis(1));
        loop {
            let end = self.refresh()?;
            if self.deleted.load(Ordering::Acquire) {
                return Err(LogError::TopicDeleted(self.topic.clone()));
            }
            let now = Instant::now();
            let left = deadline.map_or(poll, |d| d.saturating_duration_since(now));
            if end > offset || left.is_zero() {
                return Ok(end);
            }
            let g = lock(&self.wait_lock);
            if self.end_offset() > offset || self.deleted.load(Ordering::Acquire) {
                continue;
            }
            drop(
                self.wait_cv
                    .wait_timeout(g, poll.min(left))
                    .unwrap_or_else(|e| e.into_inner()),
            );
        }
    }

    /// True when someone waits asynchronously ([`Partition::wait_for_append`]) or holds a
    /// [`Partition::subscribe`] receiver: the background refresher of a read-only log
    /// refreshes only such partitions.
    pub(crate) fn has_async_waiters(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// A watch channel of the end offset, updated after every append.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.tx.subscribe()
    }

    /// Marks the active segment closed cleanly (see [`crate::segment::Segment::mark_clean`])
    /// when the log closes; best effort, a writer only, not after a failed append.
    pub(crate) fn mark_clean(&self) {
        let Mode::Writer(w) = &self.mode else {
            return;
        };
        let w = lock(w);
        if w.poisoned.is_none() && !self.deleted.load(Ordering::Acquire) {
            let _ = w.active.mark_clean();
        }
    }

    /// Fsyncs everything appended so far. A no-op on a read-only log (nothing to flush).
    pub fn flush(&self) -> Result<()> {
        let Mode::Writer(w) = &self.mode else {
            return Ok(());
        };
        let mut w = lock(w);
        self.flush_locked(&mut w)
    }

    fn flush_locked(&self, w: &mut Writer) -> Result<()> {
        for seg in std::mem::take(&mut w.unsynced_closed) {
            seg.sync()
                .map_err(|e| self.io_err("fsyncing", &seg.path, e))?;
        }
        if w.unflushed > 0 {
            w.active
                .sync()
                .map_err(|e| self.io_err("fsyncing", &w.active.path, e))?;
            w.unflushed = 0;
            w.unflushed_since = None;
        }
        Ok(())
    }

    /// Fsyncs if `flush.ms` has passed since the oldest unflushed append (background
    /// flusher). Does not wait for a busy writer.
    pub(crate) fn flush_if_due(&self) -> Result<()> {
        let Mode::Writer(w) = &self.mode else {
            return Ok(());
        };
        let Ok(mut w) = w.try_lock() else {
            return Ok(());
        };
        let Some(ms) = self.config.flush_ms else {
            return Ok(());
        };
        if w.unflushed_since
            .is_some_and(|t| t.elapsed() >= Duration::from_millis(ms))
        {
            self.flush_locked(&mut w)?;
        }
        Ok(())
    }

    /// Total size of the partition's segment files in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.segment_list().iter().map(|s| s.size()).sum()
    }

    /// The segments, oldest first (the last one is active).
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.segment_list()
            .iter()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset,
                next_offset: s.next_offset(),
                size_bytes: s.size(),
                max_timestamp: s.max_timestamp(),
                path: s.path.clone(),
            })
            .collect()
    }
}

/// The segment files of a partition directory as (base offset, inode), oldest first.
/// Everything else (indexes, leftovers, temporary files) is ignored.
fn list_segments(dir: &Path) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name
            .to_str()
            .and_then(|n| n.strip_suffix(segment::LOG_SUFFIX))
        else {
            continue;
        };
        if let Some(base) = parse_base(stem) {
            out.push((base, entry.ino()));
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn parse_base(stem: &str) -> Option<u64> {
    if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}
