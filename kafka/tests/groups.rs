//! Consumer groups through the classic protocol with librdkafka's own assignors: three
//! members join and leave while records keep arriving; with offsets committed after each
//! record, nothing is lost and nothing is read twice, and the group's offsets are the log's.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use brook_log::TopicConfig;
use common::{producer, TestBroker};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, Producer};

const TOPIC: &str = "events";
const PARTITIONS: u32 = 6;

#[derive(Default)]
struct Seen {
    records: Mutex<Vec<(i32, i64, String)>>,
    commit_failures: Mutex<Vec<String>>,
}

struct MemberHandle {
    stop: Arc<AtomicBool>,
    assigned: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl MemberHandle {
    fn leave(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
    }
}

/// A member reading `TOPIC`. `auto_commit`: offsets stored after each record and committed
/// by librdkafka (on its timer and on revocation); otherwise each record is committed
/// synchronously before the next poll.
fn member(
    broker: &TestBroker,
    name: &str,
    assignor: &str,
    auto_commit: bool,
    seen: Arc<Seen>,
) -> MemberHandle {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("enable.auto.commit", auto_commit.to_string())
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", "100")
        .set("group.id", format!("group-{assignor}"))
        .set("client.id", name)
        .set("partition.assignment.strategy", assignor)
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "300")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[TOPIC]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let assigned = Arc::new(AtomicUsize::new(0));
    let (stop2, assigned2, name) = (stop.clone(), assigned.clone(), name.to_string());
    let thread = std::thread::spawn(move || {
        while !stop2.load(Ordering::SeqCst) {
            match consumer.poll(Duration::from_millis(50)) {
                Some(Ok(m)) => {
                    seen.records
                        .lock()
                        .unwrap()
                        .push((m.partition(), m.offset(), name.clone()));
                    if auto_commit {
                        // Stored after processing; librdkafka commits stored offsets on its
                        // timer and, before giving a partition up, on revocation.
                        if let Err(e) = consumer.store_offset_from_message(&m) {
                            seen.commit_failures
                                .lock()
                                .unwrap()
                                .push(format!("{name}: store: {e}"));
                        }
                    } else if let Err(e) = consumer.commit_message(&m, CommitMode::Sync) {
                        seen.commit_failures
                            .lock()
                            .unwrap()
                            .push(format!("{name}: {e}"));
                    }
                }
                Some(Err(e)) => seen
                    .commit_failures
                    .lock()
                    .unwrap()
                    .push(format!("{name}: poll: {e}")),
                None => {}
            }
            let count = consumer.assignment().map(|a| a.count()).unwrap_or(0);
            assigned2.store(count, Ordering::SeqCst);
        }
        // Dropping the consumer closes it: its partitions are revoked and it leaves the group.
        drop(consumer);
    });
    MemberHandle {
        stop,
        assigned,
        thread: Some(thread),
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn group_of_three_members(assignor: &str, auto_commit: bool) {
    let broker = TestBroker::start();
    broker
        .log
        .create_topic(TOPIC, TopicConfig::new(PARTITIONS))
        .unwrap();
    let seen = Arc::new(Seen::default());
    let p = producer(&broker, &[("partitioner", "murmur2_random")]);
    let mut produced = 0usize;
    let mut produce = |n: usize| {
        for _ in 0..n {
            p.send(
                BaseRecord::to(TOPIC)
                    .key(&format!("k{produced}"))
                    .payload(&format!("v{produced}")),
            )
            .unwrap();
            produced += 1;
        }
        p.flush(Duration::from_secs(20)).unwrap();
        produced
    };
    let count = |seen: &Seen| seen.records.lock().unwrap().len();

    let a = member(&broker, "a", assignor, auto_commit, seen.clone());
    let total = produce(300);
    wait_until("a to read 300", Duration::from_secs(30), || {
        count(&seen) >= total
    });

    // Two more join while records keep coming.
    let b = member(&broker, "b", assignor, auto_commit, seen.clone());
    let c = member(&broker, "c", assignor, auto_commit, seen.clone());
    let total = produce(150);
    wait_until(
        "three members sharing the partitions",
        Duration::from_secs(40),
        || {
            [&a, &b, &c]
                .iter()
                .all(|m| m.assigned.load(Ordering::SeqCst) > 0)
                && [&a, &b, &c]
                    .iter()
                    .map(|m| m.assigned.load(Ordering::SeqCst))
                    .sum::<usize>()
                    == PARTITIONS as usize
        },
    );
    let total = produce(150).max(total);
    wait_until("600 read", Duration::from_secs(30), || {
        count(&seen) >= total
    });

    // One leaves; the others take its partitions over from its committed offsets.
    b.leave();
    let total = produce(300);
    wait_until("900 read", Duration::from_secs(40), || {
        count(&seen) >= total
    });
    c.leave();
    let total = produce(300);
    wait_until("1200 read", Duration::from_secs(40), || {
        count(&seen) >= total
    });
    std::thread::sleep(Duration::from_millis(500));
    a.leave();

    let records = seen.records.lock().unwrap();
    let mut distinct = BTreeSet::new();
    for (partition, offset, member) in records.iter() {
        assert!(
            distinct.insert((*partition, *offset)),
            "{assignor}: record {partition}/{offset} read twice (second time by {member}); commit failures: {:?}",
            seen.commit_failures.lock().unwrap()
        );
    }
    assert_eq!(distinct.len(), 1200, "{assignor}: every record read once");
    let members: BTreeSet<&str> = records.iter().map(|(_, _, m)| m.as_str()).collect();
    assert_eq!(members.len(), 3, "{assignor}: every member read something");
    assert!(
        seen.commit_failures.lock().unwrap().is_empty(),
        "{:?}",
        seen.commit_failures
    );
    // The group's committed offsets are the log's: every partition committed to its end.
    let topic = broker.log.topic(TOPIC).unwrap();
    for p in topic.partitions() {
        assert_eq!(
            broker
                .log
                .committed_offset(&format!("group-{assignor}"), TOPIC, p.id()),
            Some(p.end_offset()),
            "{assignor}: partition {}",
            p.id()
        );
    }
}

#[test]
fn range_assignor_group_loses_nothing_and_reads_nothing_twice() {
    group_of_three_members("range", false);
}

#[test]
fn roundrobin_assignor_group_loses_nothing_and_reads_nothing_twice() {
    group_of_three_members("roundrobin", false);
}

#[test]
fn cooperative_sticky_group_loses_nothing_and_reads_nothing_twice() {
    // Members keep consuming their retained partitions during a cooperative rebalance, so a
    // synchronous commit can race the generation change and be refused (as Kafka refuses
    // it); librdkafka's own commit on revocation is the way such a consumer commits.
    group_of_three_members("cooperative-sticky", true);
}

#[test]
fn range_assignor_group_with_librdkafka_auto_commit() {
    group_of_three_members("range", true);
}
