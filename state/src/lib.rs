//! brook-state: operator state of Brook's queries in RocksDB, one column family per store,
//! each store backed by a compacted changelog topic in brook-log so that it can be restored
//! after a crash, a restart, or the loss of the RocksDB files.
//!
//! ```no_run
//! use std::sync::Arc;
//! use brook_log::{Log, LogOptions};
//! use brook_state::StateStores;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let log = Arc::new(Log::open("brook-data/log", LogOptions::default())?);
//! let stores = StateStores::open("brook-data/state".as_ref(), log)?;
//! let mut counts = stores.store("CTAS_COUNTS_1-Aggregate", "_brook-CTAS_COUNTS_1-Aggregate-changelog")?;
//! counts.put(b"alice", &1u64.to_be_bytes());
//! // State and the source offsets it reflects commit together.
//! counts.commit(&[(b"offset/orders/0", &42u64.to_be_bytes())])?;
//! assert_eq!(counts.get(b"alice")?, Some(1u64.to_be_bytes().to_vec()));
//! # Ok(()) }
//! ```
//!
//! See `README.md` for the layout and the commit and restore protocol.

mod changelog;
mod error;
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
