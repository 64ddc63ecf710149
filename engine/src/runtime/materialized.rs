//! materialized.rs owns [`Materialization`]: the current rows of a table built by a
//! `CREATE TABLE ... AS SELECT`, kept in the state store so pull queries answer from it.
//!
//! Design:
//! - One brook-state store per CTAS query, named `<query id>-Materialized` (changelog topic
//!   `_brook-<query id>-Materialized-changelog`), in the engine's `@state` RocksDB.
//! - The store holds exactly what the query writes to its sink topic, as a compacted topic
//!   would after compaction, per sink partition: the key is the partition (4 bytes,
//!   big-endian) followed by the sink record's key bytes as written (windowed keys include
//!   their window, so each window of a windowed table is its own entry); the value is the
//!   record's timestamp (8 bytes, big-endian) followed by its value bytes. A tombstone deletes
//!   the entry. Rows are therefore decoded with the sink's own formats, ROWTIME is the time of
//!   the latest change, and a scan reads partition by partition in key order, as ksqlDB's
//!   table scans do (which decides the rows a LIMIT keeps).
//! - The partition of a key is the one the sink writes it to: Kafka's partitioner over the
//!   key bytes, without the window for windowed keys (see `query::produce`), so a lookup by
//!   key reads one partition.
//! - The query applies each batch of sink records right after producing them
//!   ([`Materialization::apply`]) and commits the store with its other state
//!   ([`Materialization::commit`]); reads see uncommitted writes too, so a pull query sees
//!   everything the query has written.
//! - The query's thread writes it while pull queries read it from the engine's thread: a
//!   `Materialization` is a cheap handle (clone it) over one store behind a read-write lock;
//!   a batch is applied under the write lock, a read holds the read lock.
//! - A query run as one task per source partition (see the engine's `start_query`) has one
//!   store per task, `<query id>-partitions-<p>-Materialized`; each task writes its own, and
//!   the query's handle for pull queries is their [`Materialization::union`], whose reads
//!   merge the stores in store-key order (as one store would read).
//! - Windowed tables keep their rows for the aggregation's retention, as ksqlDB's window
//!   stores do (a pull query over a windowed table sees only windows within retention): a
//!   row whose window bound (the start of a time window, the end of a session) is older
//!   than the stream time of its sink partition (the largest record timestamp written to
//!   it) minus the retention leaves the table. Their rows written since the last commit are
//!   held hot, appended in order to a list per partition and 1 s bucket of window bounds
//!   (compacted to the latest row per key when it grows), and go to the store only at
//!   commit; a window that expires before a commit never reaches the store (a bucket leaves
//!   once all its bounds expired; reads and commits skip its rows already past). Rows a commit
//!   wrote stay in the store after they expire (deleting them would cost a tombstone per
//!   row, more than the write saved when commits are frequent against event time); reads
//!   leave them out. Reads merge the hot rows over the store's. The stream times are
//!   committed in the store's meta.
//! - A pull query ([`super::pull`]) reads a key with [`Materialization::get`] (a point read),
//!   the windows of a key with [`Materialization::windows_of`] (a prefix scan) or
//!   [`Materialization::windows_between`] (the windows starting in a range), or everything
//!   with [`Materialization::scan`].

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use brook_log::partitioner::kafka_partition;
use brook_log::{AsRecord, StoredRecord};
use brook_state::{StateStores, Store};

use super::error::Result;
use crate::formats::windowed::WindowType;

/// The current rows of a CTAS sink, in the state store. Clones share the store.
#[derive(Debug, Clone)]
pub struct Materialization {
    /// Its store; a union of the tasks' materializations reads them all, and writes the
    /// first (a task's handle has exactly one).
    stores: Vec<Arc<RwLock<Inner>>>,
    /// The sink topic's partitions.
    partitions: u32,
    /// Bytes a window adds after the key (8 for time windows, 16 for sessions, 0 unwindowed).
    window_bytes: usize,
}

