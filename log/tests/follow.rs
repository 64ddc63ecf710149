//! Read-only followers (`Log::open_read_only`): a writer `Log` and read-only `Log`s on the
//! same data directory, in this process and in another one. The follower takes no lock,
//! never changes a file, serves a prefix of what the writer wrote (never a torn or
//! in-progress batch), and catches up on refresh: appends, rolled segments, retention,
//! compaction, rolled-back appends, deleted and re-created topics.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use brook_log::{
    Bytes, CleanupPolicy, IsolationLevel, Log, LogError, LogOptions, Partition, ReadLimit,
    ReadOnlyOptions, Record, TopicConfig,
};

fn open(dir: &Path) -> Log {
    Log::open(dir, LogOptions::default()).unwrap()
}

fn rec(i: u64) -> Record {
    Record::keyed(
        format!("k{}", i % 7),
        format!("value-{i}-{}", "x".repeat((i % 50) as usize)),
        1_000 + i as i64,
    )
    .with_header("i", Some(Bytes::from(i.to_string())))
}

fn small_segments(partitions: u32) -> TopicConfig {
    let mut c = TopicConfig::new(partitions);
    c.segment_bytes = 1500;
    c.index_interval_bytes = 200;
    c.retention_ms = None;
    c
}

/// Everything from `start_offset()` to `end_offset()` of a partition, checking that
/// offsets are dense.
fn read_all(p: &Partition) -> Vec<(u64, Record)> {
    let mut out = Vec::new();
    let mut pos = p.start_offset();
    loop {
        let got = p.read(pos, ReadLimit::records(23)).unwrap();
        let Some(last) = got.last() else { break };
        for r in &got {
            assert_eq!(r.offset, pos, "offsets are dense");
            pos += 1;
        }
        pos = last.offset + 1;
        out.extend(got.iter().map(|r| (r.offset, r.to_record())));
    }
    assert_eq!(pos, p.end_offset());
    out
}

/// Name, size, mtime and inode of every file under `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, i64, i64, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            }
            out.insert(e.path(), (m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
        }
    }
    out
}

fn active_segment(p: &Partition) -> PathBuf {
    p.segments().last().unwrap().path.clone()
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// A minimal executor: the log's futures need no runtime.
fn block_on<F: Future>(f: F) -> F::Output {
    struct ThreadWaker(thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        thread::park();
    }
}

#[test]
fn a_reader_follows_a_writer_across_rolled_segments() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    // The writer holds the lock; a read-only open does not need it.
    assert!(matches!(
        Log::open(dir.path(), LogOptions::default()),
        Err(LogError::Locked { .. })
    ));
    let reader = Log::open_read_only(dir.path()).unwrap();
    assert!(reader.is_read_only() && !writer.is_read_only());
    assert!(reader.topics().is_empty());

    // A topic created after the reader opened is found by name, and by a refresh.
    let t = writer.create_topic("t", small_segments(2)).unwrap();
    let rt = reader.topic("t").unwrap();
    assert!(rt.is_read_only());
    reader.refresh().unwrap();
    assert_eq!(reader.topics(), vec!["t".to_string()]);
    assert!(Arc::ptr_eq(&rt, &reader.topic("t").unwrap()));

    let mut written: Vec<Vec<(u64, Record)>> = vec![Vec::new(), Vec::new()];
    let mut i = 0u64;
    for round in 0..12 {
        // Several batches, several segments rolled, between two refreshes.
        for k in 0..(round % 4) * 5 {
            let p = k % 2;
            let batch: Vec<Record> = (i..i + 1 + i % 4).map(rec).collect();
            let info = t.append(p, &batch).unwrap();
            for (j, r) in batch.into_iter().enumerate() {
                written[p as usize].push((info.base_offset + j as u64, r));
            }
            i += 1 + i % 4;
        }
        rt.refresh().unwrap();
        for p in 0..2u32 {
            let (wp, rp) = (t.partition(p).unwrap(), rt.partition(p).unwrap());
            assert_eq!(rp.end_offset(), wp.end_offset(), "round {round} p {p}");
            assert_eq!(read_all(rp), written[p as usize], "round {round} p {p}");
            assert_eq!(
                rp.segments()
                    .iter()
                    .map(|s| s.base_offset)
                    .collect::<Vec<_>>(),
                wp.segments()
                    .iter()
                    .map(|s| s.base_offset)
                    .collect::<Vec<_>>()
            );
            for ts in [0, 1_000, 1_050, 1_200, i64::MAX] {
                assert_eq!(
                    rp.offset_for_timestamp(ts).unwrap(),
                    wp.offset_for_timestamp(ts).unwrap(),
                    "timestamp {ts}"
                );
            }
        }
    }
    assert!(t.partitions().iter().all(|p| p.segments().len() > 4));

    // A second reader opened now sees the same (closed segments from their index files).
    let reader2 = Log::open_read_only(dir.path()).unwrap();
    for p in 0..2u32 {
        let rp = reader2.topic("t").unwrap().partition(p).unwrap().clone();
        assert_eq!(read_all(&rp), written[p as usize]);
    }
    assert!(
        reader2.recovery_notes().is_empty(),
        "{:?}",
        reader2.recovery_notes()
    );
}

