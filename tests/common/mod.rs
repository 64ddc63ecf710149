//! Helpers shared by the fault tests that drive the `brook` binary (`exactly_once.rs`,
//! `full_disk.rs`; each includes this module with `mod common;`): running `brook`, and
//! reading what a sink holds `read_committed`.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use brook_log::{IsolationLevel, Log, LogOptions, ReadLimit};

/// Runs `brook ARGS --data-dir DIR`, feeding `stdin` if given; its output, whatever the
/// exit status.
pub fn brook(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("brook runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// `out`, after checking that its run succeeded (`what` names it in the failure).
pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every committed record of a topic, per partition: (key, value) as text.
pub type Sink = Vec<Vec<(String, String)>>;

/// What `topic` of the (closed) data directory `dir` holds `read_committed`; fails if a
/// transaction is left open on it.
pub fn committed(dir: &Path, topic: &str) -> Sink {
    let log = Log::open(dir, LogOptions::default()).expect("the log opens");
    let t = log.topic(topic).expect("the sink exists");
    let text = |b: &Option<brook_log::Bytes>| {
        b.as_deref().map_or("<null>".to_string(), |b| {
            String::from_utf8_lossy(b).into_owned()
        })
    };
    t.partitions()
        .iter()
        .map(|p| {
            let mut pos = p.start_offset();
            let mut out = Vec::new();
            loop {
                let read = p
                    .read_isolated(pos, ReadLimit::records(4096), IsolationLevel::ReadCommitted)
                    .unwrap();
                out.extend(read.records.iter().map(|r| (text(&r.key), text(&r.value))));
                if read.next_offset == pos {
                    break;
                }
                pos = read.next_offset;
            }
            assert_eq!(pos, p.end_offset(), "{topic}: a transaction is left open");
            out
        })
        .collect()
}