/// The store, and for a windowed table with a retention what expiring rows needs.
#[derive(Debug)]
struct Inner {
    store: Store,
    /// Rows whose window bound is older than stream time minus this leave the table.
    retention: Option<i64>,
    /// Per sink partition: the largest record timestamp written.
    stream_times: Vec<i64>,
    /// Whether `stream_times` changed since the last commit.
    times_dirty: bool,
    /// Per sink partition: the rows written since the last commit, by bucket of window
    /// bounds ([`BUCKET_MS`]).
    windows: Vec<BTreeMap<i64, WindowRows>>,
    /// Row lists of buckets that left, emptied, for new buckets to fill without growing
    /// from nothing (a bucket of a busy window holds tens of thousands of rows).
    spare: Vec<WindowRows>,
    /// Bytes a window adds after the key.
    window_bytes: usize,
}

/// Emptied row lists kept for new buckets.
const SPARE_LISTS: usize = 4;

/// Window bounds held hot together: a bucket leaves whole once its last bound passed the
/// retention (session ends fall on any millisecond: one entry per session would cost a map
/// node each). Reads leave out the rows of a bucket that are already past.
const BUCKET_MS: i64 = 1000;

/// The bucket of a window bound.
fn bucket(bound: i64) -> i64 {
    bound.div_euclid(BUCKET_MS)
}

/// A row held hot: where its sink key and value are in its bucket's bytes, and its record
/// timestamp.
#[derive(Debug, Clone, Copy)]
struct HotRow {
    at: usize,
    key_len: u32,
    /// `u32::MAX`: deleted.
    value_len: u32,
    ts: i64,
}

const DELETED: u32 = u32::MAX;

/// A hot row's timestamp and value bytes (`None`: deleted).
type HotValue<'a> = Option<(i64, &'a [u8])>;

/// The rows of one bucket of window bounds of one partition.
#[derive(Debug, Default)]
struct WindowRows {
    /// Rows written since the last commit, in the order they were written (a later row of
    /// a key replaces an earlier one), by sink key: the store key without its partition
    /// prefix, which the window's partition gives. Their bytes are copied into `bytes` (no
    /// reference count per record, no allocation per row), so a row that expires before a
    /// commit costs no store key and no lookup.
    hot: Vec<HotRow>,
    bytes: Vec<u8>,
    /// Length of `hot` after its last compaction.
    compacted: usize,
    /// Whether a commit wrote rows of it (so a delete must reach the store).
    persisted: bool,
}

/// Rows a window holds before its first compaction; after one, it compacts again at four
/// times the rows it kept (so at most that many rows per key are held between commits).
const COMPACT_AT: usize = 65536;

impl WindowRows {
    fn push(&mut self, key: &[u8], value: Option<&[u8]>, ts: i64) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(key);
        let value_len = match value {
            Some(v) => {
                self.bytes.extend_from_slice(v);
                v.len() as u32
            }
            None => DELETED,
        };
        self.hot.push(HotRow {
            at,
            key_len: key.len() as u32,
            value_len,
            ts,
        });
        if self.hot.len() >= COMPACT_AT.max(4 * self.compacted) {
            self.compact();
        }
    }

    fn key(&self, r: &HotRow) -> &[u8] {
        &self.bytes[r.at..r.at + r.key_len as usize]
    }

    /// A row's timestamp and value (`None`: deleted).
    fn value(&self, r: &HotRow) -> HotValue<'_> {
        if r.value_len == DELETED {
            return None;
        }
        let from = r.at + r.key_len as usize;
        Some((r.ts, &self.bytes[from..from + r.value_len as usize]))
    }

    fn rows(&self) -> impl Iterator<Item = (&[u8], HotValue<'_>)> + '_ {
        self.hot.iter().map(|r| (self.key(r), self.value(r)))
    }

    /// Keeps the rows for which `keep(i, key, deleted)` holds, their bytes moved together.
    fn retain_rows(&mut self, mut keep: impl FnMut(usize, &[u8], bool) -> bool) {
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut kept = Vec::with_capacity(self.hot.len());
        for (i, r) in self.hot.iter().enumerate() {
            if keep(i, self.key(r), r.value_len == DELETED) {
                let len = r.key_len as usize
                    + if r.value_len == DELETED {
                        0
                    } else {
                        r.value_len as usize
                    };
                let at = bytes.len();
                bytes.extend_from_slice(&self.bytes[r.at..r.at + len]);
                kept.push(HotRow { at, ..*r });
            }
        }
        self.hot = kept;
        self.bytes = bytes;
    }

    /// Keeps the latest row per key (in the order written); a delete is dropped too when
    /// no commit wrote the window (the store has nothing to delete).
    fn compact(&mut self) {
        let mut seen: hashbrown::HashSet<&[u8], foldhash::fast::RandomState> =
            hashbrown::HashSet::with_capacity_and_hasher(
                self.compacted.max(1024),
                foldhash::fast::RandomState::default(),
            );
        let mut keep = vec![false; self.hot.len()];
        for (i, r) in self.hot.iter().enumerate().rev() {
            keep[i] = seen.insert(self.key(r)) && (self.persisted || r.value_len != DELETED);
        }
        drop(seen);
        self.retain_rows(|i, _, _| keep[i]);
        self.compacted = self.hot.len();
    }

    /// Forgets every row, keeping the room they took.
    fn clear(&mut self) {
        self.hot.clear();
        self.bytes.clear();
    }
}