/// The values a `read_committed` reader gets from `p`, from its start, and where it stops.
fn read_committed_values(p: &Partition) -> (Vec<String>, u64) {
    p.refresh().unwrap();
    let mut pos = p.start_offset();
    let mut out = Vec::new();
    loop {
        let read = p
            .read_isolated(pos, ReadLimit::records(3), IsolationLevel::ReadCommitted)
            .unwrap();
        out.extend(
            read.records
                .iter()
                .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap()))
                // Padding after a `:`, to roll segments.
                .map(|v| v.split(':').next().unwrap().to_string()),
        );
        if read.next_offset == pos {
            return (out, pos);
        }
        pos = read.next_offset;
    }
}

#[test]
fn a_read_committed_follower_tracks_the_writers_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let t = writer.create_topic("t", small_segments(1)).unwrap();
    // Values of 400 bytes: the 1500-byte segments roll every few records.
    let value = |v: &str| format!("{v}:{}", "x".repeat(400));
    let plain = |v: &str| {
        t.append(0, &[Record::keyed("k", value(v), 1)]).unwrap();
    };
    let txn = |p: &brook_log::Producer, v: &str| {
        p.append(&t, 0, &[Record::keyed("k", value(v), 1)]).unwrap();
    };
    // A follower opened before any transaction, one opened while one is open, one after.
    let early = Log::open_read_only(dir.path()).unwrap();
    let early = early.topic("t").unwrap().partition(0).unwrap().clone();
    plain("p0");
    let a = writer.init_transactions("a").unwrap();
    a.begin().unwrap();
    txn(&a, "a0");
    plain("p1");
    txn(&a, "a1");
    let middle = Log::open_read_only(dir.path()).unwrap();
    let middle = middle.topic("t").unwrap().partition(0).unwrap().clone();
    // Transaction `a` is open in the writer: a read_committed reader stops at its first
    // offset (the plain record after it waits too), a read_uncommitted one reads it all.
    for p in [&early, &middle] {
        assert_eq!(read_committed_values(p), (vec!["p0".to_string()], 1));
        assert_eq!(p.last_stable_offset(), 1);
        assert_eq!(p.read(0, 10).unwrap().len(), 4);
    }
    a.commit().unwrap();
    // Committed after the followers opened: they notice.
    let b = writer.init_transactions("b").unwrap();
    b.begin().unwrap();
    txn(&b, "b0");
    for p in [&early, &middle] {
        assert_eq!(
            read_committed_values(p).0,
            ["p0", "a0", "p1", "a1"],
            "committed after the follower opened"
        );
    }
    // Aborted after the followers opened: skipped; what follows is read.
    txn(&b, "b1");
    plain("p2");
    b.abort().unwrap();
    b.begin().unwrap();
    txn(&b, "b2");
    b.commit().unwrap();
    plain("p3");
    let late = Log::open_read_only(dir.path()).unwrap();
    let late = late.topic("t").unwrap().partition(0).unwrap().clone();
    let want = ["p0", "a0", "p1", "a1", "p2", "b2", "p3"];
    for p in [&early, &middle, &late] {
        let (values, next) = read_committed_values(p);
        assert_eq!(values, want);
        assert_eq!(next, t.partition(0).unwrap().end_offset());
        assert_eq!(p.last_stable_offset(), next);
    }
    // The writer's own view agrees.
    assert_eq!(read_committed_values(t.partition(0).unwrap()).0, want);
    assert!(
        early.segments().len() > 1,
        "the test crosses rolled segments"
    );
}

