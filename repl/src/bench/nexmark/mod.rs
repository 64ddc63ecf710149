//! `brook bench nexmark`: the Nexmark benchmark on Brook. Generates N events (persons,
//! auctions and bids, see `generator`) into three topics of the embedded log, each event's
//! time as its record timestamp, then runs each chosen query (see `queries`) from the log to
//! its sink, each in a fresh child process over the same data (so that its peak memory is
//! its own), and reports per query: the time until every statement of the query caught up,
//! events/s counted as Flink's Nexmark counts them (all events of the run over the time,
//! although a query reads only the topics of the kinds it uses), the records it read and the
//! records in its sink. A query Brook cannot express says "not supported yet" and why.

pub mod generator;
pub mod queries;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use brook_engine::log::{Bytes, Log, LogOptions, Record, TopicConfig};
use brook_engine::runtime::{Engine, EngineOptions};
use clap::Args;

use super::engine::{committed_records, peak_rss_kib};
use generator::{EventKind, Generator, GeneratorConfig};
use queries::Query;

#[derive(Debug, Args)]
pub struct NexmarkBenchArgs {
    /// Scratch data directory; created, and removed afterwards unless --keep.
    #[arg(long, default_value = "./brook-bench-nexmark")]
    pub dir: PathBuf,
    /// Events to generate (persons, auctions and bids 1 : 3 : 46).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Queries to run, comma-separated (q0, q1, q2, q5, q7, q8).
    #[arg(long, value_delimiter = ',', default_value = "q0,q1,q2,q5,q7,q8")]
    pub queries: Vec<String>,
    /// Events per second of event time (Beam's default first-event rate: 10,000).
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Seed of the generator: the same seed gives the same events.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Partitions of each input topic.
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,
    /// Keep the data directory (its topics hold the events and every query's sink).
    #[arg(long)]
    pub keep: bool,
    /// Internal: run only the measured query (--queries names one) over an existing directory.
    #[arg(long, hide = true)]
    pub measure: bool,
}

/// Events of each kind written.
type Counts = HashMap<EventKind, u64>;

const KINDS: [EventKind; 3] = [EventKind::Person, EventKind::Auction, EventKind::Bid];

/// Writes `events` generated events into the three topics, in batches, round-robin over the
/// partitions (a batch to one partition), each event's time as its record timestamp.
fn prepare(dir: &Path, args: &NexmarkBenchArgs, out: &mut impl Write) -> anyhow::Result<Counts> {
    const BATCH: usize = 10_000;
    let log = Log::open(dir, LogOptions::default()).context("open the scratch log")?;
    let mut topics = HashMap::new();
    let mut batches: HashMap<EventKind, Vec<Record>> = HashMap::new();
    let mut next_partition: HashMap<EventKind, u32> = HashMap::new();
    for kind in KINDS {
        let topic = log.create_topic(queries::topic(kind), TopicConfig::new(args.partitions))?;
        topics.insert(kind, topic);
        batches.insert(kind, Vec::with_capacity(BATCH));
        next_partition.insert(kind, 0);
    }
    let start = Instant::now();
    let mut counts = Counts::new();
    let config = GeneratorConfig {
        seed: args.seed,
        rate: args.rate,
        ..GeneratorConfig::default()
    };
    let mut flush = |kind: EventKind, batch: &mut Vec<Record>| -> anyhow::Result<()> {
        let p = next_partition
            .get_mut(&kind)
            .expect("every kind has a partition");
        topics[&kind].append(*p, batch)?;
        *p = (*p + 1) % args.partitions;
        batch.clear();
        Ok(())
    };
    for event in Generator::new(config).take(args.events as usize) {
        let kind = event.kind();
        *counts.entry(kind).or_default() += 1;
        let batch = batches.get_mut(&kind).expect("every kind has a batch");
        batch.push(Record::new(
            None,
            Some(Bytes::from(event.to_json())),
            event.date_time(),
        ));
        if batch.len() == BATCH {
            flush(kind, batch)?;
        }
    }
    for (kind, batch) in batches.iter_mut() {
        if !batch.is_empty() {
            flush(*kind, batch)?;
        }
    }
    for topic in topics.values() {
        topic.flush()?;
    }
    let count = |kind| counts.get(&kind).copied().unwrap_or(0);
    writeln!(
        out,
        "wrote {} events ({} persons, {} auctions, {} bids; {} events/s of event time) into {} partition(s) per topic in {:.1} s",
        args.events,
        count(EventKind::Person),
        count(EventKind::Auction),
        count(EventKind::Bid),
        args.rate,
        args.partitions,
        start.elapsed().as_secs_f64()
    )?;
    Ok(counts)
}

