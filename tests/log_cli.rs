//! End-to-end tests of the log commands (`brook topic|produce|consume`) through the real
//! binary on a temporary data directory.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use brook_log::partitioner::kafka_partition;
use serde_json::Value;

fn brook(data_dir: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("brook binary runs");
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.unwrap_or_default().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "brook failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn failed(output: Output) -> String {
    assert!(
        !output.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("consume prints JSON lines"))
        .collect()
}

#[test]
fn topic_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(brook(
        dir.path(),
        &[
            "topic",
            "create",
            "clicks",
            "--partitions",
            "3",
            "--config",
            "retention.ms=60000",
        ],
        None,
    ));
    assert!(out.contains("clicks"), "{out}");
    assert_eq!(
        ok(brook(dir.path(), &["topic", "list"], None)).trim(),
        "clicks"
    );
    let described = ok(brook(dir.path(), &["topic", "describe", "clicks"], None));
    assert!(described.contains("Partitions: 3"), "{described}");
    assert!(described.contains("retention.ms=60000"), "{described}");
    let err = failed(brook(dir.path(), &["topic", "create", "clicks"], None));
    assert!(err.contains("already exists"), "{err}");
    ok(brook(dir.path(), &["topic", "delete", "clicks"], None));
    assert_eq!(ok(brook(dir.path(), &["topic", "list"], None)).trim(), "");
    let err = failed(brook(dir.path(), &["topic", "describe", "clicks"], None));
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn bad_topic_names_and_configs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let err = failed(brook(dir.path(), &["topic", "create", "../x"], None));
    assert!(err.contains("invalid topic name"), "{err}");
    let err = failed(brook(dir.path(), &["topic", "create", ""], None));
    assert!(err.contains("invalid topic name"), "{err}");
    let err = failed(brook(
        dir.path(),
        &["topic", "create", "t", "--config", "retention.mss=1"],
        None,
    ));
    assert!(err.contains("retention.mss"), "{err}");
    let err = failed(brook(
        dir.path(),
        &["topic", "create", "t", "--config", "retention.ms"],
        None,
    ));
    assert!(err.contains("KEY=VALUE"), "{err}");
    let err = failed(brook(dir.path(), &["produce", "missing"], Some(b"x\n")));
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn keyed_records_land_on_kafkas_partitions_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let input: String = (0..2000)
        .map(|i| format!("user-{}:click {i}\n", i % 97))
        .collect();
    let out = ok(brook(
        dir.path(),
        &[
            "produce",
            "clicks",
            "--partitions",
            "4",
            "--key-separator",
            ":",
        ],
        Some(input.as_bytes()),
    ));
    assert!(out.contains("2000 records written"), "{out}");

    let records = json_lines(&ok(brook(
        dir.path(),
        &["consume", "clicks", "--from-beginning"],
        None,
    )));
    assert_eq!(records.len(), 2000);
    let mut per_key_values: std::collections::HashMap<String, Vec<u64>> = Default::default();
    for record in &records {
        let key = record["key"].as_str().unwrap();
        let partition = record["partition"].as_u64().unwrap() as u32;
        assert_eq!(partition, kafka_partition(key.as_bytes(), 4), "{record}");
        let value = record["value"].as_str().unwrap();
        let n: u64 = value.strip_prefix("click ").unwrap().parse().unwrap();
        per_key_values.entry(key.to_string()).or_default().push(n);
        assert_eq!(record["topic"], "clicks");
        assert!(record["timestamp"].as_i64().unwrap() > 0);
    }
    // Order is kept per key (a key lives on one partition).
    for values in per_key_values.values() {
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
    }
}

#[test]
fn known_kafka_partitions() {
    // Kafka's murmur2 of "foobar" is -790332482 (Kafka's UtilsTest): & 0x7fffffff = 1357151166,
    // which is 2 modulo 4 and 0 modulo 3.
    let dir = tempfile::tempdir().unwrap();
    ok(brook(
        dir.path(),
        &["produce", "t", "--partitions", "4", "--key-separator", "|"],
        Some(b"foobar|v\n"),
    ));
    let records = json_lines(&ok(brook(
        dir.path(),
        &["consume", "t", "--from-beginning"],
        None,
    )));
    assert_eq!(records[0]["partition"], 2);
    ok(brook(
        dir.path(),
        &["produce", "u", "--partitions", "3", "--key-separator", "|"],
        Some(b"foobar|v\n"),
    ));
    let records = json_lines(&ok(brook(
        dir.path(),
        &["consume", "u", "--from-beginning"],
        None,
    )));
    assert_eq!(records[0]["partition"], 0);
}

#[test]
fn bad_lines_are_reported_with_their_number_and_the_rest_written() {
    let dir = tempfile::tempdir().unwrap();
    let output = brook(
        dir.path(),
        &["produce", "t", "--partitions", "1", "--key-separator", ":"],
        Some(b"a:1\nno separator\nb:2\n"),
    );
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let err = failed(output);
    assert!(err.contains("line 2"), "{err}");
    assert!(stdout.contains("2 records written"), "{stdout}");
    let records = json_lines(&ok(brook(
        dir.path(),
        &["consume", "t", "--from-beginning"],
        None,
    )));
    let keys: Vec<&str> = records.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn oversized_record_is_refused_with_its_line_number() {
    let dir = tempfile::tempdir().unwrap();
    ok(brook(
        dir.path(),
        &["topic", "create", "t", "--config", "max.message.bytes=1000"],
        None,
    ));
    let mut input = b"small\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 5000));
    input.extend(b"\nlast\n");
    let output = brook(dir.path(), &["produce", "t"], Some(&input));
    let err = failed(output);
    assert!(
        err.contains("line 2") && err.contains("max.message.bytes"),
        "{err}"
    );
    let records = json_lines(&ok(brook(
        dir.path(),
        &["consume", "t", "--from-beginning"],
        None,
    )));
    let values: Vec<&str> = records
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["small", "last"]);
}

