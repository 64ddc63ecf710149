//! `brook bench engine`: end-to-end throughput of a windowed aggregation. Writes N JSON click
//! events `{"user_id","page_id","ts"}` over K users into a topic of P partitions, keyed by
//! `user_id` (the record key is the user id, which picks the partition as Kafka's default
//! partitioner does), then, in a fresh child process (so its peak memory is
//! the query's alone), runs `CREATE TABLE ... AS SELECT user_id, COUNT(*) ... WINDOW
//! <window> GROUP BY user_id` from the log to its sink topic, and reports events/s, output
//! records and peak resident memory (VmHWM). `--window` picks TUMBLING (60 s), HOPPING
//! (60 s every 10 s) or SESSION (30 s gap), each with a 2 s grace period (the anchors'
//! workload, ../shared/anchors). With `--queries N`, N copies of the query (each its own
//! sink) run at once, each on its own thread: events/s is then the sum over the queries,
//! which shows how queries spread over the cores. The query groups by the stream's key, so
//! with `--partitions P` it runs as P tasks, each on its own thread (no repartition).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use brook_engine::log::partitioner::kafka_partition;
use brook_engine::log::{Bytes, Log, LogOptions, Record, TopicConfig};
use brook_engine::runtime::{Engine, EngineOptions, ProcessingGuarantee};
use clap::Args;

#[derive(Debug, Args)]
pub struct EngineBenchArgs {
    /// Scratch data directory; created, and removed afterwards unless --keep.
    #[arg(long, default_value = "./brook-bench-engine")]
    pub dir: PathBuf,
    /// Click events to process.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Distinct users (group keys).
    #[arg(long, visible_alias = "keys", default_value_t = 100_000)]
    pub users: u64,
    /// The window of the query.
    #[arg(long, value_enum, default_value_t = WindowKind::Tumbling)]
    pub window: WindowKind,
    /// Partitions of the input topic.
    #[arg(long, default_value_t = 1)]
    pub partitions: u32,
    /// Keep the data directory.
    #[arg(long)]
    pub keep: bool,
    /// Turn the record cache off: every event's update goes to the sink (as ksqlDB with
    /// `cache.max.bytes.buffering=0`).
    #[arg(long)]
    pub no_record_cache: bool,
    /// Independent copies of the query to run at once (each reads every event).
    #[arg(long, default_value_t = 1)]
    pub queries: u32,
    /// `processing.guarantee` of the query: exactly_once_v2 (the default) or at_least_once.
    #[arg(long, default_value = "exactly_once_v2")]
    pub processing_guarantee: String,
    /// Internal: run only the measured query over an existing directory.
    #[arg(long, hide = true)]
    pub measure: bool,
}

/// The window kinds the benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WindowKind {
    Tumbling,
    Hopping,
    Session,
}

impl WindowKind {
    fn clause(self) -> &'static str {
        match self {
            WindowKind::Tumbling => "TUMBLING (SIZE 60 SECONDS, GRACE PERIOD 2 SECONDS)",
            WindowKind::Hopping => {
                "HOPPING (SIZE 60 SECONDS, ADVANCE BY 10 SECONDS, GRACE PERIOD 2 SECONDS)"
            }
            WindowKind::Session => "SESSION (30 SECONDS, GRACE PERIOD 2 SECONDS)",
        }
    }
}

const STREAM: &str = "CREATE STREAM clicks (user_id STRING KEY, page_id STRING, ts BIGINT) WITH (kafka_topic='clicks', value_format='JSON', timestamp='ts');";

fn query(window: WindowKind) -> String {
    format!(
        "CREATE TABLE clicks_per_user AS SELECT user_id, COUNT(*) AS clicks FROM clicks WINDOW {} GROUP BY user_id;",
        window.clause()
    )
}

