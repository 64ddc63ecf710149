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
//! - A pull query ([`super::pull`]) reads a key with [`Materialization::get`] (a point read),
//!   the windows of a key with [`Materialization::windows_of`] (a prefix scan) or
//!   [`Materialization::windows_between`] (the windows starting in a range), or everything
//!   with [`Materialization::scan`].

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;

use brook_log::partitioner::kafka_partition;
use brook_log::{Record, StoredRecord};
use brook_state::{StateStores, Store};

use super::error::Result;
use crate::formats::windowed::WindowType;

/// The current rows of a CTAS sink, in the state store. Clones share the store.
#[derive(Debug, Clone)]
pub struct Materialization {
    /// Its store; a union of the tasks' materializations reads them all, and writes the
    /// first (a task's handle has exactly one).
    stores: Vec<Arc<RwLock<Store>>>,
    /// The sink topic's partitions.
    partitions: u32,
    /// Bytes a window adds after the key (8 for time windows, 16 for sessions, 0 unwindowed).
    window_bytes: usize,
}

/// The store name of a query's materialization.
pub fn store_name(query_id: &str) -> String {
    format!("{query_id}-Materialized")
}

impl Materialization {
    /// Opens (restoring from its changelog if needed) the materialization of `query_id`, whose
    /// sink topic has `partitions` partitions and keys windowed as `window`.
    pub fn open(
        stores: &StateStores,
        query_id: &str,
        partitions: u32,
        window: Option<WindowType>,
    ) -> Result<Materialization> {
        let name = store_name(query_id);
        let store = stores.store(&name, &format!("_brook-{name}-changelog"))?;
        Ok(Materialization {
            stores: vec![Arc::new(RwLock::new(store))],
            partitions: partitions.max(1),
            window_bytes: match window {
                None => 0,
                Some(WindowType::Time) => 8,
                Some(WindowType::Session) => 16,
            },
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

    fn read_store(store: &RwLock<Store>) -> RwLockReadGuard<'_, Store> {
        // A writer that panicked left the store as of its last complete put or delete.
        store.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.stores[0].write().unwrap_or_else(|p| p.into_inner())
    }

    /// The entries `f` reads from each store, in store-key order over all of them.
    fn read_all(
        &self,
        f: impl Fn(&Store) -> brook_state::Result<Vec<(Vec<u8>, Vec<u8>)>>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        for s in &self.stores {
            out.extend(f(&Self::read_store(s))?);
        }
        if self.stores.len() > 1 {
            out.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(out)
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

    /// Applies records written to the sink: puts, and deletes for tombstones.
    pub fn apply(&self, records: &[Record]) {
        let mut store = self.write();
        for r in records {
            let key = self.store_key(r.key.as_deref().unwrap_or_default());
            match &r.value {
                Some(v) => {
                    let mut entry = Vec::with_capacity(8 + v.len());
                    entry.extend_from_slice(&r.timestamp.to_be_bytes());
                    entry.extend_from_slice(v);
                    store.put(&key, &entry);
                }
                None => store.delete(&key),
            }
        }
    }

    /// Makes the applied records durable.
    pub fn commit(&self) -> Result<()> {
        self.write().commit(&[])?;
        Ok(())
    }

    /// The row of `key` (a sink key as written, unwindowed), if the table has it.
    pub fn get(&self, key: &[u8]) -> Result<Option<StoredRecord>> {
        let k = prefixed(self.partition_of(key), key);
        for s in &self.stores {
            if let Some(v) = Self::read_store(s).get(&k)? {
                return Ok(stored(&k, v));
            }
        }
        Ok(None)
    }

    /// The rows whose key starts with `key` (a key without its window): for a windowed table,
    /// every window of the key (and of keys whose bytes extend it, which the caller's
    /// predicate removes).
    pub fn windows_of(&self, key: &[u8]) -> Result<Vec<StoredRecord>> {
        let k = prefixed(self.partition_of(key), key);
        Ok(self
            .read_all(|s| s.prefix(&k))?
            .into_iter()
            .filter_map(|(k, v)| stored(&k, v))
            .collect())
    }

    /// The windows of a time-windowed `key` that start in `[from, to)` (non-negative starts,
    /// whose big-endian bytes sort as the numbers do).
    pub fn windows_between(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<StoredRecord>> {
        let p = self.partition_of(key);
        let lo = prefixed(p, &[key, &from.to_be_bytes()].concat());
        let hi = prefixed(p, &[key, &to.to_be_bytes()].concat());
        Ok(self
            .read_all(|s| s.range(Some(&lo), Some(&hi)))?
            .into_iter()
            .filter_map(|(k, v)| stored(&k, v))
            .collect())
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
            out.extend(
                self.read_all(|s| s.range(Some(&lo), Some(&hi)))?
                    .into_iter()
                    .filter_map(|(k, v)| stored(&k, v)),
            );
        }
        Ok(out)
    }

    /// Every row: partition by partition, in key-byte order.
    pub fn scan(&self) -> Result<Vec<StoredRecord>> {
        Ok(self
            .read_all(|s| s.range(None, None))?
            .into_iter()
            .filter_map(|(k, v)| stored(&k, v))
            .collect())
    }
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
    use brook_log::{Log, LogOptions};
    use std::sync::Arc;

    #[test]
    fn keeps_the_latest_row_per_key_and_forgets_deleted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let stores = StateStores::open(&dir.path().join("state"), log).unwrap();
        let m = Materialization::open(&stores, "CTAS_T_0", 4, None).unwrap();
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
        let m = Materialization::open(&stores, "CTAS_T_0", 4, None).unwrap();
        assert_eq!(m.scan().unwrap().len(), 1);
    }

    #[test]
    fn windows_of_a_key_share_its_partition_and_scan_by_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let stores = StateStores::open(&dir.path().join("state"), log).unwrap();
        let m = Materialization::open(&stores, "CTAS_W_0", 4, Some(WindowType::Time)).unwrap();
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
    fn a_union_reads_every_tasks_store_in_store_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let stores = StateStores::open(&dir.path().join("state"), log).unwrap();
        let rec = |k: &str| {
            Record::new(
                Some(Bytes::from(k.to_string())),
                Some(Bytes::from(format!("v{k}"))),
                1,
            )
        };
        let keys = ["a", "b", "c", "d", "e", "f"];
        let one = Materialization::open(&stores, "CTAS_U_0", 2, None).unwrap();
        one.apply(&keys.map(rec));
        let t0 = Materialization::open(&stores, "CTAS_U_0-partitions-0", 2, None).unwrap();
        let t1 = Materialization::open(&stores, "CTAS_U_0-partitions-1", 2, None).unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path().join("log"), LogOptions::default()).unwrap());
        let stores = StateStores::open(&dir.path().join("state"), log).unwrap();
        let m = Materialization::open(&stores, "CTAS_R_0", 4, None).unwrap();
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
