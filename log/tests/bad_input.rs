//! Bad input and damaged files: every case ends in a clear error or a repaired log,
//! never a panic and never garbage.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use brook_log::{Bytes, Log, LogError, LogOptions, Record, TopicConfig};
use common::{drop_clean_marks, files_ending};

fn open(dir: &Path) -> Log {
    Log::open(dir, LogOptions::default()).unwrap()
}

fn rec(o: u64) -> Record {
    Record::keyed(
        format!("key-{o}"),
        format!("value-{o}-{}", "x".repeat((o % 30) as usize)),
        o as i64 * 3,
    )
    .with_header("o", Some(Bytes::from(o.to_string())))
}

fn small_segments() -> TopicConfig {
    let mut c = TopicConfig::new(1);
    c.segment_bytes = 2000;
    c.index_interval_bytes = 200;
    c
}

/// Writes 600 records in batches of 3 and returns the segment files, oldest first.
fn fill(dir: &Path) -> Vec<PathBuf> {
    let log = open(dir);
    let t = log.create_topic("t", small_segments()).unwrap();
    for b in 0..200u64 {
        t.append(0, &[rec(b * 3), rec(b * 3 + 1), rec(b * 3 + 2)])
            .unwrap();
    }
    segment_files(dir, "log")
}

fn segment_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("t").join("0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Reads the whole partition; every record returned must be the one written at its
/// offset. Returns the offsets read and the errors met (after which reading resumes at
/// the next segment).
fn read_checked(log: &Log) -> (Vec<u64>, Vec<LogError>) {
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    let mut pos = p.start_offset();
    let mut seen = Vec::new();
    let mut errors = Vec::new();
    let bases: Vec<u64> = p.segments().iter().map(|s| s.base_offset).collect();
    while pos < p.end_offset() {
        match p.read(pos, 64) {
            Ok(got) => {
                assert!(!got.is_empty());
                for r in got {
                    assert!(r.offset >= pos);
                    assert_eq!(
                        r.to_record(),
                        rec(r.offset),
                        "garbage served at offset {}",
                        r.offset
                    );
                    pos = r.offset + 1;
                    seen.push(r.offset);
                }
            }
            Err(e) => {
                errors.push(e);
                match bases.iter().find(|&&b| b > pos) {
                    Some(&b) => pos = b,
                    None => break,
                }
            }
        }
    }
    (seen, errors)
}

#[test]
fn flipped_bytes_in_a_closed_segment_are_reported_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let segs = fill(dir.path());
    assert!(segs.len() > 5);
    let victim = &segs[2];
    let original = std::fs::read(victim).unwrap();

    // Flip one byte in the middle of a closed segment, then reopen.
    let mut bytes = original.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(victim, &bytes).unwrap();
    let log = open(dir.path());
    let (seen, errors) = read_checked(&log);
    assert_eq!(errors.len(), 1, "{errors:?}");
    match &errors[0] {
        LogError::Corrupt {
            path,
            position,
            reason,
        } => {
            assert_eq!(path, victim);
            assert!(*position <= mid as u64);
            let msg = errors[0].to_string();
            assert!(
                msg.contains(&victim.display().to_string()) && msg.contains("corrupt"),
                "{msg}"
            );
            assert!(!reason.is_empty());
        }
        e => panic!("expected Corrupt, got {e}"),
    }
    // Everything outside the bad batch's segment remainder is still readable.
    assert!(seen.len() > 500, "{}", seen.len());
    assert_eq!(*seen.last().unwrap(), 599);
    drop(log);

    // Every single-byte flip anywhere in the closed segment: no garbage, no panic.
    std::fs::write(victim, &original).unwrap();
    let log = open(dir.path());
    for i in (0..original.len()).step_by(3) {
        let mut b = original.clone();
        b[i] ^= 0xff;
        std::fs::write(victim, &b).unwrap();
        let (seen, _errors) = read_checked(&log);
        assert!(seen.len() > 400);
    }
    drop(log);
    // Reopen over a damaged closed segment works too, with a note when its tail is hit.
    let mut b = original.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(victim, &b).unwrap();
    let log = open(dir.path());
    assert!(
        log.recovery_notes().iter().any(|n| n.contains("corrupt")),
        "{:?}",
        log.recovery_notes()
    );
    let (seen, errors) = read_checked(&log);
    assert_eq!(errors.len(), 1);
    assert!(seen.len() > 500);
}

