//! `brook bench server`: `brook server` at scale, measured over HTTP from this process —
//! (a) memory per idle push query (server RSS before and after opening N push queries on
//! `/query-stream`, and the time for one inserted row to reach all of them); (b)
//! insert-to-push-row latency while writers insert through `/ksql`; (c) pull-query key
//! lookups per second from concurrent clients against a materialized table; (d) N idle TCP
//! connections held open while `/info` keeps answering.
//!
//! The server is a `brook server` child process on a scratch directory (so its RSS is its
//! own, not the clients'), or an existing one (`--server URL`, memory then not reported).

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct ServerBenchArgs {
    /// Measure this running server instead of starting one (its memory is not reported).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Scratch data directory of the server started; created, and removed afterwards.
    #[arg(long, default_value = "./brook-bench-server")]
    pub dir: PathBuf,
    /// (a) Idle push queries to hold open at once.
    #[arg(long, default_value_t = 1000)]
    pub push_queries: usize,
    /// (b) Concurrent writers inserting through /ksql.
    #[arg(long, default_value_t = 4)]
    pub writers: usize,
    /// (b) Inserts per writer.
    #[arg(long, default_value_t = 500)]
    pub inserts_per_writer: usize,
    /// (c) Concurrent pull-query clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// (c) Seconds of lookups.
    #[arg(long, default_value_t = 10)]
    pub lookup_secs: u64,
    /// (c) Keys in the materialized table.
    #[arg(long, default_value_t = 1000)]
    pub keys: u32,
    /// (d) Idle TCP connections to hold open.
    #[arg(long, default_value_t = 10_000)]
    pub idle_connections: usize,
    /// Run only the scenarios named (comma-separated: push, latency, pull, idle).
    #[arg(long)]
    pub only: Option<String>,
}

/// A `brook server` this benchmark started; killed and its directory removed when dropped.
struct ChildServer {
    child: Child,
    dir: PathBuf,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server under test.
struct Target {
    base: String,
    addr: SocketAddr,
    /// The server process, when this benchmark started it (for its memory).
    child: Option<ChildServer>,
}

impl Target {
    /// Resident memory of the server process, KiB.
    fn rss_kib(&self) -> Option<u64> {
        proc_status(self.child.as_ref()?.child.id(), "VmRSS:")
    }

    fn threads(&self) -> Option<u64> {
        proc_status(self.child.as_ref()?.child.id(), "Threads:")
    }
}

/// A numeric field of /proc/PID/status (`VmRSS:` in KiB, `Threads:`).
fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn run(args: ServerBenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the benchmark's runtime")?;
    let target = match &args.server {
        Some(url) => {
            let base = url.trim_end_matches('/').to_string();
            let host = base
                .strip_prefix("http://")
                .ok_or_else(|| anyhow!("--server takes an http:// URL, got {url}"))?;
            let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
                .with_context(|| format!("cannot resolve {host}"))?
                .next()
                .ok_or_else(|| anyhow!("{host} resolves to no address"))?;
            Target {
                base,
                addr,
                child: None,
            }
        }
        None => start_server(&args.dir)?,
    };
    let only = |name: &str| {
        args.only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|s| s.trim() == name))
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .build()?;
    runtime.block_on(wait_ready(&client, &target))?;
    writeln!(
        out,
        "server: {}{}",
        target.base,
        match &target.child {
            Some(c) => format!(" (brook server pid {}, {})", c.child.id(), c.dir.display()),
            None => String::new(),
        }
    )?;
    if only("push") {
        runtime.block_on(idle_push_queries(&client, &target, args.push_queries, out))?;
    }
    if only("latency") {
        runtime.block_on(insert_to_push_latency(
            &client,
            &target,
            args.writers,
            args.inserts_per_writer,
            out,
        ))?;
    }
    if only("pull") {
        runtime.block_on(pull_lookups(
            &client,
            &target,
            args.clients,
            args.keys,
            Duration::from_secs(args.lookup_secs),
            out,
        ))?;
    }
    if only("idle") {
        runtime.block_on(idle_connections(&target, args.idle_connections, out))?;
    }
    Ok(())
}

