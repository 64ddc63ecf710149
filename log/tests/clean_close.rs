//! A clean close marks each partition's active segment (index files and a mark with its
//! length), so the next open loads the index instead of scanning every batch; a mark that no
//! longer matches the files is ignored and the open scans (and repairs) as before.

mod common;

use std::path::Path;

use brook_log::{Log, LogOptions, ReadLimit, Record, TopicConfig};
use common::files_ending;

fn config() -> TopicConfig {
    let mut c = TopicConfig::new(1);
    c.index_interval_bytes = 256;
    c
}

/// Writes records 0..n in batches of 10, then closes the log.
fn write(dir: &Path, from: u64, n: u64) {
    let log = Log::open(dir, LogOptions::default()).unwrap();
    let t = log.topic_or_create("t", config()).unwrap();
    let p = t.partition(0).unwrap().clone();
    for o in (from..from + n).step_by(10) {
        let batch: Vec<Record> = (o..o + 10)
            .map(|i| Record::keyed(format!("k{i}"), format!("value {i}"), 1_000 + i as i64))
            .collect();
        p.append(&batch).unwrap();
    }
}

/// Every record's offset and value, and the end offset.
fn read_all(dir: &Path) -> (Vec<(u64, String)>, u64) {
    let log = Log::open(dir, LogOptions::default()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    let records = p.read(0, ReadLimit::records(1_000_000)).unwrap();
    let got = records
        .iter()
        .map(|r| {
            let v = String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap();
            (r.offset, v)
        })
        .collect();
    (got, p.end_offset())
}

fn expected(n: u64) -> Vec<(u64, String)> {
    (0..n).map(|i| (i, format!("value {i}"))).collect()
}

#[test]
fn a_cleanly_closed_log_reopens_from_its_mark_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, 200);
    assert_eq!(files_ending(dir.path(), ".clean_close").len(), 1);
    let log = Log::open(dir.path(), LogOptions::default()).unwrap();
    assert!(
        files_ending(dir.path(), ".clean_close").is_empty(),
        "the open takes the mark away"
    );
    drop(log);
    let (got, end) = read_all(dir.path());
    assert_eq!(got, expected(200));
    assert_eq!(end, 200);
    // Appends after a marked open land after the last record, and read back.
    write(dir.path(), 200, 100);
    let (got, end) = read_all(dir.path());
    assert_eq!(got, expected(300));
    assert_eq!(end, 300);
    // Reads from the middle use the loaded index.
    let log = Log::open(dir.path(), LogOptions::default()).unwrap();
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    let from = p.read(155, ReadLimit::records(3)).unwrap();
    let offsets: Vec<u64> = from.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![155, 156, 157]);
}

#[test]
fn a_mark_that_no_longer_matches_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, 100);
    // Bytes appended behind the log's back (a torn write, say): the length differs, the
    // open scans and cuts them off.
    let seg = files_ending(dir.path(), ".log").pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(&[0xAB; 37]);
    std::fs::write(&seg, &bytes).unwrap();
    let (got, end) = read_all(dir.path());
    assert_eq!(got, expected(100));
    assert_eq!(end, 100);
    // Index files lost after a clean close: the mark matches, the index does not load.
    write(dir.path(), 100, 50);
    for f in files_ending(dir.path(), ".index") {
        std::fs::remove_file(f).unwrap();
    }
    let (got, end) = read_all(dir.path());
    assert_eq!(got, expected(150));
    assert_eq!(end, 150);
    // A damaged mark.
    write(dir.path(), 150, 50);
    for f in files_ending(dir.path(), ".clean_close") {
        std::fs::write(f, b"short").unwrap();
    }
    let (got, end) = read_all(dir.path());
    assert_eq!(got, expected(200));
    assert_eq!(end, 200);
}