/// A transaction left open by a writer that died stays unreadable to a `read_committed`
/// follower until the next writer aborts it.
#[test]
fn a_follower_waits_for_the_abort_of_a_dead_writers_transaction() {
    let dir = tempfile::tempdir().unwrap();
    {
        let writer = open(dir.path());
        let t = writer.create_topic("t", TopicConfig::new(1)).unwrap();
        t.append(0, &[Record::keyed("k", "p0", 1)]).unwrap();
        let a = writer.init_transactions("a").unwrap();
        a.begin().unwrap();
        a.append(&t, 0, &[Record::keyed("k", "a0", 1)]).unwrap();
        // Dropped without commit or abort (a producer has no Drop): as if the process
        // died.
        drop(a);
    }
    let follower = Log::open_read_only(dir.path()).unwrap();
    let fp = follower.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(read_committed_values(&fp), (vec!["p0".to_string()], 1));
    // The next writer's recovery aborts it.
    let writer = open(dir.path());
    let t = writer.topic("t").unwrap();
    t.append(0, &[Record::keyed("k", "p1", 1)]).unwrap();
    let (values, next) = read_committed_values(&fp);
    assert_eq!(values, ["p0", "p1"]);
    assert_eq!(next, t.partition(0).unwrap().end_offset());
}

#[test]
fn a_read_only_log_refuses_writes_and_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        let mut c = small_segments(1);
        c.retention_bytes = Some(1);
        let t = log.create_topic("t", c).unwrap();
        for i in 0..60 {
            t.append(0, &[rec(i)]).unwrap();
        }
        log.commit_offsets("g", &[("t", 0, 5)]).unwrap();
    }
    // Leave work for a recovery that a writer would do: a torn tail, a missing index, a
    // leftover of a compaction.
    let pdir = dir.path().join("t").join("0");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&pdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    assert!(logs.len() > 3);
    append_bytes(logs.last().unwrap(), &[0, 0, 0, 0, 0, 0, 0, 60, 0, 0, 1]);
    std::fs::remove_file(logs[1].with_extension("index")).unwrap();
    std::fs::write(pdir.join("00000000000000000000.log.cleaned"), b"half").unwrap();
    let before = snapshot(dir.path());

    let log = Log::open_read_only(dir.path()).unwrap();
    let t = log.topic("t").unwrap();
    let p = t.partition(0).unwrap();
    assert_eq!(p.end_offset(), 60);
    assert_eq!(read_all(p).len(), 60);
    assert_eq!(log.committed_offset("g", "t", 0), Some(5));
    assert!(log
        .recovery_notes()
        .iter()
        .any(|n| n.contains("rebuilt indexes in memory")));

    let refused = |e: LogError, what: &str| {
        assert!(matches!(e, LogError::ReadOnly { .. }), "{what}: {e}");
        assert!(e.to_string().contains("read-only"), "{e}");
    };
    refused(t.append(0, &[rec(0)]).unwrap_err(), "append");
    refused(p.append(&[rec(0)]).unwrap_err(), "partition append");
    refused(t.produce(&[rec(0)]).unwrap_err(), "produce");
    refused(
        // Refused as read-only even though the record is also too large.
        t.produce(&[Record::unkeyed(vec![0u8; 2 << 20], 0)])
            .unwrap_err(),
        "produce",
    );
    refused(
        log.create_topic("u", TopicConfig::new(1)).unwrap_err(),
        "create",
    );
    refused(
        log.topic_or_create("u", TopicConfig::new(1)).unwrap_err(),
        "create",
    );
    assert!(log.topic_or_create("t", TopicConfig::new(1)).is_ok());
    refused(log.delete_topic("t").unwrap_err(), "delete");
    refused(
        log.commit_offsets("g", &[("t", 0, 6)]).unwrap_err(),
        "commit",
    );
    refused(log.enforce_retention(i64::MAX).unwrap_err(), "retention");
    refused(t.enforce_retention(i64::MAX).unwrap_err(), "retention");
    refused(log.compact().unwrap_err(), "compact");
    refused(t.compact().unwrap_err(), "compact");
    log.flush().unwrap();
    t.flush().unwrap();
    for _ in 0..3 {
        log.refresh().unwrap();
        assert_eq!(p.refresh().unwrap(), 60);
    }
    drop(log);
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a read-only log changed files"
    );
    assert!(!dir.path().join("nonexistent").exists());
    assert!(Log::open_read_only(dir.path().join("nonexistent")).is_err());
    assert!(!dir.path().join("nonexistent").exists());
}

