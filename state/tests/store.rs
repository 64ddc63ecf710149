//! Reads and writes of one store: pending and committed data, ranges, meta, handles,
//! reopen, drop.

use std::path::Path;
use std::sync::Arc;

use brook_log::{Log, LogOptions, TopicConfig};
use brook_state::{StateError, StateStores, Store, COMMIT_MARKER_KEY};

type Kv = Vec<(Vec<u8>, Vec<u8>)>;

fn open(dir: &Path) -> (Arc<Log>, StateStores) {
    let log = Arc::new(Log::open(dir.join("log"), LogOptions::default()).unwrap());
    let stores = StateStores::open(&dir.join("state"), log.clone()).unwrap();
    (log, stores)
}

fn kv(pairs: &[(&str, &str)]) -> Kv {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn get(s: &Store, k: &str) -> Option<String> {
    s.get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn put_get_delete_pending_and_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let mut s = stores.store("agg", "agg-changelog").unwrap();
    assert_eq!(s.name(), "agg");
    assert_eq!(s.changelog_topic(), "agg-changelog");
    assert_eq!(get(&s, "a"), None);

    s.put(b"a", b"1");
    s.put(b"b", b"2");
    assert_eq!(
        get(&s, "a").as_deref(),
        Some("1"),
        "pending writes are read"
    );
    assert_eq!(s.pending_len(), 2);
    s.commit(&[]).unwrap();
    assert_eq!(s.pending_len(), 0);
    assert_eq!(s.pending_bytes(), 0);
    assert_eq!(get(&s, "a").as_deref(), Some("1"));

    // A pending delete hides a committed value; a pending put overrides it.
    s.delete(b"a");
    s.put(b"b", b"22");
    assert_eq!(get(&s, "a"), None);
    assert_eq!(get(&s, "b").as_deref(), Some("22"));
    // Put then delete then put of the same key: the last one wins.
    s.put(b"c", b"x");
    s.delete(b"c");
    assert_eq!(get(&s, "c"), None);
    s.put(b"c", b"3");
    assert_eq!(s.pending_len(), 3);
    s.commit(&[]).unwrap();
    assert_eq!(get(&s, "a"), None);
    assert_eq!(get(&s, "b").as_deref(), Some("22"));
    assert_eq!(get(&s, "c").as_deref(), Some("3"));

    // Discarding pending writes leaves the committed data.
    s.put(b"b", b"lost");
    s.discard_pending();
    assert_eq!(get(&s, "b").as_deref(), Some("22"));
}

#[test]
fn empty_values_and_keys_are_values() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    s.put(b"", b"empty key");
    s.put(b"k", b"");
    s.commit(&[]).unwrap();
    assert_eq!(s.get(b"").unwrap(), Some(b"empty key".to_vec()));
    assert_eq!(s.get(b"k").unwrap(), Some(Vec::new()));
}

