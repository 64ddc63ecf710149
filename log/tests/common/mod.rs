//! Helpers shared by brook-log's integration tests: the files of a test topic's partition.

use std::path::{Path, PathBuf};

/// The files of topic `t`'s partition 0 under `dir` whose names end with `suffix`.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join("t").join("0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

/// Removes the clean-close marks (see `Segment::mark_clean`), as a crash leaves none: the
/// next open checks every batch of the active segment.
#[allow(dead_code)] // not every test file crashes its log
pub fn drop_clean_marks(dir: &Path) {
    for mark in files_ending(dir, ".clean_close") {
        std::fs::remove_file(mark).unwrap();
    }
}
