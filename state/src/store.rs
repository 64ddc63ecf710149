//! store.rs owns `Store`: one key-value store (a RocksDB column family) with its pending
//! writes, its meta map and its commit protocol (changelog first, then RocksDB).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use brook_log::{Record, Topic};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use crate::changelog::{self, COMMIT_MARKER_KEY};
use crate::error::{Result, StateError};
use crate::stores::{Prepared, RestoreInfo, Shared, TxnContext};

/// One key-value store: a RocksDB column family backed by a compacted changelog topic.
///
/// Writes ([`Store::put`], [`Store::delete`]) are buffered in memory until
/// [`Store::commit`]; reads ([`Store::get`], [`Store::range`], [`Store::prefix`]) see them
/// merged over the committed data. A `Store` is used by one task at a time (`&mut self` to
/// write); it is `Send`, so it can move between threads. Dropping it discards uncommitted
/// writes and releases the name, so the store can be opened again.
pub struct Store {
    pub(crate) shared: Arc<Shared>,
    /// The transaction its commits join (a store of an exactly-once query).
    pub(crate) txn: Option<Arc<TxnContext>>,
    pub(crate) name: String,
    pub(crate) changelog: Arc<Topic>,
    /// Next changelog offset after the last commit marker applied to RocksDB.
    pub(crate) position: u64,
    /// Pending writes: `Some(value)` = put, `None` = delete.
    pub(crate) pending: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    pub(crate) pending_bytes: usize,
    /// The committed meta map (all of it; also in RocksDB and in the last commit marker).
    pub(crate) meta: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Set when a commit failed after its changelog append: the handle is unusable.
    pub(crate) failed: Option<String>,
    pub(crate) restore: RestoreInfo,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("name", &self.name)
            .field("changelog", &self.changelog.name())
            .field("position", &self.position)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .finish()
    }
}

impl Store {
    /// The store's name (its column family).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name of the changelog topic.
    pub fn changelog_topic(&self) -> &str {
        self.changelog.name()
    }

    /// The changelog offset after the last commit applied to RocksDB (the changelog's end
    /// offset after the last commit).
    pub fn changelog_offset(&self) -> u64 {
        self.position
    }

    /// What opening the store restored from the changelog.
    pub fn restore_info(&self) -> &RestoreInfo {
        &self.restore
    }

