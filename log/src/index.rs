//! index.rs owns a segment's sparse indexes: the offset index (relative offset → file
//! position, `.index`, 8-byte entries) and the time index (max timestamp so far → relative
//! offset, `.timeindex`, 12-byte entries), in memory and in their files.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// One `.index` entry: the batch starting at `position` has base offset
/// `segment base + rel_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub rel_offset: u32,
    pub position: u32,
}

/// One `.timeindex` entry: every record at offset `<= segment base + rel_offset` has a
/// timestamp `<= timestamp` (the maximum so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub timestamp: i64,
    pub rel_offset: u32,
}

const OFFSET_ENTRY: usize = 8;
const TIME_ENTRY: usize = 12;

/// The in-memory sparse indexes of one segment.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SegmentIndex {
    pub offsets: Vec<OffsetEntry>,
    pub times: Vec<TimeEntry>,
    /// Log bytes appended since the last offset entry.
    pub bytes_since_entry: u64,
    /// Largest timestamp seen in the segment and the last offset of its batch.
    pub max_timestamp: i64,
    pub max_timestamp_rel: u32,
}

impl SegmentIndex {
    pub fn new() -> SegmentIndex {
        SegmentIndex {
            max_timestamp: i64::MIN,
            ..SegmentIndex::default()
        }
    }

    /// Records that a batch `[base_rel, last_rel]` of `len` bytes with `max_ts` was written
    /// at `position`, adding sparse entries every `interval` bytes.
    pub fn on_batch(
        &mut self,
        base_rel: u32,
        last_rel: u32,
        position: u32,
        len: u64,
        max_ts: i64,
        interval: u32,
    ) {
        let mut indexed = false;
        if self.bytes_since_entry >= interval as u64 && (position > 0 || interval == 0) {
            let after_last = self
                .offsets
                .last()
                .is_none_or(|e| e.rel_offset < base_rel && e.position < position);
            if after_last {
                self.offsets.push(OffsetEntry {
                    rel_offset: base_rel,
                    position,
                });
                self.bytes_since_entry = 0;
                indexed = true;
            }
        }
        self.bytes_since_entry += len;
        if max_ts > self.max_timestamp {
            self.max_timestamp = max_ts;
            self.max_timestamp_rel = last_rel;
        }
        if indexed {
            self.push_time_entry(last_rel);
        }
    }

    /// Adds a time entry (max timestamp so far, `rel`) if the max timestamp grew.
    pub fn push_time_entry(&mut self, rel: u32) {
        if self.max_timestamp == i64::MIN {
            return;
        }
        let grows = self
            .times
            .last()
            .is_none_or(|t| self.max_timestamp > t.timestamp && rel > t.rel_offset);
        if grows {
            self.times.push(TimeEntry {
                timestamp: self.max_timestamp,
                rel_offset: rel,
            });
        }
    }

    /// The final time entry written when a segment is closed.
    pub fn seal(&mut self, last_rel: u32) {
        self.push_time_entry(last_rel);
    }

    /// The position of the last indexed batch whose base offset is `<= rel`, and that
    /// base; `(0, 0)` when there is none (start of the segment).
    pub fn lookup(&self, rel: u32) -> (u32, u32) {
        let i = self.offsets.partition_point(|e| e.rel_offset <= rel);
        if i == 0 {
            (0, 0)
        } else {
            let e = self.offsets[i - 1];
            (e.rel_offset, e.position)
        }
    }

    /// The relative offset to start scanning from for the first record with timestamp
    /// `>= ts`: one past the last entry whose max timestamp is `< ts`, or 0.
    pub fn time_lookup(&self, ts: i64) -> u32 {
        let i = self.times.partition_point(|t| t.timestamp < ts);
        if i == 0 {
            0
        } else {
            self.times[i - 1].rel_offset.saturating_add(1)
        }
    }
}

/// Reads an index file. `Ok(None)` when it is missing; `Err(reason)` when it is
/// unreadable or malformed (wrong size, entries not increasing).
pub(crate) fn load_offsets(path: &Path) -> io::Result<Result<Vec<OffsetEntry>, String>> {
    let Some(b) = read_optional(path)? else {
        return Ok(Err("missing".into()));
    };
    if b.len() % OFFSET_ENTRY != 0 {
        return Ok(Err(format!(
            "size {} is not a multiple of {OFFSET_ENTRY}",
            b.len()
        )));
    }
    let mut out: Vec<OffsetEntry> = Vec::with_capacity(b.len() / OFFSET_ENTRY);
    for c in b.chunks_exact(OFFSET_ENTRY) {
        let e = OffsetEntry {
            rel_offset: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            position: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
        };
        if out
            .last()
            .is_some_and(|l| l.rel_offset >= e.rel_offset || l.position >= e.position)
        {
            return Ok(Err("entries are not increasing".into()));
        }
        out.push(e);
    }
    Ok(Ok(out))
}

