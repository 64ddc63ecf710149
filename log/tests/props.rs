//! Property tests: random appends survive a reopen unchanged; a damaged active-segment
//! tail reopens to a prefix of what was written, without error or panic; a read-only
//! follower always sees a prefix of what its writer wrote, and everything once refreshed.

mod common;

use std::path::{Path, PathBuf};

use brook_log::{Bytes, Log, LogOptions, Partition, ReadOnlyOptions, Record, TopicConfig};
use common::drop_clean_marks;
use proptest::prelude::*;

fn record() -> impl Strategy<Value = Record> {
    (
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..120)),
        prop_oneof![any::<i64>(), 1_600_000_000_000i64..1_700_000_000_000],
        proptest::collection::vec(
            (
                "[a-z]{0,6}",
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
            ),
            0..3,
        ),
    )
        .prop_map(|(k, v, ts, hs)| Record {
            key: k.map(Bytes::from),
            value: v.map(Bytes::from),
            timestamp: ts,
            headers: hs
                .into_iter()
                .map(|(n, v)| (n, v.map(Bytes::from)))
                .collect(),
        })
}

fn batches() -> impl Strategy<Value = Vec<(u32, Vec<Record>)>> {
    proptest::collection::vec((0u32..3, proptest::collection::vec(record(), 1..20)), 1..40)
}

fn config(partitions: u32, segment_bytes: u32, interval: u32) -> TopicConfig {
    let mut c = TopicConfig::new(partitions);
    c.segment_bytes = segment_bytes;
    c.index_interval_bytes = interval;
    c
}

fn read_partition(log: &Log, p: u32) -> Vec<Record> {
    let part = log.topic("t").unwrap().partition(p).unwrap().clone();
    let mut out = Vec::new();
    let mut pos = part.start_offset();
    while pos < part.end_offset() {
        let got = part.read(pos, 50).unwrap();
        for r in &got {
            assert_eq!(r.offset, pos, "offsets are dense");
            pos += 1;
        }
        out.extend(got.iter().map(|r| r.to_record()));
    }
    out
}