#[test]
fn flipped_bytes_in_the_active_segment_truncate_it() {
    let dir = tempfile::tempdir().unwrap();
    let segs = fill(dir.path());
    // A crash leaves no clean-close mark: the open checks every batch of the active
    // segment.
    drop_clean_marks(dir.path());
    let active = segs.last().unwrap();
    let base: u64 = active
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = std::fs::read(active).unwrap();
    assert!(bytes.len() > 200);
    bytes[150] ^= 0x01;
    std::fs::write(active, &bytes).unwrap();
    let log = open(dir.path());
    assert!(
        log.recovery_notes().iter().any(|n| n.contains("truncated")),
        "{:?}",
        log.recovery_notes()
    );
    let (seen, errors) = read_checked(&log);
    assert!(errors.is_empty());
    assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>());
    assert!(seen.len() as u64 >= base && seen.len() < 600);
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(p.end_offset(), seen.len() as u64);
    assert!(std::fs::metadata(active).unwrap().len() < bytes.len() as u64);
}

#[test]
fn truncated_missing_or_wrong_indexes_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let idx = segment_files(dir.path(), "index");
    let tidx = segment_files(dir.path(), "timeindex");
    assert!(idx.len() > 4);
    let expected_ts: Vec<(i64, Option<u64>)> = {
        let log = open(dir.path());
        let p = log.topic("t").unwrap().partition(0).unwrap().clone();
        (-5..1900)
            .step_by(13)
            .map(|q| (q, p.offset_for_timestamp(q).unwrap()))
            .collect()
    };
    // Truncated mid-entry, missing, and emptied.
    let b = std::fs::read(&idx[0]).unwrap();
    assert!(b.len() >= 8);
    std::fs::write(&idx[0], &b[..b.len() - 3]).unwrap();
    std::fs::remove_file(&idx[1]).unwrap();
    std::fs::remove_file(&tidx[1]).unwrap();
    std::fs::write(&tidx[2], b"").unwrap();
    // Well-formed but pointing at the wrong place (not detected by the open-time check,
    // caught when a read lands on a batch with the wrong offset).
    let mut b3 = std::fs::read(&idx[3]).unwrap();
    if b3.len() >= 16 {
        let pos = u32::from_be_bytes([b3[4], b3[5], b3[6], b3[7]]);
        b3[4..8].copy_from_slice(&(pos + 5).to_be_bytes());
        std::fs::write(&idx[3], &b3).unwrap();
    }
    let log = open(dir.path());
    let notes = log.recovery_notes().join("\n");
    assert!(notes.contains(&idx[0].display().to_string()), "{notes}");
    assert!(notes.contains("rebuilt"), "{notes}");
    let (seen, errors) = read_checked(&log);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(seen, (0..600).collect::<Vec<_>>());
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    for (q, want) in &expected_ts {
        assert_eq!(p.offset_for_timestamp(*q).unwrap(), *want, "ts {q}");
    }
    for o in 0..600 {
        assert_eq!(p.read(o, 1).unwrap()[0].offset, o);
    }
    assert!(
        idx[1].exists() && tidx[1].exists(),
        "rebuilt indexes are written back"
    );
    drop(log);
    let log = open(dir.path());
    assert!(
        log.recovery_notes()
            .iter()
            .all(|n| !n.contains(&idx[0].display().to_string())),
        "{:?}",
        log.recovery_notes()
    );
}

