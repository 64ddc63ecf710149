//! End-to-end tests of `brook run` and `brook test`: scripts run against a temporary data
//! directory through the real binary; state and catalog survive a restart.

use std::path::Path;
use std::process::Command;

fn brook(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn script(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The row of `table` (as `brook run` prints it) for `key`, split into its cells.
fn row<'a>(table: &'a str, key: &str) -> Vec<&'a str> {
    table
        .lines()
        .find(|l| l.starts_with(&format!("| {key} ")))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{table}"))
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

const SETUP: &str = "
CREATE STREAM clicks (user_id STRING KEY, page STRING)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=2);
CREATE TABLE per_minute AS SELECT user_id, COUNT(*) AS n FROM clicks
  WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY user_id;
INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('alice', '/a', 1000);
INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('alice', '/b', 2000);
INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('bob', '/a', 3000);
INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('alice', '/c', 61000);
SELECT user_id, WINDOWSTART, n FROM per_minute WHERE WINDOWSTART = 0;
";

#[test]
fn windowed_counts_then_restart_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let setup = script(dir.path(), "setup.sql", SETUP);
    let (ok, out, err) = brook(&data, &["run", &setup]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("Created query with ID CTAS_PER_MINUTE_"),
        "{out}"
    );
    assert_eq!(row(&out, "alice"), vec!["alice", "0", "2"], "{out}");
    assert_eq!(row(&out, "bob"), vec!["bob", "0", "1"], "{out}");
    assert!(out.contains("(2 rows)"), "{out}");

    // A second process: the catalog is replayed, the query resumes from its offsets with
    // its RocksDB state, so the count continues instead of starting over or doubling.
    let more = script(
        dir.path(),
        "more.sql",
        "INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('alice', '/d', 4000);
         SELECT user_id, n FROM per_minute WHERE WINDOWSTART = 0;",
    );
    let (ok, out, err) = brook(&data, &["run", &more]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(row(&out, "alice"), vec!["alice", "3"], "{out}");

    // Lose the RocksDB files: the state comes back from the changelog topic.
    std::fs::remove_dir_all(data.join("@state")).unwrap();
    let again = script(
        dir.path(),
        "again.sql",
        "INSERT INTO clicks (user_id, page, ROWTIME) VALUES ('bob', '/e', 5000);
         SELECT user_id, n FROM per_minute WHERE WINDOWSTART = 0;",
    );
    let (ok, out, err) = brook(&data, &["run", &again]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(row(&out, "alice"), vec!["alice", "3"], "{out}");
    assert_eq!(row(&out, "bob"), vec!["bob", "2"], "{out}");
}

#[test]
fn a_bad_statement_stops_the_run_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let bad = script(
        dir.path(),
        "bad.sql",
        "CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\nSELECT b FROM s;\nSELECT a FROM s;\n",
    );
    let (ok, out, err) = brook(&dir.path().join("data"), &["run", &bad]);
    assert!(!ok);
    assert!(err.contains("bad.sql:2:8"), "{err}");
    assert!(
        !out.contains("(0 rows)"),
        "the run must stop at the bad statement: {out}"
    );
}

#[test]
fn a_missing_topic_needs_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let s = script(
        dir.path(),
        "s.sql",
        "CREATE STREAM s (a INT) WITH (kafka_topic='nope', value_format='JSON');",
    );
    let (ok, _, err) = brook(&dir.path().join("data"), &["run", &s]);
    assert!(!ok);
    assert!(err.contains("Topic 'nope' does not exist"), "{err}");
}

const CASES: &str = r#"{"tests": [
  {"name": "doubles", "statements": [
     "CREATE STREAM I (K STRING KEY, V INT) WITH (kafka_topic='i', value_format='JSON');",
     "CREATE STREAM O AS SELECT K, V * 2 AS D FROM I;"],
   "inputs": [{"topic": "i", "key": "a", "value": {"V": 2}, "timestamp": 5}],
   "outputs": [{"topic": "O", "key": "a", "value": {"D": 4}, "timestamp": 5}]},
  {"name": "wrong expectation", "statements": [
     "CREATE STREAM I (K STRING KEY, V INT) WITH (kafka_topic='i', value_format='JSON');",
     "CREATE STREAM O AS SELECT K, V * 2 AS D FROM I;"],
   "inputs": [{"topic": "i", "key": "a", "value": {"V": 2}, "timestamp": 5}],
   "outputs": [{"topic": "O", "key": "a", "value": {"D": 5}, "timestamp": 5}]}
]}"#;

#[test]
fn brook_test_reports_pass_fail_and_the_difference() {
    let dir = tempfile::tempdir().unwrap();
    let file = script(dir.path(), "mine.json", CASES);
    let json = dir.path().join("out.json");
    let (ok, out, _) = brook(
        &dir.path().join("data"),
        &["test", &file, "--json", json.to_str().unwrap()],
    );
    assert!(!ok, "a failing case fails the command");
    assert!(out.contains("PASS mine.json :: doubles"), "{out}");
    assert!(out.contains("FAIL mine.json :: wrong expectation"), "{out}");
    assert!(out.contains(r#"expected: key="a" value={"D":5}"#), "{out}");
    assert!(out.contains(r#"actual:   key="a" value={"D":4}"#), "{out}");
    assert!(
        out.trim_end().ends_with("1 passed, 1 failed, 0 skipped"),
        "{out}"
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(written["passed"], 1);
    assert_eq!(written["results"][1]["status"], "FAIL");
}

/// `brook run --follow`: the queries keep running on their own until Ctrl-C, which stops
/// them after a commit, promptly.
#[test]
fn follow_keeps_queries_running_until_ctrl_c() {
    use std::io::Read;
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let setup = script(
        dir.path(),
        "follow.sql",
        "CREATE STREAM s (id STRING KEY, v INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
         CREATE STREAM doubled AS SELECT id, v * 2 AS w FROM s;
         INSERT INTO s (id, v) VALUES ('a', 1);
         INSERT INTO s (id, v) VALUES ('b', 2);
         INSERT INTO s (id, v) VALUES ('c', 3);",
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .arg("--data-dir")
        .arg(&data)
        .args(["run", "--follow", &setup])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the query has written its three rows.
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = || {
        let log = brook_log::Log::open_read_only(&data).ok()?;
        let t = log.topic("DOUBLED").ok()?;
        // Records, not offsets: an exactly-once query's commits add transaction markers.
        Some(t.partition(0).ok()?.read(0, 100).ok()?.len())
    };
    while written() != Some(3) {
        assert!(Instant::now() < deadline, "the rows never reached the sink");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(exit.success(), "{out}\n{err}");
    assert!(out.contains("Following 1 query"), "{out}");
    assert!(out.contains("Stopped the queries"), "{out}");
    // Its progress is committed: a restart reads nothing twice.
    let id = out
        .split_whitespace()
        .find(|w| w.starts_with("CSAS_DOUBLED_"))
        .unwrap();
    let log = brook_log::Log::open_read_only(&data).unwrap();
    assert_eq!(log.committed_offset(id, "s", 0), Some(3), "{out}");
}