#[test]
fn range_and_prefix_merge_pending_over_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    for k in ["a", "b", "c", "d", "ab", "abc", "b\u{7f}"] {
        s.put(k.as_bytes(), format!("{k}0").as_bytes());
    }
    s.put(b"\xff", b"ff");
    s.put(b"\xff\xff", b"ffff");
    s.commit(&[]).unwrap();
    // Pending: override b, delete c, new bb and e, delete a key that was never there.
    s.put(b"b", b"b1");
    s.delete(b"c");
    s.put(b"bb", b"bb1");
    s.put(b"e", b"e1");
    s.delete(b"zz");

    let all = s.range(None, None).unwrap();
    assert_eq!(
        all,
        [
            kv(&[
                ("a", "a0"),
                ("ab", "ab0"),
                ("abc", "abc0"),
                ("b", "b1"),
                ("bb", "bb1"),
                ("b\u{7f}", "b\u{7f}0"),
                ("d", "d0"),
                ("e", "e1"),
            ]),
            vec![
                (b"\xff".to_vec(), b"ff".to_vec()),
                (b"\xff\xff".to_vec(), b"ffff".to_vec())
            ]
        ]
        .concat()
    );
    assert_eq!(
        s.range(Some(b"ab"), Some(b"c")).unwrap(),
        kv(&[
            ("ab", "ab0"),
            ("abc", "abc0"),
            ("b", "b1"),
            ("bb", "bb1"),
            ("b\u{7f}", "b\u{7f}0")
        ])
    );
    assert_eq!(
        s.range(Some(b"c"), Some(b"e")).unwrap(),
        kv(&[("d", "d0")]),
        "the deleted c is gone, e is excluded"
    );
    assert_eq!(s.range(None, Some(b"ab")).unwrap(), kv(&[("a", "a0")]));
    assert_eq!(
        s.range(Some(b"d"), None).unwrap()[..2],
        kv(&[("d", "d0"), ("e", "e1")])[..]
    );
    assert!(s.range(Some(b"d"), Some(b"d")).unwrap().is_empty());
    assert!(
        s.range(Some(b"e"), Some(b"a")).unwrap().is_empty(),
        "inverted"
    );

    assert_eq!(
        s.prefix(b"ab").unwrap(),
        kv(&[("ab", "ab0"), ("abc", "abc0")])
    );
    assert_eq!(
        s.prefix(b"b").unwrap(),
        kv(&[("b", "b1"), ("bb", "bb1"), ("b\u{7f}", "b\u{7f}0")])
    );
    assert_eq!(
        s.prefix(b"\xff").unwrap(),
        vec![
            (b"\xff".to_vec(), b"ff".to_vec()),
            (b"\xff\xff".to_vec(), b"ffff".to_vec())
        ]
    );
    assert!(s.prefix(b"zz").unwrap().is_empty());
    assert_eq!(s.prefix(b"").unwrap(), all);

    // After the commit, the same views come from RocksDB alone.
    s.commit(&[]).unwrap();
    assert_eq!(s.range(None, None).unwrap(), all);
}

#[test]
fn commit_with_nothing_is_a_no_op_and_meta_commits_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    let p = log
        .topic("s-changelog")
        .unwrap()
        .partition(0)
        .unwrap()
        .clone();
    s.commit(&[]).unwrap();
    assert_eq!(
        p.end_offset(),
        0,
        "nothing pending, no meta: nothing appended"
    );
    assert_eq!(s.meta(b"offset").unwrap(), None);

    s.commit(&[(b"offset", b"7")]).unwrap();
    assert_eq!(p.end_offset(), 1, "a meta-only commit is one marker");
    assert_eq!(s.changelog_offset(), 1);
    assert_eq!(s.meta(b"offset").unwrap(), Some(b"7".to_vec()));

    s.put(b"k", b"v");
    s.commit(&[(b"offset", b"8"), (b"other", b"x")]).unwrap();
    assert_eq!(p.end_offset(), 3);
    assert_eq!(s.meta(b"offset").unwrap(), Some(b"8".to_vec()));
    assert_eq!(s.meta(b"other").unwrap(), Some(b"x".to_vec()));
    // Meta keys are not store keys.
    assert_eq!(s.get(b"offset").unwrap(), None);
    assert_eq!(s.range(None, None).unwrap(), kv(&[("k", "v")]));
    assert_eq!(s.meta_entries().len(), 2);
}

#[test]
fn reopen_sees_committed_data_and_meta_but_not_pending() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (_log, stores) = open(dir.path());
        let mut s = stores.store("s", "s-changelog").unwrap();
        s.put(b"committed", b"1");
        s.put(b"deleted", b"1");
        s.commit(&[(b"src", b"10")]).unwrap();
        s.delete(b"deleted");
        s.commit(&[(b"src", b"11")]).unwrap();
        s.put(b"pending", b"1");
        s.delete(b"committed");
        // Dropped without a commit.
    }
    let (_log, stores) = open(dir.path());
    let s = stores.store("s", "s-changelog").unwrap();
    let info = s.restore_info();
    assert!(!info.rebuilt);
    assert_eq!(info.records_applied, 0, "RocksDB was up to date: {info:?}");
    assert_eq!(get(&s, "committed").as_deref(), Some("1"));
    assert_eq!(get(&s, "deleted"), None);
    assert_eq!(get(&s, "pending"), None);
    assert_eq!(s.meta(b"src").unwrap(), Some(b"11".to_vec()));
}

