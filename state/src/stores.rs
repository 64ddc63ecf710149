//! stores.rs owns `StateStores`: the RocksDB database of a data directory, the bookkeeping
//! column family, opening (and restoring) stores from their changelog topics, and dropping
//! them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use brook_log::{
    CleanupPolicy, IsolationLevel, Log, LogError, Partition, Producer, ReadLimit, StoredRecord,
    Topic, TopicConfig,
};
use rocksdb::{
    BoundColumnFamily, ColumnFamilyDescriptor, IteratorMode, Options, WriteBatch, WriteOptions,
};

use crate::changelog::{self, Entry};
use crate::error::{Result, StateError};
use crate::store::{prefix_successor, Store};

/// The RocksDB handle type: column families are created and dropped through `&self`.
pub(crate) type Db = rocksdb::DBWithThreadMode<rocksdb::MultiThreaded>;

/// A store's meta entries.
type MetaMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// Name of the column family holding brook-state's bookkeeping: per store, the changelog
/// topic and the offset applied, and the meta entries.
pub const META_COLUMN_FAMILY: &str = "__brook_meta";

/// The on-disk format this build reads and writes (key `brook.state.format` in the
/// `default` column family).
pub const STATE_FORMAT: &str = "1";
const FORMAT_KEY: &[u8] = b"brook.state.format";

/// Restore reads the changelog in chunks of this many bytes...
const READ_CHUNK_BYTES: usize = 4 << 20;
/// ...and writes RocksDB batches of about this size.
const RESTORE_BATCH_BYTES: usize = 4 << 20;

/// Options of [`StateStores::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateOptions {
    /// Config of the changelog topics that [`StateStores::store`] creates. Whatever is set
    /// here, a changelog has 1 partition and `cleanup.policy=compact`. Default:
    /// [`changelog::default_changelog_config`] (`flush.messages=1`, 64 MiB segments).
    pub changelog_config: TopicConfig,
    /// Restore reads the changelog twice (once to find the last commit marker, once to
    /// apply); up to this many bytes of records are kept in memory between the two passes
    /// so that the second one need not read them again. Default 32 MiB.
    pub restore_memory_bytes: usize,
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions {
            changelog_config: changelog::default_changelog_config(),
            restore_memory_bytes: 32 << 20,
        }
    }
}

/// What opening a store restored from its changelog ([`Store::restore_info`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreInfo {
    /// The column family did not exist (a new store, or the RocksDB files were lost): the
    /// store was rebuilt from the start of its changelog.
    pub rebuilt: bool,
    /// Changelog offset the restore started at (what RocksDB had applied).
    pub from_offset: u64,
    /// Changelog offset after the restore (and after undoing an incomplete commit).
    pub to_offset: u64,
    /// Data records (puts and tombstones) applied to RocksDB.
    pub records_applied: u64,
    /// Commit markers read (compaction removes older markers, so after compaction this
    /// counts fewer commits than were made).
    pub commits_applied: u64,
    /// Records of an incomplete commit at the end of the changelog (the process died while
    /// appending it) that were not applied; compensating records restoring the committed
    /// values of their keys were appended after them.
    pub aborted_records: u64,
}

/// One store known to the state directory ([`StateStores::stores`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// The store's name.
    pub name: String,
    /// Its changelog topic.
    pub changelog_topic: String,
    /// Changelog offset applied to RocksDB.
    pub changelog_offset: u64,
    /// True while a [`Store`] handle to it is alive.
    pub open: bool,
}

/// All state of one data directory: one RocksDB database at `dir` (e.g.
/// `<data-dir>/state`), one column family per store, each store backed by a compacted
/// changelog topic in the [`Log`].
///
/// `Send + Sync` and cheap to clone (an `Arc` inside). The database is closed when the
/// `StateStores` and every [`Store`] opened from it are dropped; until then another
/// `StateStores::open` of the same directory fails ([`StateError::Open`], RocksDB's lock).
///
/// A store has **one handle at a time**: opening a name that is already open is
/// [`StateError::StoreInUse`]; dropping the [`Store`] releases the name.
#[derive(Clone)]
pub struct StateStores {
    shared: Arc<Shared>,
    /// Set on a [`StateStores::transactional`] view: stores opened from it commit into
    /// the producer's transaction.
    txn: Option<Arc<TxnContext>>,
}

