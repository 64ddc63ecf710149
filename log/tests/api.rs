//! End-to-end behaviour of the public API: topics, appends, reads, reopen, lookups,
//! tailing, partitioning, retention, compaction and consumer offsets.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use brook_log::partitioner::kafka_partition;
use brook_log::{
    Bytes, Log, LogError, LogOptions, ReadLimit, Record, StoredRecord, TopicConfig,
    CONSUMER_OFFSETS_TOPIC,
};

fn open(dir: &std::path::Path) -> Log {
    Log::open(dir, LogOptions::default()).unwrap()
}

fn cfg(partitions: u32, kv: &[(&str, &str)]) -> TopicConfig {
    let props: Vec<(String, String)> = kv
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TopicConfig::from_properties(partitions, &props).unwrap()
}

fn rec(i: u64) -> Record {
    Record::keyed(
        format!("k{}", i % 10),
        format!("value-{i}"),
        1000 + i as i64,
    )
    .with_header("i", Some(Bytes::from(i.to_string())))
}

fn read_all(log: &Log, topic: &str, p: u32) -> Vec<StoredRecord> {
    let part = log.topic(topic).unwrap().partition(p).unwrap().clone();
    let mut out = Vec::new();
    let mut pos = part.start_offset();
    loop {
        let got = part.read(pos, ReadLimit::records(137)).unwrap();
        let Some(last) = got.last() else { break };
        pos = last.offset + 1;
        out.extend(got);
    }
    out
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
fn topics_create_list_reopen_delete() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    assert!(log.topics().is_empty());
    assert!(log
        .all_topics()
        .contains(&CONSUMER_OFFSETS_TOPIC.to_string()));
    log.create_topic("zeta", cfg(2, &[("retention.bytes", "12345")]))
        .unwrap();
    log.create_topic("alpha", cfg(3, &[])).unwrap();
    log.create_topic("m.i_d-dle", TopicConfig::new(1)).unwrap();
    assert_eq!(log.topics(), vec!["alpha", "m.i_d-dle", "zeta"]);
    assert!(matches!(
        log.create_topic("alpha", cfg(1, &[])),
        Err(LogError::TopicExists(_))
    ));
    assert!(matches!(log.topic("nope"), Err(LogError::TopicNotFound(n)) if n == "nope"));
    log.topic("alpha")
        .unwrap()
        .append(2, &[rec(0), rec(1)])
        .unwrap();
    drop(log);

    let log = open(dir.path());
    assert_eq!(log.topics(), vec!["alpha", "m.i_d-dle", "zeta"]);
    let zeta = log.topic("zeta").unwrap();
    assert_eq!(zeta.partition_count(), 2);
    assert_eq!(zeta.config().retention_bytes, Some(12345));
    assert_eq!(read_all(&log, "alpha", 2).len(), 2);
    assert!(matches!(
        zeta.partition(2),
        Err(LogError::PartitionNotFound {
            partition: 2,
            partitions: 2,
            ..
        })
    ));

    let alpha = log.topic("alpha").unwrap();
    log.commit_offsets("g", &[("alpha", 2u32, 2u64), ("zeta", 0, 0)])
        .unwrap();
    log.delete_topic("alpha").unwrap();
    assert_eq!(log.topics(), vec!["m.i_d-dle", "zeta"]);
    assert!(!dir.path().join("alpha").exists());
    assert!(matches!(
        alpha.append(0, &[rec(0)]),
        Err(LogError::TopicDeleted(_))
    ));
    assert!(matches!(
        block_on(alpha.partition(0).unwrap().wait_for_append(100)),
        Err(LogError::TopicDeleted(_))
    ));
    assert_eq!(log.committed_offset("g", "alpha", 2), None);
    assert_eq!(log.committed_offset("g", "zeta", 0), Some(0));
    assert!(matches!(
        log.delete_topic("alpha"),
        Err(LogError::TopicNotFound(_))
    ));
    assert!(log.delete_topic(CONSUMER_OFFSETS_TOPIC).is_err());
    // Recreated from scratch.
    let alpha = log.create_topic("alpha", cfg(1, &[])).unwrap();
    assert_eq!(alpha.partition(0).unwrap().end_offset(), 0);
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.topics(), vec!["alpha", "m.i_d-dle", "zeta"]);
    assert_eq!(log.committed_offset("g", "alpha", 2), None);
    assert!(
        log.recovery_notes().is_empty(),
        "{:?}",
        log.recovery_notes()
    );
}

