//! The disk's sequential write bandwidth, measured with `dd` in the benchmark's own directory
//! so that log throughput can be read against what the hardware gives.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

/// Sequential write bandwidth figures in MB/s (10^6 bytes per second, as dd prints them).
#[derive(Debug, Clone, Copy)]
pub struct DiskBandwidth {
    /// `dd bs=1M conv=fdatasync`: buffered writes, one fdatasync at the end.
    pub buffered_then_sync: f64,
    /// `dd bs=1M oflag=dsync`: every 1 MiB write is synced before the next.
    pub sync_per_mib: f64,
}

/// Runs each dd variant three times in `dir` writing `mib` MiB, keeps the median (a VM's
/// disk varies a lot from run to run), and removes its file.
pub fn measure(dir: &Path, mib: u64) -> anyhow::Result<DiskBandwidth> {
    let file = dir.join("dd-bandwidth.tmp");
    let median = |flag: &str| -> anyhow::Result<f64> {
        let mut rates = [
            dd(&file, mib, flag)?,
            dd(&file, mib, flag)?,
            dd(&file, mib, flag)?,
        ];
        rates.sort_by(f64::total_cmp);
        Ok(rates[1])
    };
    let buffered_then_sync = median("conv=fdatasync")?;
    let sync_per_mib = median("oflag=dsync")?;
    let _ = std::fs::remove_file(&file);
    Ok(DiskBandwidth {
        buffered_then_sync,
        sync_per_mib,
    })
}

fn dd(file: &Path, mib: u64, flag: &str) -> anyhow::Result<f64> {
    let output = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .arg("bs=1M")
        .arg(format!("count={mib}"))
        .arg(flag)
        .output()
        .context("cannot run dd (coreutils) to measure disk bandwidth")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("dd {flag} failed: {stderr}");
    }
    parse_dd_rate(&stderr).with_context(|| format!("cannot read dd's rate from: {stderr}"))
}

/// Reads bytes and seconds from dd's summary line
/// (`1073741824 bytes (1.1 GB, 1.0 GiB) copied, 1.2 s, 895 MB/s`) and returns MB/s.
pub fn parse_dd_rate(stderr: &str) -> Option<f64> {
    let line = stderr.lines().find(|l| l.contains("copied"))?;
    let bytes: f64 = line.split_whitespace().next()?.parse().ok()?;
    let seconds: f64 = line
        .split("copied, ")
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    (seconds > 0.0).then(|| bytes / seconds / 1e6)
}

#[cfg(test)]
mod tests {
    use super::parse_dd_rate;

    #[test]
    fn reads_rate_from_dd_summary() {
        let out = "1024+0 records in\n1024+0 records out\n1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2 s, 537 MB/s\n";
        assert_eq!(parse_dd_rate(out), Some(1073741824.0 / 2.0 / 1e6));
        let out = "536870912 bytes (537 MB, 512 MiB) copied, 0.612345 s, 877 MB/s\n";
        assert_eq!(parse_dd_rate(out), Some(536870912.0 / 0.612345 / 1e6));
        assert_eq!(parse_dd_rate("garbage"), None);
    }
}
