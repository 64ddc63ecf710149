//! segment.rs owns one segment: a `<base-offset>.log` file of batches with its sparse
//! `.index` / `.timeindex`; scanning batches with positioned reads, recovering the active
//! segment's tail (or, after a clean close, loading its index by its `.clean_close` mark),
//! checking/rebuilding a closed segment's indexes, appending and reading.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use bytes::Bytes;

use crate::batch::{self, BatchHeader, BatchMeta, HEADER_LEN, LOG_OVERHEAD};
use crate::error::{LogError, Result};
use crate::index::{self, SegmentIndex};
use crate::record::{ReadLimit, StoredRecord};

/// Suffix of a segment's log file.
pub(crate) const LOG_SUFFIX: &str = ".log";
/// Suffix of a segment's offset index.
pub(crate) const INDEX_SUFFIX: &str = ".index";
/// Suffix of a segment's time index.
pub(crate) const TIMEINDEX_SUFFIX: &str = ".timeindex";

/// `<dir>/<base:020>.log`.
pub(crate) fn log_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{LOG_SUFFIX}"))
}

/// The mark of a clean close of the active segment (see [`Segment::mark_clean`]).
pub(crate) const CLEAN_SUFFIX: &str = ".clean_close";

fn clean_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{CLEAN_SUFFIX}"))
}

fn index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{INDEX_SUFFIX}"))
}

fn timeindex_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}{TIMEINDEX_SUFFIX}"))
}

/// A batch read from a segment file: its position, header and bytes (header included).
pub(crate) struct RawBatch {
    pub position: u64,
    pub header: BatchHeader,
    pub bytes: Bytes,
}

/// Which batches a read skips: control batches always, batches at or past `upto` (the
/// last stable offset of a `read_committed` read, or the end), and batches of the
/// `aborted` transactions.
pub(crate) struct BatchFilter<'a> {
    pub upto: u64,
    pub aborted: &'a [crate::txn_state::AbortedTxn],
}

/// Why a scan stopped early.
pub(crate) enum ScanError {
    /// The bytes at `position` are not a valid batch.
    Corrupt { position: u64, reason: String },
    /// Reading failed.
    Io(io::Error),
}

impl ScanError {
    fn into_log_error(self, path: &Path) -> LogError {
        match self {
            ScanError::Corrupt { position, reason } => LogError::corrupt(path, position, reason),
            ScanError::Io(e) => LogError::io("reading segment", path, e),
        }
    }
}

/// Iterates the batches of a file between two positions with chunked positioned reads.
pub(crate) struct Scanner<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
    buf: Bytes,
    buf_pos: u64,
    chunk: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(file: &'a File, pos: u64, end: u64, chunk: usize) -> Scanner<'a> {
        Scanner {
            file,
            pos,
            end,
            buf: Bytes::new(),
            buf_pos: 0,
            chunk: chunk.max(4096),
        }
    }

    /// Position of the next batch.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn bytes(&mut self, pos: u64, n: usize) -> Result<Bytes, ScanError> {
        let have_end = self.buf_pos + self.buf.len() as u64;
        if pos >= self.buf_pos && pos + n as u64 <= have_end {
            let s = (pos - self.buf_pos) as usize;
            return Ok(self.buf.slice(s..s + n));
        }
        let want = (n.max(self.chunk) as u64).min(self.end - pos).max(n as u64) as usize;
        let mut v = vec![0u8; want];
        if let Err(e) = self.file.read_exact_at(&mut v, pos) {
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                ScanError::Corrupt {
                    position: pos,
                    reason: "file ends before the batch does".into(),
                }
            } else {
                ScanError::Io(e)
            });
        }
        self.buf = Bytes::from(v);
        self.buf_pos = pos;
        Ok(self.buf.slice(0..n))
    }

    /// The next batch, `None` at the end, or why the bytes there are not a valid batch.
    pub fn next_batch(&mut self) -> Result<Option<RawBatch>, ScanError> {
        let pos = self.pos;
        if pos >= self.end {
            return Ok(None);
        }
        let corrupt = |reason: String| ScanError::Corrupt {
            position: pos,
            reason,
        };
        let left = self.end - pos;
        if left < HEADER_LEN as u64 {
            return Err(corrupt(format!(
                "{left} bytes left, less than a batch header ({HEADER_LEN} bytes)"
            )));
        }
        let prefix = self.bytes(pos, LOG_OVERHEAD)?;
        let (_, len) = batch::read_prefix(&prefix);
        let total = LOG_OVERHEAD as u64 + len as u64;
        if total < HEADER_LEN as u64 {
            return Err(corrupt(format!(
                "batch length {len} is shorter than a batch header"
            )));
        }
        if total > left {
            return Err(corrupt(format!(
                "batch of {total} bytes runs past the end of the segment ({left} bytes left)"
            )));
        }
        let bytes = self.bytes(pos, total as usize)?;
        let header = batch::parse_header(&bytes).map_err(corrupt)?;
        if !batch::crc_ok(&header, &bytes) {
            return Err(corrupt(format!(
                "CRC32C mismatch in batch at base offset {} ({} bytes)",
                header.base_offset, total
            )));
        }
        self.pos += total;
        Ok(Some(RawBatch {
            position: pos,
            header,
            bytes,
        }))
    }
}