/// The `i`th copy of the query (the first is the query itself) and its sink topic.
fn query_copy(window: WindowKind, i: u32) -> (String, String) {
    if i == 0 {
        return (query(window), "CLICKS_PER_USER".to_string());
    }
    let sink = format!("clicks_per_user_{i}");
    (
        query(window).replace("clicks_per_user", &sink),
        sink.to_uppercase(),
    )
}

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn prepare(
    dir: &Path,
    events: u64,
    users: u64,
    partitions: u32,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let log = Log::open(dir, LogOptions::default()).context("open the scratch log")?;
    let topic = log.create_topic("clicks", TopicConfig::new(partitions))?;
    let start = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0: i64 = 1_700_000_000_000;
    let mut batches: Vec<Vec<Record>> = (0..partitions)
        .map(|_| Vec::with_capacity(10_000))
        .collect();
    for i in 0..events {
        let user = rng.next() % users;
        let page = rng.next() % 1000;
        // Ten events per millisecond on average: 10M events span about 17 minutes.
        let ts = t0 + (i / 10) as i64;
        let key = format!("user_{user}");
        let value = format!(r#"{{"user_id":"{key}","page_id":"/page/{page}","ts":{ts}}}"#);
        let p = kafka_partition(key.as_bytes(), partitions);
        let batch = &mut batches[p as usize];
        batch.push(Record::new(
            Some(Bytes::from(key)),
            Some(Bytes::from(value)),
            ts,
        ));
        if batch.len() == 10_000 {
            topic.append(p, batch)?;
            batch.clear();
        }
    }
    for (p, batch) in batches.iter().enumerate() {
        if !batch.is_empty() {
            topic.append(p as u32, batch)?;
        }
    }
    topic.flush()?;
    writeln!(
        out,
        "wrote {events} events over {users} users into {partitions} partition(s) in {:.1} s",
        start.elapsed().as_secs_f64()
    )?;
    Ok(())
}

/// The committed records of a topic (records, not offsets: exactly-once commits add a
/// marker each).
pub(crate) fn committed_records(log: &Log, topic: &str) -> anyhow::Result<u64> {
    let mut records = 0u64;
    for p in log.topic(topic)?.partitions() {
        let mut pos = p.start_offset();
        loop {
            let read = p.read_isolated(
                pos,
                brook_engine::log::ReadLimit::records(65536),
                brook_engine::log::IsolationLevel::ReadCommitted,
            )?;
            records += read.records.len() as u64;
            if read.next_offset == pos {
                break;
            }
            pos = read.next_offset;
        }
    }
    Ok(records)
}

/// Peak resident memory of this process (VmHWM), in KiB.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

fn measure(
    dir: &Path,
    window: WindowKind,
    record_cache: bool,
    queries: u32,
    guarantee: ProcessingGuarantee,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut options = EngineOptions {
        processing_log_stream: false,
        processing_guarantee: guarantee,
        ..EngineOptions::default()
    };
    if !record_cache {
        options.record_cache_keys = 0;
    }
    let mut engine = Engine::open(dir, options)?;
    engine.execute(STREAM)?;
    let sampler = RssSampler::start();
    let start = Instant::now();
    let copies: Vec<(String, String)> =
        (0..queries.max(1)).map(|i| query_copy(window, i)).collect();
    for (sql, _) in &copies {
        engine.execute(sql)?;
    }
    // Each query runs on its own thread from its start; wait until all have read everything.
    engine.run_until_idle()?;
    let secs = start.elapsed().as_secs_f64();
    let samples = sampler.stop();
    let processed: u64 = engine.queries().iter().map(|q| q.processed).sum();
    let threads: usize = engine.queries().iter().map(|q| q.workers).sum();
    let mut outputs = 0u64;
    for (_, sink) in &copies {
        outputs += committed_records(engine.log(), sink)?;
    }
    writeln!(
        out,
        "query: {} (record cache {}, processing.guarantee={}, {threads} thread(s)){}",
        copies[0].0,
        if record_cache { "on" } else { "off" },
        guarantee.name(),
        if copies.len() > 1 {
            format!(", {} copies at once", copies.len())
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "processed {processed} events in {secs:.2} s: {:.0} events/s; {outputs} records written to the sink{}",
        processed as f64 / secs,
        if copies.len() > 1 { "s" } else { "" }
    )?;
    match peak_rss_kib() {
        Some(kib) => writeln!(
            out,
            "peak memory (VmHWM) of the query process: {:.0} MiB",
            kib as f64 / 1024.0
        )?,
        None => writeln!(out, "peak memory: not available (no /proc/self/status)")?,
    }
    let cpu = query_threads_cpu();
    if !cpu.is_empty() {
        let each: Vec<String> = cpu.iter().map(|s| format!("{s:.2} s")).collect();
        writeln!(
            out,
            "CPU time of the query threads (user+sys): {} — {:.2} cores busy on average",
            each.join(", "),
            cpu.iter().sum::<f64>() / secs
        )?;
    }
    if !samples.is_empty() {
        let mib = |kib: u64| kib / 1024;
        for (what, get) in [
            ("VmRSS", (|s: &RssSample| s.rss) as fn(&RssSample) -> u64),
            ("RssAnon", |s: &RssSample| s.anon),
        ] {
            let at = |f: f64| mib(get(&samples[((samples.len() - 1) as f64 * f) as usize]));
            let last_half: Vec<u64> = samples[samples.len() / 2..].iter().map(get).collect();
            writeln!(
                out,
                "{what} (every 0.5 s, {} samples), MiB at 25/50/75/100% of the run: {} / {} / {} / {}; peak {}; last half min..max {}..{}",
                samples.len(),
                at(0.25),
                at(0.5),
                at(0.75),
                at(1.0),
                mib(samples.iter().map(get).max().unwrap_or(0)),
                mib(last_half.iter().copied().min().unwrap_or(0)),
                mib(last_half.iter().copied().max().unwrap_or(0)),
            )?;
        }
    }
    Ok(())
}

/// Samples this process's resident set (VmRSS, KiB) every 0.5 s on a thread of its own.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<RssSample>>,
}

impl RssSampler {
    fn start() -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(s) = RssSample::now() {
                    samples.push(s);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            samples
        });
        RssSampler { stop, thread }
    }

    fn stop(self) -> Vec<RssSample> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut samples = self.thread.join().unwrap_or_default();
        if let Some(s) = RssSample::now() {
            samples.push(s);
        }
        samples
    }
}