#[test]
fn consume_positions_limits_and_binary_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = Vec::new();
    for i in 0..10 {
        input.extend(format!("v{i}\n").bytes());
    }
    input.extend([0xff, 0xfe, b'\n']);
    ok(brook(
        dir.path(),
        &["produce", "t", "--partitions", "1"],
        Some(&input),
    ));
    // Like Kafka's console consumer, the default start is the end of the log.
    assert_eq!(ok(brook(dir.path(), &["consume", "t"], None)), "");
    let records = json_lines(&ok(brook(
        dir.path(),
        &[
            "consume",
            "t",
            "--partition",
            "0",
            "--offset",
            "7",
            "--limit",
            "2",
        ],
        None,
    )));
    let offsets: Vec<u64> = records
        .iter()
        .map(|r| r["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [7, 8]);
    assert_eq!(records[0]["value"], "v7");
    assert_eq!(records[0]["key"], Value::Null);
    let last = json_lines(&ok(brook(
        dir.path(),
        &["consume", "t", "--partition", "0", "--offset", "10"],
        None,
    )));
    assert_eq!(last[0]["value"], "//4=");
    assert_eq!(last[0]["value_encoding"], "base64");
    let err = failed(brook(
        dir.path(),
        &["consume", "t", "--partition", "0", "--offset", "99"],
        None,
    ));
    assert!(err.contains("offset 99"), "{err}");
    let err = failed(brook(
        dir.path(),
        &["consume", "t", "--partition", "5"],
        None,
    ));
    assert!(err.contains("partition 5"), "{err}");
}

#[test]
fn follow_prints_records_appended_later() {
    let dir = tempfile::tempdir().unwrap();
    ok(brook(
        dir.path(),
        &["topic", "create", "t", "--partitions", "2"],
        None,
    ));
    let consumer = Command::new(env!("CARGO_BIN_EXE_brook"))
        .args([
            "consume",
            "t",
            "--from-beginning",
            "--follow",
            "--limit",
            "3",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    ok(brook(
        dir.path(),
        &["produce", "t", "--key-separator", ":"],
        Some(b"a:1\nb:2\nc:3\n"),
    ));
    let output = consumer.wait_with_output().unwrap();
    let records = json_lines(&ok(output));
    let mut values: Vec<&str> = records
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    values.sort();
    assert_eq!(values, ["1", "2", "3"]);
}

/// A million-record round trip; `BROOK_ROUNDTRIP_RECORDS` sets the count (default 200,000
/// to keep the test suite quick; the figure is run with 1,000,000).
#[test]
fn large_round_trip_keeps_every_record_on_its_kafka_partition() {
    let n: u64 = std::env::var("BROOK_ROUNDTRIP_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let mut input = Vec::with_capacity(n as usize * 24);
    for i in 0..n {
        writeln!(input, "k{}\t{i}", i % 10_007).unwrap();
    }
    let out = ok(brook(
        dir.path(),
        &[
            "produce",
            "big",
            "--partitions",
            "8",
            "--key-separator",
            "\t",
        ],
        Some(&input),
    ));
    assert!(out.contains(&format!("{n} records written")), "{out}");
    let text = ok(brook(
        dir.path(),
        &["consume", "big", "--from-beginning"],
        None,
    ));
    let mut seen = vec![false; n as usize];
    let mut count = 0u64;
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let key = record["key"].as_str().unwrap();
        let i: usize = record["value"].as_str().unwrap().parse().unwrap();
        assert_eq!(key, format!("k{}", i % 10_007));
        assert_eq!(
            record["partition"].as_u64().unwrap() as u32,
            kafka_partition(key.as_bytes(), 8)
        );
        assert!(!seen[i], "record {i} read twice");
        seen[i] = true;
        count += 1;
    }
    assert_eq!(count, n);
}

#[test]
fn consume_reads_committed_records_only_when_asked() {
    use brook_log::{Bytes, Log, LogOptions, Record, TopicConfig};
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), LogOptions::default()).unwrap();
        let topic = log.create_topic("tx", TopicConfig::new(1)).unwrap();
        let producer = log.init_transactions("writer").unwrap();
        let value =
            |v: &'static str| [Record::new(None, Some(Bytes::from_static(v.as_bytes())), 1)];
        producer.begin().unwrap();
        producer.append(&topic, 0, &value("aborted")).unwrap();
        producer.abort().unwrap();
        producer.begin().unwrap();
        producer.append(&topic, 0, &value("committed")).unwrap();
        producer.commit().unwrap();
    }
    let values = |args: &[&str]| -> Vec<String> {
        json_lines(&ok(brook(dir.path(), args, None)))
            .iter()
            .map(|r| r["value"].as_str().unwrap().to_string())
            .collect()
    };
    // As Kafka's consumer by default: every data record, never a transaction marker.
    assert_eq!(
        values(&["consume", "tx", "--from-beginning"]),
        ["aborted", "committed"]
    );
    assert_eq!(
        values(&[
            "consume",
            "tx",
            "--from-beginning",
            "--isolation-level",
            "read_committed"
        ]),
        ["committed"]
    );
    let err = failed(brook(
        dir.path(),
        &["consume", "tx", "--isolation-level", "serializable"],
        None,
    ));
    assert!(err.contains("serializable"), "{err}");
}
