//! Transactions through Kafka's APIs with librdkafka's transactional producer: committed
//! records are visible to read_committed consumers and aborted ones are not, offsets sent
//! to a transaction commit with it, and a second producer with the same transactional id
//! fences the first.

mod common;

use std::time::Duration;

use common::{Deliveries, TestBroker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

const T: Duration = Duration::from_secs(30);

fn txn_producer(broker: &TestBroker, id: &str) -> ThreadedProducer<Deliveries> {
    let producer: ThreadedProducer<Deliveries> = broker
        .client_config()
        .set("transactional.id", id)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "20000")
        .create_with_context(Deliveries::default())
        .unwrap();
    producer.init_transactions(T).unwrap();
    producer
}

fn send(producer: &ThreadedProducer<Deliveries>, topic: &str, values: &[String]) {
    for v in values {
        producer
            .send(BaseRecord::<str, str>::to(topic).key(v).payload(v))
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// Every value of `topic` partition 0 from offset 0 at `isolation`, reading until nothing
/// new arrives for a second; and the position reached.
fn read(broker: &TestBroker, topic: &str, isolation: &str) -> (Vec<String>, i64) {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", "txn-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let mut idle = 0;
    while idle < 10 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle = 0;
                out.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
            }
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => idle += 1,
        }
    }
    let position = consumer
        .position()
        .unwrap()
        .find_partition(topic, 0)
        .map(|p| p.offset().to_raw().unwrap_or(-1))
        .unwrap_or(-1);
    (out, position)
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[test]
fn read_committed_consumers_see_committed_transactions_only() {
    let broker = TestBroker::start();
    let topic = "txn-visible";
    broker
        .log
        .create_topic(topic, brook_log::TopicConfig::new(1))
        .unwrap();
    let producer = txn_producer(&broker, "writer-1");

    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("first", 10));
    producer.commit_transaction(T).unwrap();

    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("aborted", 7));
    producer.flush(T).unwrap();
    producer.abort_transaction(T).unwrap();

    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("second", 5));
    producer.commit_transaction(T).unwrap();
    assert!(producer.context().failed.lock().unwrap().is_empty());

    let mut expected = values("first", 10);
    expected.extend(values("second", 5));
    let (committed, position) = read(&broker, topic, "read_committed");
    assert_eq!(committed, expected);
    // Past the last commit marker: the consumer is caught up, not stuck before a marker.
    let end = broker
        .log
        .topic(topic)
        .unwrap()
        .partition(0)
        .unwrap()
        .end_offset();
    assert_eq!(position, end as i64, "read_committed position at the end");

    let (everything, _) = read(&broker, topic, "read_uncommitted");
    let mut all = values("first", 10);
    all.extend(values("aborted", 7));
    all.extend(values("second", 5));
    assert_eq!(everything, all);
}

#[test]
fn an_open_transaction_is_invisible_until_committed() {
    let broker = TestBroker::start();
    let topic = "txn-open";
    broker
        .log
        .create_topic(topic, brook_log::TopicConfig::new(1))
        .unwrap();
    let producer = txn_producer(&broker, "writer-open");
    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("pending", 4));
    producer.flush(T).unwrap();
    let (seen, _) = read(&broker, topic, "read_committed");
    assert!(
        seen.is_empty(),
        "read_committed saw an open transaction: {seen:?}"
    );
    producer.commit_transaction(T).unwrap();
    let (seen, _) = read(&broker, topic, "read_committed");
    assert_eq!(seen, values("pending", 4));
}

#[test]
fn offsets_sent_to_a_transaction_commit_with_it() {
    let broker = TestBroker::start();
    let topic = "txn-offsets";
    broker
        .log
        .create_topic(topic, brook_log::TopicConfig::new(1))
        .unwrap();
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", "txn-group")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer.group_metadata().unwrap();
    let producer = txn_producer(&broker, "writer-offsets");
    let offsets = |o: i64| {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Offset(o))
            .unwrap();
        tpl
    };

    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("x", 3));
    producer
        .send_offsets_to_transaction(&offsets(42), &metadata, T)
        .unwrap();
    producer.abort_transaction(T).unwrap();
    assert_eq!(broker.log.committed_offset("txn-group", topic, 0), None);

    producer.begin_transaction().unwrap();
    send(&producer, topic, &values("y", 3));
    producer
        .send_offsets_to_transaction(&offsets(7), &metadata, T)
        .unwrap();
    producer.commit_transaction(T).unwrap();
    assert_eq!(broker.log.committed_offset("txn-group", topic, 0), Some(7));
}

#[test]
fn a_new_producer_with_the_same_transactional_id_fences_the_old_one() {
    let broker = TestBroker::start();
    let topic = "txn-fence";
    broker
        .log
        .create_topic(topic, brook_log::TopicConfig::new(1))
        .unwrap();
    let old = txn_producer(&broker, "writer-fenced");
    old.begin_transaction().unwrap();
    send(&old, topic, &values("old", 3));
    old.flush(T).unwrap();

    // The new incarnation aborts the old one's open transaction.
    let new = txn_producer(&broker, "writer-fenced");
    new.begin_transaction().unwrap();
    send(&new, topic, &values("new", 2));
    new.commit_transaction(T).unwrap();

    let err = old
        .commit_transaction(T)
        .expect_err("a fenced producer cannot commit");
    assert!(
        err.to_string().to_lowercase().contains("fenc") || err.to_string().contains("epoch"),
        "{err}"
    );
    let (seen, _) = read(&broker, topic, "read_committed");
    assert_eq!(seen, values("new", 2));
}
