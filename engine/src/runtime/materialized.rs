//! materialized.rs owns [`Materialization`]: the current rows of a table built by a
//! `CREATE TABLE ... AS SELECT`, kept in the state store so pull queries answer from it.
//!
//! Design:
//! - One brook-state store per CTAS query, named `<query id>-Materialized` (changelog topic
//!   `_brook-<query id>-Materialized-changelog`), in the engine's `@state` RocksDB.
//! - The store holds exactly what the query writes to its sink topic, as a compacted topic
//!   would after compaction: the key is the sink record's key bytes as written (windowed keys
//!   include their window, so each window of a windowed table is its own entry), the value is
//!   the record's timestamp (8 bytes, big-endian) followed by its value bytes. A tombstone
//!   deletes the entry. Rows are therefore decoded with the sink's own formats, and ROWTIME
//!   is the time of the latest change.
//! - The query applies each batch of sink records right after producing them
//!   ([`Materialization::apply`]) and commits the store with its other state
//!   ([`Materialization::commit`]); reads see uncommitted writes too, so a pull query sees
//!   everything the query has written.
//! - A pull query ([`super::pull`]) reads a key with [`Materialization::get`] (a point read),
//!   the windows of a key with [`Materialization::windows_of`] (a prefix scan) or
//!   [`Materialization::range`] (a key-byte range, for a window start range), or everything
//!   with [`Materialization::scan`].

use bytes::Bytes;

use brook_log::{Record, StoredRecord};
use brook_state::{StateStores, Store};

use super::error::Result;

/// The current rows of a CTAS sink, in the state store.
#[derive(Debug)]
pub struct Materialization {
    store: Store,
}

/// The store name of a query's materialization.
pub fn store_name(query_id: &str) -> String {
    format!("{query_id}-Materialized")
}

impl Materialization {
    /// Opens (restoring from its changelog if needed) the materialization of `query_id`.
    pub fn open(stores: &StateStores, query_id: &str) -> Result<Materialization> {
        let name = store_name(query_id);
        let store = stores.store(&name, &format!("_brook-{name}-changelog"))?;
        Ok(Materialization { store })
    }

    /// Removes a query's materialization (its store and changelog), e.g. when its table is
    /// dropped. The query must be gone (its handle dropped) first.
    pub fn drop(stores: &StateStores, query_id: &str) -> Result<()> {
        stores.drop_store(&store_name(query_id), true)?;
        Ok(())
    }

    /// Applies records written to the sink: puts, and deletes for tombstones.
    pub fn apply(&mut self, records: &[Record]) {
        for r in records {
            let key = r.key.as_deref().unwrap_or_default();
            match &r.value {
                Some(v) => {
                    let mut entry = Vec::with_capacity(8 + v.len());
                    entry.extend_from_slice(&r.timestamp.to_be_bytes());
                    entry.extend_from_slice(v);
                    self.store.put(key, &entry);
                }
                None => self.store.delete(key),
            }
        }
    }

    /// Makes the applied records durable.
    pub fn commit(&mut self) -> Result<()> {
        self.store.commit(&[])?;
        Ok(())
    }

    /// The row of `key` (a sink key as written), if the table has it.
    pub fn get(&self, key: &[u8]) -> Result<Option<StoredRecord>> {
        Ok(self.store.get(key)?.and_then(|v| stored(key.to_vec(), v)))
    }

    /// The rows whose key starts with `key`: for a windowed table, every window of the key
    /// (and of keys whose bytes extend it, which the caller's predicate removes).
    pub fn windows_of(&self, key: &[u8]) -> Result<Vec<StoredRecord>> {
        Ok(self
            .store
            .prefix(key)?
            .into_iter()
            .filter_map(|(k, v)| stored(k, v))
            .collect())
    }

    /// The rows whose keys are in `[from, to)`, in key-byte order.
    pub fn range(&self, from: &[u8], to: &[u8]) -> Result<Vec<StoredRecord>> {
        Ok(self
            .store
            .range(Some(from), Some(to))?
            .into_iter()
            .filter_map(|(k, v)| stored(k, v))
            .collect())
    }

    /// Every row, in key-byte order.
    pub fn scan(&self) -> Result<Vec<StoredRecord>> {
        Ok(self
            .store
            .range(None, None)?
            .into_iter()
            .filter_map(|(k, v)| stored(k, v))
            .collect())
    }
}

/// A store entry as the record it materializes.
fn stored(key: Vec<u8>, entry: Vec<u8>) -> Option<StoredRecord> {
    if entry.len() < 8 {
        return None;
    }
    let timestamp = i64::from_be_bytes(entry[..8].try_into().ok()?);
    Some(StoredRecord {
        offset: 0,
        timestamp,
        key: Some(Bytes::from(key)),
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
        let mut m = Materialization::open(&stores, "CTAS_T_0").unwrap();
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
        m.apply(&[rec("ab", Some("4"), 14)]);
        assert_eq!(m.windows_of(b"a").unwrap().len(), 2);
        // Survives reopening: the store is restored.
        drop(m);
        let m = Materialization::open(&stores, "CTAS_T_0").unwrap();
        assert_eq!(m.scan().unwrap().len(), 1);
    }
}
