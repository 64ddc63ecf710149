//! error.rs owns `StateError`, the one error type of brook-state. Every message names the
//! store, the changelog topic or the directory involved, and what to do when there is a
//! remedy.

use std::path::PathBuf;

/// Everything that can go wrong in brook-state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The RocksDB database in the state directory could not be opened (damaged or
    /// foreign files, a directory held by another process, ...).
    #[error(
        "cannot open the state directory {}: {reason}. If its files are damaged, move the \
         directory away (or delete it): every store is then restored from its changelog topic",
        dir.display()
    )]
    Open { dir: PathBuf, reason: String },

    /// The state directory was written by an incompatible version of brook-state.
    #[error(
        "the state directory {} has state format {found:?}, this build reads format {expected:?}",
        dir.display()
    )]
    UnsupportedFormat {
        dir: PathBuf,
        found: String,
        expected: String,
    },

    /// A store name that cannot be used.
    #[error("invalid store name {name:?}: {reason}")]
    InvalidStoreName { name: String, reason: String },

    /// The store is open already (each store has one handle at a time), or `drop_store` was
    /// called on a store whose handle is still alive.
    #[error("state store {0:?} is in use: a handle to it is still open (drop it first)")]
    StoreInUse(String),

    /// The store was opened earlier with another changelog topic.
    #[error(
        "state store {store:?} is backed by changelog topic {recorded:?}, not {requested:?}; \
         drop the store (drop_store) to back it by another topic"
    )]
    ChangelogMismatch {
        store: String,
        recorded: String,
        requested: String,
    },

    /// The changelog topic exists but cannot back a store (wrong partition count, not
    /// compacted).
    #[error("topic {topic:?} cannot be the changelog of state store {store:?}: {reason}")]
    ChangelogInvalid {
        store: String,
        topic: String,
        reason: String,
    },

    /// RocksDB holds commits that the changelog topic does not (the topic was deleted,
    /// re-created or lost its tail). The store cannot be restored safely from it.
    #[error(
        "state store {store:?} has applied changelog {topic:?} up to offset {recorded}, but the \
         topic ends at offset {end}: the changelog lost data that the store holds. Drop the \
         store (drop_store, which also forgets its offsets) and rebuild it from its source"
    )]
    ChangelogBehind {
        store: String,
        topic: String,
        recorded: u64,
        end: u64,
    },

    /// The changelog no longer holds the records after the offset RocksDB applied (retention
    /// deleted them).
    #[error(
        "state store {store:?} needs changelog {topic:?} from offset {recorded}, but the topic \
         now starts at offset {start} (retention deleted records that were never applied). \
         Drop the store (drop_store) and rebuild it from its source"
    )]
    ChangelogTruncated {
        store: String,
        topic: String,
        recorded: u64,
        start: u64,
    },

    /// A changelog record that brook-state did not write (or that was damaged).
    #[error("changelog {topic:?} of state store {store:?} has a bad record at offset {offset}: {reason}")]
    CorruptChangelog {
        store: String,
        topic: String,
        offset: u64,
        reason: String,
    },

    /// An entry of brook-state's own bookkeeping in RocksDB that cannot be decoded.
    #[error("state store {store:?}: corrupt bookkeeping entry in RocksDB: {reason}")]
    CorruptState { store: String, reason: String },

    /// A key reserved for brook-state's commit markers was written to the store.
    #[error(
        "state store {store:?}: the key {key:?} is reserved for brook-state's commit markers \
         and cannot be stored; nothing was committed"
    )]
    ReservedKey { store: String, key: Vec<u8> },

    /// A previous commit failed after its changelog records were written; the in-memory
    /// handle may be out of step with RocksDB. Drop the handle and open the store again:
    /// opening replays the changelog.
    #[error(
        "state store {store:?} failed during an earlier commit ({reason}); drop this handle \
         and open the store again, which restores it from its changelog"
    )]
    StoreFailed { store: String, reason: String },

    /// The store's column family no longer exists (it was dropped).
    #[error("state store {0:?} has been dropped")]
    StoreDropped(String),

    /// A RocksDB operation failed.
    #[error("state store {store:?}: RocksDB failed to {operation}: {source}")]
    RocksDb {
        store: String,
        operation: String,
        #[source]
        source: rocksdb::Error,
    },

    /// A brook-log operation on the changelog topic failed.
    #[error("state store {store:?}: cannot {operation} changelog topic {topic:?}: {source}")]
    Log {
        store: String,
        topic: String,
        operation: String,
        #[source]
        source: Box<brook_log::LogError>,
    },

    /// A file-system operation on the state directory failed.
    #[error("{context} ({}): {source}", path.display())]
    Io {
        context: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias used throughout brook-state.
pub type Result<T, E = StateError> = std::result::Result<T, E>;
