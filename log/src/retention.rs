//! retention.rs owns `cleanup.policy=delete`: choosing which whole closed segments of a
//! partition to delete by `retention.ms` and `retention.bytes`, and deleting them.

use crate::error::{LogError, Result};
use crate::partition::{sync_dir, Partition};

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segment files deleted.
    pub segments_deleted: usize,
    /// Log bytes deleted.
    pub bytes_deleted: u64,
}

/// Deletes the oldest closed segments of `p` while either limit says so (Kafka's rules:
/// by time, a segment whose newest record is older than `now_ms - retention.ms`; by
/// size, while the partition minus the segment is still `>= retention.bytes`). Stops at
/// the first segment to keep, and never deletes the active segment.
pub(crate) fn enforce(p: &Partition, now_ms: i64) -> Result<RetentionReport> {
    let cfg = p.config();
    let mut report = RetentionReport::default();
    if !cfg.cleanup_policy.deletes()
        || (cfg.retention_ms.is_none() && cfg.retention_bytes.is_none())
    {
        return Ok(report);
    }
    let _g = p.maintenance_lock();
    let segs = p.segment_list();
    let Some((_, closed)) = segs.split_last() else {
        return Ok(report);
    };
    let mut total: u64 = segs.iter().map(|s| s.size()).sum();
    let mut doomed = Vec::new();
    for s in closed {
        let by_time = cfg
            .retention_ms
            .is_some_and(|r| s.max_timestamp() < now_ms.saturating_sub(r));
        let by_size = cfg.retention_bytes.is_some_and(|rb| total - s.size() >= rb);
        if !by_time && !by_size {
            break;
        }
        total -= s.size();
        doomed.push(s.clone());
    }
    if doomed.is_empty() {
        return Ok(report);
    }
    let bases: Vec<u64> = doomed.iter().map(|s| s.base_offset).collect();
    p.remove_segments(&bases);
    for s in &doomed {
        s.delete_files().map_err(|e| {
            LogError::io(
                format!(
                    "deleting segment of topic {:?} partition {}",
                    p.topic(),
                    p.id()
                ),
                &s.path,
                e,
            )
        })?;
        report.segments_deleted += 1;
        report.bytes_deleted += s.size();
    }
    sync_dir(p.dir()).map_err(|e| LogError::io("syncing partition directory", p.dir(), e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use crate::{Log, LogOptions, Record, TopicConfig};

    fn topic(log: &Log, policy: &str) -> std::sync::Arc<crate::Topic> {
        let mut c = TopicConfig::new(1);
        c.segment_bytes = 500;
        c.retention_ms = Some(10);
        c.retention_bytes = Some(1);
        c.cleanup_policy = crate::CleanupPolicy::Delete;
        if policy == "compact" {
            c.cleanup_policy = crate::CleanupPolicy::Compact;
        }
        log.create_topic(policy, c).unwrap()
    }

    #[test]
    fn never_deletes_the_active_segment() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = topic(&log, "delete");
        for i in 0..50 {
            t.append(0, &[Record::keyed("k", vec![0u8; 40], i)])
                .unwrap();
        }
        let p = t.partition(0).unwrap();
        let before = p.segments().len();
        assert!(before > 3);
        let r = t.enforce_retention(i64::MAX).unwrap();
        assert_eq!(r.segments_deleted, before - 1);
        let segs = p.segments();
        assert_eq!(segs.len(), 1);
        assert_eq!(p.start_offset(), segs[0].base_offset);
        assert!(segs[0].size_bytes > 0);
        assert_eq!(
            p.read(p.start_offset(), 100)
                .unwrap()
                .last()
                .unwrap()
                .offset,
            49
        );
        // Nothing more to delete.
        assert_eq!(t.enforce_retention(i64::MAX).unwrap().segments_deleted, 0);
    }

    #[test]
    fn compact_only_topics_are_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = topic(&log, "compact");
        for i in 0..50 {
            t.append(0, &[Record::keyed(format!("k{i}"), vec![0u8; 40], i)])
                .unwrap();
        }
        assert_eq!(t.enforce_retention(i64::MAX).unwrap().segments_deleted, 0);
        assert_eq!(t.partition(0).unwrap().start_offset(), 0);
    }
}
