//! `brook server` over HTTPS with HTTP Basic authentication, and the shell as its client:
//! the real binary, a self-signed certificate made in the test, the server configured as
//! ksqlDB's users write it (`listeners=https://...`, `ssl.keystore.*`,
//! `authentication.method=BASIC`), the shell trusting it with `--ca-file` and logging in
//! with `-u`/`-p`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod server_process;
use server_process::{free_port, ServerProcess};

fn wait_listening(port: u16, server: &mut ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the server exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not come up");
}

fn brook(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_brook"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env_remove("BROOK_CA_FILE")
        .env_remove("BROOK_USER")
        .env_remove("BROOK_PASSWORD")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "brook failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Writes the server's key store, the CA file clients trust, the password file and the
/// properties file into `dir`; returns the properties file.
fn configure(dir: &Path, port: u16) -> std::path::PathBuf {
    let c =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (c.cert.pem(), c.signing_key.serialize_pem());
    std::fs::write(dir.join("server.pem"), format!("{key}{cert}")).unwrap();
    std::fs::write(dir.join("ca.pem"), &cert).unwrap();
    std::fs::write(dir.join("passwords"), "alice: secret,admin\n").unwrap();
    let props = dir.join("server.properties");
    std::fs::write(
        &props,
        format!(
            "listeners=https://127.0.0.1:{port}\n\
             ssl.keystore.type=PEM\n\
             ssl.keystore.location=server.pem\n\
             authentication.method=BASIC\n\
             authentication.basic.password.file=passwords\n"
        ),
    )
    .unwrap();
    props
}

#[test]
fn the_shell_talks_to_an_https_server_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let props = configure(dir.path(), port);
    let mut server = ServerProcess(
        Command::new(env!("CARGO_BIN_EXE_brook"))
            .args(["server", "--data-dir"])
            .arg(&data)
            .arg("--config")
            .arg(&props)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_listening(port, &mut server);
    let url = format!("https://127.0.0.1:{port}");
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    let out = ok(&brook(
        &[
            "--server",
            &url,
            "--ca-file",
            ca,
            "-u",
            "alice",
            "-p",
            "secret",
            "-e",
            "CREATE STREAM CLICKS (USER_ID STRING KEY, PAGE STRING) WITH (KAFKA_TOPIC='clicks', PARTITIONS=1, VALUE_FORMAT='JSON');
             INSERT INTO CLICKS (USER_ID, PAGE) VALUES ('bob', '/home');
             SET 'auto.offset.reset'='earliest';
             SELECT USER_ID, PAGE FROM CLICKS EMIT CHANGES LIMIT 1;",
        ],
        &[],
    ));
    assert!(out.contains("| bob"), "a row of the push query: {out}");

    // As `ksql` takes its server, the password from the environment.
    let out = ok(&brook(
        &[
            &url,
            "--ca-file",
            ca,
            "--user",
            "alice",
            "-e",
            "SHOW STREAMS;",
        ],
        &[("BROOK_PASSWORD", "secret")],
    ));
    assert!(out.contains("CLICKS"), "{out}");

    // Not trusting the certificate: refused, with the way out.
    let err = failed(&brook(
        &[
            "--server",
            &url,
            "-u",
            "alice",
            "-p",
            "secret",
            "-e",
            "SHOW STREAMS;",
        ],
        &[],
    ));
    assert!(
        err.contains("certificate") && err.contains("--ca-file"),
        "{err}"
    );
    // A wrong password, or none at all.
    let err = failed(&brook(
        &[
            "--server",
            &url,
            "--ca-file",
            ca,
            "-u",
            "alice",
            "-p",
            "nope",
            "-e",
            "SHOW STREAMS;",
        ],
        &[],
    ));
    assert!(err.contains("Unauthorized"), "{err}");
    let err = failed(&brook(
        &["--server", &url, "--ca-file", ca, "-e", "SHOW STREAMS;"],
        &[],
    ));
    assert!(err.contains("Unauthorized"), "{err}");
    // A user without a password and no terminal to ask on.
    let err = failed(&brook(
        &[
            "--server",
            &url,
            "--ca-file",
            ca,
            "-u",
            "alice",
            "-e",
            "SHOW STREAMS;",
        ],
        &[],
    ));
    assert!(err.contains("--password"), "{err}");

    // A `brook` opened on the directory the server holds follows it to https, trusting
    // and logging in from the environment.
    let out = ok(&brook(
        &["--data-dir", data.to_str().unwrap(), "-e", "SHOW STREAMS;"],
        &[
            ("BROOK_CA_FILE", ca),
            ("BROOK_USER", "alice"),
            ("BROOK_PASSWORD", "secret"),
        ],
    ));
    assert!(out.contains("CLICKS"), "{out}");
}

#[test]
fn a_bad_key_store_stops_the_server_at_startup_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = configure(dir.path(), port);
    // A JKS key store, as ksqlDB's docs configure it.
    std::fs::write(
        dir.path().join("server.pem"),
        [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2],
    )
    .unwrap();
    let started = Instant::now();
    let out = brook(
        &[
            "server",
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--config",
            props.to_str().unwrap(),
        ],
        &[],
    );
    let err = failed(&out);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        err.contains("server.pem") && err.contains("not supported yet") && err.contains("openssl"),
        "{err}"
    );
    // https on the command line without any key store.
    let out = brook(
        &[
            "server",
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--listen",
            &format!("https://127.0.0.1:{port}"),
        ],
        &[],
    );
    let err = failed(&out);
    assert!(err.contains("ssl.keystore.location"), "{err}");
}
