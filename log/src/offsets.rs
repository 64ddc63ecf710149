//! offsets.rs (in progress)
