//! The commands of the `brook` binary: `topic`, `produce`, `consume` over the log, and
//! `check` over SQL scripts, `test` over conformance files, `server` (the REST API).

pub mod check;
pub mod consume;
pub mod kafka;
pub mod produce;
pub mod run;
pub mod server;
pub mod test;
pub mod topic;

use std::path::Path;

use anyhow::Context;
use brook_engine::log::{Log, LogOptions};

/// Opens the data directory, creating it when missing.
pub fn open_log(data_dir: &Path) -> anyhow::Result<Log> {
    Log::open(data_dir, LogOptions::default())
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))
}

/// Parses `--config k=v` arguments.
pub fn parse_config_pairs(pairs: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => anyhow::bail!("--config {pair:?} is not KEY=VALUE"),
        })
        .collect()
}