/// The transaction the stores of one exactly-once query commit into, and the RocksDB
/// writes of their commits, held back until the transaction has committed.
pub(crate) struct TxnContext {
    pub(crate) producer: Arc<Producer>,
    pub(crate) prepared: Mutex<Vec<Prepared>>,
}

/// A store commit whose changelog records are in the open transaction: its RocksDB write.
pub(crate) struct Prepared {
    pub(crate) store: String,
    pub(crate) changelog: String,
    pub(crate) writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub(crate) meta: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) position: u64,
}

impl std::fmt::Debug for StateStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStores")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) db: Db,
    log: Arc<Log>,
    pub(crate) dir: PathBuf,
    options: StateOptions,
    /// Names of stores with a live handle.
    open: Mutex<HashSet<String>>,
    /// Serialises opening and dropping stores.
    admin: Mutex<()>,
    /// Names the files large commits are ingested from.
    pub(crate) ingest_files: crate::ingest::IngestFiles,
}

impl Shared {
    pub(crate) fn release(&self, name: &str) {
        lock(&self.open).remove(name);
    }

    pub(crate) fn meta_cf(&self) -> Result<Arc<BoundColumnFamily<'_>>> {
        self.db
            .cf_handle(META_COLUMN_FAMILY)
            .ok_or_else(|| StateError::CorruptState {
                store: String::new(),
                reason: format!("the column family {META_COLUMN_FAMILY} is missing"),
            })
    }

    /// Writes a batch, without RocksDB's write-ahead log: the changelog is the recovery
    /// source (fsynced before), so a RocksDB write lost in a crash (process or machine) is
    /// replayed from it on the next open. The batch carries the store's changelog position,
    /// and column families are flushed atomically (see [`db_options`]), so what RocksDB
    /// keeps after a crash is always a prefix of the commits, with the position that says
    /// where replay starts. The WAL was a second copy of every state write (a third with
    /// the changelog).
    pub(crate) fn write(&self, batch: WriteBatch) -> std::result::Result<(), rocksdb::Error> {
        let mut opts = WriteOptions::default();
        opts.set_sync(false);
        opts.disable_wal(true);
        self.db.write_opt(batch, &opts)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl StateStores {
    /// Opens (creating if needed) the state directory `dir` with default options.
    pub fn open(dir: &Path, log: Arc<Log>) -> Result<StateStores> {
        StateStores::open_with(dir, log, StateOptions::default())
    }

    /// Opens (creating if needed) the state directory `dir`. A damaged or foreign database
    /// is [`StateError::Open`], never a panic; moving the directory away and opening again
    /// restores every store from its changelog.
    pub fn open_with(dir: &Path, log: Arc<Log>, options: StateOptions) -> Result<StateStores> {
        let mut options = options;
        options.changelog_config.partitions = 1;
        if !options.changelog_config.cleanup_policy.compacts() {
            options.changelog_config.cleanup_policy = CleanupPolicy::Compact;
        }
        std::fs::create_dir_all(dir).map_err(|e| StateError::Io {
            context: "creating the state directory".to_string(),
            path: dir.to_path_buf(),
            source: e,
        })?;
        let open_err = |e: rocksdb::Error| StateError::Open {
            dir: dir.to_path_buf(),
            reason: e.into_string(),
        };
        let db_opts = db_options();
        let mut names: Vec<String> = if dir.join("CURRENT").exists() {
            Db::list_cf(&db_opts, dir).map_err(open_err)?
        } else {
            Vec::new()
        };
        for required in ["default", META_COLUMN_FAMILY] {
            if !names.iter().any(|n| n == required) {
                names.push(required.to_string());
            }
        }
        let descriptors = names
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(n, cf_options()));
        let db = Db::open_cf_descriptors(&db_opts, dir, descriptors).map_err(open_err)?;
        crate::ingest::remove_leftovers(dir)?;
        match db.get(FORMAT_KEY).map_err(open_err)? {
            None => db.put(FORMAT_KEY, STATE_FORMAT).map_err(open_err)?,
            Some(f) if f == STATE_FORMAT.as_bytes() => {}
            Some(f) => {
                return Err(StateError::UnsupportedFormat {
                    dir: dir.to_path_buf(),
                    found: String::from_utf8_lossy(&f).into_owned(),
                    expected: STATE_FORMAT.to_string(),
                })
            }
        }
        Ok(StateStores {
            txn: None,
            shared: Arc::new(Shared {
                db,
                log,
                dir: dir.to_path_buf(),
                options,
                open: Mutex::new(HashSet::new()),
                admin: Mutex::new(()),
                ingest_files: Default::default(),
            }),
        })
    }

    /// A view whose stores commit into `producer`'s transaction (exactly-once queries):
    /// [`Store::commit`] appends the changelog records and the commit marker in the open
    /// transaction and holds the RocksDB write back until
    /// [`StateStores::complete_transaction`] is called after the transaction committed.
    /// A crash in between leaves RocksDB behind the changelog, and the next open replays
    /// the committed records; an aborted transaction's records are never replayed (restore
    /// reads `read_committed`).
    pub fn transactional(&self, producer: Arc<Producer>) -> StateStores {
        StateStores {
            shared: self.shared.clone(),
            txn: Some(Arc::new(TxnContext {
                producer,
                prepared: Mutex::new(Vec::new()),
            })),
        }
    }

    /// Writes to RocksDB the commits of the stores of this view whose transaction has
    /// committed (call it right after the producer's commit). Does nothing on a view
    /// without a transaction.
    pub fn complete_transaction(&self) -> Result<()> {
        let Some(txn) = &self.txn else {
            return Ok(());
        };
        let prepared = std::mem::take(&mut *lock(&txn.prepared));
        for p in prepared {
            crate::store::write_rocksdb(
                &self.shared,
                &p.store,
                &p.changelog,
                &p.writes,
                &p.meta,
                p.position,
            )?;
        }
        Ok(())
    }

    /// Forgets the RocksDB writes of an aborted transaction (the stores of this view must
    /// be reopened: their handles hold state the changelog does not).
    pub fn discard_transaction(&self) {
        if let Some(txn) = &self.txn {
            lock(&txn.prepared).clear();
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The log that holds the changelog topics.
    pub fn log(&self) -> &Arc<Log> {
        &self.shared.log
    }

    /// Opens (creating if needed) the store `name`, whose changelog is the compacted topic
    /// `changelog_topic` (created with 1 partition and `cleanup.policy=compact` if missing;
    /// an existing topic must have 1 partition and compact).
    ///
    /// If RocksDB is behind the changelog (a crash after a changelog append, or the RocksDB
    /// files were lost), the changelog records after the offset recorded in RocksDB are
    /// replayed before this returns, commit by commit; records of an incomplete last commit
    /// are not applied (see [`RestoreInfo::aborted_records`]). Replaying is idempotent.
    ///
    /// Errors: [`StateError::StoreInUse`] if a handle to `name` is alive,
    /// [`StateError::ChangelogMismatch`] if the store was created with another changelog
    /// topic, [`StateError::ChangelogBehind`] / [`StateError::ChangelogTruncated`] if the
    /// changelog cannot bring RocksDB up to date.
    pub fn store(&self, name: &str, changelog_topic: &str) -> Result<Store> {
        validate_store_name(name)?;
        let _admin = lock(&self.shared.admin);
        if !lock(&self.shared.open).insert(name.to_string()) {
            return Err(StateError::StoreInUse(name.to_string()));
        }
        let opened = self.open_store(name, changelog_topic);
        if opened.is_err() {
            self.shared.release(name);
        }
        opened
    }

    fn open_store(&self, name: &str, topic_name: &str) -> Result<Store> {
        let sh = &self.shared;
        let topic = self.changelog_topic(name, topic_name)?;
        let mut recorded = self.read_position(name)?;
        if let Some((_, t)) = &recorded {
            if t != topic_name {
                return Err(StateError::ChangelogMismatch {
                    store: name.to_string(),
                    recorded: t.clone(),
                    requested: topic_name.to_string(),
                });
            }
        }
        let rebuilt = sh.db.cf_handle(name).is_none();
        if rebuilt {
            // The column family is gone (RocksDB files lost, or a drop interrupted after it
            // dropped the column family): its bookkeeping is stale too.
            self.clear_bookkeeping(name)?;
            recorded = None;
            sh.db
                .create_cf(name, &cf_options())
                .map_err(|e| rocks(name, "create the column family", e))?;
        }
        let partition = topic
            .partition(0)
            .map_err(|e| log_err(name, topic_name, "read", e))?
            .clone();
        let (start, end) = (partition.start_offset(), partition.end_offset());
        let from = match &recorded {
            Some((pos, _)) if *pos > end => {
                return Err(StateError::ChangelogBehind {
                    store: name.to_string(),
                    topic: topic_name.to_string(),
                    recorded: *pos,
                    end,
                })
            }
            Some((pos, _)) if *pos < start => {
                return Err(StateError::ChangelogTruncated {
                    store: name.to_string(),
                    topic: topic_name.to_string(),
                    recorded: *pos,
                    start,
                })
            }
            Some((pos, _)) => *pos,
            None => start,
        };
        let mut info = self.restore(name, &topic, &partition, from, end)?;
        info.rebuilt = rebuilt;
        if recorded.map(|(p, _)| p) != Some(info.to_offset) {
            let mut batch = WriteBatch::default();
            batch.put_cf(
                &sh.meta_cf()?,
                position_key(name),
                encode_position(info.to_offset, topic_name),
            );
            sh.write(batch)
                .map_err(|e| rocks(name, "record the changelog offset", e))?;
        }
        let meta = self.read_user_meta(name)?;
        Ok(Store {
            txn: self.txn.clone(),
            shared: sh.clone(),
            name: name.to_string(),
            changelog: topic,
            position: info.to_offset,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            meta,
            failed: None,
            restore: info,
        })
    }

    /// Drops the store `name`: its column family, its bookkeeping (changelog offset, meta
    /// entries) and, if `delete_changelog`, its changelog topic (the one recorded when the
    /// store was opened; for `DROP ... DELETE TOPIC` / `TERMINATE`). Dropping a store that
    /// does not exist does nothing. [`StateError::StoreInUse`] while a handle is alive.
    ///
    /// The steps run in an order that a crash cannot make harmful: the changelog is deleted
    /// first, then the column family, then the bookkeeping; a store opened after an
    /// interrupted drop is restored from whatever changelog is left, or refuses with
    /// [`StateError::ChangelogBehind`] until the drop is repeated.
    pub fn drop_store(&self, name: &str, delete_changelog: bool) -> Result<()> {
        validate_store_name(name)?;
        let sh = &self.shared;
        let _admin = lock(&sh.admin);
        if lock(&sh.open).contains(name) {
            return Err(StateError::StoreInUse(name.to_string()));
        }
        if delete_changelog {
            if let Some((_, topic)) = self.read_position(name)? {
                match sh.log.delete_topic(&topic) {
                    Ok(()) | Err(LogError::TopicNotFound(_)) => {}
                    Err(e) => return Err(log_err(name, &topic, "delete", e)),
                }
            }
        }
        if sh.db.cf_handle(name).is_some() {
            sh.db
                .drop_cf(name)
                .map_err(|e| rocks(name, "drop the column family", e))?;
        }
        self.clear_bookkeeping(name)
    }

    /// The stores of this directory (every store opened and not dropped), by name.
    pub fn stores(&self) -> Result<Vec<StoreInfo>> {
        let sh = &self.shared;
        let meta_cf = sh.meta_cf()?;
        let open = lock(&sh.open).clone();
        let mut out = Vec::new();
        for item in sh.db.iterator_cf(&meta_cf, IteratorMode::Start) {
            let (k, v) = item.map_err(|e| rocks("", "list stores", e))?;
            let Some(name) = k.strip_suffix(b"\0c") else {
                continue;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                continue;
            };
            if name.contains('\0') {
                continue;
            }
            let (offset, topic) = decode_position(name, &v)?;
            out.push(StoreInfo {
                name: name.to_string(),
                changelog_topic: topic,
                changelog_offset: offset,
                open: open.contains(name),
            });
        }
        Ok(out)
    }

    /// The changelog topic of store `name`, created if missing, checked if it exists.
    fn changelog_topic(&self, store: &str, topic: &str) -> Result<Arc<Topic>> {
        let config = self.shared.options.changelog_config.clone();
        let t = self
            .shared
            .log
            .topic_or_create(topic, config)
            .map_err(|e| log_err(store, topic, "open or create", e))?;
        let invalid = |reason: String| StateError::ChangelogInvalid {
            store: store.to_string(),
            topic: topic.to_string(),
            reason,
        };
        if t.partition_count() != 1 {
            return Err(invalid(format!(
                "it has {} partitions; a changelog has exactly 1",
                t.partition_count()
            )));
        }
        if !t.config().cleanup_policy.compacts() {
            return Err(invalid(format!(
                "its cleanup.policy is {}; a changelog must be compacted (cleanup.policy=compact)",
                t.config().cleanup_policy.as_str()
            )));
        }
        Ok(t)
    }

    /// Brings the column family `name` up to date with the changelog, from offset `from`
    /// (what RocksDB applied) to `end`:
    ///
    /// 1. reads `[from, end)` to find the last commit marker (keeping the records in memory
    ///    when they are not too many);
    /// 2. applies the data records up to that marker to RocksDB in batches, the last batch
    ///    with the marker's meta map and the new offset (a crash in between replays from
    ///    `from` again: the records are applied in order, so replaying is idempotent);
    /// 3. records after the last marker are an incomplete commit (the process died while
    ///    appending it): they are not applied, and records putting back the committed value
    ///    of each of their keys are appended, with a marker, so that no later replay (from
    ///    any offset, before or after compaction) applies them.
    fn restore(
        &self,
        name: &str,
        topic: &Topic,
        p: &Partition,
        from: u64,
        end: u64,
    ) -> Result<RestoreInfo> {
        let sh = &self.shared;
        let mut info = RestoreInfo {
            from_offset: from,
            to_offset: from,
            ..RestoreInfo::default()
        };
        if from >= end {
            return Ok(info);
        }
        let tname = topic.name();
        // Pass 1: find the last marker.
        let mut kept: Option<Vec<StoredRecord>> = Some(Vec::new());
        let mut kept_bytes = 0usize;
        let mut last_marker: Option<(u64, MetaMap)> = None;
        scan(p, from, end, |r| {
            match changelog::parse(r).map_err(|reason| corrupt(name, tname, r.offset, reason))? {
                Entry::Marker(meta) => last_marker = Some((r.offset, meta)),
                Entry::Data(..) => {}
            }
            if let Some(v) = &mut kept {
                kept_bytes += record_size(r);
                if kept_bytes > sh.options.restore_memory_bytes {
                    kept = None;
                } else {
                    v.push(r.clone());
                }
            }
            Ok(())
        })
        .map_err(|e| e.into_state(name, tname))?;

        let cf = sh
            .db
            .cf_handle(name)
            .ok_or_else(|| StateError::StoreDropped(name.to_string()))?;
        let meta_cf = sh.meta_cf()?;
        let apply_end = last_marker.as_ref().map_or(from, |(o, _)| o + 1);

        // Pass 2: apply complete commits.
        if let Some((_, meta)) = &last_marker {
            let mut batch = WriteBatch::default();
            let mut apply = |r: &StoredRecord| -> Result<()> {
                match changelog::parse(r)
                    .map_err(|reason| corrupt(name, tname, r.offset, reason))?
                {
                    Entry::Data(k, Some(v)) => batch.put_cf(&cf, k, v),
                    Entry::Data(k, None) => batch.delete_cf(&cf, k),
                    Entry::Marker(_) => {
                        info.commits_applied += 1;
                        return Ok(());
                    }
                }
                info.records_applied += 1;
                if batch.size_in_bytes() >= RESTORE_BATCH_BYTES {
                    sh.write(std::mem::take(&mut batch))
                        .map_err(|e| rocks(name, "write restored records", e))?;
                }
                Ok(())
            };
            match &kept {
                Some(records) => records
                    .iter()
                    .take_while(|r| r.offset < apply_end)
                    .try_for_each(&mut apply)?,
                None => scan(p, from, apply_end, |r| apply(r).map_err(ScanError::State))
                    .map_err(|e| e.into_state(name, tname))?,
            }
            for (k, v) in meta {
                batch.put_cf(&meta_cf, user_meta_key(name, k), v);
            }
            batch.put_cf(
                &meta_cf,
                position_key(name),
                encode_position(apply_end, tname),
            );
            sh.write(batch)
                .map_err(|e| rocks(name, "write restored records", e))?;
            info.to_offset = apply_end;
        }

        // Records after the last marker: an incomplete commit.
        let mut orphan_keys = BTreeSet::new();
        let mut orphans = 0u64;
        let mut collect = |r: &StoredRecord| {
            if let Some(k) = &r.key {
                orphan_keys.insert(k.to_vec());
            }
            orphans += 1;
        };
        match &kept {
            Some(records) => records
                .iter()
                .skip_while(|r| r.offset < apply_end)
                .for_each(&mut collect),
            None => scan(p, apply_end, end, |r| {
                collect(r);
                Ok(())
            })
            .map_err(|e| e.into_state(name, tname))?,
        }
        if orphans > 0 {
            let meta = match last_marker {
                Some((_, meta)) => meta,
                None => self.read_user_meta(name)?,
            };
            let ts = changelog::now_ms();
            let mut records = Vec::with_capacity(orphan_keys.len() + 1);
            for k in &orphan_keys {
                let v = sh
                    .db
                    .get_cf(&cf, k)
                    .map_err(|e| rocks(name, "read a key", e))?;
                records.push(changelog::data_record(k, v.as_deref(), ts));
            }
            records.push(changelog::marker_record(&meta, ts));
            let appended = topic
                .append(0, &records)
                .map_err(|e| log_err(name, tname, "append compensating records to", e))?;
            if topic.config().flush_messages != Some(1) {
                topic
                    .flush()
                    .map_err(|e| log_err(name, tname, "fsync", e))?;
            }
            info.to_offset = appended.last_offset + 1;
            info.aborted_records = orphans;
            let mut batch = WriteBatch::default();
            batch.put_cf(
                &meta_cf,
                position_key(name),
                encode_position(info.to_offset, tname),
            );
            sh.write(batch)
                .map_err(|e| rocks(name, "record the changelog offset", e))?;
        }
        Ok(info)
    }

    /// `(offset applied, changelog topic)` recorded for store `name`.
    fn read_position(&self, name: &str) -> Result<Option<(u64, String)>> {
        let sh = &self.shared;
        let v = sh
            .db
            .get_cf(&sh.meta_cf()?, position_key(name))
            .map_err(|e| rocks(name, "read the changelog offset", e))?;
        v.map(|v| decode_position(name, &v)).transpose()
    }

    /// The meta entries of store `name`.
    fn read_user_meta(&self, name: &str) -> Result<MetaMap> {
        let sh = &self.shared;
        let prefix = user_meta_key(name, b"");
        let meta_cf = sh.meta_cf()?;
        let mut opts = rocksdb::ReadOptions::default();
        if let Some(upper) = prefix_successor(&prefix) {
            opts.set_iterate_upper_bound(upper);
        }
        let mut out = BTreeMap::new();
        let mode = IteratorMode::From(&prefix, rocksdb::Direction::Forward);
        for item in sh.db.iterator_cf_opt(&meta_cf, opts, mode) {
            let (k, v) = item.map_err(|e| rocks(name, "read meta entries", e))?;
            out.insert(k[prefix.len()..].to_vec(), v.into_vec());
        }
        Ok(out)
    }

    /// Deletes the bookkeeping entries of store `name`.
    fn clear_bookkeeping(&self, name: &str) -> Result<()> {
        let sh = &self.shared;
        let (lo, hi) = store_meta_range(name);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(&sh.meta_cf()?, lo, hi);
        sh.write(batch)
            .map_err(|e| rocks(name, "delete the store's bookkeeping", e))
    }
}

fn db_options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // State writes skip the WAL (see `Shared::write`): flushing every column family
    // together keeps a store's data and its changelog position (in the bookkeeping column
    // family) consistent on disk. Writes that do use the WAL (the format key) are small.
    opts.set_atomic_flush(true);
    opts.set_max_total_wal_size(64 << 20);
    opts.set_keep_log_file_num(4);
    // RocksDB's own info LOG file only at FATAL: once a write to it failed (a full disk),
    // a RocksDB built with assertions (Debian's librocksdb is) aborts the process on the
    // next line it logs, e.g. when the database closes. Errors reach us as Results anyway.
    opts.set_log_level(rocksdb::LogLevel::Fatal);
    opts
}

fn cf_options() -> Options {
    Options::default()
}

/// Store names become column family names and bookkeeping key prefixes.
fn validate_store_name(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > 1024 {
        "it is longer than 1024 bytes"
    } else if name.contains('\0') {
        "it contains a NUL character"
    } else if name == "default" || name.starts_with("__brook") {
        "the names `default` and `__brook...` are reserved"
    } else {
        return Ok(());
    };
    Err(StateError::InvalidStoreName {
        name: name.to_string(),
        reason: reason.to_string(),
    })
}

// Bookkeeping keys (column family `__brook_meta`); a store name has no NUL, so the keys of
// store `n` are exactly those in [`n\0`, `n\x01`).

/// `<name>\0c` → changelog offset applied (u64 big-endian) followed by the topic name.
pub(crate) fn position_key(name: &str) -> Vec<u8> {
    [name.as_bytes(), b"\0c"].concat()
}

/// `<name>\0m<key>` → a meta entry.
pub(crate) fn user_meta_key(name: &str, key: &[u8]) -> Vec<u8> {
    [name.as_bytes(), b"\0m", key].concat()
}

fn store_meta_range(name: &str) -> (Vec<u8>, Vec<u8>) {
    (
        [name.as_bytes(), b"\0"].concat(),
        [name.as_bytes(), b"\x01"].concat(),
    )
}

pub(crate) fn encode_position(offset: u64, topic: &str) -> Vec<u8> {
    [&offset.to_be_bytes()[..], topic.as_bytes()].concat()
}

fn decode_position(name: &str, v: &[u8]) -> Result<(u64, String)> {
    let bad = || StateError::CorruptState {
        store: name.to_string(),
        reason: format!(
            "changelog offset entry of {} bytes cannot be decoded",
            v.len()
        ),
    };
    if v.len() < 9 {
        return Err(bad());
    }
    let (off, topic) = v.split_at(8);
    let off = u64::from_be_bytes(off.try_into().map_err(|_| bad())?);
    let topic = std::str::from_utf8(topic).map_err(|_| bad())?;
    Ok((off, topic.to_string()))
}

fn rocks(store: &str, operation: &str, source: rocksdb::Error) -> StateError {
    StateError::RocksDb {
        store: store.to_string(),
        operation: operation.to_string(),
        source,
    }
}

fn log_err(store: &str, topic: &str, operation: &str, source: LogError) -> StateError {
    StateError::Log {
        store: store.to_string(),
        topic: topic.to_string(),
        operation: operation.to_string(),
        source: Box::new(source),
    }
}

fn corrupt(store: &str, topic: &str, offset: u64, reason: String) -> StateError {
    StateError::CorruptChangelog {
        store: store.to_string(),
        topic: topic.to_string(),
        offset,
        reason,
    }
}

fn record_size(r: &StoredRecord) -> usize {
    64 + r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len())
}