#[test]
fn a_read_only_log_of_an_empty_directory_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_read_only(dir.path()).unwrap();
    assert!(log.topics().is_empty());
    assert_eq!(log.committed_offset("g", "t", 0), None);
    assert!(matches!(log.topic("t"), Err(LogError::TopicNotFound(_))));
    log.refresh().unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The writer comes later; commits and topics show up on refresh.
    let w = open(dir.path());
    let t = w.create_topic("t", TopicConfig::new(1)).unwrap();
    t.append(0, &[rec(0), rec(1)]).unwrap();
    w.commit_offsets("g", &[("t", 0, 2)]).unwrap();
    log.refresh().unwrap();
    assert_eq!(log.topics(), vec!["t".to_string()]);
    assert_eq!(log.committed_offset("g", "t", 0), Some(2));
    w.commit_offsets("g", &[("t", 0, 1)]).unwrap();
    log.refresh().unwrap();
    assert_eq!(log.committed_offset("g", "t", 0), Some(1));
    assert_eq!(log.groups(), vec!["g".to_string()]);
}

#[test]
fn a_topic_caught_while_being_created_has_empty_partitions() {
    // Between the writer renaming a new topic into place and creating its first segment
    // files, a reader sees partitions without segments: empty, not an error.
    let dir = tempfile::tempdir().unwrap();
    let tdir = dir.path().join("t");
    std::fs::create_dir_all(tdir.join("0")).unwrap();
    std::fs::create_dir_all(tdir.join("1")).unwrap();
    std::fs::write(tdir.join("topic.properties"), "partitions=2\n").unwrap();
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rt = reader.topic("t").unwrap();
    let rp = rt.partition(1).unwrap();
    assert_eq!((rp.start_offset(), rp.end_offset()), (0, 0));
    assert!(rp.segments().is_empty());
    assert!(rp.read(0, 10).unwrap().is_empty());
    assert!(matches!(
        rp.read(1, 10),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(rp.offset_for_timestamp(0).unwrap(), None);
    rt.refresh().unwrap();
    assert_eq!(std::fs::read_dir(tdir.join("1")).unwrap().count(), 0);
    let writer = open(dir.path());
    writer
        .topic("t")
        .unwrap()
        .append(1, &[rec(0), rec(1)])
        .unwrap();
    assert_eq!(rp.refresh().unwrap(), 2);
    assert_eq!(read_all(rp), vec![(0, rec(0)), (1, rec(1))]);
}

/// The bytes the writer will write for `batch` appended after `history` (by replaying
/// the history in a scratch directory with the same config).
fn next_batch_bytes(config: &TopicConfig, history: &[Vec<Record>], batch: &[Record]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log.create_topic("t", config.clone()).unwrap();
    for b in history {
        t.append(0, b).unwrap();
    }
    let p = t.partition(0).unwrap();
    let (seg, before) = (active_segment(p), p.segments().last().unwrap().size_bytes);
    t.append(0, batch).unwrap();
    assert_eq!(active_segment(p), seg, "the scratch append rolled");
    std::fs::read(&seg).unwrap()[before as usize..].to_vec()
}

#[test]
fn a_torn_or_unfinished_tail_is_not_served_and_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = small_segments(1);
    let mut config = config;
    config.segment_bytes = 1 << 20;
    let writer = open(dir.path());
    let t = writer.create_topic("t", config.clone()).unwrap();
    let history: Vec<Vec<Record>> = (0..10)
        .map(|b| (b * 3..b * 3 + 3).map(rec).collect())
        .collect();
    for b in &history {
        t.append(0, b).unwrap();
    }
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(rp.end_offset(), 30);

    let wp = t.partition(0).unwrap();
    let seg = active_segment(wp);
    let next: Vec<Record> = (30..35).map(rec).collect();
    let bytes = next_batch_bytes(&config, &history, &next);
    // The writer is in the middle of writing the next batch: every prefix of it.
    let size = std::fs::metadata(&seg).unwrap().len();
    for cut in [1, 11, 12, 42, 43, 44, bytes.len() / 2, bytes.len() - 1] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(size)
            .unwrap();
        append_bytes(&seg, &bytes[..cut]);
        assert_eq!(rp.refresh().unwrap(), 30, "cut at {cut}");
        assert_eq!(read_all(&rp).len(), 30);
        assert!(rp.read(30, 10).unwrap().is_empty());
    }
    // A complete batch whose CRC fails is not served either (not yet written right).
    let mut bad = bytes.clone();
    *bad.last_mut().unwrap() ^= 0x55;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(size)
        .unwrap();
    append_bytes(&seg, &bad);
    assert_eq!(rp.refresh().unwrap(), 30);
    // The writer writes the batch (over the bytes it does not consider written).
    t.append(0, &next).unwrap();
    assert_eq!(rp.refresh().unwrap(), 35);
    let got = read_all(&rp);
    assert_eq!(got.len(), 35);
    assert_eq!(got[34].1, rec(34));

    // A crashed writer left a torn tail and nobody writes: the reader serves the prefix.
    drop(t);
    drop(writer);
    append_bytes(&seg, &bytes[..20]);
    let torn_len = std::fs::metadata(&seg).unwrap().len();
    let r2 = Log::open_read_only(dir.path()).unwrap();
    let p2 = r2.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(p2.end_offset(), 35);
    assert_eq!(read_all(&p2).len(), 35);
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        torn_len,
        "not truncated"
    );
    // The next writer repairs it and goes on; the readers follow.
    let writer = open(dir.path());
    let t = writer.topic("t").unwrap();
    t.append(0, &[rec(35), rec(36)]).unwrap();
    for p in [&rp, &p2] {
        assert_eq!(p.refresh().unwrap(), 37);
        let got = read_all(p);
        assert_eq!(got.last().unwrap(), &(36, rec(36)));
    }
}