fn active_segment(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.join("t").join("0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, .. ProptestConfig::default() })]

    #[test]
    fn appends_survive_reopen(
        batches in batches(),
        segment_bytes in 200u32..4000,
        interval in 0u32..1500,
        partitions in 1u32..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut expected: Vec<Vec<Record>> = vec![Vec::new(); partitions as usize];
        {
            let log = Log::open(dir.path(), LogOptions::default()).unwrap();
            let t = log.create_topic("t", config(partitions, segment_bytes, interval)).unwrap();
            for (p, batch) in &batches {
                let p = p % partitions;
                let info = t.append(p, batch).unwrap();
                prop_assert_eq!(info.base_offset, expected[p as usize].len() as u64);
                expected[p as usize].extend(batch.iter().cloned());
            }
            for p in 0..partitions {
                prop_assert_eq!(&read_partition(&log, p), &expected[p as usize]);
            }
        }
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        prop_assert!(log.recovery_notes().is_empty(), "{:?}", log.recovery_notes());
        for p in 0..partitions {
            prop_assert_eq!(&read_partition(&log, p), &expected[p as usize]);
            // Timestamp lookups agree with a scan.
            let part = log.topic("t").unwrap().partition(p).unwrap().clone();
            for r in expected[p as usize].iter().step_by(7) {
                let want = expected[p as usize].iter().position(|x| x.timestamp >= r.timestamp).map(|i| i as u64);
                prop_assert_eq!(part.offset_for_timestamp(r.timestamp).unwrap(), want);
            }
        }
        // Appending continues densely after the reopen.
        let t = log.topic("t").unwrap();
        let info = t.append(0, &batches[0].1).unwrap();
        prop_assert_eq!(info.base_offset, expected[0].len() as u64);
    }

    #[test]
    fn damaged_active_tail_reopens_to_a_prefix(
        batches in batches(),
        segment_bytes in 300u32..3000,
        damage in prop_oneof![
            (any::<u64>()).prop_map(|p| (0u8, p, 0u8)),
            (any::<u64>(), 0u8..8).prop_map(|(p, b)| (1u8, p, b)),
            (any::<u64>(), 0u8..8).prop_map(|(p, b)| (2u8, p, b)),
        ],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut written = Vec::new();
        {
            let log = Log::open(dir.path(), LogOptions::default()).unwrap();
            let t = log.create_topic("t", config(1, segment_bytes, 100)).unwrap();
            for (_, batch) in &batches {
                t.append(0, batch).unwrap();
                written.extend(batch.iter().cloned());
            }
        }
        // The damage a crash leaves: no clean-close mark (the open checks every batch).
        drop_clean_marks(dir.path());
        let seg = active_segment(dir.path());
        let base: usize = seg.file_stem().unwrap().to_str().unwrap().parse().unwrap();
        let mut bytes = std::fs::read(&seg).unwrap();
        let (kind, pos, bit) = damage;
        if !bytes.is_empty() {
            match kind {
                // Truncate anywhere.
                0 => bytes.truncate((pos % bytes.len() as u64) as usize),
                // Flip a bit anywhere in the active segment.
                1 => {
                    let i = (pos % bytes.len() as u64) as usize;
                    bytes[i] ^= 1 << bit;
                }
                // Flip a bit in the last 64 bytes (the tail).
                _ => {
                    let n = bytes.len().min(64);
                    let i = bytes.len() - n + (pos % n as u64) as usize;
                    bytes[i] ^= 1 << bit;
                }
            }
        }
        std::fs::write(&seg, &bytes).unwrap();
        // A read-only log serves exactly what the writer's recovery keeps, and changes
        // nothing.
        let follower = Log::open_read_only(dir.path()).unwrap();
        let seen = read_partition(&follower, 0);
        prop_assert_eq!(std::fs::read(&seg).unwrap(), bytes);
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let got = read_partition(&log, 0);
        prop_assert_eq!(&seen, &got);
        prop_assert!(got.len() <= written.len());
        prop_assert!(got.len() >= base, "records of closed segments survive");
        prop_assert_eq!(&got[..], &written[..got.len()]);
        // And the partition keeps working.
        let t = log.topic("t").unwrap();
        let info = t.append(0, &batches[0].1).unwrap();
        prop_assert_eq!(info.base_offset, got.len() as u64);
        drop(t);
        drop(log);
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        prop_assert!(log.recovery_notes().is_empty(), "{:?}", log.recovery_notes());
        prop_assert_eq!(read_partition(&log, 0).len(), got.len() + batches[0].1.len());
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// The writer appends a batch.
    Append(Vec<Record>),
    /// The writer is caught in the middle of writing a batch (the first `cut`/256 of
    /// its bytes are in the file; the reader refreshes then), then finishes it.
    TornAppend(Vec<Record>, u8),
    /// The reader refreshes.
    Refresh,
    /// The writer enforces retention (by bytes).
    Retention,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    let batch = || proptest::collection::vec(record(), 1..8);
    proptest::collection::vec(
        prop_oneof![
            4 => batch().prop_map(Op::Append),
            2 => (batch(), any::<u8>()).prop_map(|(b, c)| Op::TornAppend(b, c)),
            4 => Just(Op::Refresh),
            1 => Just(Op::Retention),
        ],
        1..60,
    )
}

/// The reader's whole view; every record must be the one written at its offset.
fn check_prefix(
    reader: &Partition,
    writer: &Partition,
    history: &[Record],
) -> Result<(), TestCaseError> {
    let (start, end) = (reader.start_offset(), reader.end_offset());
    prop_assert!(
        end <= writer.end_offset(),
        "the reader is ahead of the writer"
    );
    prop_assert!(start <= end);
    let mut pos = start;
    while pos < end {
        let got = reader.read(pos, 7).unwrap();
        prop_assert!(!got.is_empty());
        for r in got {
            prop_assert_eq!(r.offset, pos);
            prop_assert_eq!(&r.to_record(), &history[pos as usize]);
            pos += 1;
        }
    }
    Ok(())
}

fn active_bytes(p: &Partition) -> (PathBuf, u64) {
    let s = p.segments().last().unwrap().clone();
    (s.path, s.size_bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    #[test]
    fn a_follower_sees_a_prefix_and_eventually_everything(
        ops in ops(),
        segment_bytes in 100u32..2500,
        interval in 0u32..600,
        retention_bytes in 0u64..4000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mirror_dir = tempfile::tempdir().unwrap();
        let mut c = config(1, segment_bytes, interval);
        c.retention_bytes = Some(retention_bytes);
        c.retention_ms = None;
        let writer = Log::open(dir.path(), LogOptions::default()).unwrap();
        let t = writer.create_topic("t", c.clone()).unwrap();
        let wp = t.partition(0).unwrap().clone();
        // A second writer fed the same appends writes the same bytes: where the torn
        // batches come from.
        let mirror = Log::open(mirror_dir.path(), LogOptions::default()).unwrap();
        let mt = mirror.create_topic("t", c).unwrap();
        let mp = mt.partition(0).unwrap().clone();
        let reader = Log::open_read_only_with(dir.path(), ReadOnlyOptions { poll_interval: None }).unwrap();
        let rp = reader.topic("t").unwrap().partition(0).unwrap().clone();
        let mut history: Vec<Record> = Vec::new();
        for op in &ops {
            match op {
                Op::Append(batch) => {
                    t.append(0, batch).unwrap();
                    mt.append(0, batch).unwrap();
                    history.extend(batch.iter().cloned());
                }
                Op::TornAppend(batch, cut) => {
                    let (seg, size) = active_bytes(&wp);
                    let (mseg, msize) = active_bytes(&mp);
                    prop_assert_eq!(msize, size);
                    mt.append(0, batch).unwrap();
                    let (mseg2, _) = active_bytes(&mp);
                    if mseg2 == mseg {
                        // Not rolled: the batch goes at the end of the active segment.
                        let bytes = std::fs::read(&mseg).unwrap()[size as usize..].to_vec();
                        let n = bytes.len() * *cut as usize / 256;
                        let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
                        std::io::Write::write_all(&mut f, &bytes[..n]).unwrap();
                        let before = rp.end_offset();
                        prop_assert_eq!(rp.refresh().unwrap(), wp.end_offset());
                        prop_assert!(rp.end_offset() >= before);
                        check_prefix(&rp, &wp, &history)?;
                    }
                    t.append(0, batch).unwrap();
                    history.extend(batch.iter().cloned());
                    prop_assert_eq!(std::fs::read(&active_bytes(&wp).0).unwrap(), std::fs::read(&active_bytes(&mp).0).unwrap());
                }
                Op::Refresh => {
                    let before = rp.end_offset();
                    prop_assert_eq!(rp.refresh().unwrap(), wp.end_offset());
                    prop_assert!(rp.end_offset() >= before);
                    prop_assert_eq!(rp.start_offset(), wp.start_offset());
                }
                Op::Retention => {
                    t.enforce_retention(0).unwrap();
                }
            }
            check_prefix(&rp, &wp, &history)?;
        }
        rp.refresh().unwrap();
        prop_assert_eq!(rp.start_offset(), wp.start_offset());
        prop_assert_eq!(rp.end_offset(), history.len() as u64);
        check_prefix(&rp, &wp, &history)?;
        prop_assert_eq!(rp.segments().iter().map(|s| (s.base_offset, s.next_offset, s.size_bytes)).collect::<Vec<_>>(),
            wp.segments().iter().map(|s| (s.base_offset, s.next_offset, s.size_bytes)).collect::<Vec<_>>());
        // And a fresh follower agrees.
        let r2 = Log::open_read_only(dir.path()).unwrap();
        prop_assert_eq!(read_partition(&r2, 0), read_partition(&writer, 0));
    }
}
