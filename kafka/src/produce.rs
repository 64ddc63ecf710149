//! produce.rs owns Produce: record batches (any codec) decoded and appended to the log with
//! key, value, timestamp and headers; idempotent producers' sequence numbers checked per
//! partition so a retried batch is acknowledged with its first offsets instead of doubled.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use brook_log::{Bytes, LogError, Record, Topic};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{RecordBatchDecoder, RecordSet};

use crate::broker::{code, log_error_code, Broker};

/// Batches remembered per producer and partition for duplicate detection (Kafka keeps 5,
/// the most a producer has in flight).
const REMEMBERED_BATCHES: usize = 5;

/// Sequence state of idempotent producers, per (producer id, topic, partition). In memory:
/// a restarted broker hands out new producer ids, so old state is never needed.
#[derive(Default)]
pub struct ProducerStates {
    inner: Mutex<HashMap<(i64, String, u32), ProducerPartition>>,
}

struct ProducerPartition {
    epoch: i16,
    /// (first sequence, last sequence, base offset) of the last batches appended.
    batches: VecDeque<(i32, i32, u64)>,
}

/// What the sequence check decided for one batch.
enum SequenceCheck {
    Append,
    Duplicate(u64),
    Refuse(i16, String),
}

impl ProducerStates {
    fn check(&self, key: &(i64, String, u32), epoch: i16, first: i32, last: i32) -> SequenceCheck {
        let states = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(state) = states.get(key) else {
            return SequenceCheck::Append;
        };
        if epoch < state.epoch {
            return SequenceCheck::Refuse(
                code::INVALID_PRODUCER_EPOCH,
                format!("producer epoch {epoch} is older than {}", state.epoch),
            );
        }
        if epoch > state.epoch {
            return SequenceCheck::Append;
        }
        if let Some(&(_, _, base)) = state
            .batches
            .iter()
            .find(|(f, l, _)| *f == first && *l == last)
        {
            return SequenceCheck::Duplicate(base);
        }
        let expected = state
            .batches
            .back()
            .map(|(_, l, _)| l.wrapping_add(1) & i32::MAX)
            .unwrap_or(0);
        if first != expected {
            return SequenceCheck::Refuse(
                code::OUT_OF_ORDER_SEQUENCE_NUMBER,
                format!("batch starts at sequence {first}, expected {expected}"),
            );
        }
        SequenceCheck::Append
    }

    fn record(&self, key: (i64, String, u32), epoch: i16, first: i32, last: i32, base: u64) {
        let mut states = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let state = states.entry(key).or_insert_with(|| ProducerPartition {
            epoch,
            batches: VecDeque::new(),
        });
        if state.epoch != epoch {
            state.epoch = epoch;
            state.batches.clear();
        }
        if state.batches.len() == REMEMBERED_BATCHES {
            state.batches.pop_front();
        }
        state.batches.push_back((first, last, base));
    }
}

pub async fn handle(
    broker: &Arc<Broker>,
    request: ProduceRequest,
    _version: i16,
) -> ProduceResponse {
    let broker = broker.clone();
    // Appends write (and may fsync) files: off the async threads.
    let responses = tokio::task::spawn_blocking(move || {
        request
            .topic_data
            .into_iter()
            .map(|topic_data| {
                let name = topic_data.name.0.to_string();
                let topic = broker.topic(&name, false);
                let partitions = topic_data
                    .partition_data
                    .into_iter()
                    .map(|pd| {
                        let (error_code, base_offset, message) = match &topic {
                            Ok(topic) => produce_partition(&broker, topic, pd.index, pd.records),
                            Err(e) => (log_error_code(e), -1, Some(e.to_string())),
                        };
                        let log_start = topic
                            .as_ref()
                            .ok()
                            .and_then(|t| t.partition(pd.index as u32).ok())
                            .map(|p| p.start_offset() as i64)
                            .unwrap_or(-1);
                        PartitionProduceResponse::default()
                            .with_index(pd.index)
                            .with_error_code(error_code)
                            .with_base_offset(base_offset)
                            .with_log_append_time_ms(-1)
                            .with_log_start_offset(log_start)
                            .with_error_message(message.map(StrBytes::from_string))
                    })
                    .collect();
                TopicProduceResponse::default()
                    .with_name(topic_data.name)
                    .with_partition_responses(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    ProduceResponse::default().with_responses(responses)
}

/// Appends one partition's batches: (error code, base offset of the first batch, message).
fn produce_partition(
    broker: &Broker,
    topic: &Arc<Topic>,
    index: i32,
    records: Option<Bytes>,
) -> (i16, i64, Option<String>) {
    if index < 0 || index as u32 >= topic.partition_count() {
        return (code::UNKNOWN_TOPIC_OR_PARTITION, -1, None);
    }
    let partition = index as u32;
    let mut bytes = records.unwrap_or_default();
    let sets = match RecordBatchDecoder::decode_all(&mut bytes) {
        Ok(sets) => sets,
        Err(e) => {
            return (
                code::CORRUPT_MESSAGE,
                -1,
                Some(format!("cannot decode record batch: {e}")),
            )
        }
    };
    let mut first_offset = None;
    for set in sets {
        match append_batch(broker, topic, partition, set) {
            Ok(Some(base)) => {
                first_offset.get_or_insert(base);
            }
            Ok(None) => {}
            Err((code, message)) => return (code, -1, Some(message)),
        }
    }
    (
        code::NONE,
        first_offset.map(|o| o as i64).unwrap_or(-1),
        None,
    )
}

/// Appends one decoded batch (or recognises it as a retry): its base offset.
fn append_batch(
    broker: &Broker,
    topic: &Arc<Topic>,
    partition: u32,
    set: RecordSet,
) -> Result<Option<u64>, (i16, String)> {
    let Some(first) = set.records.first() else {
        return Ok(None);
    };
    if first.control {
        return Ok(None);
    }
    let (producer_id, epoch, first_seq) = (first.producer_id, first.producer_epoch, first.sequence);
    let transactional = first.transactional;
    let last_seq = set.records.last().map(|r| r.sequence).unwrap_or(first_seq);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let records: Vec<Record> = set
        .records
        .into_iter()
        .map(|r| Record {
            key: r.key,
            value: r.value,
            timestamp: if r.timestamp < 0 { now } else { r.timestamp },
            headers: r
                .headers
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        })
        .collect();
    if transactional {
        return crate::txn::append(
            broker,
            topic,
            partition,
            producer_id,
            epoch,
            first_seq,
            &records,
        )
        .map(Some);
    }
    let idempotent = producer_id >= 0 && first_seq >= 0;
    let key = (producer_id, topic.name().to_string(), partition);
    if idempotent {
        match broker.producers.check(&key, epoch, first_seq, last_seq) {
            SequenceCheck::Append => {}
            SequenceCheck::Duplicate(base) => return Ok(Some(base)),
            SequenceCheck::Refuse(code, message) => return Err((code, message)),
        }
    }
    let info = topic
        .append(partition, &records)
        .map_err(|e: LogError| (log_error_code(&e), e.to_string()))?;
    if idempotent {
        broker
            .producers
            .record(key, epoch, first_seq, last_seq, info.base_offset);
    }
    Ok(Some(info.base_offset))
}