fn start_server(dir: &Path) -> anyhow::Result<Target> {
    if dir.exists() {
        bail!(
            "{} exists; pass a --dir that does not (it is removed afterwards)",
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let exe = std::env::current_exe().context("cannot find the brook binary")?;
    let child = Command::new(exe)
        .args(["server", "--data-dir"])
        .arg(dir)
        .args(["--listen", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start brook server")?;
    Ok(Target {
        base: format!("http://{addr}"),
        addr,
        child: Some(ChildServer {
            child,
            dir: dir.to_path_buf(),
        }),
    })
}

async fn wait_ready(client: &reqwest::Client, target: &Target) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{}/info", target.base)).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!(
        "the server at {} did not answer /info within 60 s",
        target.base
    )
}

/// Runs statements on `/ksql`; fails on an error entity.
async fn ksql(client: &reqwest::Client, target: &Target, sql: &str) -> anyhow::Result<Value> {
    let r = client
        .post(format!("{}/ksql", target.base))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&json!({ "ksql": sql }))?)
        .send()
        .await?;
    let status = r.status();
    let body = r.text().await?;
    if !status.is_success() {
        bail!("/ksql answered {status}: {body}");
    }
    Ok(serde_json::from_str(&body)?)
}

/// A push query being read: its response and the bytes not yet split into lines.
struct PushReader {
    response: reqwest::Response,
    pending: Vec<u8>,
}