#[test]
fn a_rolled_back_append_is_read_again() {
    // The writer truncates an append whose fsync failed and writes other records at the
    // same offsets; a reader that saw the first version notices and reads the segment
    // again. (Simulated by rewriting the file by hand with no writer running.)
    let config = {
        let mut c = small_segments(1);
        c.segment_bytes = 1 << 20;
        c
    };
    let dir = tempfile::tempdir().unwrap();
    let history: Vec<Vec<Record>> = (0..5)
        .map(|b| (b * 2..b * 2 + 2).map(rec).collect())
        .collect();
    let seg;
    let size;
    {
        let w = open(dir.path());
        let t = w.create_topic("t", config.clone()).unwrap();
        for b in &history {
            t.append(0, b).unwrap();
        }
        let p = t.partition(0).unwrap();
        seg = active_segment(p);
        size = std::fs::metadata(&seg).unwrap().len();
        t.append(0, &[rec(100), rec(101), rec(102)]).unwrap();
    }
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(read_all(&rp)[10].1, rec(100));
    // Rolled back, and a different (shorter) append written in its place.
    let other: Vec<Record> = vec![rec(200)];
    let bytes = next_batch_bytes(&config, &history, &other);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(size)
        .unwrap();
    append_bytes(&seg, &bytes);
    assert_eq!(rp.refresh().unwrap(), 11);
    let got = read_all(&rp);
    assert_eq!(got.len(), 11);
    assert_eq!(got[10].1, rec(200));
    // Same length, different content.
    let other: Vec<Record> = vec![rec(300)];
    let bytes2 = next_batch_bytes(&config, &history, &other);
    assert_eq!(bytes2.len(), bytes.len());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .write_all_at(&bytes2, size)
        .unwrap();
    assert_eq!(rp.refresh().unwrap(), 11);
    assert_eq!(read_all(&rp)[10].1, rec(300));
}

