//! index.rs (in progress)