#[test]
fn topic_names_are_validated_like_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let long = "x".repeat(250);
    for bad in [
        "",
        ".",
        "..",
        "../x",
        "a/b",
        "a b",
        "ü",
        long.as_str(),
        "x\0",
    ] {
        match log.create_topic(bad, cfg(1, &[])) {
            Err(e @ LogError::InvalidTopicName { .. }) => {
                assert!(e.to_string().contains("invalid topic name"), "{e}")
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
        assert!(matches!(
            log.topic(bad),
            Err(LogError::InvalidTopicName { .. })
        ));
        assert!(matches!(
            log.delete_topic(bad),
            Err(LogError::InvalidTopicName { .. })
        ));
    }
    assert!(!dir.path().parent().unwrap().join("x").exists());
    log.create_topic(&"y".repeat(249), cfg(1, &[])).unwrap();
    log.create_topic("..x", cfg(1, &[])).unwrap();
}

#[test]
fn append_and_read_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log.create_topic("t", cfg(1, &[])).unwrap();
    let p = t.partition(0).unwrap();
    assert!(matches!(
        t.append::<Record>(0, &[]),
        Err(LogError::InvalidRecord { .. })
    ));
    let a = t.append(0, &(0..10).map(rec).collect::<Vec<_>>()).unwrap();
    assert_eq!((a.base_offset, a.last_offset), (0, 9));
    let b = t.append(0, &(10..15).map(rec).collect::<Vec<_>>()).unwrap();
    assert_eq!((b.base_offset, b.last_offset), (10, 14));
    assert_eq!((p.start_offset(), p.end_offset()), (0, 15));

    let got = p.read(7, 5).unwrap();
    assert_eq!(
        got.iter().map(|r| r.offset).collect::<Vec<_>>(),
        vec![7, 8, 9, 10, 11]
    );
    for r in &got {
        assert_eq!(r.to_record(), rec(r.offset));
    }
    assert!(p.read(15, 10).unwrap().is_empty());
    assert!(matches!(
        p.read(16, 10),
        Err(LogError::OffsetOutOfRange {
            offset: 16,
            start: 0,
            end: 15,
            ..
        })
    ));
    // Byte limit: at least one record, then stop before exceeding.
    assert_eq!(p.read(0, ReadLimit::bytes(1)).unwrap().len(), 1);
    let some = p.read(0, ReadLimit::bytes(100)).unwrap();
    assert!(!some.is_empty() && some.len() < 15);
    assert!(p.read(0, 0).unwrap().is_empty());

    // Null keys, null values, empty values and headers with null values.
    let odd = vec![
        Record::new(None, None, -5),
        Record::new(Some(Bytes::new()), Some(Bytes::new()), i64::MAX),
        Record::unkeyed("v", i64::MIN)
            .with_header("h", None)
            .with_header("h", Some(Bytes::new())),
    ];
    t.append(0, &odd).unwrap();
    let back: Vec<Record> = p
        .read(15, 10)
        .unwrap()
        .iter()
        .map(|r| r.to_record())
        .collect();
    assert_eq!(back, odd);
}

