//! retention.rs owns `cleanup.policy=delete`: choosing which whole closed segments of a
//! partition to delete by `retention.ms` and `retention.bytes`.

/// What one retention pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Segment files deleted.
    pub segments_deleted: usize,
    /// Log bytes deleted.
    pub bytes_deleted: u64,
}
