//! compaction.rs owns `cleanup.policy=compact`: rewriting closed segments so that only the
//! latest record per key remains, offsets preserved.

/// What one compaction pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactionReport {
    /// Closed segments rewritten.
    pub segments_rewritten: usize,
    /// Records removed (superseded values and expired tombstones).
    pub records_removed: u64,
    /// Log bytes before and after, over the rewritten segments.
    pub bytes_before: u64,
    /// Log bytes after.
    pub bytes_after: u64,
}
