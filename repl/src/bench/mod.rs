//! `brook bench ...`: throughput measurements whose figures go into BENCHMARKS.md.

pub mod disk;
pub mod log;
pub mod engine;
