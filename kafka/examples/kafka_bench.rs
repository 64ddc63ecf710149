//! kafka_bench: the Kafka listener's benchmark (BENCHMARKS.md, "Kafka listener"), with
//! librdkafka as the client over loopback:
//!
//! 1. produce throughput: `--records` 100-byte values from one librdkafka producer
//!    (lz4, `linger.ms=5`, 1 MiB batches, acks=all, idempotent), timed from the first send
//!    to the last delivery report;
//! 2. consume throughput: one librdkafka consumer reading those records back from offset 0;
//! 3. produce latency: a producer with acks=all and `linger.ms=0` paced at `--rate`
//!    records/s for `--latency-secs`, each record's send-to-acknowledgement time recorded
//!    (percentiles printed).
//!
//! Without `--bootstrap` the listener runs in this process over a temporary data directory
//! (what `brook kafka` serves, with the same code); with `--bootstrap HOST:PORT` it drives
//! an external `brook kafka` or `brook server --kafka-listen`.
//!
//! ```sh
//! cargo build --workspace --example kafka_bench && target/debug/examples/kafka_bench
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brook_log::{Log, LogOptions};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

struct Args {
    bootstrap: Option<String>,
    records: usize,
    value_bytes: usize,
    partitions: u32,
    rate: usize,
    latency_secs: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: kafka_bench [--bootstrap HOST:PORT] [--records N] [--value-bytes N] \
         [--partitions N] [--rate RECORDS_PER_S] [--latency-secs S]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        bootstrap: None,
        records: 5_000_000,
        value_bytes: 100,
        partitions: 1,
        rate: 50_000,
        latency_secs: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        let mut number = |name: &str| -> usize {
            let v = value();
            v.parse().unwrap_or_else(|_| {
                eprintln!("{name}: {v:?} is not a number");
                usage()
            })
        };
        match flag.as_str() {
            "--bootstrap" => args.bootstrap = Some(value()),
            "--records" => args.records = number("--records"),
            "--value-bytes" => args.value_bytes = number("--value-bytes"),
            "--partitions" => args.partitions = number("--partitions").max(1) as u32,
            "--rate" => args.rate = number("--rate").max(1),
            "--latency-secs" => args.latency_secs = number("--latency-secs") as u64,
            _ => usage(),
        }
    }
    args
}

/// A listener over a temporary log on its own runtime thread (2 worker threads).
struct InProcess {
    addr: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl InProcess {
    fn start(partitions: u32) -> InProcess {
        let dir = tempfile::tempdir().expect("temporary directory");
        let log = Arc::new(Log::open(dir.path(), LogOptions::default()).expect("open log"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let config = brook_kafka::KafkaConfig {
            default_partitions: partitions,
            ..Default::default()
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = brook_kafka::serve(log, listener, config, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        InProcess {
            addr,
            _dir: dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Counts deliveries; with a send instant as opaque, records the latency too.
#[derive(Default)]
struct Reports {
    ok: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    latencies_us: Mutex<Vec<u32>>,
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    /// When the record was sent, in ns since [`epoch`] plus one; 0 = not timed.
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, sent: usize) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                if sent > 0 {
                    let now = epoch().elapsed().as_nanos() as usize + 1;
                    let us = (now.saturating_sub(sent) / 1000).min(u32::MAX as usize) as u32;
                    self.latencies_us.lock().unwrap().push(us);
                }
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// CPU seconds (user + system) this process's threads used so far: (the listener's tokio
/// threads, everything else = librdkafka and the benchmark loop). Figures per CPU-second do
/// not depend on how busy the shared machine is, unlike records per wall-clock second.
fn cpu_seconds() -> (f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    let (mut server, mut client) = (0.0, 0.0);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0.0, 0.0);
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        // After the command: state is field 3, utime 14 and stime 15 (1-based, whole line).
        let used = fields
            .get(11)
            .zip(fields.get(12))
            .and_then(|(u, s)| Some(u.parse::<f64>().ok()? + s.parse::<f64>().ok()?))
            .unwrap_or(0.0)
            / ticks;
        if comm.starts_with("tokio") {
            server += used;
        } else {
            client += used;
        }
    }
    (server, client)
}

/// Prints the CPU used since `before` per record.
fn cpu_line(before: (f64, f64), records: usize) -> String {
    let (s, c) = cpu_seconds();
    let (s, c) = (s - before.0, c - before.1);
    format!(
        "CPU: listener {s:.2} s ({:.2} us/record), client {c:.2} s",
        s * 1e6 / records as f64
    )
}

/// The process's reference instant for send times.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4");
    c
}

/// Sends one record, polling for delivery reports while librdkafka's queue is full.
fn send(
    producer: &BaseProducer<Reports>,
    topic: &str,
    value: &[u8],
    sent: usize,
) -> Result<(), String> {
    let mut record = BaseRecord::<(), [u8], _>::with_opaque_to(topic, sent).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(1));
            }
            Err((e, _)) => return Err(e.to_string()),
        }
    }
}

fn check(reports: &Reports, phase: &str) {
    let failed = reports.failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!(
            "{phase}: {failed} deliveries failed, first: {}",
            reports
                .first_error
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_default()
        );
        std::process::exit(1);
    }
}