/// Runs one query over the prepared directory and reports it (in the child process).
fn measure(dir: &Path, query: &Query, events: u64, out: &mut impl Write) -> anyhow::Result<()> {
    let options = EngineOptions {
        processing_log_stream: false,
        // Each query runs in its own process over the same directory: nothing of one query
        // is replayed in the next.
        persist_commands: false,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir, options)?;
    engine.execute(queries::SOURCES)?;
    let read: u64 = query
        .reads
        .iter()
        .map(|kind| committed_records(engine.log(), queries::topic(*kind)))
        .sum::<anyhow::Result<u64>>()?;
    let start = Instant::now();
    engine
        .execute(query.sql)
        .with_context(|| format!("{}: its statements failed", query.name))?;
    // Every statement of the chain runs on its own thread; wait until all caught up.
    engine.run_until_idle()?;
    let secs = start.elapsed().as_secs_f64();
    let errors = engine.take_query_errors();
    if !errors.is_empty() {
        bail!("{}: a query stopped: {errors:?}", query.name);
    }
    let outputs = committed_records(engine.log(), query.sink)?;
    let memory = peak_rss_kib()
        .map(|kib| format!("{:.0} MiB", kib as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".to_string());
    writeln!(
        out,
        "{:<3} {:<20} {:>8.2} s {:>12.0} events/s {:>12} read {:>12} to the sink {:>9} peak",
        query.name,
        query.title,
        secs,
        events as f64 / secs,
        read,
        outputs,
        memory
    )?;
    engine.shutdown()?;
    Ok(())
}

pub fn run(args: NexmarkBenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut chosen = Vec::new();
    for name in &args.queries {
        let name = name.trim();
        match queries::find(name) {
            Some(q) => chosen.push(q),
            None => bail!(
                "unknown Nexmark query '{name}' (known: {})",
                queries::QUERIES
                    .iter()
                    .map(|q| q.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    if args.measure {
        let [query] = chosen[..] else {
            bail!("--measure runs exactly one query");
        };
        return measure(&args.dir, query, args.events, out);
    }
    if args.events == 0 || args.partitions == 0 || args.rate == 0 {
        bail!("--events, --partitions and --rate must be at least 1");
    }
    if args.dir.exists() {
        bail!(
            "{} exists; give --dir a new path (the benchmark creates and removes it)",
            args.dir.display()
        );
    }
    let result = prepare(&args.dir, &args, out).and_then(|_| {
        out.flush()?;
        run_queries(&args, &chosen, out)
    });
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.dir);
    }
    result
}

/// Runs each query in a child process and prints its line; fails at the end if any failed.
fn run_queries(
    args: &NexmarkBenchArgs,
    chosen: &[&Query],
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("find the brook binary")?;
    writeln!(
        out,
        "events/s: all {} events of the run over the time until the query's statements caught up (as Flink's Nexmark counts)",
        args.events
    )?;
    let mut failed = Vec::new();
    for query in chosen {
        if let Some(why) = query.unsupported {
            writeln!(
                out,
                "{:<3} {:<20} not supported yet: {why}",
                query.name, query.title
            )?;
            continue;
        }
        let output = std::process::Command::new(&exe)
            .args(["bench", "nexmark", "--measure", "--queries", query.name])
            .arg("--dir")
            .arg(&args.dir)
            .arg("--events")
            .arg(args.events.to_string())
            .output()
            .context("run the measuring process")?;
        out.write_all(&output.stdout)?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            writeln!(
                out,
                "{:<3} {:<20} failed: {}",
                query.name,
                query.title,
                stderr.trim()
            )?;
            failed.push(query.name);
        }
        out.flush()?;
    }
    if !failed.is_empty() {
        bail!("Nexmark queries failed: {}", failed.join(", "));
    }
    Ok(())
}
