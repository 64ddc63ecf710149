//! End-to-end tests of brook-server over HTTPS: a self-signed certificate made in the test
//! (rcgen), a server on a loopback port serving it, reqwest clients over HTTP/1.1 and HTTP/2
//! (ALPN), and clients that do not trust the certificate or do not speak TLS.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brook_engine::runtime::{Engine, EngineOptions};
use brook_server::tls::TlsSettings;
use brook_server::{RunningServer, ServerConfig};
use reqwest::blocking::Client;
use reqwest::Version;
use serde_json::{json, Value};

/// A certificate for localhost and 127.0.0.1, and its private key, as PEM.
fn self_signed() -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: RunningServer,
    cert: String,
    _runtime: tokio::runtime::Runtime,
}

fn engine(dir: &Path) -> Arc<Mutex<Engine>> {
    let engine = Engine::open(
        dir,
        EngineOptions {
            fsync_state: false,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    Arc::new(Mutex::new(engine))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// An https config over `keystore` (a PEM file with key and chain).
fn https_config(keystore: &Path) -> ServerConfig {
    let mut config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        https: true,
        ..ServerConfig::default()
    };
    let base = keystore.parent().unwrap();
    config.tls.apply("ssl.keystore.type", "PEM", base);
    config.tls.apply(
        "ssl.keystore.location",
        keystore.file_name().unwrap().to_str().unwrap(),
        base,
    );
    config
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = self_signed();
        let keystore = dir.path().join("server.pem");
        std::fs::write(&keystore, format!("{key}{cert}")).unwrap();
        let runtime = runtime();
        let server = RunningServer::start(
            engine(&dir.path().join("data")),
            https_config(&keystore),
            runtime.handle(),
        )
        .unwrap();
        Fixture {
            _dir: dir,
            server,
            cert,
            _runtime: runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.server.addr.port())
    }

    /// A client that trusts the server's certificate.
    fn trusting(&self) -> reqwest::blocking::ClientBuilder {
        Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(self.cert.as_bytes()).unwrap())
            .timeout(Duration::from_secs(20))
    }

    fn ksql(&self, client: &Client, sql: &str) -> (u16, Version, Value) {
        let r = client
            .post(self.url("/ksql"))
            .header("Content-Type", "application/vnd.ksql.v1+json")
            .body(json!({ "ksql": sql }).to_string())
            .send()
            .unwrap();
        let (status, version) = (r.status().as_u16(), r.version());
        (status, version, r.json().unwrap())
    }
}

#[test]
fn https_serves_http1_and_http2_negotiated_by_alpn() {
    let f = Fixture::new();
    assert_eq!(f.server.scheme, "https");
    assert!(f.server.url().starts_with("https://127.0.0.1:"));
    let h1 = f.trusting().http1_only().build().unwrap();
    // ALPN offers h2 and http/1.1; the server picks h2.
    let h2 = f.trusting().build().unwrap();

    let (s, v, body) = f.ksql(
        &h1,
        "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=2, VALUE_FORMAT='JSON');",
    );
    assert_eq!((s, v), (200, Version::HTTP_11), "{body}");
    assert_eq!(body[0]["commandStatus"]["status"], "SUCCESS");
    let (s, v, body) = f.ksql(
        &h2,
        "INSERT INTO S (ID, V) VALUES (1, 'one'); INSERT INTO S (ID, V) VALUES (2, 'two');",
    );
    assert_eq!((s, v), (200, Version::HTTP_2), "{body}");

    let info = h2.get(f.url("/info")).send().unwrap();
    assert_eq!(info.version(), Version::HTTP_2);
    let info: Value = info.json().unwrap();
    assert!(info["KsqlServerInfo"]["version"].is_string(), "{info}");

    // A push query over each: both rows, then LIMIT ends the stream.
    for client in [&h1, &h2] {
        let r = client
            .post(f.url("/query-stream"))
            .header("Accept", "application/vnd.ksqlapi.delimited.v1")
            .body(
                json!({
                    "sql": "SELECT ID, V FROM S EMIT CHANGES LIMIT 2;",
                    "properties": {"auto.offset.reset": "earliest"}
                })
                .to_string(),
            )
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let lines: Vec<String> = BufReader::new(r).lines().map(Result::unwrap).collect();
        assert!(lines[0].contains("\"queryId\""), "{lines:?}");
        let mut rows: Vec<Value> = lines[1..]
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        rows.sort_by_key(|r| r[0].as_i64());
        assert_eq!(rows, vec![json!([1, "one"]), json!([2, "two"])]);
    }

    // A push query that keeps running receives a row inserted while it runs.
    let r = h2
        .post(f.url("/query-stream"))
        .body(json!({"sql": "SELECT V FROM S WHERE ID = 3 EMIT CHANGES;"}).to_string())
        .send()
        .unwrap();
    assert_eq!(r.version(), Version::HTTP_2);
    let mut reader = BufReader::new(r);
    let mut header = String::new();
    reader.read_line(&mut header).unwrap();
    assert!(header.contains("queryId"), "{header}");
    let (s, _, body) = f.ksql(&h1, "INSERT INTO S (ID, V) VALUES (3, 'three');");
    assert_eq!(s, 200, "{body}");
    let mut row = String::new();
    reader.read_line(&mut row).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&row).unwrap(),
        json!(["three"])
    );
}

#[test]
fn clients_that_do_not_trust_the_certificate_or_speak_tls_are_refused() {
    let f = Fixture::new();
    // The system's roots do not include a certificate made a moment ago.
    let untrusting = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let e = untrusting.get(f.url("/info")).send().unwrap_err();
    let chain = error_chain(&e);
    assert!(chain.contains("certificate"), "{chain}");

    // Trusting another certificate for the same name does not help.
    let (other, _) = self_signed();
    let wrong = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(other.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(wrong.get(f.url("/info")).send().is_err());

    // Plain HTTP to the TLS port gets an error, not a hang.
    let plain = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let e = plain
        .get(format!("http://127.0.0.1:{}/info", f.server.addr.port()))
        .send()
        .unwrap_err();
    assert!(!e.is_timeout(), "{e}");

    // And the server still serves those that trust it.
    let good = f.trusting().build().unwrap();
    assert_eq!(
        good.get(f.url("/healthcheck")).send().unwrap().status(),
        200
    );
}

#[test]
fn a_bad_certificate_or_key_is_a_startup_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed();
    let keystore = dir.path().join("cert-only.pem");
    std::fs::write(&keystore, &cert).unwrap();
    let runtime = runtime();
    let e = RunningServer::start(
        engine(&dir.path().join("data")),
        https_config(&keystore),
        runtime.handle(),
    )
    .err()
    .expect("a key store without a key is refused");
    let text = e.to_string();
    assert!(
        text.contains("cert-only.pem") && text.contains("private key"),
        "{text}"
    );

    // Separate chain and key files, as Kafka's ssl.keystore.certificate.chain/key.
    let (cert, key) = self_signed();
    std::fs::write(dir.path().join("chain.pem"), &cert).unwrap();
    std::fs::write(dir.path().join("key.pem"), &key).unwrap();
    let mut settings = TlsSettings::default();
    settings.apply("ssl.keystore.certificate.chain", "chain.pem", dir.path());
    settings.apply("ssl.keystore.key", "key.pem", dir.path());
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        https: true,
        tls: settings,
        ..ServerConfig::default()
    };
    let server =
        RunningServer::start(engine(&dir.path().join("data2")), config, runtime.handle()).unwrap();
    let client = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "https://localhost:{}/healthcheck",
            server.addr.port()
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