#[test]
fn bad_names_and_configs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    for name in ["../x", ""] {
        let e = log.create_topic(name, TopicConfig::new(1)).unwrap_err();
        assert!(matches!(e, LogError::InvalidTopicName { .. }), "{e}");
        assert!(e.to_string().starts_with("invalid topic name"), "{e}");
    }
    let e =
        TopicConfig::from_properties(1, &[("segment.bytes".into(), "huge".into())]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value \"huge\" for topic config segment.bytes: not an integer"
    );
    drop(log);
    // A damaged topic.properties fails the open with an error naming the key.
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(
        dir.path().join("broken").join("topic.properties"),
        "partitions=abc\n",
    )
    .unwrap();
    let e = Log::open(dir.path(), LogOptions::default()).unwrap_err();
    assert!(e.to_string().contains("partitions"), "{e}");
    std::fs::remove_dir_all(dir.path().join("broken")).unwrap();
    // Stray files and directories are ignored.
    std::fs::create_dir_all(dir.path().join("not a topic")).unwrap();
    std::fs::create_dir_all(dir.path().join("no-config")).unwrap();
    std::fs::write(dir.path().join("README"), "hello").unwrap();
    let log = open(dir.path());
    assert!(log.topics().is_empty());
    let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
    std::fs::write(t.partition(0).unwrap().dir().join("notes.txt"), "x").unwrap();
    std::fs::write(
        t.partition(0).unwrap().dir().join("123.log"),
        "not a segment name",
    )
    .unwrap();
    t.append(0, &[rec(0)]).unwrap();
    drop(t);
    drop(log);
    let log = open(dir.path());
    let (seen, errors) = read_checked(&log);
    assert_eq!(seen, vec![0]);
    assert!(errors.is_empty());
}

#[test]
fn a_100_mb_record_exceeds_max_message_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
    t.append(0, &[rec(0)]).unwrap();
    let big = Record::keyed("k", vec![7u8; 100 << 20], 0);
    let e = t.append(0, &[rec(1), big.clone()]).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, LogError::RecordTooLarge { max: 1_048_588, .. }),
        "{msg}"
    );
    assert!(msg.contains("exceeds max.message.bytes"), "{msg}");
    assert!(msg.contains("1048588") && msg.contains("104857"), "{msg}");
    assert!(t.produce(&[big]).is_err());
    let p = t.partition(0).unwrap();
    assert_eq!(
        p.end_offset(),
        1,
        "nothing of the refused append was written"
    );
    t.append(0, &[rec(1)]).unwrap();
    let (seen, _) = read_checked(&log);
    assert_eq!(seen, vec![0, 1]);
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_is_a_clear_error_and_keeps_exactly_the_acked_records() {
    for segment_bytes in [1u32 << 30, 16 << 10] {
        let fs = match Tmpfs::mount("1m") {
            Ok(fs) => fs,
            Err(why) => {
                eprintln!("skipping the full-disk test: {why}");
                return;
            }
        };
        let root = fs.dir.path().join("data");
        let mut acked = 0u64;
        let mut errors = Vec::new();
        {
            let log = open(&root);
            let mut c = TopicConfig::new(1);
            c.flush_messages = Some(1);
            c.segment_bytes = segment_bytes;
            let t = log.create_topic("t", c).unwrap();
            let mut i = 0u64;
            while errors.len() < 10 {
                // Shrinking batches once the disk is full, to squeeze in partial space.
                let n = if errors.is_empty() { 20 } else { 1 };
                let batch: Vec<Record> = (0..n).map(|j| big_rec(acked + j, errors.len())).collect();
                match t.append(0, &batch) {
                    Ok(info) => {
                        assert_eq!(info.base_offset, acked);
                        acked += n;
                    }
                    Err(e) => {
                        assert!(e.is_disk_full(), "expected a disk-full error, got: {e}");
                        assert!(e.to_string().contains("No space left on device"), "{e}");
                        assert!(e.to_string().contains("topic \"t\" partition 0"), "{e}");
                        errors.push(e);
                    }
                }
                i += 1;
                assert!(i < 100_000, "the disk never filled up");
            }
            assert!(acked > 0);
            let p = t.partition(0).unwrap();
            assert_eq!(p.end_offset(), acked);
            check_big(&log, acked);
        }
        // Reopen on the still-full disk: exactly the acknowledged records.
        let log = open(&root);
        check_big(&log, acked);
        drop(log);
    }
}