#[test]
fn many_segments_roll_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    {
        let log = open(dir.path());
        let t = log
            .create_topic(
                "t",
                cfg(
                    2,
                    &[("segment.bytes", "2000"), ("index.interval.bytes", "300")],
                ),
            )
            .unwrap();
        for i in 0..300u64 {
            let batch: Vec<Record> = (0..(i % 7 + 1)).map(|j| rec(i * 10 + j)).collect();
            t.append((i % 2) as u32, &batch).unwrap();
            if i % 2 == 0 {
                expected.extend(batch);
            }
        }
        let p = t.partition(0).unwrap();
        assert!(p.segments().len() > 10, "{}", p.segments().len());
        let got: Vec<Record> = read_all(&log, "t", 0)
            .iter()
            .map(|r| r.to_record())
            .collect();
        assert_eq!(got, expected);
        // Every offset can be read from directly.
        for o in (0..p.end_offset()).step_by(7) {
            assert_eq!(p.read(o, 1).unwrap()[0].offset, o);
        }
    }
    let log = open(dir.path());
    assert!(
        log.recovery_notes().is_empty(),
        "{:?}",
        log.recovery_notes()
    );
    let got: Vec<Record> = read_all(&log, "t", 0)
        .iter()
        .map(|r| r.to_record())
        .collect();
    assert_eq!(got, expected);
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    let segs = p.segments();
    for w in segs.windows(2) {
        assert_eq!(w[0].next_offset, w[1].base_offset);
        assert!(w[0].size_bytes <= 2000 || w[0].size_bytes > 0);
    }
    // Appends continue after the reopen.
    let a = p.append(&[rec(1)]).unwrap();
    assert_eq!(a.base_offset, expected.len() as u64);
}

#[test]
fn offset_for_timestamp_matches_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic(
            "t",
            cfg(
                1,
                &[("segment.bytes", "3000"), ("index.interval.bytes", "200")],
            ),
        )
        .unwrap();
    let p = t.partition(0).unwrap();
    let mut ts = Vec::new();
    let mut seed = 7u64;
    for _ in 0..100 {
        let batch: Vec<Record> = (0..5)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                let t = ((seed >> 40) % 10_000) as i64 + ts.len() as i64 * 20;
                ts.push(t);
                Record::unkeyed("x", t)
            })
            .collect();
        p.append(&batch).unwrap();
    }
    let check = |p: &brook_log::Partition| {
        for q in (-10..12_000).step_by(37) {
            let want = ts.iter().position(|&t| t >= q).map(|i| i as u64);
            assert_eq!(p.offset_for_timestamp(q).unwrap(), want, "ts {q}");
        }
    };
    check(p);
    drop(log);
    let log = open(dir.path());
    check(log.topic("t").unwrap().partition(0).unwrap());
}

#[test]
fn tailing_readers_wake_on_append() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log.create_topic("t", cfg(1, &[])).unwrap();
    let p = t.partition(0).unwrap().clone();
    // Blocking wait times out, then an async waiter is woken by an append on another thread.
    assert_eq!(
        p.wait_for_append_timeout(0, Duration::from_millis(20))
            .unwrap(),
        0
    );
    let writer = {
        let p = p.clone();
        thread::spawn(move || {
            for i in 0..50u64 {
                thread::sleep(Duration::from_millis(1));
                p.append(&[rec(i)]).unwrap();
            }
        })
    };
    let mut pos = 0;
    let mut seen = Vec::new();
    while pos < 50 {
        let end = if pos % 2 == 0 {
            block_on(p.wait_for_append(pos)).unwrap()
        } else {
            p.wait_for_append_timeout(pos, Duration::from_secs(10))
                .unwrap()
        };
        assert!(end > pos);
        let got = p.read(pos, 100).unwrap();
        pos = got.last().unwrap().offset + 1;
        seen.extend(got.into_iter().map(|r| r.offset));
    }
    writer.join().unwrap();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
    let mut rx = p.subscribe();
    assert_eq!(*rx.borrow_and_update(), 50);
}

