//! changelog.rs owns the changelog record format: data records (key = store key, value =
//! store value, tombstone = delete) and the commit marker that ends every commit and carries
//! the store's full meta map.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use brook_log::{Bytes, CleanupPolicy, Record, StoredRecord, TopicConfig};

/// Key of every commit marker record. A store key equal to it is refused at commit
/// ([`crate::StateError::ReservedKey`]); any other key, including ones that start with it,
/// is fine (markers are recognised by key *and* header).
pub const COMMIT_MARKER_KEY: &[u8] = b"\xff\x00brook.state.commit\x00\xff";

/// Header present on commit markers (and on no data record).
pub const COMMIT_MARKER_HEADER: &str = "brook.state.commit";

/// First bytes of a marker's value: format tag and version.
const MARKER_MAGIC: &[u8; 4] = b"BSM1";

/// The config of a changelog topic created by brook-state: 1 partition,
/// `cleanup.policy=compact`, `flush.messages=1` (an acknowledged commit is on disk) and
/// 64 MiB segments (compaction only rewrites closed segments).
pub fn default_changelog_config() -> TopicConfig {
    let mut config = TopicConfig::new(1);
    config.cleanup_policy = CleanupPolicy::Compact;
    config.flush_messages = Some(1);
    config.segment_bytes = 64 << 20;
    config
}

/// Milliseconds since the Unix epoch, the timestamp of changelog records.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A data record: `Some(value)` is a put, `None` a tombstone.
pub(crate) fn data_record(key: &[u8], value: Option<&[u8]>, ts: i64) -> Record {
    Record::new(
        Some(Bytes::copy_from_slice(key)),
        value.map(Bytes::copy_from_slice),
        ts,
    )
}

/// The marker that ends a commit, carrying the full meta map after it.
pub(crate) fn marker_record(meta: &BTreeMap<Vec<u8>, Vec<u8>>, ts: i64) -> Record {
    let size = 8 + meta
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len())
        .sum::<usize>();
    let mut buf = Vec::with_capacity(size);
    buf.extend_from_slice(MARKER_MAGIC);
    buf.extend_from_slice(&(meta.len() as u32).to_be_bytes());
    for (k, v) in meta {
        buf.extend_from_slice(&(k.len() as u32).to_be_bytes());
        buf.extend_from_slice(k);
        buf.extend_from_slice(&(v.len() as u32).to_be_bytes());
        buf.extend_from_slice(v);
    }
    Record::keyed(Bytes::from_static(COMMIT_MARKER_KEY), Bytes::from(buf), ts)
        .with_header(COMMIT_MARKER_HEADER, None)
}

/// What a changelog record is.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    /// A put (`Some`) or delete (`None`) of a store key.
    Data(&'a [u8], Option<&'a [u8]>),
    /// A commit marker with the store's meta map as of that commit.
    Marker(BTreeMap<Vec<u8>, Vec<u8>>),
}

/// Classifies a changelog record; `Err(reason)` for one brook-state did not write.
pub(crate) fn parse(record: &StoredRecord) -> Result<Entry<'_>, String> {
    let Some(key) = record.key.as_deref() else {
        return Err("record without a key".to_string());
    };
    let marked = record
        .headers
        .iter()
        .any(|(name, _)| name == COMMIT_MARKER_HEADER);
    if key != COMMIT_MARKER_KEY {
        return if marked {
            Err(format!(
                "record has the {COMMIT_MARKER_HEADER} header but not the commit marker key"
            ))
        } else {
            Ok(Entry::Data(key, record.value.as_deref()))
        };
    }
    if !marked {
        return Err(format!(
            "record with the reserved commit marker key lacks the {COMMIT_MARKER_HEADER} header"
        ));
    }
    let value = record
        .value
        .as_deref()
        .ok_or_else(|| "commit marker without a value".to_string())?;
    decode_meta(value).map(Entry::Marker)
}

/// Decodes a marker's value.
fn decode_meta(buf: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
    let rest = buf
        .strip_prefix(MARKER_MAGIC.as_slice())
        .ok_or_else(|| "commit marker with an unknown format".to_string())?;
    let mut cur = Cursor(rest);
    let n = cur.u32()?;
    let mut meta = BTreeMap::new();
    for _ in 0..n {
        let k = cur.bytes()?;
        let v = cur.bytes()?;
        meta.insert(k.to_vec(), v.to_vec());
    }
    if !cur.0.is_empty() {
        return Err(format!("commit marker has {} trailing bytes", cur.0.len()));
    }
    Ok(meta)
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("commit marker is truncated".to_string());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(r: Record) -> StoredRecord {
        StoredRecord {
            offset: 7,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
        }
    }

    #[test]
    fn marker_round_trips_meta() {
        let mut meta = BTreeMap::new();
        meta.insert(b"offset/orders/0".to_vec(), 42u64.to_be_bytes().to_vec());
        meta.insert(Vec::new(), Vec::new());
        let r = stored(marker_record(&meta, 1));
        match parse(&r).unwrap() {
            Entry::Marker(m) => assert_eq!(m, meta),
            Entry::Data(..) => panic!("marker parsed as data"),
        }
    }

    #[test]
    fn data_records_and_tombstones() {
        let r = stored(data_record(b"k", Some(b"v"), 1));
        assert!(matches!(parse(&r).unwrap(), Entry::Data(b"k", Some(b"v"))));
        let r = stored(data_record(b"k", None, 1));
        assert!(matches!(parse(&r).unwrap(), Entry::Data(b"k", None)));
        // A key that merely starts with the marker key is data.
        let mut long = COMMIT_MARKER_KEY.to_vec();
        long.push(1);
        let r = stored(data_record(&long, Some(b"v"), 1));
        assert!(matches!(parse(&r).unwrap(), Entry::Data(..)));
    }

    #[test]
    fn foreign_or_damaged_records_are_refused() {
        let no_key = stored(Record::unkeyed("v", 1));
        assert!(parse(&no_key).is_err());
        let unmarked = stored(Record::keyed(Bytes::from_static(COMMIT_MARKER_KEY), "x", 1));
        assert!(parse(&unmarked).unwrap_err().contains("lacks"));
        let mut meta = BTreeMap::new();
        meta.insert(b"a".to_vec(), b"b".to_vec());
        let mut r = stored(marker_record(&meta, 1));
        let v = r.value.clone().unwrap();
        r.value = Some(v.slice(..v.len() - 1));
        assert!(parse(&r).unwrap_err().contains("truncated"));
        r.value = Some(Bytes::from_static(b"XXXX"));
        assert!(parse(&r).unwrap_err().contains("unknown format"));
        let stray = stored(Record::keyed("k", "v", 1).with_header(COMMIT_MARKER_HEADER, None));
        assert!(parse(&stray).is_err());
    }
}