/// Resident memory (KiB): the whole set, and its anonymous part (heap, RocksDB's caches and
/// memtables; the rest is mapped files such as the log's segments, which the kernel can
/// drop).
#[derive(Debug, Clone, Copy)]
struct RssSample {
    rss: u64,
    anon: u64,
}

impl RssSample {
    fn now() -> Option<RssSample> {
        Some(RssSample {
            rss: status_kib("VmRSS:")?,
            anon: status_kib("RssAnon:")?,
        })
    }
}

/// CPU time (user + system, seconds) of each of this process's query threads (named
/// `brook-query-...`), from `/proc/self/task/*/stat` (clock ticks of 1/100 s).
fn query_threads_cpu() -> Vec<f64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... : fields after the command's closing parenthesis.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with("brook-query") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        // utime and stime are the 14th and 15th fields, 12th and 13th after the command.
        if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
            out.push((u + s) as f64 / 100.0);
        }
    }
    out
}

/// A `/proc/self/status` field in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn run(args: EngineBenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let guarantee =
        ProcessingGuarantee::parse(&args.processing_guarantee).map_err(anyhow::Error::msg)?;
    if args.measure {
        return measure(
            &args.dir,
            args.window,
            !args.no_record_cache,
            args.queries,
            guarantee,
            out,
        );
    }
    if args.dir.exists() {
        bail!(
            "{} exists; give --dir a new path (the benchmark creates and removes it)",
            args.dir.display()
        );
    }
    if args.users == 0 || args.events == 0 || args.partitions == 0 {
        bail!("--events, --keys and --partitions must be at least 1");
    }
    prepare(&args.dir, args.events, args.users, args.partitions, out)?;
    out.flush()?;
    let exe = std::env::current_exe().context("find the brook binary")?;
    let output = std::process::Command::new(exe)
        .arg("bench")
        .arg("engine")
        .arg("--measure")
        .arg("--dir")
        .arg(&args.dir)
        .args(args.no_record_cache.then_some("--no-record-cache"))
        .arg("--queries")
        .arg(args.queries.to_string())
        .arg("--processing-guarantee")
        .arg(guarantee.name())
        .arg("--window")
        .arg(format!("{:?}", args.window).to_lowercase())
        .output()
        .context("run the measuring process")?;
    out.write_all(&output.stdout)?;
    if !args.keep {
        let _ = std::fs::remove_dir_all(&args.dir);
    }
    if !output.status.success() {
        bail!(
            "the measuring process failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