/// Reads a time index file, like [`load_offsets`].
pub(crate) fn load_times(path: &Path) -> io::Result<Result<Vec<TimeEntry>, String>> {
    let Some(b) = read_optional(path)? else {
        return Ok(Err("missing".into()));
    };
    if b.len() % TIME_ENTRY != 0 {
        return Ok(Err(format!(
            "size {} is not a multiple of {TIME_ENTRY}",
            b.len()
        )));
    }
    let mut out: Vec<TimeEntry> = Vec::with_capacity(b.len() / TIME_ENTRY);
    for c in b.chunks_exact(TIME_ENTRY) {
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&c[0..8]);
        let e = TimeEntry {
            timestamp: i64::from_be_bytes(ts),
            rel_offset: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
        };
        if out
            .last()
            .is_some_and(|l| l.timestamp >= e.timestamp || l.rel_offset >= e.rel_offset)
        {
            return Ok(Err("entries are not increasing".into()));
        }
        out.push(e);
    }
    Ok(Ok(out))
}

fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes both index files (replacing each atomically), fsyncing when `sync`.
pub(crate) fn write_files(
    index: &SegmentIndex,
    offsets_path: &Path,
    times_path: &Path,
    sync: bool,
) -> io::Result<()> {
    let mut b = Vec::with_capacity(index.offsets.len() * OFFSET_ENTRY);
    for e in &index.offsets {
        b.extend_from_slice(&e.rel_offset.to_be_bytes());
        b.extend_from_slice(&e.position.to_be_bytes());
    }
    write_file(offsets_path, &b, sync)?;
    let mut b = Vec::with_capacity(index.times.len() * TIME_ENTRY);
    for e in &index.times {
        b.extend_from_slice(&e.timestamp.to_be_bytes());
        b.extend_from_slice(&e.rel_offset.to_be_bytes());
    }
    write_file(times_path, &b, sync)
}

/// Writes `<path>.tmp` and renames it over `path`, so that a reader (a read-only
/// follower in another process) sees the old file or the new one, never a partial one.
/// A leftover `.tmp` is removed when the partition is next opened for writing.
fn write_file(path: &Path, b: &[u8], sync: bool) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = File::create(&tmp)?;
    f.write_all(b)?;
    if sync {
        f.sync_all()?;
    }
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_entries_every_interval() {
        let mut ix = SegmentIndex::new();
        // 10 batches of 1000 bytes, 10 offsets each, interval 2500.
        for i in 0..10u32 {
            ix.on_batch(i * 10, i * 10 + 9, i * 1000, 1000, 100 + i as i64, 2500);
        }
        assert_eq!(
            ix.offsets
                .iter()
                .map(|e| (e.rel_offset, e.position))
                .collect::<Vec<_>>(),
            vec![(30, 3000), (60, 6000), (90, 9000)]
        );
        assert_eq!(ix.lookup(0), (0, 0));
        assert_eq!(ix.lookup(29), (0, 0));
        assert_eq!(ix.lookup(30), (30, 3000));
        assert_eq!(ix.lookup(59), (30, 3000));
        assert_eq!(ix.lookup(1000), (90, 9000));
        assert_eq!(ix.max_timestamp, 109);
        assert_eq!(
            ix.times.last().map(|t| (t.timestamp, t.rel_offset)),
            Some((109, 99))
        );
        // Entries (103, 39), (106, 69), (109, 99): the first record with ts >= 107 is
        // after the last entry with max ts < 107, i.e. from offset 70.
        assert_eq!(ix.time_lookup(107), 70);
        assert_eq!(ix.time_lookup(0), 0);
    }

    #[test]
    fn interval_zero_indexes_every_batch() {
        let mut ix = SegmentIndex::new();
        for i in 0..5u32 {
            ix.on_batch(i, i, i * 100, 100, 5, 0);
        }
        assert_eq!(ix.offsets.len(), 5);
        assert_eq!(ix.lookup(3), (3, 300));
    }

    #[test]
    fn files_roundtrip_and_reject_bad() {
        let dir = tempfile::tempdir().unwrap();
        let (o, t) = (dir.path().join("a.index"), dir.path().join("a.timeindex"));
        let mut ix = SegmentIndex::new();
        for i in 0..100u32 {
            ix.on_batch(i * 3, i * 3 + 2, i * 500, 500, i as i64 * 10, 1000);
        }
        ix.seal(299);
        write_files(&ix, &o, &t, true).unwrap();
        assert_eq!(load_offsets(&o).unwrap().unwrap(), ix.offsets);
        assert_eq!(load_times(&t).unwrap().unwrap(), ix.times);
        // Truncated mid-entry.
        let b = std::fs::read(&o).unwrap();
        std::fs::write(&o, &b[..b.len() - 3]).unwrap();
        assert!(load_offsets(&o).unwrap().is_err());
        // Not increasing.
        let mut b2 = b.clone();
        b2[8..16].copy_from_slice(&b[0..8]);
        std::fs::write(&o, &b2).unwrap();
        assert!(load_offsets(&o).unwrap().is_err());
        std::fs::remove_file(&o).unwrap();
        assert!(load_offsets(&o).unwrap().is_err());
    }
}
