//! record.rs owns the record types the API hands in and out: `Record` (to append),
//! `StoredRecord` (read back, with its offset) and `AppendInfo` (what an append returns).

use bytes::Bytes;

/// A record header: a name and an optional value.
pub type Header = (String, Option<Bytes>);

/// A record to append. `value: None` is a tombstone (deletes the key under compaction).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Optional key; decides the partition in [`crate::Topic::produce`].
    pub key: Option<Bytes>,
    /// Optional value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Timestamp in milliseconds since the Unix epoch (ROWTIME).
    pub timestamp: i64,
    /// Headers, in order; names may repeat.
    pub headers: Vec<Header>,
}

impl Record {
    /// A record with an optional key and value.
    pub fn new(key: Option<Bytes>, value: Option<Bytes>, timestamp: i64) -> Record {
        Record {
            key,
            value,
            timestamp,
            headers: Vec::new(),
        }
    }

    /// A record with a key and a value.
    pub fn keyed(key: impl Into<Bytes>, value: impl Into<Bytes>, timestamp: i64) -> Record {
        Record::new(Some(key.into()), Some(value.into()), timestamp)
    }

    /// A record with a value and no key.
    pub fn unkeyed(value: impl Into<Bytes>, timestamp: i64) -> Record {
        Record::new(None, Some(value.into()), timestamp)
    }

    /// A tombstone (key, no value).
    pub fn tombstone(key: impl Into<Bytes>, timestamp: i64) -> Record {
        Record::new(Some(key.into()), None, timestamp)
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: Option<Bytes>) -> Record {
        self.headers.push((name.into(), value));
        self
    }
}

/// What an append needs of a record: [`Record`] (owned bytes) and [`RecordRef`]
/// (borrowed: a sink encoding a batch into one buffer appends slices of it without a
/// reference count per record).
pub trait AsRecord {
    fn key(&self) -> Option<&[u8]>;
    /// `None` is a tombstone.
    fn value(&self) -> Option<&[u8]>;
    fn timestamp(&self) -> i64;
    fn headers(&self) -> &[Header];
}

impl AsRecord for Record {
    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
    fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn headers(&self) -> &[Header] {
        &self.headers
    }
}

/// A record to append whose bytes are borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub key: Option<&'a [u8]>,
    /// `None` is a tombstone.
    pub value: Option<&'a [u8]>,
    pub timestamp: i64,
    pub headers: &'a [Header],
}

impl AsRecord for RecordRef<'_> {
    fn key(&self) -> Option<&[u8]> {
        self.key
    }
    fn value(&self) -> Option<&[u8]> {
        self.value
    }
    fn timestamp(&self) -> i64 {
        self.timestamp
    }
    fn headers(&self) -> &[Header] {
        self.headers
    }
}

/// A record read back from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset in the partition.
    pub offset: u64,
    /// Timestamp in milliseconds.
    pub timestamp: i64,
    /// Key, if any.
    pub key: Option<Bytes>,
    /// Value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers, in order.
    pub headers: Vec<Header>,
}

impl StoredRecord {
    /// The record without its offset (what was appended).
    pub fn to_record(&self) -> Record {
        Record {
            key: self.key.clone(),
            value: self.value.clone(),
            timestamp: self.timestamp,
            headers: self.headers.clone(),
        }
    }
}

/// What [`crate::Topic::append`] returns: the offsets the records were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first appended record.
    pub base_offset: u64,
    /// Offset of the last appended record.
    pub last_offset: u64,
}

/// How much one [`crate::Partition::read`] returns at most. At least one record is returned
/// when one is available, even if it alone is larger than `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit {
    /// Most records returned.
    pub max_records: usize,
    /// Most bytes (encoded record sizes) returned.
    pub max_bytes: usize,
}

impl ReadLimit {
    /// At most `n` records (and at most 64 MiB).
    pub fn records(n: usize) -> ReadLimit {
        ReadLimit {
            max_records: n,
            max_bytes: 64 << 20,
        }
    }

    /// At most `n` bytes (any number of records).
    pub fn bytes(n: usize) -> ReadLimit {
        ReadLimit {
            max_records: usize::MAX,
            max_bytes: n,
        }
    }
}

impl From<usize> for ReadLimit {
    fn from(n: usize) -> ReadLimit {
        ReadLimit::records(n)
    }
}
