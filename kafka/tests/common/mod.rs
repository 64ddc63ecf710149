//! Shared by the tests: a Kafka listener over a temporary log, served from its own runtime
//! thread, and small librdkafka helpers (a producer that counts deliveries, a consumer that
//! reads a topic back).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use brook_kafka::KafkaConfig;
use brook_log::{Log, LogOptions};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::producer::{BaseProducer, DeliveryResult, ProducerContext};
use rdkafka::ClientContext;

pub struct TestBroker {
    pub addr: String,
    pub log: Arc<Log>,
    /// The log's directory, when the broker made it.
    pub dir: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestBroker {
    pub fn start() -> TestBroker {
        TestBroker::start_with(KafkaConfig::default())
    }

    pub fn start_with(config: KafkaConfig) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path(), LogOptions::default()).unwrap());
        let mut broker = TestBroker::serve(log, config);
        broker.dir = Some(dir);
        broker
    }

    /// A listener over a log someone else opened (an engine's, say).
    pub fn serve(log: Arc<Log>, config: KafkaConfig) -> TestBroker {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = log.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                brook_kafka::serve(served, listener, config, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        TestBroker {
            addr,
            log,
            dir: None,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.addr)
            .set("broker.address.family", "v4")
            .set("topic.metadata.refresh.interval.ms", "1000");
        config
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Counts a producer's deliveries and keeps the errors.
#[derive(Default)]
pub struct Deliveries {
    pub ok: AtomicUsize,
    pub failed: Mutex<Vec<String>>,
    /// (partition, offset) of every acknowledged record, by key.
    pub placed: Mutex<HashMap<Vec<u8>, (i32, i64)>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(m) => {
                self.ok.fetch_add(1, Ordering::SeqCst);
                if let Some(k) = m.key() {
                    self.placed
                        .lock()
                        .unwrap()
                        .insert(k.to_vec(), (m.partition(), m.offset()));
                }
            }
            Err((e, _)) => self.failed.lock().unwrap().push(e.to_string()),
        }
    }
}

pub fn producer(broker: &TestBroker, settings: &[(&str, &str)]) -> BaseProducer<Deliveries> {
    let mut config = broker.client_config();
    config
        .set("linger.ms", "5")
        .set("message.timeout.ms", "20000");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    config.create_with_context(Deliveries::default()).unwrap()
}

/// Reads `expected` records of `topic` with a group consumer from the beginning (or fails
/// after 30 s), then polls 300 ms more to catch records that should not be there.
pub fn consume(
    broker: &TestBroker,
    topic: &str,
    group: &str,
    expected: usize,
) -> Vec<OwnedMessage> {
    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut settle = None;
    loop {
        if out.len() >= expected && settle.is_none() {
            settle = Some(Instant::now() + Duration::from_millis(300));
        }
        if settle.is_some_and(|s| Instant::now() >= s) || Instant::now() >= deadline {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => out.push(m.detach()),
            Some(Err(e)) => panic!("consumer error: {e}"),
            None => {}
        }
    }
    out
}

pub fn header_pairs(m: &OwnedMessage) -> Vec<(String, Option<Vec<u8>>)> {
    m.headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(|v| v.to_vec())))
                .collect()
        })
        .unwrap_or_default()
}