#[test]
fn one_handle_per_store_and_many_stores_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let mut a = stores.store("a", "a-changelog").unwrap();
    let mut b = stores.store("b", "b-changelog").unwrap();
    let err = stores.store("a", "a-changelog").unwrap_err();
    assert!(
        matches!(err, StateError::StoreInUse(ref n) if n == "a"),
        "{err}"
    );
    assert!(err.to_string().contains("in use"));

    a.put(b"k", b"from a");
    b.put(b"k", b"from b");
    a.commit(&[(b"m", b"a")]).unwrap();
    b.commit(&[(b"m", b"b")]).unwrap();
    assert_eq!(get(&a, "k").as_deref(), Some("from a"));
    assert_eq!(get(&b, "k").as_deref(), Some("from b"));
    assert_eq!(a.meta(b"m").unwrap(), Some(b"a".to_vec()));
    assert_eq!(b.meta(b"m").unwrap(), Some(b"b".to_vec()));

    // Handles move to other threads.
    let t = std::thread::spawn(move || {
        a.put(b"t", b"thread");
        a.commit(&[]).unwrap();
        a
    });
    let a = t.join().unwrap();
    assert_eq!(get(&a, "t").as_deref(), Some("thread"));

    drop(a);
    let a = stores.store("a", "a-changelog").unwrap();
    assert_eq!(get(&a, "k").as_deref(), Some("from a"));

    let listed = stores.stores().unwrap();
    let names: Vec<_> = listed
        .iter()
        .map(|i| (i.name.as_str(), i.changelog_topic.as_str(), i.open))
        .collect();
    assert_eq!(
        names,
        [("a", "a-changelog", true), ("b", "b-changelog", true)]
    );
}

#[test]
fn a_store_keeps_its_changelog_topic() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    drop(stores.store("s", "one").unwrap());
    let err = stores.store("s", "two").unwrap_err();
    assert!(matches!(err, StateError::ChangelogMismatch { .. }), "{err}");
    assert!(err.to_string().contains("\"one\""), "{err}");
    // The failed open released the name.
    stores.store("s", "one").unwrap();
}

#[test]
fn changelog_topics_are_created_compacted_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    drop(stores.store("s", "s-changelog").unwrap());
    let t = log.topic("s-changelog").unwrap();
    assert_eq!(t.partition_count(), 1);
    assert!(t.config().cleanup_policy.compacts());

    log.create_topic("plain", TopicConfig::new(1)).unwrap();
    let err = stores.store("p", "plain").unwrap_err();
    assert!(matches!(err, StateError::ChangelogInvalid { .. }), "{err}");
    assert!(err.to_string().contains("cleanup.policy=compact"), "{err}");

    let mut three = TopicConfig::new(3);
    three.cleanup_policy = brook_log::CleanupPolicy::Compact;
    log.create_topic("three", three).unwrap();
    let err = stores.store("t", "three").unwrap_err();
    assert!(err.to_string().contains("3 partitions"), "{err}");

    let err = stores.store("x", "bad/topic").unwrap_err();
    assert!(matches!(err, StateError::Log { .. }), "{err}");
    let err = stores.store("default", "d").unwrap_err();
    assert!(matches!(err, StateError::InvalidStoreName { .. }), "{err}");
}

#[test]
fn the_commit_marker_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    s.put(COMMIT_MARKER_KEY, b"v");
    s.put(b"ok", b"v");
    let err = s.commit(&[]).unwrap_err();
    assert!(matches!(err, StateError::ReservedKey { .. }), "{err}");
    let p = log
        .topic("s-changelog")
        .unwrap()
        .partition(0)
        .unwrap()
        .clone();
    assert_eq!(p.end_offset(), 0, "nothing was written");
    // Keys that merely start like it are fine.
    s.delete(COMMIT_MARKER_KEY);
    s.discard_pending();
    let mut longer = COMMIT_MARKER_KEY.to_vec();
    longer.push(b'x');
    s.put(&longer, b"v");
    s.commit(&[]).unwrap();
    assert_eq!(s.get(&longer).unwrap(), Some(b"v".to_vec()));
}