/// A scan that starts at a sparse index entry and trusts it only if the batch found there
/// has the base offset the entry promises; otherwise (an index that is wrong in a way the
/// open-time check could not see) it falls back to scanning from the start of the file.
struct IndexedScan<'a> {
    sc: Scanner<'a>,
    expect: Option<u64>,
    size: u64,
    chunk: usize,
}

impl<'a> IndexedScan<'a> {
    fn new(
        file: &'a File,
        entry: (u32, u32),
        base: u64,
        size: u64,
        chunk: usize,
    ) -> IndexedScan<'a> {
        let (rel, pos) = entry;
        IndexedScan {
            sc: Scanner::new(file, pos as u64, size, chunk),
            expect: (pos > 0).then_some(base + rel as u64),
            size,
            chunk,
        }
    }

    fn next_batch(&mut self) -> Result<Option<RawBatch>, ScanError> {
        let r = self.sc.next_batch();
        if let Some(want) = self.expect.take() {
            let trusted = matches!(&r, Ok(Some(b)) if b.header.base_offset == want);
            if !trusted {
                self.sc = Scanner::new(self.sc.file, 0, self.size, self.chunk);
                return self.sc.next_batch();
            }
        }
        r
    }
}

/// What opening a segment found and repaired, for the recovery notes.
pub(crate) type Note = Option<String>;

/// One segment file with its indexes.
#[derive(Debug)]
pub(crate) struct Segment {
    pub base_offset: u64,
    pub path: PathBuf,
    dir: PathBuf,
    file: File,
    /// Bytes of the log file that hold complete, committed batches.
    size: AtomicU64,
    /// One past the last offset held.
    next_offset: AtomicU64,
    index: RwLock<SegmentIndex>,
    pub created: Instant,
}

/// Where a follower's view of an active segment ends: the position and the first
/// [`MARK_LEN`] bytes (base offset, length, magic, CRC) of the last batch it accepted, to
/// notice the writer truncating it (a rolled-back append) and writing something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TailMark {
    pub position: u64,
    pub prefix: [u8; MARK_LEN],
}

/// Bytes of a batch a [`TailMark`] keeps.
pub(crate) const MARK_LEN: usize = 17;

impl TailMark {
    fn of(b: &RawBatch) -> TailMark {
        let mut prefix = [0u8; MARK_LEN];
        prefix.copy_from_slice(&b.bytes[..MARK_LEN]);
        TailMark {
            position: b.position,
            prefix,
        }
    }
}

/// What [`Segment::follow`] found.
pub(crate) enum Follow {
    /// Batches appended since the last call (possibly none) are now visible; the scan
    /// stopped at the end of the file or at `problem` (an incomplete or invalid batch:
    /// not yet written, for an active segment).
    Extended { problem: Option<(u64, String)> },
    /// The file is shorter than what was accepted, or the last accepted batch changed:
    /// the writer rolled back an append. The segment must be read again from the start.
    Rewound,
}

fn read_lock<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write_lock<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// Size of the chunks that scans read.
const SCAN_CHUNK: usize = 1 << 20;

