//! `brook server` end to end: the real binary on a temporary data directory, driven over
//! HTTP; SIGTERM ends it within 10 s, and a restart keeps what it had.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod server_process;
use server_process::{free_port, ServerProcess};

fn start(dir: &std::path::Path, port: u16) -> ServerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(["server", "--data-dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ServerProcess(child)
}

fn wait_ready(client: &reqwest::blocking::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client
            .get(format!("http://127.0.0.1:{port}/info"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up");
}

fn ksql(client: &reqwest::blocking::Client, port: u16, sql: &str) -> Value {
    client
        .post(format!("http://127.0.0.1:{port}/ksql"))
        .json(&json!({ "ksql": sql }))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn terminate(server: &mut ServerProcess) -> Duration {
    let child = &mut server.0;
    let started = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            panic!("the server did not exit on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn server_serves_exits_on_sigterm_and_restarts_its_queries() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = reqwest::blocking::Client::new();
    let mut child = start(dir.path(), port);
    wait_ready(&client, port);
    let v = ksql(
        &client,
        port,
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, VALUE_FORMAT='JSON');
         CREATE STREAM U AS SELECT ID, UCASE(V) AS V FROM S;
         INSERT INTO S (ID, V) VALUES (1, 'a');",
    );
    assert_eq!(v[1]["@type"], "currentStatus", "{v}");
    // A push query open while it stops.
    let push = client
        .post(format!("http://127.0.0.1:{port}/query-stream"))
        .json(&json!({"sql": "SELECT * FROM U EMIT CHANGES;"}))
        .send()
        .unwrap();
    assert_eq!(push.status(), 200);
    let took = terminate(&mut child);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    drop(push);

    // Restarted, it still has the stream and the query, which goes on.
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_ready(&client, port);
    let v = ksql(&client, port, "SHOW QUERIES;");
    assert_eq!(v[0]["queries"].as_array().unwrap().len(), 1, "{v}");
    ksql(&client, port, "INSERT INTO S (ID, V) VALUES (2, 'b');");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r: Value = client
            .post(format!("http://127.0.0.1:{port}/query"))
            .json(&json!({"ksql": "SELECT * FROM U;"}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let rows: Vec<&Value> = r
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i.get("row"))
            .collect();
        if rows.len() == 2 {
            assert_eq!(rows[1]["columns"], json!([2, "B"]));
            break;
        }
        assert!(Instant::now() < deadline, "{r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    terminate(&mut child);
}

/// Runs `brook` with `args` and returns its stdout, failing with its stderr.
fn brook(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "brook {args:?} failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn the_shell_talks_to_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = reqwest::blocking::Client::new();
    let mut child = start(dir.path(), port);
    wait_ready(&client, port);
    let url = format!("http://127.0.0.1:{port}");
    // Statements over the REST API: confirmations, listings as tables, a push query.
    let out = brook(&[
        "--server",
        &url,
        "-e",
        "CREATE STREAM CLICKS (USER_ID STRING KEY, PAGE STRING) WITH (KAFKA_TOPIC='clicks', PARTITIONS=1, VALUE_FORMAT='JSON');
         INSERT INTO CLICKS (USER_ID, PAGE) VALUES ('bob', '/home');
         SHOW STREAMS;
         SET 'auto.offset.reset'='earliest';
         SELECT USER_ID, PAGE FROM CLICKS EMIT CHANGES LIMIT 1;",
    ]);
    assert!(out.contains("CLICKS") && out.contains("clicks"), "{out}");
    assert!(out.contains("| bob"), "a row of the push query: {out}");
    // A bad statement is refused before anything is sent, with its caret.
    let bad = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args([url.as_str(), "-e", "SELEC 1;"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SELEC"));
    // A `brook` opened on the directory the server holds talks to the server.
    let dir_arg = dir.path().to_str().unwrap();
    let out = brook(&["--data-dir", dir_arg, "-e", "SHOW STREAMS;"]);
    assert!(out.contains("CLICKS"), "{out}");
    terminate(&mut child);
    // The server is gone: the directory is the shell's own again.
    assert!(!dir.path().join(".brook-server").exists());
    let out = brook(&["--data-dir", dir_arg, "-e", "SHOW STREAMS;"]);
    assert!(out.contains("CLICKS"), "{out}");
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args([
            "--server",
            &format!("http://127.0.0.1:{port}"),
            "-e",
            "SHOW STREAMS;",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach the server"), "{err}");
}

/// The rows of a pull query's `/query` answer.
fn pull_rows(client: &reqwest::blocking::Client, port: u16, sql: &str) -> Vec<Value> {
    let r: Value = client
        .post(format!("http://127.0.0.1:{port}/query"))
        .json(&json!({ "ksql": sql }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    r.as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .filter_map(|i| i.get("row").map(|row| row["columns"].clone()))
        .collect()
}

/// Waits until `check` accepts the rows of `sql`; fails with the last rows after 30 s.
fn wait_rows(
    client: &reqwest::blocking::Client,
    port: u16,
    sql: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = pull_rows(client, port, sql);
        if check(&rows) {
            return rows;
        }
        assert!(Instant::now() < deadline, "{sql}: {rows:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Opens a push query on `/query-stream` and returns its reader of delimited lines.
fn open_push(
    client: &reqwest::blocking::Client,
    port: u16,
    sql: &str,
) -> std::io::Lines<std::io::BufReader<reqwest::blocking::Response>> {
    use std::io::BufRead;
    let r = client
        .post(format!("http://127.0.0.1:{port}/query-stream"))
        .json(&json!({ "sql": sql }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut lines = std::io::BufReader::new(r).lines();
    let meta = lines.next().expect("a metadata line").unwrap();
    assert!(meta.contains("queryId"), "{meta}");
    lines
}

/// What a server killed with SIGKILL and restarted holds: the rows of U and of C (see
/// [`a_killed_server_resumes_its_queries_and_clients_reconnect`]).
struct AfterKill {
    u_rows: Vec<Value>,
    c_rows: Vec<Value>,
}

/// Starts a server with two persistent queries (U: a projection of S; C: a count per V of
/// S) and a push query connected, inserts 80 rows, SIGKILLs it while the queries work
/// through them, restarts it on the same directory, checks that the queries are back and
/// that a new push query sees a row inserted then (81 rows in all), and waits until every
/// id reached U and every insert was counted in C.
fn kill_and_restart() -> AfterKill {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Long enough for a push query's idle wait; a dead server ends reads with an error.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut child = start(dir.path(), port);
    wait_ready(&client, port);
    let v = ksql(
        &client,
        port,
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=2, VALUE_FORMAT='JSON');
         CREATE STREAM U AS SELECT ID, UCASE(V) AS V FROM S;
         CREATE TABLE C AS SELECT V, COUNT(*) AS N FROM S GROUP BY V;",
    );
    assert_eq!(v[2]["@type"], "currentStatus", "{v}");
    // A push query connected while the server dies.
    let mut push = open_push(&client, port, "SELECT * FROM U EMIT CHANGES;");
    let mut inserts = String::new();
    for id in 0..40 {
        inserts.push_str(&format!(
            "INSERT INTO S (ID, V) VALUES ({id}, '{}');",
            ["a", "b"][id % 2]
        ));
    }
    let v = ksql(&client, port, &inserts);
    assert!(v.is_array(), "{v}");
    let first = push.next().expect("a pushed row").unwrap();
    assert!(first.starts_with('['), "{first}");
    // More inserts acknowledged, then SIGKILL while the queries work through them.
    let mut inserts = String::new();
    for id in 40..80 {
        inserts.push_str(&format!(
            "INSERT INTO S (ID, V) VALUES ({id}, '{}');",
            ["a", "b"][id % 2]
        ));
    }
    let v = ksql(&client, port, &inserts);
    assert!(v.is_array(), "{v}");
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    // The push query's stream ends (an error or its end), it does not hang.
    for line in push.by_ref() {
        if line.is_err() {
            break;
        }
    }

    // Restarted on the same directory: both queries resume from what they committed.
    let port = free_port();
    let mut child = start(dir.path(), port);
    wait_ready(&client, port);
    let v = ksql(&client, port, "SHOW QUERIES;");
    assert_eq!(v[0]["queries"].as_array().unwrap().len(), 2, "{v}");
    // A client reconnects: a new push query sees a row inserted after the restart.
    let mut push = open_push(&client, port, "SELECT * FROM U EMIT CHANGES;");
    let v = ksql(&client, port, "INSERT INTO S (ID, V) VALUES (80, 'a');");
    assert!(v.is_array(), "{v}");
    let row: Value = serde_json::from_str(&push.next().expect("a pushed row").unwrap()).unwrap();
    assert_eq!(row, json!([80, "A"]));
    // Nothing acknowledged before the kill is lost: every id reaches U, every insert is
    // counted in C.
    let u_rows = wait_rows(&client, port, "SELECT * FROM U;", |rows| {
        let ids: std::collections::BTreeSet<i64> =
            rows.iter().filter_map(|r| r[0].as_i64()).collect();
        ids.len() == 81
    });
    let c_rows = wait_rows(&client, port, "SELECT * FROM C;", |rows| {
        let count = |v: &str| {
            rows.iter()
                .find(|r| r[0] == json!(v))
                .and_then(|r| r[1].as_i64())
                .unwrap_or(0)
        };
        count("a") >= 41 && count("b") >= 40
    });
    terminate(&mut child);
    AfterKill { u_rows, c_rows }
}

#[test]
fn a_killed_server_resumes_its_queries_and_clients_reconnect() {
    let after = kill_and_restart();
    assert!(after.u_rows.len() >= 81, "{:?}", after.u_rows);
    assert_eq!(after.c_rows.len(), 2, "{:?}", after.c_rows);
}

/// Exactly-once across a SIGKILL (DESIGN.md: source offsets, state and sink output commit
/// together): what the queries wrote after their last commit must not be seen twice.
#[test]
fn a_killed_server_duplicates_nothing() {
    let after = kill_and_restart();
    assert_eq!(after.u_rows.len(), 81, "{:?}", after.u_rows);
    let counts: Vec<(Value, Value)> = after
        .c_rows
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        counts
            .iter()
            .find(|(v, _)| *v == json!("a"))
            .map(|c| c.1.clone()),
        Some(json!(41)),
        "{counts:?}"
    );
    assert_eq!(
        counts
            .iter()
            .find(|(v, _)| *v == json!("b"))
            .map(|c| c.1.clone()),
        Some(json!(40)),
        "{counts:?}"
    );
}