impl PushReader {
    async fn open(client: &reqwest::Client, target: &Target, sql: &str) -> anyhow::Result<Self> {
        let response = client
            .post(format!("{}/query-stream", target.base))
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(&json!({ "sql": sql }))?)
            .send()
            .await?;
        if !response.status().is_success() {
            let status = response.status();
            bail!(
                "/query-stream answered {status}: {}",
                response.text().await?
            );
        }
        let mut reader = PushReader {
            response,
            pending: Vec::new(),
        };
        let meta = reader.line().await?;
        if !meta.contains("queryId") {
            bail!("expected the push query's metadata, got {meta}");
        }
        Ok(reader)
    }

    /// The next line of the stream.
    async fn line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return Ok(String::from_utf8_lossy(&line).trim().to_string());
            }
            match self.response.chunk().await? {
                Some(c) => self.pending.extend_from_slice(&c),
                None => bail!("the push query's stream ended"),
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn kib(v: Option<u64>) -> String {
    v.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// (a) Memory per idle push query, and one row's fan-out to all of them.
async fn idle_push_queries(
    client: &reqwest::Client,
    target: &Target,
    n: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    ksql(
        client,
        target,
        "CREATE STREAM BENCH_PUSH (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='bench_push', PARTITIONS=1, VALUE_FORMAT='JSON');",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss0, threads0) = (target.rss_kib(), target.threads());
    let started = Instant::now();
    let mut readers = Vec::with_capacity(n);
    // Opened 50 at a time: a burst of connections is not what is measured.
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let opened =
            futures::future::join_all(chunk.iter().map(|_| {
                PushReader::open(client, target, "SELECT * FROM BENCH_PUSH EMIT CHANGES;")
            }))
            .await;
        for r in opened {
            readers.push(r?);
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss1, threads1) = (target.rss_kib(), target.threads());
    // One row for all of them.
    let sent = Instant::now();
    ksql(
        client,
        target,
        "INSERT INTO BENCH_PUSH (ID, V) VALUES (1, 'x');",
    )
    .await?;
    let arrivals = futures::future::join_all(readers.iter_mut().map(|r| async move {
        match tokio::time::timeout(Duration::from_secs(30), r.line()).await {
            Ok(Ok(line)) if line.starts_with('[') => Some(sent.elapsed()),
            _ => None,
        }
    }))
    .await;
    let mut got: Vec<f64> = arrivals
        .iter()
        .flatten()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    got.sort_by(f64::total_cmp);
    drop(readers);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss2 = target.rss_kib();
    writeln!(
        out,
        "(a) {n} idle push queries on /query-stream (HTTP/1.1, one connection each)"
    )?;
    writeln!(out, "    opened in {open_secs:.2} s")?;
    writeln!(
        out,
        "    server RSS: {} before, {} with them open, {} after closing them; threads {} -> {}",
        kib(rss0),
        kib(rss1),
        kib(rss2),
        threads0.map_or("n/a".into(), |t| t.to_string()),
        threads1.map_or("n/a".into(), |t| t.to_string()),
    )?;
    if let (Some(a), Some(b)) = (rss0, rss1) {
        writeln!(
            out,
            "    memory per idle push query: {:.1} KiB (RSS delta / {n})",
            b.saturating_sub(a) as f64 / n as f64
        )?;
    }
    writeln!(
        out,
        "    one inserted row reached {} of {n}: first after {:.1} ms, p50 {:.1} ms, last after {:.1} ms",
        got.len(),
        got.first().copied().unwrap_or(f64::NAN),
        percentile(&got, 0.5),
        got.last().copied().unwrap_or(f64::NAN),
    )?;
    Ok(())
}

/// (b) Insert-to-push-row latency while `writers` insert through `/ksql`.
async fn insert_to_push_latency(
    client: &reqwest::Client,
    target: &Target,
    writers: usize,
    per_writer: usize,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    ksql(
        client,
        target,
        "CREATE STREAM BENCH_LAT (ID INT KEY, T BIGINT) WITH (KAFKA_TOPIC='bench_lat', PARTITIONS=1, VALUE_FORMAT='JSON');",
    )
    .await?;
    let mut reader =
        PushReader::open(client, target, "SELECT ID, T FROM BENCH_LAT EMIT CHANGES;").await?;
    let base = Instant::now();
    let total = writers * per_writer;
    let read = tokio::spawn(async move {
        let mut latencies = Vec::with_capacity(total);
        while latencies.len() < total {
            let line = match tokio::time::timeout(Duration::from_secs(30), reader.line()).await {
                Ok(Ok(l)) => l,
                _ => break,
            };
            let Ok(Value::Array(cols)) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let Some(t) = cols.get(1).and_then(Value::as_u64) {
                let now = base.elapsed().as_micros() as u64;
                latencies.push(now.saturating_sub(t) as f64 / 1000.0);
            }
        }
        latencies
    });
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = client.clone();
        let url = format!("{}/ksql", target.base);
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let t = base.elapsed().as_micros() as u64;
                let sql = format!(
                    "INSERT INTO BENCH_LAT (ID, T) VALUES ({}, {t});",
                    w * per_writer + i
                );
                let r = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(serde_json::to_vec(&json!({ "ksql": sql })).unwrap_or_default())
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("INSERT answered {}: {}", r.status(), r.text().await?);
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let insert_secs = started.elapsed().as_secs_f64();
    let mut latencies = read.await?;
    latencies.sort_by(f64::total_cmp);
    writeln!(
        out,
        "(b) insert-to-push-row latency: {writers} writers x {per_writer} INSERT VALUES on /ksql, one push query on /query-stream"
    )?;
    writeln!(
        out,
        "    {} inserts in {insert_secs:.2} s ({:.0}/s); {} rows seen: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total,
        total as f64 / insert_secs,
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    )?;
    Ok(())
}

/// (c) Pull-query key lookups per second from `clients` concurrent clients.
async fn pull_lookups(
    client: &reqwest::Client,
    target: &Target,
    clients: usize,
    keys: u32,
    duration: Duration,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    ksql(
        client,
        target,
        "CREATE STREAM BENCH_PULL_SRC (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='bench_pull_src', PARTITIONS=1, VALUE_FORMAT='JSON');
         CREATE TABLE BENCH_PULL AS SELECT ID, LATEST_BY_OFFSET(V) AS V FROM BENCH_PULL_SRC GROUP BY ID;",
    )
    .await?;
    let mut inserts = String::new();
    for k in 0..keys {
        inserts.push_str(&format!(
            "INSERT INTO BENCH_PULL_SRC (ID, V) VALUES ({k}, 'value-{k}');"
        ));
    }
    ksql(client, target, &inserts).await?;
    // Materialized once the last key is there.
    let last = format!("SELECT * FROM BENCH_PULL WHERE ID={};", keys - 1);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = pull(client, target, &last).await?;
        if body.lines().count() >= 2 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the table was not materialized within 60 s: {body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stop = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        let base = target.base.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut misses = 0u64;
            let mut key = (c as u64).wrapping_mul(2_654_435_761) % keys as u64;
            let target = Target {
                base,
                addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                child: None,
            };
            while Instant::now() < stop {
                key = (key.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1)) % keys as u64;
                let sql = format!("SELECT * FROM BENCH_PULL WHERE ID={key};");
                let t = Instant::now();
                let body = pull(&client, &target, &sql).await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if body.lines().count() < 2 {
                    misses += 1;
                }
            }
            anyhow::Ok((latencies, misses))
        }));
    }
    let mut all = Vec::new();
    let mut misses = 0;
    for t in tasks {
        let (l, m) = t.await??;
        all.extend(l);
        misses += m;
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    writeln!(
        out,
        "(c) pull-query key lookups on /query-stream: {clients} clients, {keys} keys, {secs:.1} s"
    )?;
    writeln!(
        out,
        "    {} lookups: {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; {misses} found no row",
        all.len(),
        all.len() as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
    )?;
    Ok(())
}