impl Segment {
    /// Creates a new, empty segment file (replacing any file of that name).
    pub fn create(dir: &Path, base_offset: u64) -> Result<Segment> {
        let path = log_path(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| LogError::io("creating segment", &path, e))?;
        Ok(Segment::new(
            dir,
            base_offset,
            path,
            file,
            0,
            base_offset,
            SegmentIndex::new(),
        ))
    }

    fn new(
        dir: &Path,
        base_offset: u64,
        path: PathBuf,
        file: File,
        size: u64,
        next: u64,
        index: SegmentIndex,
    ) -> Segment {
        Segment {
            base_offset,
            path,
            dir: dir.to_path_buf(),
            file,
            size: AtomicU64::new(size),
            next_offset: AtomicU64::new(next),
            index: RwLock::new(index),
            created: Instant::now(),
        }
    }

    /// Opens the active (last) segment: validates every batch, truncates the file at the
    /// first torn or corrupt one, and rebuilds the indexes in memory.
    pub fn open_active(dir: &Path, base_offset: u64, interval: u32) -> Result<(Segment, Note)> {
        let path = log_path(dir, base_offset);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| LogError::io("opening active segment", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| LogError::io("reading size of segment", &path, e))?
            .len();
        if let Some((ix, next)) = clean_index(dir, base_offset, &file, len, interval) {
            return Ok((
                Segment::new(dir, base_offset, path, file, len, next, ix),
                None,
            ));
        }
        let mut ix = SegmentIndex::new();
        let (end, next, problem) =
            scan_build(&file, &path, base_offset, len, interval, &mut ix)?.outcome();
        let mut note = None;
        if let Some((pos, reason)) = problem {
            file.set_len(end)
                .and_then(|_| file.sync_all())
                .map_err(|e| LogError::io("truncating torn tail of segment", &path, e))?;
            note = Some(format!(
                "{}: truncated {} bytes at byte {pos} (last valid offset {}): {reason}",
                path.display(),
                len - end,
                next as i128 - 1
            ));
        }
        Ok((
            Segment::new(dir, base_offset, path, file, end, next, ix),
            note,
        ))
    }

