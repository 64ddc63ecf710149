//! segment.rs (in progress)
