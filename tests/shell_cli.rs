//! End-to-end tests of the shell's non-interactive forms through the real binary:
//! `brook -e`, `brook -f` and statements piped to `brook`, with their exit statuses.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn brook(data: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const SETUP: &str = "CREATE STREAM clicks (user_id STRING KEY, page STRING) \
    WITH (kafka_topic='clicks', value_format='JSON', partitions=1); \
    CREATE TABLE views AS SELECT user_id, COUNT(*) AS n FROM clicks GROUP BY user_id; \
    INSERT INTO clicks (user_id, page) VALUES ('alice', '/a'); \
    INSERT INTO clicks (user_id, page) VALUES ('alice', '/b');";

#[test]
fn execute_runs_statements_then_queries_catch_up_before_exit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = brook(&data, &["-e", SETUP], None);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("Stream created"), "{out}");
    assert!(out.contains("Created query with ID CTAS_VIEWS_"), "{out}");

    // A later run sees the catalog and what the query made of the input.
    let (ok, out, err) = brook(
        &data,
        &[
            "-e",
            "SELECT user_id, n FROM views WHERE user_id = 'alice';",
        ],
        None,
    );
    assert!(ok, "{out}\n{err}");
    let row = out
        .lines()
        .find(|l| l.contains("alice"))
        .unwrap_or_else(|| panic!("no alice row in:\n{out}"));
    assert!(row.contains("| 2 "), "{out}");

    // Variables take effect in order; EXPLAIN shows a running query's plan.
    let (ok, out, err) = brook(
        &data,
        &[
            "-e",
            "DEFINE who = 'alice'; SHOW VARIABLES; UNDEFINE who; EXPLAIN CTAS_VIEWS_0;",
        ],
        None,
    );
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("| who           | alice |"), "{out}");
    assert!(out.contains("Execution plan"), "{out}");
    assert!(out.contains("Aggregate"), "{out}");

    // A push query with LIMIT ends by itself.
    let (ok, out, err) = brook(
        &data,
        &[
            "-e",
            "SET 'auto.offset.reset'='earliest'; SELECT * FROM clicks EMIT CHANGES LIMIT 2;",
        ],
        None,
    );
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("/a") && out.contains("/b"), "{out}");
    assert!(out.contains("Limit Reached"), "{out}");
}

#[test]
fn errors_name_the_problem_and_fail_the_run_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The typo in the second statement stops the first from running too.
    let (ok, out, err) = brook(
        &data,
        &[
            "-e",
            "CREATE STREAM s (a INT) WITH (kafka_topic='s', value_format='JSON', partitions=1); SELEKT 1;",
        ],
        None,
    );
    assert!(!ok, "{out}\n{err}");
    assert!(err.contains("Did you mean 'SELECT'?"), "{err}");
    assert!(err.contains('^'), "{err}");
    let (ok, out, _) = brook(&data, &["-e", "SHOW STREAMS;"], None);
    assert!(ok);
    assert!(!out.contains("| S "), "nothing ran: {out}");

    // An unknown source is an analysis error, with a failure status.
    let (ok, _, err) = brook(&data, &["-e", "SELECT * FROM nowhere;"], None);
    assert!(!ok);
    assert!(err.to_lowercase().contains("nowhere"), "{err}");

    // -e and a command together are refused.
    let (ok, _, err) = brook(&data, &["-e", "SHOW STREAMS;", "topic", "list"], None);
    assert!(!ok);
    assert!(err.contains("-e and -f"), "{err}");
}

#[test]
fn file_and_pipe_run_like_execute() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("setup.sql");
    std::fs::write(&file, SETUP.replace("; ", ";\n")).unwrap();
    let (ok, out, err) = brook(&data, &["-f", file.to_str().unwrap()], None);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("Created query"), "{out}");

    let (ok, out, err) = brook(
        &data,
        &[],
        Some("DESCRIBE views EXTENDED;\nPRINT clicks FROM BEGINNING LIMIT 1;\n"),
    );
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("Name                 : VIEWS"), "{out}");
    assert!(out.contains("CTAS_VIEWS_"), "{out}");
    assert!(out.contains("key: alice"), "{out}");

    let (ok, _, err) = brook(&data, &["-f", "/nonexistent/x.sql"], None);
    assert!(!ok);
    assert!(err.contains("cannot read /nonexistent/x.sql"), "{err}");
}

#[test]
fn alter_system_holds_for_later_runs_and_assert_schema_answers_in_ksqldb_words() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = brook(
        &data,
        &["-e", "ALTER SYSTEM 'auto.offset.reset'='earliest';"],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("Successfully changed system property 'auto.offset.reset' to 'earliest'."));
    // A later run on the directory still has it.
    let (ok, out, err) = brook(&data, &["-e", "SHOW PROPERTIES;"], None);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("auto.offset.reset") && l.contains("earliest")),
        "{out}"
    );
    let (ok, _, err) = brook(&data, &["-e", "ALTER SYSTEM 'no.such'='1';"], None);
    assert!(!ok);
    assert!(
        err.contains("Cannot set system property 'no.such'"),
        "{err}"
    );

    let (ok, out, err) = brook(
        &data,
        &[
            "-e",
            "ASSERT NOT EXISTS SCHEMA SUBJECT 'x-value' TIMEOUT 0 SECONDS;",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("Schema with subject name x-value does not exist"),
        "{out}"
    );
    let (ok, _, err) = brook(
        &data,
        &["-e", "ASSERT SCHEMA ID 3 TIMEOUT 0 SECONDS;"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("Schema with id 3 does not exist"), "{err}");
}
