//! Property tests: random appends survive a reopen unchanged; a damaged active-segment
//! tail reopens to a prefix of what was written, without error or panic.

use std::path::{Path, PathBuf};

use brook_log::{Bytes, Log, LogOptions, Record, TopicConfig};
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
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let got = read_partition(&log, 0);
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