fn produce_throughput(bootstrap: &str, topic: &str, args: &Args) -> f64 {
    let producer: BaseProducer<Reports> = client(bootstrap)
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create_with_context(Reports::default())
        .expect("producer");
    // Payloads as a generator would make them: varied bytes, so lz4 has work to do.
    let values: Vec<Vec<u8>> = (0..1024)
        .map(|i| {
            (0..args.value_bytes)
                .map(|j| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + j * 13) % 36])
                .collect()
        })
        .collect();
    let start = Instant::now();
    for i in 0..args.records {
        if let Err(e) = send(&producer, topic, &values[i % values.len()], 0) {
            eprintln!("produce: {e}");
            std::process::exit(1);
        }
        if i % 10_000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("flush within 120 s");
    let secs = start.elapsed().as_secs_f64();
    let reports = producer.context();
    check(reports, "produce");
    assert_eq!(reports.ok.load(Ordering::Relaxed), args.records);
    args.records as f64 / secs
}

fn consume_throughput(bootstrap: &str, topic: &str, args: &Args) -> f64 {
    let consumer: BaseConsumer = client(bootstrap)
        .set("group.id", "kafka-bench")
        .set("enable.auto.commit", "false")
        .set("fetch.max.bytes", "52428800")
        .set("max.partition.fetch.bytes", "8388608")
        .set("queued.min.messages", "1000000")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..args.partitions as i32 {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .expect("assignment");
    }
    consumer.assign(&assignment).expect("assign");
    let start = Instant::now();
    let mut seen = 0usize;
    let mut bytes = 0usize;
    let deadline = start + Duration::from_secs(300);
    while seen < args.records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                seen += 1;
                bytes += m.payload().map_or(0, |p| p.len());
            }
            Some(Err(e)) => {
                eprintln!("consume: {e}");
                std::process::exit(1);
            }
            None if Instant::now() > deadline => {
                eprintln!("consume: only {seen} of {} records in 300 s", args.records);
                std::process::exit(1);
            }
            None => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(bytes, seen * args.value_bytes);
    seen as f64 / secs
}

/// Percentiles (µs) of a paced acks=all producer's send-to-acknowledgement times.
fn produce_latency(bootstrap: &str, topic: &str, args: &Args) -> (usize, [u32; 4]) {
    let producer: BaseProducer<Reports> = client(bootstrap)
        .set("compression.type", "lz4")
        .set("linger.ms", "0")
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .create_with_context(Reports::default())
        .expect("producer");
    let value = vec![b'x'; args.value_bytes];
    // Warm up: metadata, producer id, connection.
    send(&producer, topic, &value, 0).expect("warm-up send");
    producer.flush(Duration::from_secs(30)).expect("warm-up");
    let total = args.rate * args.latency_secs as usize;
    let start = Instant::now();
    let mut sent = 0usize;
    while sent < total {
        // Keep the rate: send what is due by now, then serve delivery reports briefly.
        let due = ((start.elapsed().as_secs_f64() * args.rate as f64) as usize).min(total);
        while sent < due {
            send(
                &producer,
                topic,
                &value,
                epoch().elapsed().as_nanos() as usize + 1,
            )
            .expect("send");
            sent += 1;
        }
        producer.poll(Duration::from_micros(200));
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    let reports = producer.context();
    check(reports, "latency");
    let mut l = reports.latencies_us.lock().unwrap().clone();
    l.sort_unstable();
    let at = |q: f64| l[((l.len() as f64 * q) as usize).min(l.len() - 1)];
    (l.len(), [at(0.5), at(0.99), at(0.999), *l.last().unwrap()])
}

fn main() {
    let args = parse_args();
    let in_process = args
        .bootstrap
        .is_none()
        .then(|| InProcess::start(args.partitions));
    let bootstrap = args
        .bootstrap
        .clone()
        .or_else(|| in_process.as_ref().map(|b| b.addr.clone()))
        .expect("an address");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let topic = format!("kafka-bench-{stamp}");
    // The topic is created on first use with the listener's default partition count; with
    // an external listener, create it first so --partitions holds.
    if in_process.is_none() {
        let admin: rdkafka::admin::AdminClient<_> = client(&bootstrap).create().expect("admin");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let new = rdkafka::admin::NewTopic::new(
            &topic,
            args.partitions as i32,
            rdkafka::admin::TopicReplication::Fixed(1),
        );
        rt.block_on(admin.create_topics([&new], &rdkafka::admin::AdminOptions::new()))
            .expect("create topic");
    }
    println!(
        "kafka listener at {bootstrap} ({}), topic {topic}, {} partition(s), librdkafka {}",
        if in_process.is_some() {
            "in process"
        } else {
            "external"
        },
        args.partitions,
        rdkafka::util::get_rdkafka_version().1
    );
    // Exited threads drop out of /proc/self/task, so the figures are for the in-process
    // listener and long-lived client threads; with --bootstrap only the client's.
    let before = cpu_seconds();
    let produced = produce_throughput(&bootstrap, &topic, &args);
    println!(
        "produce: {} x {} B records, lz4, linger.ms=5, acks=all, idempotent: {:.0} records/s ({:.1} MB/s); {}",
        args.records,
        args.value_bytes,
        produced,
        produced * args.value_bytes as f64 / 1e6,
        cpu_line(before, args.records)
    );
    let before = cpu_seconds();
    let consumed = consume_throughput(&bootstrap, &topic, &args);
    println!(
        "consume: {} records from offset 0: {:.0} records/s ({:.1} MB/s); {}",
        args.records,
        consumed,
        consumed * args.value_bytes as f64 / 1e6,
        cpu_line(before, args.records)
    );
    let latency_topic = format!("{topic}-latency");
    let (n, [p50, p99, p999, max]) = produce_latency(&bootstrap, &latency_topic, &args);
    println!(
        "latency: {n} records at {} records/s, acks=all, linger.ms=0: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        args.rate,
        p50 as f64 / 1e3,
        p99 as f64 / 1e3,
        p999 as f64 / 1e3,
        max as f64 / 1e3
    );
}
