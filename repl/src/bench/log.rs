//! `brook bench log`: append and read throughput of the embedded log for 100-byte and
//! 1 KiB records, on one and eight partitions, with and without an fsync per batch, printed
//! beside the disk's sequential write bandwidth measured with dd in the same run.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use brook_engine::log::{Bytes, Log, LogOptions, ReadLimit, Record, TopicConfig};
use clap::Args;

use super::disk;

#[derive(Debug, Args)]
pub struct LogBenchArgs {
    /// Scratch directory for the benchmark's topics; created, and removed afterwards.
    #[arg(long, default_value = "./brook-bench")]
    pub dir: PathBuf,
    /// MiB written per scenario (and by dd).
    #[arg(long, default_value_t = 1024)]
    pub mib: u64,
    /// Run only scenarios whose name contains this text.
    #[arg(long)]
    pub only: Option<String>,
}

/// One measured configuration.
#[derive(Debug, Clone, Copy)]
struct Scenario {
    record_bytes: usize,
    partitions: u32,
    fsync_per_batch: bool,
    /// Records per append call (one batch on disk).
    batch_records: usize,
}

impl Scenario {
    fn name(&self) -> String {
        format!(
            "{}B x{} records/batch, {} partition(s), {}",
            self.record_bytes,
            self.batch_records,
            self.partitions,
            if self.fsync_per_batch {
                "fsync per batch"
            } else {
                "no fsync"
            }
        )
    }
}

/// What one scenario measured.
struct Outcome {
    records: u64,
    payload_bytes: u64,
    append_secs: f64,
    read_secs: f64,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        record_bytes: 100,
        partitions: 1,
        fsync_per_batch: false,
        batch_records: 1000,
    },
    Scenario {
        record_bytes: 100,
        partitions: 8,
        fsync_per_batch: false,
        batch_records: 1000,
    },
    Scenario {
        record_bytes: 100,
        partitions: 1,
        fsync_per_batch: true,
        batch_records: 10_000,
    },
    Scenario {
        record_bytes: 1024,
        partitions: 1,
        fsync_per_batch: false,
        batch_records: 1024,
    },
    Scenario {
        record_bytes: 1024,
        partitions: 8,
        fsync_per_batch: false,
        batch_records: 1024,
    },
    Scenario {
        record_bytes: 1024,
        partitions: 1,
        fsync_per_batch: true,
        batch_records: 1024,
    },
    Scenario {
        record_bytes: 1024,
        partitions: 8,
        fsync_per_batch: true,
        batch_records: 1024,
    },
];

pub fn run(args: LogBenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let result = run_in(&args, out);
    let _ = std::fs::remove_dir_all(&args.dir);
    result
}

fn run_in(args: &LogBenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "brook bench log: {} MiB per scenario in {}",
        args.mib,
        args.dir.display()
    )?;
    let bandwidth = disk::measure(&args.dir, args.mib)?;
    writeln!(
        out,
        "disk (dd bs=1M count={}, median of 3): {:.0} MB/s with one fdatasync at the end, {:.0} MB/s with oflag=dsync (sync per 1 MiB)\n",
        args.mib, bandwidth.buffered_then_sync, bandwidth.sync_per_mib
    )?;
    writeln!(
        out,
        "| scenario | records | append records/s | append MB/s | read records/s | read MB/s |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    for scenario in SCENARIOS {
        if args
            .only
            .as_ref()
            .is_some_and(|only| !scenario.name().contains(only.as_str()))
        {
            continue;
        }
        let outcome = measure(args, scenario)?;
        let mb = outcome.payload_bytes as f64 / 1e6;
        writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            scenario.name(),
            outcome.records,
            outcome.records as f64 / outcome.append_secs,
            mb / outcome.append_secs,
            outcome.records as f64 / outcome.read_secs,
            mb / outcome.read_secs,
        )?;
        out.flush()?;
    }
    Ok(())
}

fn measure(args: &LogBenchArgs, scenario: &Scenario) -> anyhow::Result<Outcome> {
    let data_dir = args.dir.join("log");
    let _ = std::fs::remove_dir_all(&data_dir);
    let log = Log::open(&data_dir, LogOptions::default())?;
    let mut config = TopicConfig::new(scenario.partitions);
    if scenario.fsync_per_batch {
        config.set("flush.messages", "1")?;
    }
    let topic = log.create_topic("bench", config)?;

    // One reusable batch: the benchmark measures the log, not record construction.
    let payload = Bytes::from(
        (0..scenario.record_bytes)
            .map(|i| (i * 31 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let batch: Vec<Record> = (0..scenario.batch_records)
        .map(|i| Record::unkeyed(payload.clone(), 1_700_000_000_000 + i as i64))
        .collect();
    let total_records = (args.mib * 1024 * 1024) / scenario.record_bytes as u64;
    let batches = total_records.div_ceil(scenario.batch_records as u64);

    let started = Instant::now();
    for i in 0..batches {
        topic.append((i % scenario.partitions as u64) as u32, &batch)?;
    }
    topic.flush()?;
    let append_secs = started.elapsed().as_secs_f64();
    let records = batches * scenario.batch_records as u64;

    let started = Instant::now();
    let mut read = 0u64;
    for partition in topic.partitions() {
        let mut position = partition.start_offset();
        loop {
            let chunk = partition.read(position, ReadLimit::records(8192))?;
            let Some(last) = chunk.last() else { break };
            position = last.offset + 1;
            read += chunk.len() as u64;
        }
    }
    let read_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(read == records, "read back {read} records, wrote {records}");
    drop(topic);
    drop(log);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(Outcome {
        records,
        payload_bytes: records * scenario.record_bytes as u64,
        append_secs,
        read_secs,
    })
}