/// One pull query on `/query-stream`: its delimited body.
async fn pull(client: &reqwest::Client, target: &Target, sql: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{}/query-stream", target.base))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&json!({ "sql": sql }))?)
        .send()
        .await?;
    let status = r.status();
    let body = r.text().await?;
    if !status.is_success() {
        bail!("{sql} answered {status}: {body}");
    }
    Ok(body)
}

/// (d) `n` idle TCP connections held open; `/info` must keep answering.
async fn idle_connections(target: &Target, n: usize, out: &mut impl Write) -> anyhow::Result<()> {
    let rss0 = target.rss_kib();
    let started = Instant::now();
    let mut held = Vec::with_capacity(n);
    let mut failed: Option<String> = None;
    for _ in 0..n {
        match tokio::net::TcpStream::connect(target.addr).await {
            Ok(s) => held.push(s),
            Err(e) => {
                failed = Some(e.to_string());
                break;
            }
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Each time on a new connection, as a new client would come.
    let info = || {
        let url = format!("{}/info", target.base);
        async move {
            let t = Instant::now();
            let fresh = reqwest::Client::builder().build()?;
            let r = tokio::time::timeout(Duration::from_secs(10), fresh.get(url).send()).await;
            match r {
                Ok(Ok(r)) if r.status().is_success() => anyhow::Ok(t.elapsed()),
                Ok(Ok(r)) => bail!("/info answered {}", r.status()),
                Ok(Err(e)) => bail!("/info failed: {e}"),
                Err(_) => bail!("/info did not answer within 10 s"),
            }
        }
    };
    let during = info().await;
    let (rss1, threads1) = (target.rss_kib(), target.threads());
    let held_count = held.len();
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = info().await;
    let rss2 = target.rss_kib();
    let count = match &failed {
        None => format!("{held_count}"),
        Some(e) => format!("{held_count} of {n} (the next failed: {e})"),
    };
    writeln!(
        out,
        "(d) idle TCP connections held open: {count}, opened in {connect_secs:.2} s"
    )?;
    writeln!(
        out,
        "    /info while held: {}; after closing them: {}",
        match &during {
            Ok(d) => format!("answered in {:.1} ms", d.as_secs_f64() * 1000.0),
            Err(e) => e.to_string(),
        },
        match &after {
            Ok(d) => format!("answered in {:.1} ms", d.as_secs_f64() * 1000.0),
            Err(e) => e.to_string(),
        }
    )?;
    writeln!(
        out,
        "    server RSS: {} before, {} while held ({}), {} after; threads {}",
        kib(rss0),
        kib(rss1),
        match (rss0, rss1) {
            (Some(a), Some(b)) => format!(
                "{:.1} KiB per connection",
                b.saturating_sub(a) as f64 / held_count.max(1) as f64
            ),
            _ => "n/a".into(),
        },
        kib(rss2),
        threads1.map_or("n/a".into(), |t| t.to_string()),
    )?;
    Ok(())
}