#[test]
fn drop_store_forgets_state_and_optionally_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    s.put(b"k", b"v");
    s.commit(&[(b"m", b"1")]).unwrap();
    let err = stores.drop_store("s", true).unwrap_err();
    assert!(matches!(err, StateError::StoreInUse(_)), "{err}");
    drop(s);

    // Without deleting the changelog, the store comes back from it.
    stores.drop_store("s", false).unwrap();
    assert!(stores.stores().unwrap().is_empty());
    let s = stores.store("s", "s-changelog").unwrap();
    assert!(s.restore_info().rebuilt);
    assert_eq!(get(&s, "k").as_deref(), Some("v"));
    assert_eq!(s.meta(b"m").unwrap(), Some(b"1".to_vec()));
    drop(s);

    // Deleting it too: a store of that name starts empty.
    stores.drop_store("s", true).unwrap();
    assert!(!log.topics().contains(&"s-changelog".to_string()));
    let s = stores.store("s", "s-changelog").unwrap();
    assert_eq!(get(&s, "k"), None);
    assert_eq!(s.meta(b"m").unwrap(), None);
    drop(s);

    // Dropping an unknown store does nothing.
    stores.drop_store("never", true).unwrap();
}

#[test]
fn a_second_open_of_the_directory_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    let s = stores.store("s", "s-changelog").unwrap();
    let err = StateStores::open(&dir.path().join("state"), log.clone()).unwrap_err();
    assert!(matches!(err, StateError::Open { .. }), "{err}");
    // A live Store keeps the database open.
    drop(stores);
    assert!(StateStores::open(&dir.path().join("state"), log.clone()).is_err());
    drop(s);
    StateStores::open(&dir.path().join("state"), log).unwrap();
}

#[test]
fn a_commit_to_a_deleted_changelog_fails_and_keeps_pending_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (log, stores) = open(dir.path());
    let mut s = stores.store("s", "s-changelog").unwrap();
    s.put(b"k", b"v");
    log.delete_topic("s-changelog").unwrap();
    let err = s.commit(&[]).unwrap_err();
    assert!(matches!(err, StateError::Log { .. }), "{err}");
    assert!(err.to_string().contains("s-changelog"), "{err}");
    assert_eq!(s.pending_len(), 1);
    assert_eq!(get(&s, "k").as_deref(), Some("v"));
}

#[test]
fn owned_puts_report_new_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let mut s = stores.store("m", "m-changelog").unwrap();
    assert!(s.put_owned(b"a".to_vec(), b"1".to_vec()));
    assert!(
        !s.put_owned(b"a".to_vec(), b"11".to_vec()),
        "already pending"
    );
    assert!(s.put_owned(b"b".to_vec(), b"2".to_vec()));
    assert_eq!(get(&s, "a").as_deref(), Some("11"));
    assert_eq!(s.pending_len(), 2);
    assert_eq!(s.pending_bytes(), 5, "keys and latest values");
    s.commit(&[]).unwrap();
    assert_eq!(get(&s, "b").as_deref(), Some("2"));
}

/// `write_all` gives what the same writes one by one give (the last write of a key wins),
/// whether or not writes were pending before it.
#[test]
fn write_all_is_the_writes_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, stores) = open(dir.path());
    let writes = || -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        vec![
            (b"b".to_vec(), Some(b"1".to_vec())),
            (b"a".to_vec(), None),
            (b"b".to_vec(), None),
            (b"a".to_vec(), Some(b"22".to_vec())),
            (b"c".to_vec(), Some(b"3".to_vec())),
            (b"c".to_vec(), Some(b"333".to_vec())),
        ]
    };
    for pending_before in [false, true] {
        let name = format!("s{pending_before}");
        let mut one = stores
            .store(&format!("{name}-one"), &format!("{name}-one-cl"))
            .unwrap();
        let mut all = stores
            .store(&format!("{name}-all"), &format!("{name}-all-cl"))
            .unwrap();
        if pending_before {
            one.put(b"z", b"0");
            all.put(b"z", b"0");
        }
        for (k, v) in writes() {
            match v {
                Some(v) => one.put(&k, &v),
                None => one.delete(&k),
            }
        }
        all.write_all(writes());
        assert_eq!(all.pending_len(), one.pending_len());
        assert_eq!(all.pending_bytes(), one.pending_bytes());
        assert_eq!(all.prefix(b"").unwrap(), one.prefix(b"").unwrap());
        all.commit(&[]).unwrap();
        assert_eq!(get(&all, "a").as_deref(), Some("22"));
        assert_eq!(get(&all, "b"), None);
        assert_eq!(get(&all, "c").as_deref(), Some("333"));
    }
}