    /// Number of pending (uncommitted) writes, one per distinct key.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Approximate bytes held by pending writes (keys plus values), for callers that
    /// commit when a cache size (`cache.max.bytes.buffering`) is reached.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Value of `key`: the pending write if there is one, otherwise the committed value.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        if let Some(p) = self.pending.get(key) {
            return Ok(p.clone());
        }
        let cf = self.cf()?;
        self.shared
            .db
            .get_cf(&cf, key)
            .map_err(|e| self.rocks("read a key", e))
    }

    /// Buffers a put of `key` → `value` until [`Store::commit`].
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.buffer(key, Some(value.to_vec()));
    }

    /// Buffers a delete of `key` until [`Store::commit`] (a tombstone in the changelog).
    pub fn delete(&mut self, key: &[u8]) {
        self.buffer(key, None);
    }

    /// Buffers a put of `key` → `value` (taking both) until [`Store::commit`]; returns
    /// whether `key` had no pending write before.
    pub fn put_owned(&mut self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let added = value.len();
        match self.pending.get_mut(key.as_slice()) {
            Some(slot) => {
                let removed = slot.as_ref().map_or(0, Vec::len);
                self.pending_bytes = self.pending_bytes - removed + added;
                *slot = Some(value);
                false
            }
            None => {
                self.pending_bytes += key.len() + added;
                self.pending.insert(key, Some(value));
                true
            }
        }
    }

    /// Buffers owned writes (`Some(value)` = put, `None` = delete) until [`Store::commit`],
    /// as [`Store::put_owned`] / [`Store::delete`] one by one would (a later write of a key
    /// wins). With nothing pending, the pending map is built in one go (sorted, then bulk
    /// built) instead of by one search and insert per write (a commit of an operator's
    /// groups).
    pub fn write_all(&mut self, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        if !self.pending.is_empty() {
            for (k, v) in writes {
                match v {
                    Some(v) => {
                        self.put_owned(k, v);
                    }
                    None => self.buffer(&k, None),
                }
            }
            return;
        }
        self.pending = sorted_last_wins(writes).into_iter().collect();
        self.pending_bytes = self
            .pending
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
    }

    /// Drops the pending writes (and nothing else).
    pub fn discard_pending(&mut self) {
        self.pending.clear();
        self.pending_bytes = 0;
    }

    fn buffer(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        let added = value.as_ref().map_or(0, Vec::len);
        match self.pending.get_mut(key) {
            Some(slot) => {
                let removed = slot.as_ref().map_or(0, Vec::len);
                self.pending_bytes = self.pending_bytes - removed + added;
                *slot = value;
            }
            None => {
                self.pending_bytes += key.len() + added;
                self.pending.insert(key.to_vec(), value);
            }
        }
    }

    /// Entries with keys in `[from, to)` in key order (`None` = unbounded on that side),
    /// pending writes merged over the committed data. An empty or inverted range is empty.
    pub fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_usable()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f >= t {
                return Ok(Vec::new());
            }
        }
        let cf = self.cf()?;
        let mut opts = ReadOptions::default();
        if let Some(t) = to {
            opts.set_iterate_upper_bound(t.to_vec());
        }
        let mode = match from {
            Some(f) => IteratorMode::From(f, Direction::Forward),
            None => IteratorMode::Start,
        };
        let lower = from.map_or(Bound::Unbounded, Bound::Included);
        let upper = to.map_or(Bound::Unbounded, Bound::Excluded);
        let mut pending = self.pending.range::<[u8], _>((lower, upper)).peekable();
        let mut out = Vec::new();
        for item in self.shared.db.iterator_cf_opt(&cf, opts, mode) {
            let (k, v) = item.map_err(|e| self.rocks("scan a range", e))?;
            // Pending writes ordered before this committed key come first.
            while let Some((pk, pv)) = pending.next_if(|(pk, _)| pk.as_slice() < &*k) {
                if let Some(pv) = pv {
                    out.push((pk.clone(), pv.clone()));
                }
            }
            match pending.next_if(|(pk, _)| pk.as_slice() == &*k) {
                Some((pk, Some(pv))) => out.push((pk.clone(), pv.clone())),
                Some((_, None)) => {}
                None => out.push((k.into_vec(), v.into_vec())),
            }
        }
        for (pk, pv) in pending {
            if let Some(pv) = pv {
                out.push((pk.clone(), pv.clone()));
            }
        }
        Ok(out)
    }

    /// Entries whose key starts with `prefix`, in key order, pending writes merged in.
    pub fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let end = prefix_successor(prefix);
        self.range(Some(prefix), end.as_deref())
    }

    /// A committed meta entry (written by [`Store::commit`]), restored with the store.
    pub fn meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_usable()?;
        Ok(self.meta.get(key).cloned())
    }

    /// All committed meta entries, in key order.
    pub fn meta_entries(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.meta
    }

    /// Durably applies the pending writes together with `meta` entries (e.g. the query's
    /// source offsets, so that offsets and state commit together):
    ///
    /// 1. appends them to the changelog topic as one append (deletes as tombstones),
    ///    followed by a commit marker that carries the store's whole meta map, and makes it
    ///    durable (fsync). This is the commit point: from here on a restore applies the
    ///    commit, even if the process dies before step 2;
    /// 2. writes the same changes, the meta entries and the new changelog offset to RocksDB
    ///    in one `WriteBatch` (atomic across the store's and the bookkeeping column family).
    ///
    /// With nothing pending and no `meta`, does nothing. If step 1 fails nothing was
    /// committed and the pending writes are kept (a retry is safe). If step 2 fails the
    /// commit is in the changelog but not in RocksDB: the handle then refuses further use
    /// ([`StateError::StoreFailed`]); opening the store again restores the commit.
    pub fn commit(&mut self, meta: &[(&[u8], &[u8])]) -> Result<()> {
        self.check_usable()?;
        if self.pending.is_empty() && meta.is_empty() {
            return Ok(());
        }
        if self.pending.contains_key(COMMIT_MARKER_KEY) {
            return Err(StateError::ReservedKey {
                store: self.name.clone(),
                key: COMMIT_MARKER_KEY.to_vec(),
            });
        }
        let mut new_meta = self.meta.clone();
        for (k, v) in meta {
            new_meta.insert(k.to_vec(), v.to_vec());
        }
        let ts = changelog::now_ms();
        let mut records: Vec<Record> = self
            .pending
            .iter()
            .map(|(k, v)| changelog::data_record(k, v.as_deref(), ts))
            .collect();
        records.push(changelog::marker_record(&new_meta, ts));
        if let Some(txn) = &self.txn {
            // In the open transaction; RocksDB follows once it commits.
            let info = txn
                .producer
                .append(&self.changelog, 0, &records)
                .map_err(|e| self.log_error("append (in a transaction) to", e))?;
            let position = info.last_offset + 1;
            txn.prepared
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Prepared {
                    store: self.name.clone(),
                    changelog: self.changelog.name().to_string(),
                    writes: std::mem::take(&mut self.pending),
                    meta: meta.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
                    position,
                });
            self.pending_bytes = 0;
            self.meta = new_meta;
            self.position = position;
            return Ok(());
        }
        let info = self
            .changelog
            .append(0, &records)
            .map_err(|e| self.log_error("append to", e))?;
        if self.changelog.config().flush_messages != Some(1) {
            if let Err(e) = self.changelog.flush() {
                let err = self.log_error("fsync", e);
                self.failed = Some(err.to_string());
                return Err(err);
            }
        }
        let position = info.last_offset + 1;
        let result = self.write_rocksdb(meta, position);
        if let Err(e) = result {
            self.failed = Some(e.to_string());
            return Err(e);
        }
        self.pending.clear();
        self.pending_bytes = 0;
        self.meta = new_meta;
        self.position = position;
        Ok(())
    }

    fn write_rocksdb(&self, meta: &[(&[u8], &[u8])], position: u64) -> Result<()> {
        let meta: Vec<(Vec<u8>, Vec<u8>)> =
            meta.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        write_rocksdb(
            &self.shared,
            &self.name,
            self.changelog.name(),
            &self.pending,
            &meta,
            position,
        )
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(reason) => Err(StateError::StoreFailed {
                store: self.name.clone(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    fn cf(&self) -> Result<Arc<rocksdb::BoundColumnFamily<'_>>> {
        self.shared
            .db
            .cf_handle(&self.name)
            .ok_or_else(|| StateError::StoreDropped(self.name.clone()))
    }

    fn rocks(&self, operation: &str, source: rocksdb::Error) -> StateError {
        StateError::RocksDb {
            store: self.name.clone(),
            operation: operation.to_string(),
            source,
        }
    }

    fn log_error(&self, operation: &str, source: brook_log::LogError) -> StateError {
        StateError::Log {
            store: self.name.clone(),
            topic: self.changelog.name().to_string(),
            operation: operation.to_string(),
            source: Box::new(source),
        }
    }
}

/// Writes one commit of store `name` to RocksDB: its writes, meta entries and the new
/// changelog position, in one `WriteBatch`.
pub(crate) fn write_rocksdb(
    shared: &Shared,
    name: &str,
    changelog: &str,
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    meta: &[(Vec<u8>, Vec<u8>)],
    position: u64,
) -> Result<()> {
    let cf = shared
        .db
        .cf_handle(name)
        .ok_or_else(|| StateError::StoreDropped(name.to_string()))?;
    let meta_cf = shared.meta_cf()?;
    let mut batch = WriteBatch::default();
    if writes.len() >= crate::ingest::INGEST_MIN_WRITES {
        crate::ingest::ingest(shared, name, &cf, writes)?;
    } else {
        for (k, v) in writes {
            match v {
                Some(v) => batch.put_cf(&cf, k, v),
                None => batch.delete_cf(&cf, k),
            }
        }
    }
    for (k, v) in meta {
        batch.put_cf(&meta_cf, crate::stores::user_meta_key(name, k), v);
    }
    batch.put_cf(
        &meta_cf,
        crate::stores::position_key(name),
        crate::stores::encode_position(position, changelog),
    );
    shared.write(batch).map_err(|e| StateError::RocksDb {
        store: name.to_string(),
        operation: "write a commit".to_string(),
        source: e,
    })
}

/// `writes` in key order, the last of equal keys only. Sorts 16-byte key prefixes as numbers
/// (with the index, a stable order) and compares whole keys only where prefixes tie: keys
/// that share a long prefix (a window start, a partition) cost a memcmp call per
/// comparison otherwise. BTreeMap's bulk build then finds one sorted run.
fn sorted_last_wins(
    mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    fn prefix(k: &[u8]) -> u128 {
        let mut b = [0u8; 16];
        let n = k.len().min(16);
        b[..n].copy_from_slice(&k[..n]);
        u128::from_be_bytes(b)
    }
    let mut order: Vec<(u128, usize)> = writes
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (prefix(k), i))
        .collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| writes[a.1].0.cmp(&writes[b.1].0))
            .then(a.1.cmp(&b.1))
    });
    let mut sorted = Vec::with_capacity(order.len());
    for (j, &(_, i)) in order.iter().enumerate() {
        let later_same_key = order
            .get(j + 1)
            .is_some_and(|&(_, next)| writes[next].0 == writes[i].0);
        if !later_same_key {
            sorted.push(std::mem::take(&mut writes[i]));
        }
    }
    sorted
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shared.release(&self.name);
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: unbounded).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{prefix_successor, sorted_last_wins};

    #[test]
    fn writes_sorted_with_the_last_of_equal_keys() {
        let w = |k: &[u8], v: u8| (k.to_vec(), Some(vec![v]));
        let long_a = [7u8; 20].to_vec();
        let mut long_b = long_a.clone();
        long_b[19] = 6;
        let writes = vec![
            w(b"b", 1),
            w(&long_a, 2),
            w(b"a", 3),
            w(b"b", 4),
            (b"a\0".to_vec(), None),
            w(&long_b, 5),
            w(&long_a, 6),
            w(b"", 7),
            w(b"b", 8),
        ];
        let got = sorted_last_wins(writes);
        let want = vec![
            w(b"", 7),
            w(&long_b, 5),
            w(&long_a, 6),
            w(b"a", 3),
            (b"a\0".to_vec(), None),
            w(b"b", 8),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn prefix_successors() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
