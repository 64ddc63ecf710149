//! Restoring stores: after the RocksDB files are lost, after a crash between the changelog
//! append and the RocksDB write, after an incomplete commit, after compaction; and the
//! errors for damaged state directories and changelogs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use brook_log::{Log, LogOptions, Record};
use brook_state::{
    default_changelog_config, StateError, StateOptions, StateStores, Store, COMMIT_MARKER_HEADER,
};

const TOPIC: &str = "s-changelog";

struct Env {
    _tmp: tempfile::TempDir,
    log_dir: PathBuf,
    state_dir: PathBuf,
    options: StateOptions,
}

impl Env {
    fn new() -> Env {
        Env::with_options(StateOptions::default())
    }

    /// Changelog segments of 4 KiB, so that compaction has closed segments to work on.
    fn small_segments(restore_memory_bytes: usize) -> Env {
        let mut changelog_config = default_changelog_config();
        changelog_config.segment_bytes = 4096;
        Env::with_options(StateOptions {
            changelog_config,
            restore_memory_bytes,
        })
    }

    fn with_options(options: StateOptions) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        Env {
            log_dir: tmp.path().join("log"),
            state_dir: tmp.path().join("state"),
            _tmp: tmp,
            options,
        }
    }

    fn open(&self) -> (Arc<Log>, StateStores) {
        let log = Arc::new(Log::open(&self.log_dir, LogOptions::default()).unwrap());
        let stores =
            StateStores::open_with(&self.state_dir, log.clone(), self.options.clone()).unwrap();
        (log, stores)
    }

    fn lose_rocksdb(&self) {
        std::fs::remove_dir_all(&self.state_dir).unwrap();
    }

    fn backup_rocksdb(&self) -> PathBuf {
        let backup = self.state_dir.with_extension("backup");
        copy_dir(&self.state_dir, &backup);
        backup
    }

    fn put_back_rocksdb(&self, backup: &Path) {
        std::fs::remove_dir_all(&self.state_dir).unwrap();
        copy_dir(backup, &self.state_dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn get(s: &Store, k: &str) -> Option<String> {
    s.get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn put(s: &mut Store, k: &str, v: &str) {
    s.put(k.as_bytes(), v.as_bytes());
}

fn end_offset(log: &Log) -> u64 {
    log.topic(TOPIC).unwrap().partition(0).unwrap().end_offset()
}

#[test]
fn lost_rocksdb_files_are_restored_from_the_changelog() {
    let env = Env::new();
    {
        let (_log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "a", "1");
        put(&mut s, "b", "1");
        put(&mut s, "c", "1");
        s.commit(&[(b"offset/in/0", b"3")]).unwrap();
        put(&mut s, "a", "2");
        s.delete(b"b");
        s.commit(&[(b"offset/in/0", b"5"), (b"offset/in/1", b"1")])
            .unwrap();
        put(&mut s, "uncommitted", "x");
    }
    env.lose_rocksdb();
    let (log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    let info = s.restore_info().clone();
    assert!(info.rebuilt, "{info:?}");
    assert_eq!(info.from_offset, 0);
    assert_eq!(info.to_offset, end_offset(&log));
    assert_eq!(info.records_applied, 5);
    assert_eq!(info.commits_applied, 2);
    assert_eq!(info.aborted_records, 0);
    assert_eq!(get(&s, "a").as_deref(), Some("2"));
    assert_eq!(get(&s, "b"), None);
    assert_eq!(get(&s, "c").as_deref(), Some("1"));
    assert_eq!(get(&s, "uncommitted"), None);
    assert_eq!(s.meta(b"offset/in/0").unwrap(), Some(b"5".to_vec()));
    assert_eq!(s.meta(b"offset/in/1").unwrap(), Some(b"1".to_vec()));
    assert_eq!(s.changelog_offset(), end_offset(&log));
    drop(s);

    // The restore was recorded: the next open has nothing to replay.
    drop(stores);
    drop(log);
    let (_log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    assert!(!s.restore_info().rebuilt);
    assert_eq!(s.restore_info().records_applied, 0);
    assert_eq!(get(&s, "a").as_deref(), Some("2"));
}

/// RocksDB one or more commits behind the changelog: what a crash after the changelog
/// append and before the RocksDB write leaves (here made by putting back an older copy of
/// the RocksDB files).
#[test]
fn commits_in_the_changelog_beyond_rocksdb_are_replayed() {
    let env = Env::new();
    let backup = {
        let (log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "a", "1");
        put(&mut s, "b", "1");
        s.commit(&[(b"src", b"1")]).unwrap();
        drop(s);
        drop(stores);
        let backup = env.backup_rocksdb();
        let stores = StateStores::open(&env.state_dir, log.clone()).unwrap();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "a", "2");
        s.delete(b"b");
        put(&mut s, "c", "2");
        s.commit(&[(b"src", b"2")]).unwrap();
        put(&mut s, "c", "3");
        s.commit(&[(b"src", b"3")]).unwrap();
        backup
    };
    env.put_back_rocksdb(&backup);
    let (log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    let info = s.restore_info().clone();
    assert!(!info.rebuilt);
    assert_eq!(
        info.from_offset, 3,
        "a, b and the first marker were applied"
    );
    assert_eq!(info.to_offset, end_offset(&log));
    assert_eq!(info.records_applied, 4);
    assert_eq!(info.commits_applied, 2);
    assert_eq!(get(&s, "a").as_deref(), Some("2"));
    assert_eq!(get(&s, "b"), None);
    assert_eq!(get(&s, "c").as_deref(), Some("3"));
    assert_eq!(s.meta(b"src").unwrap(), Some(b"3".to_vec()));
}

/// A process killed while RocksDB still holds commits only in its memtable (state writes
/// skip RocksDB's WAL): the files on disk are what a kill leaves, made here by copying
/// them while the database is open. The commits are replayed from the changelog.
#[test]
fn commits_only_in_the_memtable_at_a_kill_are_replayed() {
    let env = Env::new();
    let on_disk = env.state_dir.with_extension("killed");
    {
        let (_log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "a", "1");
        put(&mut s, "b", "1");
        s.commit(&[(b"src", b"1")]).unwrap();
        put(&mut s, "a", "2");
        s.delete(b"b");
        s.commit(&[(b"src", b"2")]).unwrap();
        copy_dir(&env.state_dir, &on_disk);
    }
    env.put_back_rocksdb(&on_disk);
    let (log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    let info = s.restore_info().clone();
    assert_eq!(info.to_offset, end_offset(&log));
    assert!(info.records_applied >= 4, "{info:?}");
    assert_eq!(get(&s, "a").as_deref(), Some("2"));
    assert_eq!(get(&s, "b"), None);
    assert_eq!(s.meta(b"src").unwrap(), Some(b"2".to_vec()));
}

/// A crash in the middle of appending a commit leaves data records without their marker
/// at the end of the changelog. They are not applied, now or by any later restore.
#[test]
fn an_incomplete_commit_at_the_end_of_the_changelog_is_undone() {
    let env = Env::small_segments(32 << 20);
    {
        let (log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "a", "committed");
        put(&mut s, "b", "committed");
        s.commit(&[(b"src", b"1")]).unwrap();
        drop(s);
        // Half a commit: records without a marker.
        let t = log.topic(TOPIC).unwrap();
        t.append(
            0,
            &[
                Record::keyed("a", "torn", 1),
                Record::tombstone("b", 1),
                Record::keyed("new", "torn", 1),
            ],
        )
        .unwrap();
    }
    let (log, stores) = env.open();
    let end_before = end_offset(&log);
    let mut s = stores.store("s", TOPIC).unwrap();
    let info = s.restore_info().clone();
    assert_eq!(info.aborted_records, 3, "{info:?}");
    assert_eq!(info.records_applied, 0);
    assert_eq!(
        info.to_offset,
        end_before + 4,
        "three compensating records and a marker were appended"
    );
    assert_eq!(get(&s, "a").as_deref(), Some("committed"));
    assert_eq!(get(&s, "b").as_deref(), Some("committed"));
    assert_eq!(get(&s, "new"), None);
    assert_eq!(s.meta(b"src").unwrap(), Some(b"1".to_vec()));

    // Later commits do not adopt the torn records, even when restoring from scratch and
    // after compaction.
    for i in 0..50 {
        put(&mut s, "other", &format!("{i:0100}"));
        s.commit(&[(b"src", format!("{}", i + 2).as_bytes())])
            .unwrap();
    }
    drop(s);
    drop(stores);
    for round in 0..2 {
        env.lose_rocksdb();
        let stores =
            StateStores::open_with(&env.state_dir, log.clone(), env.options.clone()).unwrap();
        let s = stores.store("s", TOPIC).unwrap();
        assert_eq!(s.restore_info().aborted_records, 0);
        assert_eq!(get(&s, "a").as_deref(), Some("committed"), "round {round}");
        assert_eq!(get(&s, "b").as_deref(), Some("committed"));
        assert_eq!(get(&s, "new"), None);
        assert_eq!(s.meta(b"src").unwrap(), Some(b"51".to_vec()));
        drop(s);
        if round == 0 {
            let report = log.compact().unwrap();
            assert!(report.records_removed > 0, "{report:?}");
        }
    }
}

#[test]
fn an_incomplete_first_commit_is_undone_with_tombstones() {
    let env = Env::new();
    {
        let (log, stores) = env.open();
        drop(stores.store("s", TOPIC).unwrap());
        log.topic(TOPIC)
            .unwrap()
            .append(0, &[Record::keyed("a", "torn", 1)])
            .unwrap();
    }
    let (log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(s.restore_info().aborted_records, 1);
    assert_eq!(get(&s, "a"), None);
    let p = log.topic(TOPIC).unwrap().partition(0).unwrap().clone();
    let records = p.read(0, 10).unwrap();
    assert_eq!(records.len(), 3, "torn record, tombstone, marker");
    assert_eq!(records[1].key.as_deref(), Some(&b"a"[..]));
    assert_eq!(records[1].value, None);
    assert!(records[2]
        .headers
        .iter()
        .any(|(n, _)| n == COMMIT_MARKER_HEADER));
}

fn compaction_then_restore(restore_memory_bytes: usize) {
    let env = Env::small_segments(restore_memory_bytes);
    let (log, stores) = env.open();
    let mut s = stores.store("s", TOPIC).unwrap();
    let mut expected = std::collections::BTreeMap::new();
    for round in 0..40u32 {
        for k in 0..20u32 {
            let key = format!("key{k:03}");
            if (k + round) % 7 == 0 {
                s.delete(key.as_bytes());
                expected.remove(&key);
            } else {
                let v = format!("{round}-{k}-{}", "x".repeat(40));
                s.put(key.as_bytes(), v.as_bytes());
                expected.insert(key, v);
            }
        }
        s.commit(&[(b"round", round.to_string().as_bytes())])
            .unwrap();
    }
    drop(s);
    let p = log.topic(TOPIC).unwrap().partition(0).unwrap().clone();
    assert!(p.segments().len() > 5, "{} segments", p.segments().len());
    // Far in the future: tombstones older than delete.retention.ms are dropped too.
    let report = log.topic(TOPIC).unwrap().compact_at(i64::MAX / 2).unwrap();
    assert!(
        report.records_removed > 500,
        "compaction removed superseded records: {report:?}"
    );
    drop(stores);
    env.lose_rocksdb();
    let stores = StateStores::open_with(&env.state_dir, log, env.options.clone()).unwrap();
    let s = stores.store("s", TOPIC).unwrap();
    let info = s.restore_info().clone();
    assert!(info.rebuilt);
    assert!(
        info.commits_applied < 40,
        "old markers were compacted: {info:?}"
    );
    let restored: std::collections::BTreeMap<String, String> = s
        .range(None, None)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect();
    assert_eq!(restored, expected);
    assert_eq!(s.meta(b"round").unwrap(), Some(b"39".to_vec()));
}

#[test]
fn restore_after_compaction_gives_the_latest_values() {
    compaction_then_restore(32 << 20);
}

#[test]
fn restore_after_compaction_reading_the_changelog_twice() {
    // No memory for the records between the passes: the second pass reads them again.
    compaction_then_restore(0);
}

#[test]
fn an_old_copy_of_rocksdb_catches_up_over_a_compacted_changelog() {
    let env = Env::small_segments(32 << 20);
    let (log, stores) = env.open();
    let mut s = stores.store("s", TOPIC).unwrap();
    for round in 0..5 {
        for k in 0..10 {
            put(
                &mut s,
                &format!("k{k}"),
                &format!("{round}{}", "y".repeat(50)),
            );
        }
        s.commit(&[]).unwrap();
    }
    drop(s);
    drop(stores);
    let backup = env.backup_rocksdb();
    let stores = StateStores::open_with(&env.state_dir, log.clone(), env.options.clone()).unwrap();
    let mut s = stores.store("s", TOPIC).unwrap();
    for round in 5..30 {
        for k in 0..10 {
            if k == 3 && round == 20 {
                s.delete(b"k3");
            } else if k != 3 || round < 20 {
                put(
                    &mut s,
                    &format!("k{k}"),
                    &format!("{round}{}", "y".repeat(50)),
                );
            }
        }
        s.commit(&[(b"round", round.to_string().as_bytes())])
            .unwrap();
    }
    drop(s);
    drop(stores);
    assert!(log.compact().unwrap().records_removed > 0);
    env.put_back_rocksdb(&backup);
    let stores = StateStores::open_with(&env.state_dir, log.clone(), env.options.clone()).unwrap();
    let s = stores.store("s", TOPIC).unwrap();
    assert!(s.restore_info().records_applied > 0);
    for k in 0..10 {
        let want = (k != 3).then(|| format!("29{}", "y".repeat(50)));
        assert_eq!(get(&s, &format!("k{k}")), want, "k{k}");
    }
    assert_eq!(s.meta(b"round").unwrap(), Some(b"29".to_vec()));
}

#[test]
fn large_restores_are_written_in_several_batches() {
    let env = Env::with_options(StateOptions {
        restore_memory_bytes: 1 << 20,
        ..StateOptions::default()
    });
    let value = vec![7u8; 8 << 10];
    {
        let (_log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        for batch in 0..10u32 {
            for i in 0..100u32 {
                s.put(&(batch * 100 + i).to_be_bytes(), &value);
            }
            s.commit(&[]).unwrap();
        }
    }
    env.lose_rocksdb();
    let (_log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(s.restore_info().records_applied, 1000);
    let all = s.range(None, None).unwrap();
    assert_eq!(all.len(), 1000);
    assert!(all.iter().all(|(_, v)| *v == value));
    assert_eq!(all[999].0, 999u32.to_be_bytes());
}

#[test]
fn garbage_in_the_state_directory_is_a_clear_error() {
    let env = Env::new();
    {
        let (_log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "k", "v");
        s.commit(&[]).unwrap();
    }
    let log = Arc::new(Log::open(&env.log_dir, LogOptions::default()).unwrap());

    // A damaged manifest.
    for e in std::fs::read_dir(&env.state_dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("MANIFEST-") {
            std::fs::write(&path, b"this is not a manifest").unwrap();
        }
    }
    let err = StateStores::open(&env.state_dir, log.clone()).unwrap_err();
    assert!(matches!(err, StateError::Open { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&env.state_dir.display().to_string()), "{msg}");
    assert!(msg.contains("restored from its changelog"), "{msg}");

    // CURRENT naming nothing sensible.
    std::fs::write(env.state_dir.join("CURRENT"), b"\x00\x01garbage").unwrap();
    let err = StateStores::open(&env.state_dir, log.clone()).unwrap_err();
    assert!(matches!(err, StateError::Open { .. }), "{err}");

    // Every file garbage.
    for e in std::fs::read_dir(&env.state_dir).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    let err = StateStores::open(&env.state_dir, log.clone()).unwrap_err();
    assert!(matches!(err, StateError::Open { .. }), "{err}");

    // A file where the directory should be.
    let file = env.state_dir.with_extension("file");
    std::fs::write(&file, b"x").unwrap();
    let err = StateStores::open(&file, log.clone()).unwrap_err();
    assert!(matches!(err, StateError::Io { .. }), "{err}");

    // Doing what the message says: move the directory away, the store comes back.
    std::fs::rename(&env.state_dir, env.state_dir.with_extension("damaged")).unwrap();
    let stores = StateStores::open(&env.state_dir, log).unwrap();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(get(&s, "k").as_deref(), Some("v"));
}

#[test]
fn a_state_directory_of_another_format_is_refused() {
    let env = Env::new();
    drop(env.open());
    {
        let db = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            &env.state_dir,
            ["default", brook_state::META_COLUMN_FAMILY],
        )
        .unwrap();
        db.put(b"brook.state.format", b"99").unwrap();
    }
    let log = Arc::new(Log::open(&env.log_dir, LogOptions::default()).unwrap());
    let err = StateStores::open(&env.state_dir, log).unwrap_err();
    assert!(matches!(err, StateError::UnsupportedFormat { .. }), "{err}");
    assert!(err.to_string().contains("\"99\""), "{err}");
}

#[test]
fn a_changelog_that_lost_committed_data_is_refused_until_the_store_is_dropped() {
    let env = Env::new();
    let (log, stores) = env.open();
    let mut s = stores.store("s", TOPIC).unwrap();
    put(&mut s, "k", "v");
    s.commit(&[]).unwrap();
    drop(s);
    log.delete_topic(TOPIC).unwrap();
    let err = stores.store("s", TOPIC).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::ChangelogBehind {
                recorded: 2,
                end: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("drop_store"), "{err}");
    stores.drop_store("s", false).unwrap();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(get(&s, "k"), None);
}

#[test]
fn a_foreign_record_in_the_changelog_is_reported_with_its_offset() {
    let env = Env::new();
    {
        let (log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        put(&mut s, "k", "v");
        s.commit(&[]).unwrap();
        drop(s);
        log.topic(TOPIC)
            .unwrap()
            .append(
                0,
                &[Record::keyed("x", "y", 1).with_header(COMMIT_MARKER_HEADER, None)],
            )
            .unwrap();
    }
    let (_log, stores) = env.open();
    let err = stores.store("s", TOPIC).unwrap_err();
    assert!(
        matches!(err, StateError::CorruptChangelog { offset: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains(TOPIC), "{err}");
    // The failed open released the name: the error is the same again, not "in use".
    let again = stores.store("s", TOPIC).unwrap_err();
    assert!(
        matches!(again, StateError::CorruptChangelog { .. }),
        "{again}"
    );
}

/// Stores of an exactly-once query: a commit joins the producer's transaction; a crash
/// before the transaction commits loses the commit everywhere (RocksDB and changelog), a
/// crash after it (before RocksDB was written) keeps it.
#[test]
fn transactional_commits_restore_only_what_committed() {
    let env = Env::new();
    let commit = |value: &[u8], offset: &[u8], txn_commit: bool, complete: bool| {
        let (log, stores) = env.open();
        let producer = Arc::new(log.init_transactions("q").unwrap());
        let view = stores.transactional(producer.clone());
        let mut s = view.store("s", TOPIC).unwrap();
        producer.begin().unwrap();
        s.put(b"k", value);
        s.commit(&[(b"offset", offset)]).unwrap();
        if txn_commit {
            producer.commit().unwrap();
            if complete {
                view.complete_transaction().unwrap();
            }
        }
        // Dropped without more: a crash as far as the log and RocksDB are concerned.
    };
    let check = |value: &[u8], offset: &[u8]| {
        let (_log, stores) = env.open();
        let s = stores.store("s", TOPIC).unwrap();
        assert_eq!(s.get(b"k").unwrap().as_deref(), Some(value));
        assert_eq!(s.meta(b"offset").unwrap().as_deref(), Some(offset));
    };
    commit(b"v1", b"1", true, true);
    check(b"v1", b"1");
    // Crash before the transaction committed: aborted on reopen, never restored.
    commit(b"v2", b"2", false, false);
    check(b"v1", b"1");
    // Crash after the commit, before RocksDB: the committed records are replayed.
    commit(b"v3", b"3", true, false);
    check(b"v3", b"3");
    // The RocksDB files lost: rebuilt from committed records only.
    commit(b"v4", b"4", false, false);
    env.lose_rocksdb();
    check(b"v3", b"3");
}

/// Commits of more writes than a memtable batch takes (8,192) go to RocksDB as a sorted
/// file. 10,000 puts, then a commit overwriting some and deleting others: reads, a reopen,
/// and a kill with the last commit's position still in the memtable all give the same rows.
#[test]
fn large_commits_written_as_files_read_restore_and_replay() {
    let env = Env::new();
    let key = |i: u32| format!("k{i:05}");
    let expect = |s: &Store| {
        for i in (0..10_000).step_by(7) {
            let want = match i % 3 {
                0 => None,
                1 => Some(format!("new{i}")),
                _ => Some(format!("v{i}")),
            };
            assert_eq!(get(s, &key(i)), want, "key {i}");
        }
        let all = s.range(None, None).unwrap();
        assert_eq!(all.len(), 10_000 - 3334);
        assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "in key order");
    };
    let on_disk = env.state_dir.with_extension("killed");
    {
        let (_log, stores) = env.open();
        let mut s = stores.store("s", TOPIC).unwrap();
        for i in 0..10_000 {
            put(&mut s, &key(i), &format!("v{i}"));
        }
        s.commit(&[(b"src", b"1")]).unwrap();
        let ssts = || {
            std::fs::read_dir(&env.state_dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension() == Some("sst".as_ref()))
                .count()
        };
        assert_eq!(ssts(), 1, "the commit's file, before any memtable flush");
        for i in 0..10_000 {
            match i % 3 {
                0 => s.delete(key(i).as_bytes()),
                1 => put(&mut s, &key(i), &format!("new{i}")),
                _ => {}
            }
        }
        s.commit(&[(b"src", b"2")]).unwrap();
        expect(&s);
        copy_dir(&env.state_dir, &on_disk);
    }
    let (log, stores) = env.open();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(
        s.restore_info().records_applied,
        0,
        "a clean close replays nothing"
    );
    expect(&s);
    assert_eq!(s.meta(b"src").unwrap(), Some(b"2".to_vec()));
    drop(s);
    drop(stores);
    env.put_back_rocksdb(&on_disk);
    let stores = StateStores::open(&env.state_dir, log.clone()).unwrap();
    let s = stores.store("s", TOPIC).unwrap();
    assert_eq!(s.restore_info().to_offset, end_offset(&log));
    expect(&s);
    assert_eq!(s.meta(b"src").unwrap(), Some(b"2".to_vec()));
}

/// A file a crash left before RocksDB took it is removed when the directory opens again.
#[test]
fn a_leftover_ingest_file_is_removed_at_open() {
    let env = Env::new();
    drop(env.open());
    let leftover = env.state_dir.join("brook-ingest-3.sst");
    std::fs::write(&leftover, b"half a file").unwrap();
    let (_log, stores) = env.open();
    assert!(!leftover.exists());
    let mut s = stores.store("s", TOPIC).unwrap();
    put(&mut s, "a", "1");
    s.commit(&[]).unwrap();
    assert_eq!(get(&s, "a").as_deref(), Some("1"));
}