const META_STREAM_TIMES: &[u8] = b"stream_times";

/// The store name of a query's materialization.
pub fn store_name(query_id: &str) -> String {
    format!("{query_id}-Materialized")
}

impl Materialization {
    /// Opens (restoring from its changelog if needed) the materialization of `query_id`, whose
    /// sink topic has `partitions` partitions and keys windowed as `window`. `retention`:
    /// for a windowed table, how long (ms, behind stream time) its windows are kept — the
    /// aggregation's (`None`: every row is kept).
    pub fn open(
        stores: &StateStores,
        query_id: &str,
        partitions: u32,
        window: Option<WindowType>,
        retention: Option<i64>,
    ) -> Result<Materialization> {
        let name = store_name(query_id);
        let store = stores.store(&name, &format!("_brook-{name}-changelog"))?;
        let partitions = partitions.max(1);
        let window_bytes = match window {
            None => 0,
            Some(WindowType::Time) => 8,
            Some(WindowType::Session) => 16,
        };
        let retention = retention.filter(|_| window_bytes > 0);
        let mut inner = Inner {
            store,
            retention,
            stream_times: vec![i64::MIN; partitions as usize],
            times_dirty: false,
            windows: (0..partitions).map(|_| BTreeMap::new()).collect(),
            spare: Vec::new(),
            window_bytes,
        };
        if retention.is_some() {
            inner.rebuild()?;
        }
        Ok(Materialization {
            stores: vec![Arc::new(RwLock::new(inner))],
            partitions,
            window_bytes,
        })
    }

    /// Removes a query's materialization (its store and changelog), e.g. when its table is
    /// dropped. The query must be gone (its handle dropped) first.
    pub fn drop(stores: &StateStores, query_id: &str) -> Result<()> {
        stores.drop_store(&store_name(query_id), true)?;
        Ok(())
    }

    /// One handle reading the materializations of all the tasks of a query (None: there
    /// are none).
    pub fn union(parts: impl IntoIterator<Item = Materialization>) -> Option<Materialization> {
        let mut parts = parts.into_iter();
        let mut first = parts.next()?;
        for p in parts {
            first.stores.extend(p.stores);
        }
        Some(first)
    }

    fn read_store(store: &RwLock<Inner>) -> StoreRead<'_> {
        // A writer that panicked left the store as of its last complete put or delete.
        StoreRead(store.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.stores[0].write().unwrap_or_else(|p| p.into_inner())
    }

    /// The partition of a key without its window.
    fn partition_of(&self, key: &[u8]) -> u32 {
        kafka_partition(key, self.partitions)
    }

    /// The store key of a sink record's key (window included).
    fn store_key(&self, key: &[u8]) -> Vec<u8> {
        let inner = &key[..key.len().saturating_sub(self.window_bytes)];
        prefixed(self.partition_of(inner), key)
    }

