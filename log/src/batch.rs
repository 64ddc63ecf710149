//! batch.rs (in progress)
