//! Rough append/read throughput of brook-log (not a test): 100-byte records appended in
//! batches of 1000 without fsync, then read back.
//!
//! `cargo run --release -p brook-log --example throughput [records] [dir]`

use std::time::Instant;

use brook_log::{Bytes, Log, LogOptions, ReadLimit, Record, TopicConfig};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000_000);
    let tmp;
    let dir = match std::env::args().nth(2) {
        Some(d) => std::path::PathBuf::from(d),
        None => {
            tmp = tempfile::tempdir().expect("tempdir");
            tmp.path().to_path_buf()
        }
    };
    let log = Log::open(&dir, LogOptions::default()).expect("open");
    let t = log
        .create_topic("bench", TopicConfig::new(1))
        .expect("create");
    let p = t.partition(0).expect("partition").clone();
    let value = Bytes::from(vec![b'x'; 100]);
    let batch: Vec<Record> = (0..1000)
        .map(|i| Record::new(None, Some(value.clone()), i))
        .collect();

    let start = Instant::now();
    let mut written = 0;
    while written < n {
        p.append(&batch).expect("append");
        written += batch.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append: {written} records in {secs:.3}s = {:.2} M records/s, {:.0} MB/s on disk",
        written as f64 / secs / 1e6,
        p.size_bytes() as f64 / secs / 1e6
    );

    let start = Instant::now();
    let mut pos = 0;
    let mut read = 0usize;
    let mut bytes = 0usize;
    while pos < p.end_offset() {
        let got = p.read(pos, ReadLimit::records(1000)).expect("read");
        for r in &got {
            bytes += r.value.as_ref().map_or(0, |v| v.len());
        }
        read += got.len();
        pos = got.last().map_or(pos, |r| r.offset + 1);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read:   {read} records in {secs:.3}s = {:.2} M records/s ({bytes} value bytes)",
        read as f64 / secs / 1e6
    );
}