    /// Applies records written to the sink: puts, and deletes for tombstones; then drops
    /// the windows past their retention.
    pub fn apply<R: AsRecord>(&self, records: &[R]) {
        let mut inner = self.write();
        let Some(retention) = inner.retention else {
            for r in records {
                let key = self.store_key(r.key().unwrap_or_default());
                match r.value() {
                    Some(v) => {
                        inner.store.put_owned(key, entry(r.timestamp(), v));
                    }
                    None => inner.store.delete(&key),
                }
            }
            return;
        };
        let mut touched = Vec::new();
        for r in records {
            let key = r.key().unwrap_or_default();
            let Some(bound) = window_bound(key, self.window_bytes) else {
                // A key too short for its window: kept as written, never expired.
                let key = self.store_key(key);
                match r.value() {
                    Some(v) => {
                        inner.store.put_owned(key, entry(r.timestamp(), v));
                    }
                    None => inner.store.delete(&key),
                }
                continue;
            };
            let inner_key = &key[..key.len() - self.window_bytes];
            let p = match inner.windows.len() {
                1 => 0,
                n => self.partition_of(inner_key) as usize % n,
            };
            if r.timestamp() > inner.stream_times[p] {
                inner.stream_times[p] = r.timestamp();
                inner.times_dirty = true;
            }
            if bound < inner.stream_times[p].saturating_sub(retention) {
                // Already past its retention: not part of the table.
                continue;
            }
            let inner = &mut *inner;
            let w = inner.windows[p]
                .entry(bucket(bound))
                .or_insert_with(|| inner.spare.pop().unwrap_or_default());
            w.push(key, r.value(), r.timestamp());
            if !touched.contains(&p) {
                touched.push(p);
            }
        }
        for p in touched {
            inner.expire(p, retention);
        }
    }

    /// Makes the applied records durable.
    pub fn commit(&self) -> Result<()> {
        self.write().commit()
    }