#[test]
fn retention_moves_the_readers_start_offset() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let mut c = small_segments(1);
    c.retention_bytes = Some(3000);
    let t = writer.create_topic("t", c).unwrap();
    for i in 0..200 {
        t.append(0, &[rec(i)]).unwrap();
    }
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(rp.start_offset(), 0);
    assert_eq!(rp.read(0, 1).unwrap()[0].to_record(), rec(0));
    let report = t.enforce_retention(0).unwrap();
    assert!(report.segments_deleted > 3);
    let wp = t.partition(0).unwrap();
    assert!(wp.start_offset() > 0);
    // Until it refreshes, the reader still serves what it had (its files are open).
    assert_eq!(rp.read(0, 1).unwrap()[0].to_record(), rec(0));
    rp.refresh().unwrap();
    assert_eq!(rp.start_offset(), wp.start_offset());
    assert!(matches!(
        rp.read(0, 1),
        Err(LogError::OffsetOutOfRange { offset: 0, .. })
    ));
    let got = read_all(&rp);
    assert_eq!(got.first().unwrap().0, wp.start_offset());
    assert_eq!(got.len() as u64, 200 - wp.start_offset());
    // Retention again, after more rolls, between two refreshes (the reader's "active"
    // segment is rolled and deleted before it looks again).
    for i in 200..400 {
        t.append(0, &[rec(i)]).unwrap();
    }
    t.enforce_retention(0).unwrap();
    rp.refresh().unwrap();
    assert_eq!(rp.start_offset(), wp.start_offset());
    assert_eq!(rp.end_offset(), 400);
    assert_eq!(read_all(&rp).len() as u64, 400 - wp.start_offset());
    // A fresh reader agrees.
    let r2 = Log::open_read_only(dir.path()).unwrap();
    let p2 = r2.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(p2.start_offset(), wp.start_offset());
    assert_eq!(read_all(&p2), read_all(&rp));
}

#[test]
fn compaction_by_the_writer_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let mut c = small_segments(1);
    c.cleanup_policy = CleanupPolicy::Compact;
    let t = writer.create_topic("t", c).unwrap();
    for i in 0..150 {
        t.append(0, &[rec(i)]).unwrap();
    }
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(read_all(&rp).len(), 150);
    let r = t.compact().unwrap();
    assert!(r.records_removed > 0);
    // Before a refresh the reader serves the old (uncompacted) files; after, the new.
    assert_eq!(read_all(&rp).len(), 150);
    rp.refresh().unwrap();
    let wp = t.partition(0).unwrap();
    let want: Vec<(u64, Record)> = {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < wp.end_offset() {
            let got = wp.read(pos, 1000).unwrap();
            pos = got.last().unwrap().offset + 1;
            out.extend(got.iter().map(|r| (r.offset, r.to_record())));
        }
        out
    };
    assert!(want.len() < 150);
    let mut got = Vec::new();
    let mut pos = 0;
    while pos < rp.end_offset() {
        let r = rp.read(pos, 1000).unwrap();
        pos = r.last().unwrap().offset + 1;
        got.extend(r.iter().map(|r| (r.offset, r.to_record())));
    }
    assert_eq!(got, want);
}

