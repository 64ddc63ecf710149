//! librdkafka against the listener: produce with every acks setting and compression codec and
//! read everything back; idempotent producers; interop with the log API that `brook produce`
//! and `brook consume` use; keys on the partitions Kafka's partitioner picks.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use brook_log::{ReadLimit, Record, TopicConfig};
use common::{consume, header_pairs, producer, TestBroker};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};

const RECORDS: usize = 300;

fn produce_and_read_back(broker: &TestBroker, acks: &str, codec: &str) {
    let topic = format!("t-{acks}-{codec}");
    broker
        .log
        .create_topic(&topic, TopicConfig::new(3))
        .unwrap();
    let p = producer(
        broker,
        &[
            ("acks", acks),
            ("compression.codec", codec),
            ("enable.idempotence", "false"),
        ],
    );
    for i in 0..RECORDS {
        let key = format!("key-{i}");
        let value = format!("{{\"n\":{i},\"codec\":\"{codec}\"}}");
        let headers = OwnedHeaders::new().insert(Header {
            key: "h",
            value: Some(format!("v{i}").as_bytes()),
        });
        p.send(
            BaseRecord::to(&topic)
                .key(&key)
                .payload(&value)
                .timestamp(1_700_000_000_000 + i as i64)
                .headers(headers),
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(20)).unwrap();
    assert!(
        p.context().failed.lock().unwrap().is_empty(),
        "{:?}",
        p.context().failed
    );
    assert_eq!(
        p.context().ok.load(Ordering::SeqCst),
        RECORDS,
        "acks={acks} {codec}"
    );

    // In the log as produced (with acks=0 the client does not wait for the broker: allow
    // the last requests a moment to land).
    let stored = || -> usize {
        broker
            .log
            .topic(&topic)
            .unwrap()
            .partitions()
            .iter()
            .map(|p| p.end_offset() as usize)
            .sum()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored() < RECORDS && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(stored(), RECORDS, "acks={acks} {codec}: records in the log");

    // And back through Fetch, with keys, values, timestamps and headers.
    let messages = consume(broker, &topic, &format!("g-{topic}"), RECORDS);
    assert_eq!(
        messages.len(),
        RECORDS,
        "acks={acks} {codec}: records consumed"
    );
    let mut seen = BTreeSet::new();
    for m in &messages {
        let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
        let i: usize = key.strip_prefix("key-").unwrap().parse().unwrap();
        assert_eq!(
            m.payload().unwrap(),
            format!("{{\"n\":{i},\"codec\":\"{codec}\"}}").as_bytes()
        );
        assert_eq!(
            m.timestamp().to_millis(),
            Some(1_700_000_000_000 + i as i64)
        );
        assert_eq!(
            header_pairs(m),
            vec![("h".to_string(), Some(format!("v{i}").into_bytes()))]
        );
        assert!(seen.insert(i), "record {i} read twice");
    }
}

#[test]
fn every_acks_setting_and_codec_round_trips() {
    let broker = TestBroker::start();
    for acks in ["0", "1", "all"] {
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            produce_and_read_back(&broker, acks, codec);
        }
    }
}

#[test]
fn idempotent_producer_writes_each_record_once() {
    let broker = TestBroker::start();
    broker
        .log
        .create_topic("idem", TopicConfig::new(2))
        .unwrap();
    let p = producer(
        &broker,
        &[
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("max.in.flight.requests.per.connection", "5"),
            ("compression.codec", "lz4"),
        ],
    );
    for i in 0..2000 {
        p.send(BaseRecord::to("idem").key(&format!("k{i}")).payload("v"))
            .unwrap();
        if i % 500 == 0 {
            p.flush(Duration::from_secs(10)).unwrap();
        }
    }
    p.flush(Duration::from_secs(20)).unwrap();
    assert!(
        p.context().failed.lock().unwrap().is_empty(),
        "{:?}",
        p.context().failed
    );
    assert_eq!(p.context().ok.load(Ordering::SeqCst), 2000);
    let topic = broker.log.topic("idem").unwrap();
    let total: u64 = topic.partitions().iter().map(|p| p.end_offset()).sum();
    assert_eq!(total, 2000);
}

#[test]
fn log_api_and_kafka_clients_read_each_other() {
    let broker = TestBroker::start();
    let topic = broker
        .log
        .create_topic("shared", TopicConfig::new(4))
        .unwrap();

    // What `brook produce` does: Topic::produce with Kafka's partitioner.
    let written: Vec<Record> = (0..100)
        .map(|i| Record::keyed(format!("user-{i}"), format!("from-brook-{i}"), 1_000 + i))
        .collect();
    let placed = topic.produce(&written).unwrap();
    let messages = consume(&broker, "shared", "g-shared", 100);
    assert_eq!(messages.len(), 100);
    for m in &messages {
        let key = std::str::from_utf8(m.key().unwrap()).unwrap();
        let i: usize = key.strip_prefix("user-").unwrap().parse().unwrap();
        assert_eq!(m.partition() as u32, placed[i].0, "{key}");
        assert_eq!(m.offset() as u64, placed[i].1, "{key}");
        assert_eq!(m.payload().unwrap(), format!("from-brook-{i}").as_bytes());
    }

    // A Kafka producer using Java's partitioner (murmur2) puts keys where the log would.
    let p = producer(&broker, &[("partitioner", "murmur2_random")]);
    for i in 0..100 {
        p.send(
            BaseRecord::to("shared")
                .key(&format!("kafka-{i}"))
                .payload(&format!("from-kafka-{i}")),
        )
        .unwrap();
    }
    p.flush(Duration::from_secs(20)).unwrap();
    let placed = p.context().placed.lock().unwrap().clone();
    assert_eq!(placed.len(), 100);
    for (key, (partition, offset)) in placed {
        assert_eq!(topic.partition_for_key(&key), partition as u32);
        // What `brook consume` reads: the record at that offset.
        let read = topic
            .partition(partition as u32)
            .unwrap()
            .read(offset as u64, ReadLimit::records(1))
            .unwrap();
        assert_eq!(read[0].key.as_deref(), Some(&key[..]));
        let i = std::str::from_utf8(&key)
            .unwrap()
            .strip_prefix("kafka-")
            .unwrap();
        assert_eq!(
            read[0].value.as_deref(),
            Some(format!("from-kafka-{i}").as_bytes())
        );
    }
}