#[test]
fn a_full_disk_during_produce_writes_no_partition() {
    let fs = match Tmpfs::mount("1m") {
        Ok(fs) => fs,
        Err(why) => {
            eprintln!("skipping the full-disk produce test: {why}");
            return;
        }
    };
    let root = fs.dir.path().join("data");
    let log = open(&root);
    let mut c = TopicConfig::new(4);
    c.flush_messages = Some(1);
    let t = log.create_topic("t", c).unwrap();
    let mut expected: Vec<Vec<Record>> = vec![Vec::new(); 4];
    let mut errors = 0;
    let mut i = 0u64;
    while errors < 10 {
        // Records for every partition in one call.
        let batch: Vec<Record> = (0..8).map(|j| big_rec(i * 8 + j, 0)).collect();
        i += 1;
        assert!(i < 100_000, "the disk never filled up");
        match t.produce(&batch) {
            Ok(placed) => {
                for (r, (p, o)) in batch.iter().zip(placed) {
                    assert_eq!(o, expected[p as usize].len() as u64);
                    expected[p as usize].push(r.clone());
                }
            }
            Err(e) => {
                assert!(e.is_disk_full(), "expected a disk-full error, got: {e}");
                errors += 1;
            }
        }
        // After every call, each partition holds exactly the acknowledged records.
        for (p, want) in expected.iter().enumerate() {
            assert_eq!(
                t.partition(p as u32).unwrap().end_offset(),
                want.len() as u64
            );
        }
    }
    assert!(expected.iter().any(|v| !v.is_empty()));
    drop(t);
    drop(log);
    let log = open(&root);
    let t = log.topic("t").unwrap();
    for (p, want) in expected.iter().enumerate() {
        let part = t.partition(p as u32).unwrap();
        assert_eq!(
            part.end_offset(),
            want.len() as u64,
            "partition {p} after reopen"
        );
        let got: Vec<Record> = part
            .read(0, 100_000)
            .unwrap()
            .iter()
            .map(|r| r.to_record())
            .collect();
        assert_eq!(&got, want);
    }
}

fn big_rec(o: u64, salt: usize) -> Record {
    let _ = salt;
    Record::keyed(
        format!("k{o}"),
        vec![(o % 251) as u8; 700 + (o % 13) as usize],
        o as i64,
    )
}

fn check_big(log: &Log, acked: u64) {
    let p = log.topic("t").unwrap().partition(0).unwrap().clone();
    assert_eq!(p.end_offset(), acked);
    let mut pos = 0;
    while pos < acked {
        let got = p.read(pos, 100).unwrap();
        for r in got {
            assert_eq!(r.offset, pos);
            assert_eq!(r.to_record(), big_rec(pos, 0));
            pos += 1;
        }
    }
}

/// After a clean close the open trusts the active segment (as Kafka does after a clean
/// shutdown): bytes flipped on disk afterwards are found when read, as in a closed segment,
/// and nothing wrong is served.
#[test]
fn flipped_bytes_after_a_clean_close_are_found_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let segs = fill(dir.path());
    assert_eq!(files_ending(dir.path(), ".clean_close").len(), 1);
    let active = segs.last().unwrap();
    let mut bytes = std::fs::read(active).unwrap();
    bytes[150] ^= 0x01;
    std::fs::write(active, &bytes).unwrap();
    let log = open(dir.path());
    let (seen, errors) = read_checked(&log);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(matches!(errors[0], LogError::Corrupt { .. }), "{errors:?}");
    assert!(seen.len() > 400, "{}", seen.len());
}