#[test]
fn a_deleted_and_recreated_topic_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let t = writer.create_topic("t", small_segments(2)).unwrap();
    for i in 0..20 {
        t.append((i % 2) as u32, &[rec(i)]).unwrap();
    }
    let reader = Log::open_read_only(dir.path()).unwrap();
    let rt = reader.topic("t").unwrap();
    let rp = rt.partition(1).unwrap().clone();
    assert_eq!(rp.end_offset(), 10);
    let waiter = {
        let rp = rp.clone();
        thread::spawn(move || {
            rp.wait_for_append_polling(10, Duration::from_millis(5), Duration::from_secs(30))
        })
    };
    thread::sleep(Duration::from_millis(30));
    writer.delete_topic("t").unwrap();
    assert!(matches!(
        waiter.join().unwrap(),
        Err(LogError::TopicDeleted(_))
    ));
    assert!(matches!(rp.refresh(), Err(LogError::TopicDeleted(_))));
    assert!(rt.is_deleted());
    reader.refresh().unwrap();
    assert!(reader.topics().is_empty());
    assert!(matches!(reader.topic("t"), Err(LogError::TopicNotFound(_))));
    // Re-created with the same name: a new topic for the reader.
    let t = writer.create_topic("t", small_segments(1)).unwrap();
    t.append(0, &[rec(7)]).unwrap();
    let rt2 = reader.topic("t").unwrap();
    assert!(!Arc::ptr_eq(&rt, &rt2));
    assert_eq!(rt2.partition_count(), 1);
    assert_eq!(read_all(rt2.partition(0).unwrap()), vec![(0, rec(7))]);
    // And deleted then re-created between two refreshes.
    writer.delete_topic("t").unwrap();
    let t = writer.create_topic("t", small_segments(3)).unwrap();
    t.append(2, &[rec(8)]).unwrap();
    reader.refresh().unwrap();
    assert!(rt2.is_deleted());
    let rt3 = reader.topic("t").unwrap();
    assert_eq!(rt3.partition_count(), 3);
    assert_eq!(read_all(rt3.partition(2).unwrap()), vec![(0, rec(8))]);
}

#[test]
fn tailing_a_read_only_log_wakes_on_the_writers_appends() {
    let dir = tempfile::tempdir().unwrap();
    let writer = open(dir.path());
    let t = writer.create_topic("t", small_segments(1)).unwrap();
    t.append(0, &[rec(0)]).unwrap();
    let reader = Log::open_read_only_with(
        dir.path(),
        ReadOnlyOptions {
            poll_interval: Some(Duration::from_millis(10)),
        },
    )
    .unwrap();
    let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
    // Nothing new: the polling wait times out and returns the end offset.
    let started = Instant::now();
    assert_eq!(
        rp.wait_for_append_polling(1, Duration::from_millis(5), Duration::from_millis(50))
            .unwrap(),
        1
    );
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        rp.wait_for_append_timeout(1, Duration::from_millis(20))
            .unwrap(),
        1
    );
    // Blocking polling waits, async waits (the background refresher) and subscribers.
    let poller = {
        let rp = rp.clone();
        thread::spawn(move || {
            rp.wait_for_append_polling(5, Duration::from_millis(5), Duration::from_secs(30))
        })
    };
    let blocking = {
        let rp = rp.clone();
        thread::spawn(move || rp.wait_for_append_timeout(1, Duration::from_secs(30)))
    };
    let asynchronous = {
        let rp = rp.clone();
        thread::spawn(move || block_on(rp.wait_for_append(3)))
    };
    let mut sub = rp.subscribe();
    thread::sleep(Duration::from_millis(30));
    for i in 1..10 {
        t.append(0, &[rec(i)]).unwrap();
        thread::sleep(Duration::from_millis(3));
    }
    assert!(poller.join().unwrap().unwrap() > 5);
    assert!(blocking.join().unwrap().unwrap() > 1);
    assert!(asynchronous.join().unwrap().unwrap() > 3);
    let deadline = Instant::now() + Duration::from_secs(30);
    while *sub.borrow_and_update() < 10 {
        assert!(Instant::now() < deadline, "subscriber never saw offset 10");
        thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(read_all(&rp).len(), 10);

    // Without a background refresher the caller refreshes.
    let manual = Log::open_read_only_with(
        dir.path(),
        ReadOnlyOptions {
            poll_interval: None,
        },
    )
    .unwrap();
    let mp = manual.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(mp.end_offset(), 10);
    t.append(0, &[rec(10)]).unwrap();
    thread::sleep(Duration::from_millis(30));
    assert_eq!(mp.end_offset(), 10);
    assert_eq!(mp.refresh().unwrap(), 11);
}

