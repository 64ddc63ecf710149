//! Topics written by Kafka clients are ordinary Brook topics: a librdkafka producer feeds a
//! topic through the listener, Brook's engine (over the same log) runs a CREATE STREAM and
//! persistent queries over it, and a librdkafka consumer reads the queries' sinks — every
//! key on the partition Kafka's (murmur2) partitioner picks, as the producer placed it.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use brook_engine::runtime::{Engine, EngineOptions};
use brook_kafka::KafkaConfig;
use brook_log::TopicConfig;
use common::{consume, producer, TestBroker};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};

const USERS: usize = 30;
const CLICKS: usize = 300;

#[test]
fn kafka_clients_feed_brook_queries_and_read_their_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        processing_log_stream: false,
        fsync_state: false,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir.path(), options).unwrap();
    let broker = TestBroker::serve(engine.log().clone(), KafkaConfig::default());
    engine
        .log()
        .create_topic("clicks", TopicConfig::new(3))
        .unwrap();

    // Java's partitioner (murmur2), which Brook's own writes follow.
    let p = producer(
        &broker,
        &[("partitioner", "murmur2_random"), ("acks", "all")],
    );
    for i in 0..CLICKS {
        let key = format!("user-{}", i % USERS);
        let value = format!(r#"{{"page": "/p{i}", "ms": {i}}}"#);
        p.send(BaseRecord::to("clicks").key(&key).payload(&value))
            .unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
    let deliveries = p.context();
    assert_eq!(
        deliveries.ok.load(std::sync::atomic::Ordering::SeqCst),
        CLICKS
    );
    let placed: HashMap<Vec<u8>, i32> = deliveries
        .placed
        .lock()
        .unwrap()
        .iter()
        .map(|(k, (partition, _))| (k.clone(), *partition))
        .collect();
    assert!(
        placed
            .values()
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1,
        "keys spread over partitions"
    );

    engine
        .execute(
            "CREATE STREAM clicks (user STRING KEY, page STRING, ms INT)
               WITH (kafka_topic='clicks', value_format='JSON');
             SET 'auto.offset.reset'='earliest';
             CREATE STREAM even_clicks AS SELECT user, page, ms FROM clicks WHERE ms % 2 = 0;
             CREATE TABLE clicks_per_user AS SELECT user, COUNT(*) AS n FROM clicks GROUP BY user;",
        )
        .unwrap();
    assert!(engine.wait_until_idle(Duration::from_secs(60)).unwrap());

    // The stream's sink, read by a Kafka consumer group.
    let even = consume(&broker, "EVEN_CLICKS", "reader-even", CLICKS / 2);
    assert_eq!(even.len(), CLICKS / 2);
    for m in &even {
        let key = m.key().unwrap().to_vec();
        let value: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        let ms = value["MS"].as_i64().unwrap();
        assert_eq!(ms % 2, 0);
        assert_eq!(value["PAGE"], format!("/p{ms}"));
        assert_eq!(
            m.partition(),
            placed[&key],
            "{} is on the partition the producer's partitioner picked",
            String::from_utf8_lossy(&key)
        );
    }

    // The table's changelog: the last update of each user is its count.
    let updates = consume(&broker, "CLICKS_PER_USER", "reader-counts", USERS);
    let mut last: HashMap<Vec<u8>, i64> = HashMap::new();
    for m in &updates {
        let key = m.key().unwrap().to_vec();
        assert_eq!(m.partition(), placed[&key]);
        let value: serde_json::Value = serde_json::from_slice(m.payload().unwrap()).unwrap();
        last.insert(key, value["N"].as_i64().unwrap());
    }
    assert_eq!(last.len(), USERS);
    assert!(
        last.values().all(|n| *n == (CLICKS / USERS) as i64),
        "{last:?}"
    );
}
