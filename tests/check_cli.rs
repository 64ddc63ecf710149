//! End-to-end tests of `brook check`: scripts are parsed and analyzed without running, and
//! every bad statement is reported as `file:line:col: message` with a caret.

use std::io::Write;
use std::process::{Command, Stdio};

fn check(args: &[&std::ffi::OsStr], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .arg("check")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const SCRIPT: &str = "CREATE STREAM clicks (user_id STRING KEY, page_id STRING)
  WITH (kafka_topic='clicks', value_format='JSON', partitions=1);
CREATE TABLE per_user AS SELECT user_id, COUNT(*) AS cnt FROM clicks
  WINDOW TUMBLIN (SIZE 60 SECONDS) GROUP BY user_id EMIT CHANGES;
SELECT usr_id FROM clicks EMIT CHANGES;
SELECT user_id, UCASE(page_id) FROM clicks EMIT CHANGES;
";

#[test]
fn reports_every_bad_statement_with_caret_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(&file, SCRIPT).unwrap();
    let (ok, stdout, stderr) = check(&[file.as_os_str()], "");
    assert!(!ok);
    assert!(stdout.contains("2 statements ok"), "{stdout}");
    let name = file.display().to_string();
    assert!(stderr.contains(&format!("{name}:4:10: ")), "{stderr}");
    assert!(stderr.contains("Did you mean 'TUMBLING'?"), "{stderr}");
    assert!(
        stderr.contains("  WINDOW TUMBLIN (SIZE 60 SECONDS)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n         ^\n"),
        "caret under TUMBLIN: {stderr}"
    );
    assert!(stderr.contains(&format!("{name}:5:8: ")), "{stderr}");
    assert!(stderr.contains("Did you mean 'USER_ID'?"), "{stderr}");
}

#[test]
fn a_valid_script_from_stdin_passes() {
    let valid: String = SCRIPT
        .lines()
        .filter(|l| !l.contains("usr_id"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("TUMBLIN ", "TUMBLING ");
    let (ok, stdout, stderr) = check(&["-".as_ref()], &valid);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "3 statements ok");
}

#[test]
fn later_files_see_earlier_files_sources_and_missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let ddl = dir.path().join("ddl.sql");
    let query = dir.path().join("query.sql");
    std::fs::write(&ddl, SCRIPT.lines().take(2).collect::<Vec<_>>().join("\n")).unwrap();
    std::fs::write(&query, "SELECT page_id FROM clicks EMIT CHANGES;").unwrap();
    let (ok, stdout, stderr) = check(&[ddl.as_os_str(), query.as_os_str()], "");
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "2 statements ok");
    let missing = dir.path().join("missing.sql");
    let (ok, _, stderr) = check(&[missing.as_os_str()], "");
    assert!(!ok);
    assert!(stderr.contains("missing.sql"), "{stderr}");
}

#[test]
fn unterminated_string_is_an_error_not_a_hang() {
    let (ok, _, stderr) = check(&["-".as_ref()], "SELECT 'abc FROM x;");
    assert!(!ok);
    assert!(stderr.contains("<stdin>:1:"), "{stderr}");
}