// ---------- another process ----------

const CHILD_ENV: &str = "BROOK_LOG_FOLLOW_CHILD_DIR";
const CHILD_RECORDS: u64 = 3000;

#[test]
fn follow_child() {
    // The writer process of `a_reader_in_another_process_tails_the_writer`; a no-op in a
    // normal test run.
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = open(Path::new(&dir));
    let t = log.topic_or_create("t", small_segments(3)).unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").unwrap();
    out.flush().unwrap();
    let mut i = 0;
    while i < CHILD_RECORDS {
        let n = (1 + i % 5).min(CHILD_RECORDS - i);
        let batch: Vec<Record> = (i..i + n).map(rec).collect();
        t.produce(&batch).unwrap();
        i += n;
        if i % 100 < 5 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    writeln!(out, "done").unwrap();
    out.flush().unwrap();
    // Hold the lock until the parent says so (closes stdin).
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

#[test]
fn a_reader_in_another_process_tails_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "follow_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let l = lines.next().expect("child exited early").unwrap();
        if l == "ready" {
            break;
        }
    }
    // The writer process holds the lock: a writer open fails, a read-only one works.
    assert!(matches!(
        Log::open(dir.path(), LogOptions::default()),
        Err(LogError::Locked { .. })
    ));
    let reader = Log::open_read_only(dir.path()).unwrap();
    let t = reader.topic("t").unwrap();
    // Tail all partitions like a `consume --follow` would, until every record is seen.
    let mut positions = [0u64; 3];
    let mut seen: Vec<Vec<Record>> = vec![Vec::new(); 3];
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.iter().map(Vec::len).sum::<usize>() < CHILD_RECORDS as usize {
        assert!(
            Instant::now() < deadline,
            "did not see every record in time"
        );
        let mut progressed = false;
        for (p, pos) in positions.iter_mut().enumerate() {
            let part = t.partition(p as u32).unwrap();
            let got = part.read(*pos, ReadLimit::records(100)).unwrap();
            for r in &got {
                assert_eq!(r.offset, *pos, "dense offsets, in order");
                *pos += 1;
                seen[p].push(r.to_record());
            }
            progressed |= !got.is_empty();
        }
        if !progressed {
            t.partition(0)
                .unwrap()
                .wait_for_append_polling(
                    positions[0],
                    Duration::from_millis(10),
                    Duration::from_millis(50),
                )
                .unwrap();
            t.refresh().unwrap();
        }
    }
    let l = lines.next().unwrap().unwrap();
    assert_eq!(l, "done");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // Every record exactly once, in the order produced within its partition.
    let mut all: Vec<Record> = seen.concat();
    all.sort_by_key(|r| r.timestamp);
    assert_eq!(all, (0..CHILD_RECORDS).map(rec).collect::<Vec<_>>());
    for s in &seen {
        assert!(s.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    }
    let segments: usize = t.partitions().iter().map(|p| p.segments().len()).sum();
    assert!(segments > 6, "segments rolled");
}
