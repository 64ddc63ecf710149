//! Crash test: a child process (this test binary re-executed) appends deterministic
//! batches with `flush.messages=1` and prints "acked <last_offset>" after each append
//! returns; the parent SIGKILLs it at a random moment, reopens the log and checks that
//! every acknowledged record is there, in order, and that anything after the last ack is
//! exactly the next records of the sequence.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use brook_log::{Bytes, Log, LogOptions, Record, TopicConfig};

const CHILD_ENV: &str = "BROOK_LOG_CRASH_CHILD_DIR";

/// The record at offset `o` of the deterministic sequence.
fn record_at(o: u64) -> Record {
    let len = (o * 2654435761 % 300) as usize;
    let value: Vec<u8> = (0..len).map(|i| (o as usize + i) as u8).collect();
    Record::keyed(format!("key-{o}"), value, 1_000_000 + o as i64)
        .with_header("offset", Some(Bytes::from(o.to_string())))
}

/// The size of the batch starting at offset `o`.
fn batch_len(o: u64) -> u64 {
    1 + (o * 7 + 3) % 40
}

fn config() -> TopicConfig {
    let mut c = TopicConfig::new(1);
    c.flush_messages = Some(1);
    c.segment_bytes = 64 << 10;
    c.index_interval_bytes = 1024;
    c
}

/// Runs only in the child: append forever.
fn child(dir: &Path) -> ! {
    let log = Log::open(dir, LogOptions::default()).expect("child: open");
    let t = log.topic_or_create("seq", config()).expect("child: topic");
    let p = t.partition(0).expect("child: partition").clone();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", p.end_offset()).ok();
    out.flush().ok();
    loop {
        let o = p.end_offset();
        let batch: Vec<Record> = (o..o + batch_len(o)).map(record_at).collect();
        let info = p.append(&batch).expect("child: append");
        writeln!(out, "acked {}", info.last_offset).ok();
        out.flush().ok();
    }
}

#[test]
fn crash_child() {
    // The entry point of the re-executed child; a no-op in a normal test run.
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
    }
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ std::process::id() as u64;
    let mut max_acked: Option<u64> = None;
    let mut iterations = 0;
    let mut kills_with_acks = 0;
    while iterations < 40 && (iterations < 30 || started.elapsed() < Duration::from_secs(20)) {
        iterations += 1;
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(1 + (seed >> 33) % 50);
        let mut child = Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "--quiet",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait until the child has opened the log, then let it append for `delay`.
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(l) if l.starts_with("ready") => {
                    lines.push(l);
                    break;
                }
                Ok(l) => lines.push(l),
                Err(_) => {
                    if let Ok(Some(status)) = child.try_wait() {
                        let mut err = String::new();
                        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err)
                            .ok();
                        panic!("child exited early ({status}): {lines:?}\n{err}");
                    }
                    assert!(Instant::now() < deadline, "child never became ready");
                }
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        let acks: Vec<u64> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("acked "))
            .map(|n| n.parse().unwrap())
            .collect();
        if let Some(&last) = acks.last() {
            kills_with_acks += 1;
            assert!(max_acked.is_none_or(|m| last > m));
            max_acked = Some(last);
        }
        // Reopen and check.
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let Ok(t) = log.topic("seq") else {
            assert!(max_acked.is_none(), "acked records but the topic is gone");
            continue;
        };
        let p = t.partition(0).unwrap().clone();
        let end = p.end_offset();
        if let Some(m) = max_acked {
            assert!(
                end > m,
                "iteration {iterations}: acked up to {m} but the log ends at {end}"
            );
        }
        let mut pos = 0;
        while pos < end {
            let got = p.read(pos, 500).unwrap();
            assert!(!got.is_empty());
            for r in got {
                assert_eq!(r.offset, pos, "offsets are dense");
                assert_eq!(
                    r.to_record(),
                    record_at(pos),
                    "iteration {iterations}: wrong record at {pos}"
                );
                pos += 1;
            }
        }
        // The log ends on a batch boundary of the sequence (a torn batch is gone).
        let mut o = 0;
        while o < end {
            o += batch_len(o);
        }
        assert_eq!(o, end, "iteration {iterations}: log ends inside a batch");
    }
    assert!(
        kills_with_acks >= iterations / 2,
        "too few iterations saw acks: {kills_with_acks}/{iterations}"
    );
    eprintln!("{iterations} kills, {kills_with_acks} with acks, max acked offset {max_acked:?}");
}
