//! brook-state: operator state of Brook's queries in RocksDB, one column family per store,
//! each store backed by a compacted changelog topic in brook-log so that it can be restored
//! after a crash, a restart, or the loss of the RocksDB files. See `README.md` (below) for
//! the layout and the commit and restore protocol.
#![doc = include_str!("../README.md")]

mod changelog;
mod error;
mod ingest;
mod store;
mod stores;

pub use changelog::{default_changelog_config, COMMIT_MARKER_HEADER, COMMIT_MARKER_KEY};
pub use error::{Result, StateError};
pub use store::Store;
pub use stores::{
    RestoreInfo, StateOptions, StateStores, StoreInfo, META_COLUMN_FAMILY, STATE_FORMAT,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_can_be_shared_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<StateStores>();
        send_sync::<Store>();
        send_sync::<StateError>();
    }
}