    /// The row of `key` (a sink key as written, unwindowed), if the table has it.
    pub fn get(&self, key: &[u8]) -> Result<Option<StoredRecord>> {
        let k = prefixed(self.partition_of(key), key);
        let mut hi = k.clone();
        hi.push(0);
        for s in &self.stores {
            let inner = Self::read_store(s);
            let found = if inner.retention.is_none() {
                inner.store.get(&k)?.and_then(|v| stored(&k, v))
            } else {
                inner
                    .range(Some(&k), Some(&hi))?
                    .into_iter()
                    .find_map(|(k, v)| stored(&k, v))
            };
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// The rows whose key starts with `key` (a key without its window): for a windowed table,
    /// every window of the key (and of keys whose bytes extend it, which the caller's
    /// predicate removes).
    pub fn windows_of(&self, key: &[u8]) -> Result<Vec<StoredRecord>> {
        let k = prefixed(self.partition_of(key), key);
        let hi = successor(&k);
        self.records(Some(&k), hi.as_deref())
    }

    /// The windows of a time-windowed `key` that start in `[from, to)` (non-negative starts,
    /// whose big-endian bytes sort as the numbers do).
    pub fn windows_between(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<StoredRecord>> {
        let p = self.partition_of(key);
        let lo = prefixed(p, &[key, &from.to_be_bytes()].concat());
        let hi = prefixed(p, &[key, &to.to_be_bytes()].concat());
        self.records(Some(&lo), Some(&hi))
    }

    /// The rows of unwindowed keys whose bytes are in `[from, to)` (`None`: unbounded),
    /// partition by partition.
    pub fn key_range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<StoredRecord>> {
        let mut out = Vec::new();
        for p in 0..self.partitions {
            let lo = prefixed(p, from.unwrap_or_default());
            let hi = match to {
                Some(t) => prefixed(p, t),
                None => (p + 1).to_be_bytes().to_vec(),
            };
            out.extend(self.records(Some(&lo), Some(&hi))?);
        }
        Ok(out)
    }

    /// Every row: partition by partition, in key-byte order.
    pub fn scan(&self) -> Result<Vec<StoredRecord>> {
        self.records(None, None)
    }

    /// The rows with store keys in `[from, to)`, in key order over every store.
    fn records(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<StoredRecord>> {
        let mut entries = Vec::new();
        for s in &self.stores {
            entries.extend(Self::read_store(s).range(from, to)?);
        }
        if self.stores.len() > 1 {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(entries
            .into_iter()
            .filter_map(|(k, v)| stored(&k, v))
            .collect())
    }
}

/// A read lock on the table.
struct StoreRead<'a>(RwLockReadGuard<'a, Inner>);

impl std::ops::Deref for StoreRead<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// Entries (store key, entry) with keys in `[from, to)` in key order: the hot rows
    /// merged over the store's.
    fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut base = self.store.range(from, to)?;
        if let Some(retention) = self.retention {
            // Rows a commit wrote stay in the store past their retention: leave them out.
            let n = self.stream_times.len();
            base.retain(|(k, _)| {
                let p = partition_of_store_key(k) as usize % n;
                let sink_key = k.get(4..).unwrap_or_default();
                within_retention(sink_key, self.window_bytes, self.stream_times[p], retention)
            });
        }
        let within = |k: &[u8]| from.is_none_or(|f| k >= f) && to.is_none_or(|t| k < t);
        // A bucket still held may hold rows already past the retention.
        let current = |p: usize, k: &[u8]| {
            self.retention.is_none_or(|retention| {
                within_retention(k, self.window_bytes, self.stream_times[p], retention)
            })
        };
        let hot: Vec<(Vec<u8>, HotValue<'_>)> = self
            .windows
            .iter()
            .enumerate()
            .flat_map(|(p, m)| {
                m.values().flat_map(move |w| {
                    w.rows()
                        .filter(move |(k, _)| current(p, k))
                        .map(move |(k, v)| (prefixed(p as u32, k), v))
                })
            })
            .filter(|(k, _)| within(k))
            .collect();
        if hot.is_empty() {
            return Ok(base);
        }
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
        for (k, v) in hot {
            match v {
                Some((ts, v)) => {
                    merged.insert(k, entry(ts, v));
                }
                None => {
                    merged.remove(&k);
                }
            }
        }
        Ok(merged.into_iter().collect())
    }

    /// Drops partition `p`'s buckets whose windows are all past the retention: their hot
    /// rows are forgotten (rows a commit wrote stay in the store, which reads leave out).
    fn expire(&mut self, p: usize, retention: i64) {
        let horizon = self.stream_times[p].saturating_sub(retention);
        while let Some(entry) = self.windows[p].first_entry() {
            // The bucket's last bound is (b + 1) * BUCKET_MS - 1.
            if entry.key().saturating_add(1).saturating_mul(BUCKET_MS) > horizon {
                break;
            }
            let mut rows = entry.remove();
            if self.spare.len() < SPARE_LISTS && rows.hot.capacity() > 0 {
                rows.clear();
                rows.compacted = 0;
                rows.persisted = false;
                self.spare.push(rows);
            }
        }
    }

    /// Moves the hot rows into the store and commits it (with the stream times, if they
    /// moved).
    fn commit(&mut self) -> Result<()> {
        let Some(retention) = self.retention else {
            self.store.commit(&[])?;
            return Ok(());
        };
        let mut writes = Vec::new();
        let (stream_times, window_bytes) = (&self.stream_times, self.window_bytes);
        for (p, w) in self
            .windows
            .iter_mut()
            .enumerate()
            .flat_map(|(p, m)| m.values_mut().map(move |w| (p as u32, w)))
        {
            // Rows already past the retention (in a bucket still held) are not written.
            let time = stream_times[p as usize];
            if w.hot
                .iter()
                .any(|r| !within_retention(w.key(r), window_bytes, time, retention))
            {
                w.retain_rows(|_, k, _| within_retention(k, window_bytes, time, retention));
            }
            if w.hot.is_empty() {
                continue;
            }
            if !w.persisted && w.hot.iter().any(|r| r.value_len == DELETED) {
                w.compact();
            }
            w.persisted = true;
            w.compacted = 0;
            writes.extend(
                w.rows()
                    .map(|(k, row)| (prefixed(p, k), row.map(|(ts, v)| entry(ts, v)))),
            );
            w.clear();
        }
        // Sorted and built in one go; a later write of a key wins.
        self.store.write_all(writes);
        if self.times_dirty {
            let mut times = Vec::with_capacity(8 * self.stream_times.len());
            for t in &self.stream_times {
                times.extend_from_slice(&t.to_be_bytes());
            }
            self.store.commit(&[(META_STREAM_TIMES, &times)])?;
        } else {
            self.store.commit(&[])?;
        }
        self.times_dirty = false;
        Ok(())
    }

    /// Restores the stream times (opening): rows past the retention are left out of reads
    /// from the start, and late rows for expired windows are not taken in.
    fn rebuild(&mut self) -> Result<()> {
        if let Some(m) = self.store.meta(META_STREAM_TIMES)? {
            for (t, c) in self.stream_times.iter_mut().zip(m.chunks_exact(8)) {
                *t = i64::from_be_bytes(c.try_into().unwrap_or([0; 8]));
            }
        }
        Ok(())
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: unbounded).
fn successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A stored entry: the record's timestamp, then its value bytes.
fn entry(timestamp: i64, value: &[u8]) -> Vec<u8> {
    let mut entry = Vec::with_capacity(8 + value.len());
    entry.extend_from_slice(&timestamp.to_be_bytes());
    entry.extend_from_slice(value);
    entry
}

/// The partition a store key starts with.
fn partition_of_store_key(key: &[u8]) -> u32 {
    key.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}

/// The window bound of a windowed sink key (the key, then its window): the first 8 of its
/// trailing `window_bytes` (a time window's start; a session's end, which its key holds
/// before the start).
fn window_bound(key: &[u8], window_bytes: usize) -> Option<i64> {
    let at = key.len().checked_sub(window_bytes)?;
    if window_bytes < 8 {
        return None;
    }
    Some(i64::from_be_bytes(key[at..at + 8].try_into().ok()?))
}

/// Whether a sink key's window is within `retention` behind `stream_time` (a key without
/// a window always is).
fn within_retention(key: &[u8], window_bytes: usize, stream_time: i64, retention: i64) -> bool {
    window_bound(key, window_bytes).is_none_or(|b| b >= stream_time.saturating_sub(retention))
}

fn prefixed(partition: u32, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len());
    k.extend_from_slice(&partition.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// A store entry (partition-prefixed key, entry) as the record it materializes.
fn stored(key: &[u8], entry: Vec<u8>) -> Option<StoredRecord> {
    if entry.len() < 8 || key.len() < 4 {
        return None;
    }
    let timestamp = i64::from_be_bytes(entry[..8].try_into().ok()?);
    Some(StoredRecord {
        offset: 0,
        timestamp,
        key: Some(Bytes::copy_from_slice(&key[4..])),
        value: Some(Bytes::copy_from_slice(&entry[8..])),
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use brook_log::{Log, LogOptions, Record};
    use std::sync::Arc;

    /// State stores in a temporary directory (kept while the directory lives).
    fn state_stores() -> (tempfile::TempDir, StateStores) {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let stores = StateStores::open(&dir.path().join("state"), log).unwrap();
        (dir, stores)
    }

    #[test]
    fn keeps_the_latest_row_per_key_and_forgets_deleted_keys() {
        let (_dir, stores) = state_stores();
        let m = Materialization::open(&stores, "CTAS_T_0", 4, None, None).unwrap();
        let rec = |k: &str, v: Option<&str>, ts: i64| {
            Record::new(
                Some(Bytes::from(k.to_string())),
                v.map(|v| Bytes::from(v.to_string())),
                ts,
            )
        };
        m.apply(&[rec("a", Some("1"), 10), rec("b", Some("2"), 11)]);
        m.apply(&[rec("a", Some("3"), 12), rec("b", None, 13)]);
        m.commit().unwrap();
        let a = m.get(b"a").unwrap().unwrap();
        assert_eq!(a.value.as_deref(), Some(b"3".as_slice()));
        assert_eq!(a.timestamp, 12);
        assert!(m.get(b"b").unwrap().is_none());
        assert_eq!(m.scan().unwrap().len(), 1);
        // Survives reopening: the store is restored.
        drop(m);
        let m = Materialization::open(&stores, "CTAS_T_0", 4, None, None).unwrap();
        assert_eq!(m.scan().unwrap().len(), 1);
    }

    #[test]
    fn windows_of_a_key_share_its_partition_and_scan_by_start() {
        let (_dir, stores) = state_stores();
        let m =
            Materialization::open(&stores, "CTAS_W_0", 4, Some(WindowType::Time), None).unwrap();
        let rec = |k: &str, start: i64| {
            let key = [k.as_bytes(), &start.to_be_bytes()].concat();
            Record::new(
                Some(Bytes::from(key)),
                Some(Bytes::from_static(b"v")),
                start,
            )
        };
        m.apply(&[rec("k", 0), rec("k", 1000), rec("k", 2000), rec("j", 1000)]);
        assert_eq!(m.windows_of(b"k").unwrap().len(), 3);
        let mid = m.windows_between(b"k", 1000, 2000).unwrap();
        assert_eq!(mid.len(), 1);
        assert_eq!(mid[0].timestamp, 1000);
        assert_eq!(m.scan().unwrap().len(), 4);
    }

    #[test]
    fn a_window_keeps_the_latest_row_of_each_key_across_compactions() {
        let (_dir, stores) = state_stores();
        let open = || {
            Materialization::open(&stores, "CTAS_X_0", 1, Some(WindowType::Time), Some(1000))
                .unwrap()
        };
        let key = |k: u32| Bytes::from([&k.to_be_bytes()[..], &0i64.to_be_bytes()].concat());
        let rec = |k: u32, v: Option<u32>, ts: i64| {
            Record::new(Some(key(k)), v.map(|v| Bytes::from(v.to_string())), ts)
        };
        let values = |m: &Materialization| -> Vec<(u32, String)> {
            m.scan()
                .unwrap()
                .iter()
                .map(|r| {
                    let k = r.key.as_deref().unwrap();
                    let v = r.value.as_deref().unwrap();
                    (
                        u32::from_be_bytes(k[..4].try_into().unwrap()),
                        String::from_utf8(v.to_vec()).unwrap(),
                    )
                })
                .collect()
        };
        let m = open();
        // 100 keys written 3 * COMPACT_AT times in all, so the window compacts on the way;
        // keys divisible by 7 are deleted last, before any commit.
        let n = 3 * COMPACT_AT as u32;
        m.apply(&(0..n).map(|i| rec(i % 100, Some(i), 1)).collect::<Vec<_>>());
        m.apply(
            &(0..100)
                .step_by(7)
                .map(|k| rec(k, None, 1))
                .collect::<Vec<_>>(),
        );
        let expect: Vec<(u32, String)> = (0..100)
            .filter(|k| k % 7 != 0)
            .map(|k| (k, (0..n).rfind(|i| i % 100 == k).unwrap().to_string()))
            .collect();
        assert_eq!(values(&m), expect);
        m.commit().unwrap();
        assert_eq!(values(&m), expect);
        // After a commit wrote the window, a delete reaches the store.
        m.apply(&[rec(1, None, 2), rec(2, Some(7), 2)]);
        m.commit().unwrap();
        drop(m);
        let m = open();
        let mut expect = expect;
        expect.retain(|(k, _)| *k != 1);
        expect[0].1 = "7".to_string();
        assert_eq!(values(&m), expect);
    }

    #[test]
    fn windows_past_the_retention_leave_the_table_written_or_not() {
        let (_dir, stores) = state_stores();
        let open = || {
            Materialization::open(&stores, "CTAS_X_0", 1, Some(WindowType::Time), Some(100))
                .unwrap()
        };
        let rec = |k: &str, start: i64, ts: i64| {
            let key = [k.as_bytes(), &start.to_be_bytes()].concat();
            Record::new(Some(Bytes::from(key)), Some(Bytes::from_static(b"v")), ts)
        };
        let m = open();
        m.apply(&[rec("a", 0, 5), rec("b", 0, 6)]);
        m.commit().unwrap();
        m.apply(&[rec("a", 50, 55), rec("c", 60, 61)]);
        assert_eq!(m.scan().unwrap().len(), 4);
        // Stream time 170: windows starting before 70 go, committed (a and b at 0) or
        // only pending (a at 50, c at 60).
        m.apply(&[rec("a", 160, 170)]);
        let left: Vec<i64> = m.scan().unwrap().iter().map(|r| r.timestamp).collect();
        assert_eq!(left, vec![170]);
        // A row for a window already past the retention is not taken in.
        m.apply(&[rec("d", 10, 20)]);
        assert_eq!(m.windows_of(b"d").unwrap().len(), 0);
        m.commit().unwrap();
        m.apply(&[rec("e", 150, 171)]);
        m.commit().unwrap();
        drop(m);
        // Reopened: the stream time and the windows come back, and expire on.
        let m = open();
        assert_eq!(m.scan().unwrap().len(), 2);
        m.apply(&[rec("f", 255, 255)]);
        let left: Vec<i64> = m.scan().unwrap().iter().map(|r| r.timestamp).collect();
        assert_eq!(left, vec![170, 255], "e (150) is past 255 - 100");
        m.commit().unwrap();
        drop(m);
        let m = open();
        assert_eq!(m.scan().unwrap().len(), 2);
    }

    #[test]
    fn session_rows_leave_by_their_own_end_though_held_in_buckets() {
        let (_dir, stores) = state_stores();
        let open = || {
            Materialization::open(
                &stores,
                "CTAS_S_0",
                1,
                Some(WindowType::Session),
                Some(1000),
            )
            .unwrap()
        };
        // A session key: the key, then its window's end and start.
        let rec = |k: &str, end: i64, ts: i64| {
            let key = [k.as_bytes(), &end.to_be_bytes(), &end.to_be_bytes()].concat();
            Record::new(Some(Bytes::from(key)), Some(Bytes::from_static(b"v")), ts)
        };
        let ends = |m: &Materialization| -> Vec<i64> {
            m.scan().unwrap().iter().map(|r| r.timestamp).collect()
        };
        let m = open();
        m.apply(&[
            rec("a", 900, 900),
            rec("b", 1500, 1500),
            rec("c", 1700, 1700),
        ]);
        assert_eq!(ends(&m), vec![900, 1500, 1700]);
        // Stream time 2600: sessions ending before 1600 leave, though 1500 and 1700 share
        // a bucket.
        m.apply(&[rec("d", 2600, 2600)]);
        assert_eq!(ends(&m), vec![1700, 2600]);
        assert_eq!(m.windows_of(b"b").unwrap().len(), 0);
        m.commit().unwrap();
        drop(m);
        let m = open();
        assert_eq!(ends(&m), vec![1700, 2600]);
        // The rows past the retention were not written at all.
        let inner = Materialization::read_store(&m.stores[0]);
        assert_eq!(inner.store.range(None, None).unwrap().len(), 2);
    }

    #[test]
    fn a_union_reads_every_tasks_store_in_store_key_order() {
        let (_dir, stores) = state_stores();
        let rec = |k: &str| {
            Record::new(
                Some(Bytes::from(k.to_string())),
                Some(Bytes::from(format!("v{k}"))),
                1,
            )
        };
        let keys = ["a", "b", "c", "d", "e", "f"];
        let one = Materialization::open(&stores, "CTAS_U_0", 2, None, None).unwrap();
        one.apply(&keys.map(rec));
        let t0 = Materialization::open(&stores, "CTAS_U_0-partitions-0", 2, None, None).unwrap();
        let t1 = Materialization::open(&stores, "CTAS_U_0-partitions-1", 2, None, None).unwrap();
        t0.apply(&[rec("a"), rec("d"), rec("e")]);
        t1.apply(&[rec("b"), rec("c"), rec("f")]);
        let both = Materialization::union([t0, t1]).unwrap();
        let key_list = |v: Vec<StoredRecord>| -> Vec<Vec<u8>> {
            v.into_iter().map(|r| r.key.unwrap().to_vec()).collect()
        };
        // The same rows in the same order as one store holding them all.
        assert_eq!(
            key_list(both.scan().unwrap()),
            key_list(one.scan().unwrap())
        );
        assert_eq!(
            key_list(both.key_range(Some(b"b"), Some(b"e")).unwrap()),
            key_list(one.key_range(Some(b"b"), Some(b"e")).unwrap())
        );
        for k in keys {
            let got = both.get(k.as_bytes()).unwrap().unwrap();
            assert_eq!(got.value.as_deref(), Some(format!("v{k}").as_bytes()));
        }
        assert!(both.get(b"z").unwrap().is_none());
    }

    #[test]
    fn key_ranges_cover_every_partition() {
        let (_dir, stores) = state_stores();
        let m = Materialization::open(&stores, "CTAS_R_0", 4, None, None).unwrap();
        let recs: Vec<Record> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|k| {
                Record::new(
                    Some(Bytes::from(k.to_string())),
                    Some(Bytes::from_static(b"v")),
                    1,
                )
            })
            .collect();
        m.apply(&recs);
        let keys = |v: Vec<StoredRecord>| {
            let mut k: Vec<String> = v
                .iter()
                .map(|r| String::from_utf8(r.key.as_deref().unwrap().to_vec()).unwrap())
                .collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(m.key_range(Some(b"b"), Some(b"e")).unwrap()),
            ["b", "c", "d"]
        );
        assert_eq!(keys(m.key_range(None, Some(b"b")).unwrap()), ["a"]);
        assert_eq!(keys(m.key_range(Some(b"e"), None).unwrap()), ["e", "f"]);
    }
}
