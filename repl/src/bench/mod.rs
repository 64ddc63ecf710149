//! `brook bench ...`: throughput measurements whose figures go into BENCHMARKS.md.

pub mod disk;
pub mod engine;
pub mod log;
pub mod nexmark;
pub mod server;