#[test]
fn concurrent_readers_see_consistent_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic("t", cfg(1, &[("segment.bytes", "20000")]))
        .unwrap();
    let p = t.partition(0).unwrap().clone();
    let writer = {
        let p = p.clone();
        thread::spawn(move || {
            for i in 0..400u64 {
                let batch: Vec<Record> = (0..10).map(|j| rec(i * 10 + j)).collect();
                p.append(&batch).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|n| {
            let p = p.clone();
            thread::spawn(move || {
                let mut pos = 0u64;
                while pos < 4000 {
                    let got = p.read(pos, [333, 7, 1][n]).unwrap();
                    for r in &got {
                        assert_eq!(r.offset, pos);
                        assert_eq!(r.to_record(), rec(pos));
                        pos += 1;
                    }
                    if got.is_empty() {
                        p.wait_for_append_timeout(pos, Duration::from_secs(5))
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn produce_uses_kafkas_partitioner() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log.create_topic("t", cfg(6, &[])).unwrap();
    let keyed: Vec<Record> = (0..100)
        .map(|i| Record::keyed(format!("key{i}"), "v", i))
        .collect();
    let placed = t.produce(&keyed).unwrap();
    for (r, (p, o)) in keyed.iter().zip(&placed) {
        assert_eq!(*p, kafka_partition(r.key.as_ref().unwrap(), 6));
        assert_eq!(
            t.partition(*p).unwrap().read(*o, 1).unwrap()[0].to_record(),
            *r
        );
        assert_eq!(*p, t.partition_for_key(b"dummy").min(*p).max(*p));
    }
    // Keyless: one partition per call, moving round-robin.
    let mut used = Vec::new();
    for _ in 0..6 {
        let placed = t
            .produce(&[Record::unkeyed("a", 0), Record::unkeyed("b", 0)])
            .unwrap();
        assert_eq!(placed[0].0, placed[1].0);
        assert_eq!(placed[1].1, placed[0].1 + 1);
        used.push(placed[0].0);
    }
    used.sort();
    assert_eq!(used, vec![0, 1, 2, 3, 4, 5]);
}

fn ends(t: &brook_log::Topic) -> Vec<u64> {
    t.partitions().iter().map(|p| p.end_offset()).collect()
}

#[test]
fn produce_checks_every_record_before_writing_any() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic("t", cfg(4, &[("max.message.bytes", "200")]))
        .unwrap();
    // Keys spread over all 4 partitions; the bad record goes to a partition after the
    // first one the others land in.
    let mut batch: Vec<Record> = (0..40)
        .map(|i| Record::keyed(format!("key{i}"), "v", i))
        .collect();
    let first_p = kafka_partition(b"key0", 4);
    let bad_at = (1..40)
        .find(|&i| kafka_partition(format!("key{i}").as_bytes(), 4) > first_p)
        .unwrap();
    let bad_key = format!("key{bad_at}");
    batch[bad_at] = Record::keyed(bad_key.clone(), vec![0u8; 300], 0);
    let e = t.produce(&batch).unwrap_err();
    match &e {
        LogError::RecordTooLarge {
            index,
            partition,
            max,
            ..
        } => {
            assert_eq!(*index, bad_at);
            assert_eq!(*partition, kafka_partition(bad_key.as_bytes(), 4));
            assert_eq!(*max, 200);
        }
        other => panic!("expected RecordTooLarge, got {other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains(&format!("record {bad_at} ")), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert_eq!(
        ends(&t),
        vec![0; 4],
        "nothing of the refused produce was written"
    );

    // Without the bad record, the retry writes every record exactly once.
    batch.remove(bad_at);
    let placed = t.produce(&batch).unwrap();
    assert_eq!(ends(&t).iter().sum::<u64>(), 39);
    for (r, (p, o)) in batch.iter().zip(&placed) {
        assert_eq!(
            t.partition(*p).unwrap().read(*o, 1).unwrap()[0].to_record(),
            *r
        );
    }

    // The last record is the bad one; an empty produce is fine.
    let mut last_bad = batch.clone();
    last_bad.push(Record::unkeyed(vec![1u8; 500], 0));
    let e = t.produce(&last_bad).unwrap_err();
    assert!(
        matches!(e, LogError::RecordTooLarge { index, .. } if index == last_bad.len() - 1),
        "{e}"
    );
    assert_eq!(ends(&t).iter().sum::<u64>(), 39);
    assert!(t.produce::<Record>(&[]).unwrap().is_empty());
}

#[test]
fn produce_to_a_compacted_topic_refuses_a_keyless_record_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic("c", cfg(3, &[("cleanup.policy", "compact")]))
        .unwrap();
    let mut batch: Vec<Record> = (0..30)
        .map(|i| Record::keyed(format!("key{i}"), "v", i))
        .collect();
    batch.insert(17, Record::unkeyed("no key", 0));
    let e = t.produce(&batch).unwrap_err();
    assert!(
        matches!(
            e,
            LogError::InvalidRecord {
                index: Some(17),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("record 17 "), "{e}");
    assert_eq!(ends(&t), vec![0; 3]);
    // Partition::append is all or nothing too, and names the index in its input.
    let p = t.partition(1).unwrap();
    let e = p
        .append(&[
            Record::keyed("a", "1", 0),
            Record::keyed("b", "2", 0),
            Record::tombstone("c", 0),
            Record::new(None, Some(Bytes::from("x")), 0),
        ])
        .unwrap_err();
    assert!(
        matches!(e, LogError::InvalidRecord { index: Some(3), .. }),
        "{e}"
    );
    assert_eq!(p.end_offset(), 0);
    batch.remove(17);
    t.produce(&batch).unwrap();
    assert_eq!(ends(&t).iter().sum::<u64>(), 30);
}

#[test]
fn append_names_the_record_that_is_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic("t", cfg(1, &[("max.message.bytes", "100")]))
        .unwrap();
    let mut batch: Vec<Record> = (0..5).map(|i| Record::unkeyed("small", i)).collect();
    batch[2] = Record::unkeyed(vec![0u8; 100], 2);
    let e = t.append(0, &batch).unwrap_err();
    assert!(
        matches!(e, LogError::RecordTooLarge { index: 2, size, max: 100, .. } if size > 100),
        "{e}"
    );
    assert_eq!(t.partition(0).unwrap().end_offset(), 0);
    // Many small records are split into batches of at most max.message.bytes, not refused.
    let many: Vec<Record> = (0..50).map(|i| Record::unkeyed("small", i)).collect();
    assert_eq!(t.append(0, &many).unwrap().last_offset, 49);
}

#[test]
fn retention_by_time_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic(
            "t",
            cfg(1, &[("segment.bytes", "1000"), ("retention.ms", "1000")]),
        )
        .unwrap();
    let p = t.partition(0).unwrap().clone();
    // Timestamps 0..=199 * 10 ms.
    for i in 0..200u64 {
        p.append(&[Record::unkeyed(vec![b'x'; 50], i as i64 * 10)])
            .unwrap();
    }
    let before = p.segments();
    assert!(before.len() > 5);
    // Nothing older than now - 1000 when now is 1000: nothing is deleted.
    assert_eq!(t.enforce_retention(1000).unwrap().segments_deleted, 0);
    // now = 2500: segments whose newest record is < 1500 go.
    let r = t.enforce_retention(2500).unwrap();
    assert!(r.segments_deleted > 0);
    let segs = p.segments();
    assert_eq!(segs.len(), before.len() - r.segments_deleted);
    assert_eq!(p.start_offset(), segs[0].base_offset);
    assert!(segs[0].max_timestamp >= 1500);
    assert!(before[r.segments_deleted - 1].max_timestamp < 1500);
    assert!(matches!(
        p.read(0, 1),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    assert_eq!(
        p.read(p.start_offset(), 1).unwrap()[0].offset,
        p.start_offset()
    );
    // Far future: everything but the active segment goes.
    t.enforce_retention(i64::MAX).unwrap();
    assert_eq!(p.segments().len(), 1);
    assert_eq!(p.end_offset(), 200);
    drop(log);
    let log = open(dir.path());
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(p.start_offset(), p.segments()[0].base_offset);
    assert_eq!(p.end_offset(), 200);

    // By bytes.
    let t = log
        .create_topic(
            "b",
            cfg(
                1,
                &[
                    ("segment.bytes", "1000"),
                    ("retention.bytes", "3000"),
                    ("retention.ms", "-1"),
                ],
            ),
        )
        .unwrap();
    let p = t.partition(0).unwrap();
    for i in 0..200u64 {
        p.append(&[Record::unkeyed(vec![b'x'; 50], i as i64)])
            .unwrap();
    }
    let total: u64 = p.segments().iter().map(|s| s.size_bytes).sum();
    assert!(total > 3000);
    let r = t.enforce_retention(0).unwrap();
    assert!(r.segments_deleted > 0);
    let total: u64 = p.segments().iter().map(|s| s.size_bytes).sum();
    assert!(total >= 3000, "{total}");
    let first = p.segments()[0].size_bytes;
    assert!(
        total - first < 3000,
        "deleting one more would still fit: {total} {first}"
    );
    // A delete-only policy ignores compaction and vice versa.
    assert_eq!(t.compact().unwrap().segments_rewritten, 0);
}

#[test]
fn compaction_keeps_latest_per_key_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log
        .create_topic(
            "c",
            cfg(
                1,
                &[
                    ("segment.bytes", "1500"),
                    ("cleanup.policy", "compact"),
                    ("delete.retention.ms", "100"),
                ],
            ),
        )
        .unwrap();
    let p = t.partition(0).unwrap().clone();
    assert!(matches!(
        p.append(&[Record::unkeyed("v", 0)]),
        Err(LogError::InvalidRecord { .. })
    ));
    let mut all = Vec::new();
    for i in 0..400u64 {
        let r = if i < 300 {
            Record::keyed(format!("k{}", i % 17), format!("v{i}"), i as i64)
        } else if i < 305 {
            Record::tombstone(format!("k{}", i % 17), i as i64)
        } else {
            Record::keyed(format!("u{i}"), "unique", i as i64)
        };
        all.push(r.clone());
        p.append(&[r]).unwrap();
    }
    let segs = p.segments();
    assert!(segs.len() > 3);
    let active_base = segs.last().unwrap().base_offset;
    // now = 0: no tombstone is old enough to drop.
    let rep = t.compact_at(0).unwrap();
    assert!(rep.records_removed > 0 && rep.bytes_after < rep.bytes_before);
    let check = |p: &brook_log::Partition, tombstones_dropped: bool| {
        let mut got = Vec::new();
        let mut pos = p.start_offset();
        while pos < p.end_offset() {
            let r = p.read(pos, 1000).unwrap();
            pos = r.last().unwrap().offset + 1;
            got.extend(r);
        }
        let expected: Vec<(u64, Record)> = all
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                let o = *i as u64;
                if o >= active_base {
                    return true;
                }
                let last_closed = (0..active_base as usize)
                    .rev()
                    .find(|&j| all[j].key == r.key)
                    .unwrap();
                last_closed == *i && !(tombstones_dropped && r.value.is_none())
            })
            .map(|(i, r)| (i as u64, r.clone()))
            .collect();
        let got: Vec<(u64, Record)> = got.iter().map(|r| (r.offset, r.to_record())).collect();
        assert_eq!(got, expected);
    };
    check(&p, false);
    // Reading from an offset that was compacted away starts at the next one.
    let gap = (0..active_base)
        .find(|o| p.read(*o, 1).unwrap()[0].offset != *o)
        .unwrap();
    assert!(p.read(gap, 1).unwrap()[0].offset > gap);
    // Idempotent.
    assert_eq!(t.compact_at(0).unwrap().records_removed, 0);
    // Much later, old tombstones go too.
    let rep = t.compact_at(1_000_000).unwrap();
    assert!(rep.records_removed > 0);
    check(&p, true);
    drop(p);
    drop(t);
    drop(log);
    let log = open(dir.path());
    assert!(
        log.recovery_notes().is_empty(),
        "{:?}",
        log.recovery_notes()
    );
    check(log.topic("c").unwrap().partition(0).unwrap(), true);
}

#[test]
fn consumer_offsets_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = open(dir.path());
        log.create_topic("t", cfg(3, &[])).unwrap();
        log.commit_offsets("g1", &[("t", 0u32, 5u64), ("t", 1, 7)])
            .unwrap();
        log.commit_offsets("g1", &[("t", 0u32, 9u64)]).unwrap();
        log.commit_offsets("g2", &[(String::from("t"), 2u32, 1u64)])
            .unwrap();
        assert_eq!(log.committed_offset("g1", "t", 0), Some(9));
        assert!(matches!(
            log.commit_offsets("", &[("t", 0u32, 1u64)]),
            Err(LogError::InvalidArgument(_))
        ));
        assert!(log.commit_offsets("g", &[("../t", 0u32, 1u64)]).is_err());
        for i in 0..200u64 {
            log.commit_offsets("busy", &[("t", (i % 3) as u32, i)])
                .unwrap();
        }
    }
    let log = open(dir.path());
    assert_eq!(log.committed_offset("g1", "t", 0), Some(9));
    assert_eq!(log.committed_offset("g1", "t", 1), Some(7));
    assert_eq!(log.committed_offset("g1", "t", 2), None);
    assert_eq!(log.committed_offset("g2", "t", 2), Some(1));
    assert_eq!(
        log.committed_offsets("g1"),
        vec![("t".to_string(), 0, 9), ("t".to_string(), 1, 7)]
    );
    assert_eq!(log.groups(), vec!["busy", "g1", "g2"]);
    assert_eq!(log.committed_offset("busy", "t", 1), Some(199));
    // Compacting the internal topic keeps the latest offsets.
    log.compact().unwrap();
    drop(log);
    let log = open(dir.path());
    assert_eq!(log.committed_offset("busy", "t", 0), Some(198));
    assert_eq!(log.committed_offset("busy", "t", 1), Some(199));
    assert_eq!(log.committed_offset("busy", "t", 2), Some(197));
    assert_eq!(log.committed_offset("g1", "t", 0), Some(9));
}

#[test]
fn flush_policies_and_segment_ms() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for (name, props) in [
        ("every", vec![("flush.messages", "1")]),
        ("ten", vec![("flush.messages", "10")]),
        ("interval", vec![("flush.ms", "5")]),
        ("both", vec![("flush.ms", "5"), ("flush.messages", "3")]),
        ("os", vec![]),
    ] {
        let t = log.create_topic(name, cfg(1, &props)).unwrap();
        for i in 0..20 {
            t.append(0, &[rec(i)]).unwrap();
        }
        t.flush().unwrap();
    }
    thread::sleep(Duration::from_millis(20));
    let t = log
        .create_topic("roll", cfg(1, &[("segment.ms", "10")]))
        .unwrap();
    t.append(0, &[rec(0)]).unwrap();
    thread::sleep(Duration::from_millis(20));
    t.append(0, &[rec(1)]).unwrap();
    assert_eq!(t.partition(0).unwrap().segments().len(), 2);
    log.flush().unwrap();
}

#[test]
fn a_data_directory_is_opened_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let e = Log::open(dir.path(), LogOptions::default()).unwrap_err();
    assert!(matches!(e, LogError::Locked { .. }), "{e}");
    assert!(e.to_string().contains("in use"), "{e}");
    drop(log);
    open(dir.path());
}