/// Errors of a changelog scan: the log's, or the callback's.
enum ScanError {
    Log(LogError),
    State(StateError),
}

impl ScanError {
    fn into_state(self, store: &str, topic: &str) -> StateError {
        match self {
            ScanError::Log(e) => log_err(store, topic, "read", e),
            ScanError::State(e) => e,
        }
    }
}

impl From<StateError> for ScanError {
    fn from(e: StateError) -> Self {
        ScanError::State(e)
    }
}

/// Calls `f` on every record of `p` with an offset in `[from, end)`, in order.
fn scan(
    p: &Partition,
    from: u64,
    end: u64,
    mut f: impl FnMut(&StoredRecord) -> std::result::Result<(), ScanError>,
) -> std::result::Result<(), ScanError> {
    // Committed records only: a transaction's changelog records count once it commits
    // (exactly-once queries), and never if it aborted.
    let mut next = from;
    while next < end {
        let batch = p
            .read_isolated(
                next,
                ReadLimit::bytes(READ_CHUNK_BYTES),
                IsolationLevel::ReadCommitted,
            )
            .map_err(ScanError::Log)?;
        if batch.next_offset <= next {
            break;
        }
        next = batch.next_offset;
        for r in batch.records.iter().take_while(|r| r.offset < end) {
            f(r)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names() {
        assert!(validate_store_name("CTAS_X_1-Aggregate-Materialize").is_ok());
        for bad in ["", "default", "__brook_meta", "a\0b"] {
            let e = validate_store_name(bad).unwrap_err();
            assert!(matches!(e, StateError::InvalidStoreName { .. }), "{bad:?}");
        }
    }

    #[test]
    fn bookkeeping_keys_of_a_store_are_in_its_range() {
        let (lo, hi) = store_meta_range("a");
        for k in [
            position_key("a"),
            user_meta_key("a", b""),
            user_meta_key("a", b"\xff"),
        ] {
            assert!(lo <= k && k < hi);
        }
        for other in [
            position_key("ab"),
            position_key("a b"),
            user_meta_key("b", b""),
        ] {
            assert!(!(lo <= other && other < hi));
        }
    }

    #[test]
    fn positions_round_trip() {
        let v = encode_position(42, "t");
        assert_eq!(decode_position("s", &v).unwrap(), (42, "t".to_string()));
        assert!(decode_position("s", &v[..5]).is_err());
    }
}