    /// Opens a closed segment: loads its index files and checks them against the log tail
    /// (walking from the last indexed batch to the end of the file); rebuilds them from the
    /// log when missing, truncated or inconsistent. A closed segment is never truncated:
    /// corrupt bytes stay and reads of them return [`LogError::Corrupt`].
    ///
    /// With `persist` false (a read-only follower) rebuilt indexes stay in memory and
    /// nothing is written.
    pub fn open_closed(
        dir: &Path,
        base_offset: u64,
        next_base: u64,
        interval: u32,
        persist: bool,
    ) -> Result<(Segment, Note)> {
        let path = log_path(dir, base_offset);
        let file = File::open(&path).map_err(|e| LogError::io("opening segment", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| LogError::io("reading size of segment", &path, e))?
            .len();
        let (ipath, tpath) = (
            index_path(dir, base_offset),
            timeindex_path(dir, base_offset),
        );
        let offsets =
            index::load_offsets(&ipath).map_err(|e| LogError::io("reading index", &ipath, e))?;
        let times =
            index::load_times(&tpath).map_err(|e| LogError::io("reading time index", &tpath, e))?;
        let checked = match (offsets, times) {
            (Ok(offsets), Ok(times)) => {
                check_tail(&file, base_offset, len, interval, offsets, times)
            }
            (Err(r), _) => Err(format!("{}: {r}", ipath.display())),
            (_, Err(r)) => Err(format!("{}: {r}", tpath.display())),
        };
        let (ix, next, note) = match checked {
            Ok((ix, next)) => (ix, next, None),
            Err(why) => {
                let mut ix = SegmentIndex::new();
                let (_, next, problem) =
                    scan_build(&file, &path, base_offset, len, interval, &mut ix)?.outcome();
                let last_rel = next.saturating_sub(base_offset + 1).min(u32::MAX as u64) as u32;
                ix.seal(last_rel);
                let mut note = format!(
                    "{}: rebuilt indexes{} ({why})",
                    path.display(),
                    if persist { "" } else { " in memory" }
                );
                // Keep the bytes; the rebuilt index covers the valid prefix.
                let next = match problem {
                    Some((pos, reason)) => {
                        note.push_str(&format!(
                            "; corrupt data at byte {pos} left in place: {reason}"
                        ));
                        next.max(next_base)
                    }
                    None => next,
                };
                // Best effort: a failure to persist only means a rebuild next time.
                if persist {
                    let _ = index::write_files(&ix, &ipath, &tpath, true);
                }
                (ix, next, Some(note))
            }
        };
        Ok((
            Segment::new(dir, base_offset, path, file, len, next, ix),
            note,
        ))
    }

    /// Opens the last segment of a partition for a read-only follower: nothing is
    /// written or truncated. The valid prefix is indexed in memory; an incomplete or
    /// invalid batch at the end is treated as not written yet (see [`Segment::follow`]).
    pub fn open_tail_read_only(
        dir: &Path,
        base_offset: u64,
        interval: u32,
    ) -> Result<(Segment, Option<TailMark>)> {
        let path = log_path(dir, base_offset);
        let file = File::open(&path).map_err(|e| LogError::io("opening segment", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| LogError::io("reading size of segment", &path, e))?
            .len();
        let mut ix = SegmentIndex::new();
        let scan = scan_build(&file, &path, base_offset, len, interval, &mut ix)?;
        let mark = scan.mark;
        let (end, next, _) = scan.outcome();
        Ok((
            Segment::new(dir, base_offset, path, file, end, next, ix),
            mark,
        ))
    }

    /// For a read-only follower: makes visible the batches the writer appended since the
    /// last call (validated like recovery does: length, magic, CRC32C, offsets going up),
    /// stopping before the first incomplete or invalid one. `mark` is the last batch
    /// accepted, checked first and moved forward.
    pub fn follow(&self, mark: &mut Option<TailMark>, interval: u32) -> Result<Follow> {
        let len = self
            .file
            .metadata()
            .map_err(|e| LogError::io("reading size of segment", &self.path, e))?
            .len();
        let size = self.size();
        if len < size {
            return Ok(Follow::Rewound);
        }
        if let Some(m) = mark {
            let mut now = [0u8; MARK_LEN];
            match self.file.read_exact_at(&mut now, m.position) {
                Ok(()) if now == m.prefix => {}
                Ok(()) => return Ok(Follow::Rewound),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Follow::Rewound),
                Err(e) => return Err(LogError::io("reading segment", &self.path, e)),
            }
        }
        if len == size {
            return Ok(Follow::Extended { problem: None });
        }
        let mut pending: Vec<(u64, BatchHeader)> = Vec::new();
        let scan = scan_valid(
            &self.file,
            &self.path,
            self.base_offset,
            size,
            self.next_offset(),
            len,
            |b| {
                pending.push((b.position, b.header));
                if pending.len() >= 4096 {
                    self.publish(&pending, interval);
                    pending.clear();
                }
            },
        )?;
        self.publish(&pending, interval);
        if scan.mark.is_some() {
            *mark = scan.mark;
        }
        Ok(Follow::Extended {
            problem: scan.problem,
        })
    }

    /// Makes batches found on disk visible: size, then next offset, then index entries
    /// (the order [`Segment::commit`] uses, which concurrent reads rely on).
    fn publish(&self, batches: &[(u64, BatchHeader)], interval: u32) {
        let Some((pos, h)) = batches.last() else {
            return;
        };
        self.size.store(pos + h.total_len(), Ordering::Release);
        self.next_offset
            .store(h.last_offset() + 1, Ordering::Release);
        let mut ix = write_lock(&self.index);
        for (pos, h) in batches {
            ix.on_batch(
                (h.base_offset - self.base_offset) as u32,
                (h.last_offset() - self.base_offset) as u32,
                *pos as u32,
                h.total_len(),
                h.max_timestamp,
                interval,
            );
        }
    }

    /// For a read-only follower, once a newer segment exists (so this one is final): the
    /// final time index entry, in memory only. When the segment ends in an invalid batch
    /// (corruption: a closed segment is never torn) the bytes are treated like a closed
    /// segment's corruption on open: covered by the size, offsets up to `next_base`
    /// reserved, reads that start there get [`LogError::Corrupt`].
    pub fn close_read_only(&self, corrupt_tail: bool, next_base: u64) -> Result<()> {
        if corrupt_tail {
            let len = self
                .file
                .metadata()
                .map_err(|e| LogError::io("reading size of segment", &self.path, e))?
                .len();
            self.size.fetch_max(len, Ordering::AcqRel);
            self.next_offset.fetch_max(next_base, Ordering::AcqRel);
        }
        let last_rel = self
            .next_offset()
            .saturating_sub(self.base_offset + 1)
            .min(u32::MAX as u64) as u32;
        write_lock(&self.index).seal(last_rel);
        Ok(())
    }

    /// Bytes of committed batches.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    /// One past the last offset held.
    pub fn next_offset(&self) -> u64 {
        self.next_offset.load(Ordering::Acquire)
    }

    /// Largest record timestamp (`i64::MIN` when empty).
    pub fn max_timestamp(&self) -> i64 {
        read_lock(&self.index).max_timestamp
    }

    /// Writes an encoded buffer at the end of the committed data (one `pwrite`). Nothing is
    /// visible to readers until [`Segment::commit`].
    pub fn write(&self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all_at(buf, self.size())
    }

    /// Drops anything written past the committed size (after a failed write or fsync).
    pub fn rollback(&self) -> io::Result<()> {
        self.file.set_len(self.size())
    }

    /// fdatasync of the log file.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Makes batches written by [`Segment::write`] visible and indexes them.
    pub fn commit(&self, metas: &[BatchMeta], buf_len: usize, interval: u32) {
        let pos = self.size();
        // Size, then next offset, then index: a reader that sees a new index entry or
        // next offset (it reads them before the size) then also sees a size covering it.
        self.size.store(pos + buf_len as u64, Ordering::Release);
        if let Some(last) = metas.last() {
            self.next_offset
                .store(last.last_offset + 1, Ordering::Release);
        }
        let mut ix = write_lock(&self.index);
        for m in metas {
            ix.on_batch(
                (m.base_offset - self.base_offset) as u32,
                (m.last_offset - self.base_offset) as u32,
                (pos + m.start as u64) as u32,
                m.len as u64,
                m.max_timestamp,
                interval,
            );
        }
    }

    /// Marks a clean close of the active segment: its index files, then a mark with the
    /// segment's length and next offset, so that the next [`Segment::open_active`] loads
    /// the index instead of reading and checking every batch (Kafka skips recovery after a
    /// clean shutdown the same way). Nothing is fsynced: a mark whose file lost bytes no
    /// longer matches its length, and index files that did not reach the disk fail to load;
    /// either way the open scans as before. Call it only when nothing appends any more.
    pub fn mark_clean(&self) -> io::Result<()> {
        self.seal(false)?;
        let mut mark = Vec::with_capacity(16);
        mark.extend_from_slice(&self.size().to_be_bytes());
        mark.extend_from_slice(&self.next_offset().to_be_bytes());
        std::fs::write(clean_path(&self.dir, self.base_offset), mark)
    }

    /// Seals a segment that stops being active: final time index entry, index files
    /// written (and fsynced when `sync`).
    pub fn seal(&self, sync: bool) -> io::Result<()> {
        let last_rel = self
            .next_offset()
            .saturating_sub(self.base_offset + 1)
            .min(u32::MAX as u64) as u32;
        let mut ix = write_lock(&self.index);
        ix.seal(last_rel);
        index::write_files(
            &ix,
            &index_path(&self.dir, self.base_offset),
            &timeindex_path(&self.dir, self.base_offset),
            sync,
        )
    }

    /// Reads records with offset `>= from` into `out`, counting encoded sizes in `bytes`.
    /// Returns `None` when the limit was reached, or `Some(scanned_to)` when the segment
    /// was read to its end as of this call: every offset below `scanned_to` was covered.
    pub fn read_into(
        &self,
        from: u64,
        limit: &ReadLimit,
        filter: &BatchFilter<'_>,
        out: &mut Vec<StoredRecord>,
        bytes: &mut usize,
    ) -> Result<Option<u64>> {
        let rel = from.saturating_sub(self.base_offset).min(u32::MAX as u64) as u32;
        let entry = read_lock(&self.index).lookup(rel);
        let size = self.size();
        let mut scanned_to = from;
        let want = limit
            .max_bytes
            .saturating_sub(*bytes)
            .saturating_add(16 << 10);
        let chunk = want.clamp(16 << 10, 256 << 10);
        let mut sc = IndexedScan::new(&self.file, entry, self.base_offset, size, chunk);
        loop {
            let b = match sc.next_batch() {
                Ok(Some(b)) => b,
                Ok(None) => return Ok(Some(scanned_to)),
                Err(e) => return Err(e.into_log_error(&self.path)),
            };
            if b.header.base_offset >= filter.upto {
                return Ok(Some(scanned_to.max(filter.upto.min(b.header.base_offset))));
            }
            scanned_to = scanned_to.max(b.header.last_offset() + 1);
            if b.header.base_offset < self.base_offset {
                return Err(LogError::corrupt(
                    &self.path,
                    b.position,
                    format!(
                        "batch base offset {} is below the segment's base",
                        b.header.base_offset
                    ),
                ));
            }
            if b.header.last_offset() < from {
                continue;
            }
            if b.header.is_control()
                || (b.header.is_transactional()
                    && filter
                        .aborted
                        .iter()
                        .any(|a| a.covers(b.header.producer_id, b.header.base_offset)))
            {
                continue;
            }
            let mut full = false;
            let room = limit.max_records.saturating_sub(out.len());
            out.reserve((b.header.record_count as usize).min(room));
            batch::decode_records(&b.bytes, &b.header, from, |rec, sz| {
                if out.len() >= limit.max_records
                    || (!out.is_empty() && bytes.saturating_add(sz) > limit.max_bytes)
                {
                    full = true;
                    return false;
                }
                *bytes += sz;
                out.push(rec);
                true
            })
            .map_err(|reason| LogError::corrupt(&self.path, b.position, reason))?;
            if full || out.len() >= limit.max_records {
                return Ok(None);
            }
        }
    }

    /// The first offset `>= from` whose record has a timestamp `>= ts`.
    pub fn find_timestamp(&self, ts: i64, from: u64) -> Result<Option<u64>> {
        let (entry, from) = {
            let ix = read_lock(&self.index);
            if ix.max_timestamp < ts {
                return Ok(None);
            }
            let from = from.max(self.base_offset + ix.time_lookup(ts) as u64);
            let rel = (from - self.base_offset).min(u32::MAX as u64) as u32;
            (ix.lookup(rel), from)
        };
        let size = self.size();
        let mut sc = IndexedScan::new(&self.file, entry, self.base_offset, size, SCAN_CHUNK);
        loop {
            let b = match sc.next_batch() {
                Ok(Some(b)) => b,
                Ok(None) => return Ok(None),
                Err(e) => return Err(e.into_log_error(&self.path)),
            };
            if b.header.last_offset() < from || b.header.max_timestamp < ts {
                continue;
            }
            let mut found = None;
            batch::decode_records(&b.bytes, &b.header, from, |rec, _| {
                if rec.timestamp >= ts {
                    found = Some(rec.offset);
                    return false;
                }
                true
            })
            .map_err(|reason| LogError::corrupt(&self.path, b.position, reason))?;
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// One past the last offset of the last data (non-control) batch, `None` when the
    /// segment holds only markers or nothing.
    pub fn last_data_end(&self) -> Result<Option<u64>> {
        // Usually a data batch follows the last sparse index entry: read only that tail.
        let next = self.next_offset();
        if next > self.base_offset {
            let rel = (next - 1 - self.base_offset).min(u32::MAX as u64) as u32;
            let entry = read_lock(&self.index).lookup(rel);
            let mut sc =
                IndexedScan::new(&self.file, entry, self.base_offset, self.size(), SCAN_CHUNK);
            let mut last = None;
            loop {
                match sc.next_batch() {
                    Ok(Some(b)) => {
                        if !b.header.is_control() {
                            last = Some(b.header.last_offset() + 1);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(e.into_log_error(&self.path)),
                }
            }
            if last.is_some() {
                return Ok(last);
            }
        }
        let mut last = None;
        self.for_each_batch(|b| {
            if !b.header.is_control() {
                last = Some(b.header.last_offset() + 1);
            }
            Ok(())
        })?;
        Ok(last)
    }

    /// Calls `f` on every batch holding offsets in `[from, upto)`, in order (a read-only
    /// follower's scan for transactions).
    pub fn for_each_batch_between(
        &self,
        from: u64,
        upto: u64,
        mut f: impl FnMut(&RawBatch) -> Result<()>,
    ) -> Result<()> {
        let rel = from.saturating_sub(self.base_offset).min(u32::MAX as u64) as u32;
        let entry = read_lock(&self.index).lookup(rel);
        let mut sc = IndexedScan::new(&self.file, entry, self.base_offset, self.size(), SCAN_CHUNK);
        loop {
            match sc.next_batch() {
                Ok(Some(b)) if b.header.base_offset >= upto => return Ok(()),
                Ok(Some(b)) if b.header.last_offset() < from => {}
                Ok(Some(b)) => f(&b)?,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.into_log_error(&self.path)),
            }
        }
    }

    /// Calls `f` on every batch of the segment, in order (for compaction).
    pub fn for_each_batch(&self, mut f: impl FnMut(&RawBatch) -> Result<()>) -> Result<()> {
        let mut sc = Scanner::new(&self.file, 0, self.size(), SCAN_CHUNK);
        loop {
            match sc.next_batch() {
                Ok(Some(b)) => f(&b)?,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.into_log_error(&self.path)),
            }
        }
    }

    /// Removes the segment's files (the open handle keeps working for current readers).
    pub fn delete_files(&self) -> io::Result<()> {
        for p in [
            self.path.clone(),
            index_path(&self.dir, self.base_offset),
            timeindex_path(&self.dir, self.base_offset),
        ] {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Paths of the index files.
    pub fn index_paths(&self) -> (PathBuf, PathBuf) {
        (
            index_path(&self.dir, self.base_offset),
            timeindex_path(&self.dir, self.base_offset),
        )
    }
}

/// (end of the valid prefix, next offset, first problem as (position, reason)).
type ScanOutcome = (u64, u64, Option<(u64, String)>);

/// What [`scan_valid`] found.
struct Scan {
    /// End of the valid prefix.
    end: u64,
    /// One past the last offset of the valid prefix.
    next: u64,
    /// The first problem (position, reason) if the scan stopped before the end.
    problem: Option<(u64, String)>,
    /// The last valid batch.
    mark: Option<TailMark>,
}

impl Scan {
    fn outcome(self) -> ScanOutcome {
        (self.end, self.next, self.problem)
    }
}

/// Scans `[0, len)` building `ix`; see [`scan_valid`].
fn scan_build(
    file: &File,
    path: &Path,
    base: u64,
    len: u64,
    interval: u32,
    ix: &mut SegmentIndex,
) -> Result<Scan> {
    scan_valid(file, path, base, 0, base, len, |b| {
        let h = &b.header;
        ix.on_batch(
            (h.base_offset - base) as u32,
            (h.last_offset() - base) as u32,
            b.position as u32,
            h.total_len(),
            h.max_timestamp,
            interval,
        );
    })
}

/// Scans `[pos, len)` of a segment with base offset `base` whose offsets so far end
/// before `next`, calling `f` for every valid batch (length, magic, CRC32C, offsets
/// increasing and within 32 bits of the base). Stops at the end or at the first problem,
/// which is reported, not an error. I/O errors fail.
fn scan_valid(
    file: &File,
    path: &Path,
    base: u64,
    pos: u64,
    mut next: u64,
    len: u64,
    mut f: impl FnMut(&RawBatch),
) -> Result<Scan> {
    let mut sc = Scanner::new(file, pos, len, SCAN_CHUNK);
    let mut mark = None;
    loop {
        let pos = sc.position();
        let stop = |problem: Option<(u64, String)>, next, mark| {
            Ok(Scan {
                end: pos,
                next,
                problem,
                mark,
            })
        };
        match sc.next_batch() {
            Ok(None) => return stop(None, next, mark),
            Ok(Some(b)) => {
                let h = b.header;
                if h.base_offset < next {
                    let why = format!(
                        "batch base offset {} goes back (expected >= {next})",
                        h.base_offset
                    );
                    return stop(Some((pos, why)), next, mark);
                }
                if h.last_offset() - base > u32::MAX as u64 || pos > u32::MAX as u64 {
                    let why = format!(
                        "batch offset {} too far from segment base {base}",
                        h.last_offset()
                    );
                    return stop(Some((pos, why)), next, mark);
                }
                f(&b);
                mark = Some(TailMark::of(&b));
                next = h.last_offset() + 1;
            }
            Err(ScanError::Corrupt { position, reason }) => {
                return stop(Some((position, reason)), next, mark)
            }
            Err(ScanError::Io(e)) => return Err(LogError::io("scanning segment", path, e)),
        }
    }
}

/// The index of an active segment closed cleanly ([`Segment::mark_clean`]), when its mark
/// matches the file: same length, index files that load, a tail that checks, the same next
/// offset. The mark is removed in any case: the segment is about to take appends.
fn clean_index(
    dir: &Path,
    base: u64,
    file: &File,
    len: u64,
    interval: u32,
) -> Option<(SegmentIndex, u64)> {
    let path = clean_path(dir, base);
    let mark = std::fs::read(&path).ok()?;
    // A mark left in place (the removal failed) can only match the file while nothing was
    // appended: the length check catches the rest.
    let _ = std::fs::remove_file(&path);
    let (len_bytes, next_bytes) = mark.split_at_checked(8)?;
    let marked_len = u64::from_be_bytes(len_bytes.try_into().ok()?);
    let marked_next = u64::from_be_bytes(next_bytes.try_into().ok()?);
    if marked_len != len {
        return None;
    }
    let offsets = index::load_offsets(&index_path(dir, base)).ok()?.ok()?;
    let times = index::load_times(&timeindex_path(dir, base)).ok()?.ok()?;
    let (ix, next) = check_tail(file, base, len, interval, offsets, times).ok()?;
    (next == marked_next).then_some((ix, next))
}

/// Checks loaded indexes against the log: every entry inside the file, and a walk from
/// the last indexed batch to the end of the file finds valid batches that end exactly at
/// the end. Returns the index (extended by the tail) and the next offset.
fn check_tail(
    file: &File,
    base: u64,
    len: u64,
    interval: u32,
    offsets: Vec<index::OffsetEntry>,
    times: Vec<index::TimeEntry>,
) -> Result<(SegmentIndex, u64), String> {
    if len > 0 && times.is_empty() {
        return Err("time index is empty for a non-empty segment".into());
    }
    if let Some(e) = offsets.last() {
        if e.position as u64 >= len {
            return Err(format!(
                "index entry points at byte {} past the end ({len})",
                e.position
            ));
        }
    }
    let (start_rel, start_pos) = offsets
        .last()
        .map_or((0, 0), |e| (e.rel_offset, e.position));
    let mut ix = SegmentIndex::new();
    if let Some(t) = times.last() {
        ix.max_timestamp = t.timestamp;
        ix.max_timestamp_rel = t.rel_offset;
    }
    ix.offsets = offsets;
    ix.times = times;
    let mut sc = Scanner::new(file, start_pos as u64, len, SCAN_CHUNK);
    let mut next = base + start_rel as u64;
    let mut first = true;
    loop {
        match sc.next_batch() {
            Ok(None) => break,
            Ok(Some(b)) => {
                let h = b.header;
                if (first && start_pos > 0 && h.base_offset != next) || h.base_offset < next {
                    return Err(format!(
                        "index does not match the batch at byte {}",
                        b.position
                    ));
                }
                if h.last_offset() - base > u32::MAX as u64 {
                    return Err("offsets too far from the segment base".into());
                }
                first = false;
                if h.max_timestamp > ix.max_timestamp {
                    ix.max_timestamp = h.max_timestamp;
                    ix.max_timestamp_rel = (h.last_offset() - base) as u32;
                }
                next = h.last_offset() + 1;
            }
            Err(ScanError::Corrupt { position, reason }) => {
                return Err(format!("log tail at byte {position}: {reason}"))
            }
            Err(ScanError::Io(e)) => return Err(format!("reading log tail: {e}")),
        }
    }
    let _ = interval;
    if ix
        .times
        .last()
        .is_some_and(|t| base + t.rel_offset as u64 >= next)
    {
        return Err("time index points past the last offset".into());
    }
    let last_rel = next.saturating_sub(base + 1).min(u32::MAX as u64) as u32;
    ix.seal(last_rel);
    Ok((ix, next))
}
