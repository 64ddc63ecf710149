//! compaction.rs owns `cleanup.policy=compact`: rewriting closed segments so that only the
//! latest record per key remains, offsets preserved.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;

use bytes::Bytes;

use crate::batch;
use crate::error::{LogError, Result};
use crate::partition::{sync_dir, Partition};
use crate::record::StoredRecord;
use crate::segment::Segment;

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Closed segments rewritten.
    pub segments_rewritten: usize,
    /// Records removed (superseded values and expired tombstones).
    pub records_removed: u64,
    /// Log bytes before, over the rewritten segments.
    pub bytes_before: u64,
    /// Log bytes after, over the rewritten segments.
    pub bytes_after: u64,
}

impl CompactionReport {
    pub(crate) fn add(&mut self, o: CompactionReport) {
        self.segments_rewritten += o.segments_rewritten;
        self.records_removed += o.records_removed;
        self.bytes_before += o.bytes_before;
        self.bytes_after += o.bytes_after;
    }
}

/// Compacts the closed segments of `p`:
///
/// 1. builds key → latest offset over all closed segments (the active segment is not
///    read and not rewritten, like Kafka's cleaner stopping at the active segment);
/// 2. rewrites each closed segment that has something to drop into `<base>.log.cleaned`
///    keeping, batch by batch, the records that are the latest for their key (keyless
///    records are kept) — a latest record that is a tombstone older than
///    `now_ms - delete.retention.ms` is dropped too — with their original offsets;
/// 3. swaps it in: old index files removed, the cleaned file renamed over the `.log`
///    (atomic), indexes rebuilt from it. A crash at any point leaves either the old or the
///    new log, and a missing index is rebuilt on open.
pub(crate) fn compact(p: &Partition, now_ms: i64) -> Result<CompactionReport> {
    let cfg = p.config();
    let mut report = CompactionReport::default();
    if !cfg.cleanup_policy.compacts() {
        return Ok(report);
    }
    let _g = p.maintenance_lock();
    let segs = p.segment_list();
    let Some((_, closed)) = segs.split_last() else {
        return Ok(report);
    };
    if closed.is_empty() {
        return Ok(report);
    }
    // Only segments wholly below the last stable offset: a batch of an open transaction
    // keeps its producer until the transaction ends.
    let lso = p.last_stable_offset();
    let closed: Vec<Arc<Segment>> = closed
        .iter()
        .enumerate()
        .take_while(|(i, _)| segs[i + 1].base_offset <= lso)
        .map(|(_, s)| s.clone())
        .collect();
    if closed.is_empty() {
        return Ok(report);
    }
    // Markers are kept as they are; records of aborted transactions are dropped (no
    // read_committed reader sees them) and never count as the latest for their key.
    let aborted = |h: &batch::BatchHeader| {
        h.is_transactional() && !h.is_control() && p.is_aborted(h.producer_id, h.base_offset)
    };
    let mut latest: HashMap<Bytes, u64> = HashMap::new();
    for s in &closed {
        s.for_each_batch(|b| {
            if b.header.is_control() || aborted(&b.header) {
                return Ok(());
            }
            batch::decode_records(&b.bytes, &b.header, 0, |r, _| {
                if let Some(k) = &r.key {
                    match latest.get_mut(&k[..]) {
                        Some(o) => *o = r.offset,
                        None => {
                            latest.insert(Bytes::copy_from_slice(k), r.offset);
                        }
                    }
                }
                true
            })
            .map_err(|reason| LogError::corrupt(&s.path, b.position, reason))
        })?;
    }
    let cutoff = now_ms.saturating_sub(cfg.delete_retention_ms);
    let keep = |r: &StoredRecord| match &r.key {
        None => true,
        Some(k) => {
            latest.get(&k[..]) == Some(&r.offset) && !(r.value.is_none() && r.timestamp < cutoff)
        }
    };
    for (i, s) in closed.iter().enumerate() {
        let next_base = segs[i + 1].base_offset;
        // First pass over the segment: anything to drop?
        let mut droppable = 0u64;
        s.for_each_batch(|b| {
            if b.header.is_control() {
                return Ok(());
            }
            if aborted(&b.header) {
                droppable += b.header.record_count as u64;
                return Ok(());
            }
            batch::decode_records(&b.bytes, &b.header, 0, |r, _| {
                if !keep(&r) {
                    droppable += 1;
                }
                true
            })
            .map_err(|reason| LogError::corrupt(&s.path, b.position, reason))
        })?;
        if droppable == 0 {
            continue;
        }
        let cleaned = s.path.with_extension("log.cleaned");
        let io = |what: &str, e| {
            LogError::io(
                format!(
                    "{what} while compacting topic {:?} partition {}",
                    p.topic(),
                    p.id()
                ),
                &cleaned,
                e,
            )
        };
        let file = File::create(&cleaned).map_err(|e| io("creating", e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut written = 0u64;
        s.for_each_batch(|b| {
            let mut kept = Vec::new();
            let mut all = true;
            if b.header.is_control() {
                out.write_all(&b.bytes).map_err(|e| io("writing", e))?;
                written += b.bytes.len() as u64;
                return Ok(());
            }
            if aborted(&b.header) {
                return Ok(());
            }
            batch::decode_records(&b.bytes, &b.header, 0, |r, _| {
                if keep(&r) {
                    kept.push(r);
                } else {
                    all = false;
                }
                true
            })
            .map_err(|reason| LogError::corrupt(&s.path, b.position, reason))?;
            let bytes: &[u8] = if all {
                &b.bytes
            } else if kept.is_empty() {
                return Ok(());
            } else {
                buf.clear();
                batch::encode_with_offsets(
                    &mut buf,
                    b.header.base_offset,
                    b.header.last_offset_delta,
                    &kept,
                );
                &buf
            };
            written += bytes.len() as u64;
            out.write_all(bytes).map_err(|e| io("writing", e))
        })?;
        let file = out
            .into_inner()
            .map_err(|e| io("writing", e.into_error()))?;
        file.sync_all().map_err(|e| io("fsyncing", e))?;
        drop(file);
        let (ipath, tpath) = s.index_paths();
        for ix in [&ipath, &tpath] {
            match std::fs::remove_file(ix) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io("removing old index while compacting", ix, e)),
            }
        }
        std::fs::rename(&cleaned, &s.path)
            .map_err(|e| io("renaming cleaned segment into place", e))?;
        sync_dir(p.dir()).map_err(|e| LogError::io("syncing partition directory", p.dir(), e))?;
        let (seg, _) = Segment::open_closed(
            p.dir(),
            s.base_offset,
            next_base,
            cfg.index_interval_bytes,
            true,
        )?;
        p.replace_segment(Arc::new(seg));
        report.segments_rewritten += 1;
        report.records_removed += droppable;
        report.bytes_before += s.size();
        report.bytes_after += written;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use crate::{CleanupPolicy, Log, LogOptions, Record, TopicConfig};

    fn compacted() -> TopicConfig {
        let mut c = TopicConfig::new(1);
        c.segment_bytes = 400;
        c.cleanup_policy = CleanupPolicy::Compact;
        c
    }

    #[test]
    fn fully_superseded_segments_become_empty_and_reads_skip_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = log.create_topic("c", compacted()).unwrap();
        for i in 0..60 {
            t.append(0, &[Record::keyed("same", format!("v{i}"), i)])
                .unwrap();
        }
        let p = t.partition(0).unwrap();
        let r = t.compact_at(0).unwrap();
        assert!(r.segments_rewritten >= 2);
        let segs = p.segments();
        let closed = &segs[..segs.len() - 1];
        // Only the last closed segment keeps a record ("same" -> its latest closed value).
        assert_eq!(closed.iter().filter(|s| s.size_bytes > 0).count(), 1);
        let got = p.read(0, 1000).unwrap();
        let active_base = segs.last().unwrap().base_offset;
        assert_eq!(got[0].offset, active_base - 1);
        assert_eq!(got.last().unwrap().offset, 59);
        assert_eq!(got.len() as u64, 60 - active_base + 1);
    }

    #[test]
    fn an_interrupted_compaction_is_cleaned_up_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let pdir;
        {
            let log = Log::open(dir.path(), LogOptions::default()).unwrap();
            let t = log.create_topic("c", compacted()).unwrap();
            for i in 0..30 {
                t.append(0, &[Record::keyed(format!("k{}", i % 3), "v", i)])
                    .unwrap();
            }
            pdir = t.partition(0).unwrap().dir().to_path_buf();
        }
        std::fs::write(
            pdir.join("00000000000000000000.log.cleaned"),
            b"half written",
        )
        .unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        assert!(!pdir.join("00000000000000000000.log.cleaned").exists());
        assert!(log
            .recovery_notes()
            .iter()
            .any(|n| n.contains("interrupted compaction")));
        let p = log.topic("c").unwrap().partition(0).unwrap().clone();
        assert_eq!(p.read(0, 100).unwrap().len(), 30);
    }
}
