//! fetch.rs owns Fetch: reads each requested partition from the fetch offset, re-encodes the
//! records as v2 record batches, and long-polls on the log's append notification until
//! `min_bytes` are available or `max_wait_ms` passed. A fetch at `read_committed` gets only
//! records of committed transactions, below the last stable offset: the broker leaves out
//! records of open or aborted transactions rather than the client. A fetch at
//! `read_uncommitted` gets every data record up to the high watermark.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_log::{IsolationLevel, LogError, ReadLimit, StoredRecord};
use bytes::{Bytes, BytesMut};
use futures::future::select_all;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use crate::broker::{code, log_error_code, Broker};

/// One requested partition: (index, fetch offset, partition max bytes).
type Wanted = (i32, i64, i32);

/// One requested partition as read.
struct Read {
    error_code: i16,
    high_watermark: i64,
    last_stable: i64,
    log_start: i64,
    records: Option<Bytes>,
}

pub async fn handle(broker: &Arc<Broker>, request: FetchRequest, _version: i16) -> FetchResponse {
    let deadline = Instant::now() + Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let min_bytes = request.min_bytes.max(0) as usize;
    loop {
        // Subscribe before reading, so an append between the read and the wait wakes us.
        let mut receivers = subscribe(broker, &request);
        let (response, bytes, errors) = read_all(broker, &request).await;
        let now = Instant::now();
        if bytes >= min_bytes || errors || now >= deadline || receivers.is_empty() {
            return response;
        }
        let waits = receivers
            .iter_mut()
            .map(|rx| Box::pin(rx.changed()))
            .collect::<Vec<_>>();
        // Woken by an append (or the deadline): read again.
        let _ = tokio::time::timeout(deadline - now, select_all(waits)).await;
    }
}

fn subscribe(broker: &Broker, request: &FetchRequest) -> Vec<tokio::sync::watch::Receiver<u64>> {
    let mut out = Vec::new();
    for topic in &request.topics {
        if let Ok(t) = broker.log.topic(&topic.topic.0) {
            for p in &topic.partitions {
                if let Ok(partition) = t.partition(p.partition as u32) {
                    let mut rx = partition.subscribe();
                    rx.mark_unchanged();
                    out.push(rx);
                }
            }
        }
    }
    out
}

/// Reads every requested partition: the response, its record bytes and whether any
/// partition had an error (an error is answered at once, as Kafka does).
async fn read_all(broker: &Arc<Broker>, request: &FetchRequest) -> (FetchResponse, usize, bool) {
    let wanted: Vec<(TopicName, Vec<Wanted>)> = request
        .topics
        .iter()
        .map(|t| {
            (
                t.topic.clone(),
                t.partitions
                    .iter()
                    .map(|p| (p.partition, p.fetch_offset, p.partition_max_bytes))
                    .collect(),
            )
        })
        .collect();
    let max_bytes = if request.max_bytes <= 0 {
        i32::MAX
    } else {
        request.max_bytes
    } as usize;
    let isolation = if request.isolation_level == 1 {
        IsolationLevel::ReadCommitted
    } else {
        IsolationLevel::ReadUncommitted
    };
    let broker = broker.clone();
    tokio::task::spawn_blocking(move || {
        let mut total = 0usize;
        let mut errors = false;
        let responses = wanted
            .into_iter()
            .map(|(name, partitions)| {
                let topic = broker.log.topic(&name.0);
                let partitions = partitions
                    .into_iter()
                    .map(|(index, offset, partition_max)| {
                        // Kafka returns at least one batch even past max_bytes, to make progress.
                        let budget =
                            (partition_max.max(0) as usize).min(max_bytes.saturating_sub(total));
                        let read = match &topic {
                            Ok(t) => read_partition(t, index, offset, budget.max(1), isolation),
                            Err(e) => error_read(e),
                        };
                        errors |= read.error_code != code::NONE;
                        total += read.records.as_ref().map(|r| r.len()).unwrap_or(0);
                        PartitionData::default()
                            .with_partition_index(index)
                            .with_error_code(read.error_code)
                            .with_high_watermark(read.high_watermark)
                            .with_last_stable_offset(read.last_stable)
                            .with_log_start_offset(read.log_start)
                            .with_preferred_read_replica(kafka_protocol::messages::BrokerId(-1))
                            .with_records(read.records)
                    })
                    .collect();
                FetchableTopicResponse::default()
                    .with_topic(name)
                    .with_partitions(partitions)
            })
            .collect();
        (
            FetchResponse::default().with_responses(responses),
            total,
            errors,
        )
    })
    .await
    .unwrap_or_else(|_| (FetchResponse::default(), 0, true))
}

fn error_read(e: &LogError) -> Read {
    Read {
        error_code: log_error_code(e),
        high_watermark: -1,
        last_stable: -1,
        log_start: -1,
        records: None,
    }
}

fn read_partition(
    topic: &brook_log::Topic,
    index: i32,
    offset: i64,
    budget: usize,
    isolation: IsolationLevel,
) -> Read {
    let partition = match topic.partition(index.max(0) as u32) {
        Ok(p) if index >= 0 => p,
        Ok(_) => return error_read(&LogError::TopicNotFound(topic.name().to_string())),
        Err(e) => return error_read(&e),
    };
    let (start, end) = (partition.start_offset(), partition.end_offset());
    let mut read = Read {
        error_code: code::NONE,
        high_watermark: end as i64,
        last_stable: partition.last_stable_offset() as i64,
        log_start: start as i64,
        records: Some(Bytes::new()),
    };
    if offset < start as i64 || offset > end as i64 {
        read.error_code = code::OFFSET_OUT_OF_RANGE;
        read.records = None;
        return read;
    }
    if offset as u64 == end {
        return read;
    }
    match partition.read_isolated(offset as u64, ReadLimit::bytes(budget), isolation) {
        Ok(batch) => match encode(&batch.records).and_then(|mut bytes| {
            // Offsets the read moved past without records (transaction markers, aborted
            // records): a control batch at the last of them moves the client past them too.
            let after = batch.records.last().map_or(offset as u64, |r| r.offset + 1);
            if batch.next_offset > after {
                let marker = encode_skip_marker(batch.next_offset - 1)?;
                let mut both = BytesMut::with_capacity(bytes.len() + marker.len());
                both.extend_from_slice(&bytes);
                both.extend_from_slice(&marker);
                bytes = both.freeze();
            }
            Ok(bytes)
        }) {
            Ok(bytes) => read.records = Some(bytes),
            Err(message) => {
                tracing::warn!(topic = topic.name(), partition = index, %message, "kafka fetch: cannot encode records");
                read.error_code = code::UNKNOWN_SERVER_ERROR;
                read.records = None;
            }
        },
        Err(e) => {
            tracing::warn!(topic = topic.name(), partition = index, error = %e, "kafka fetch: read failed");
            return error_read(&e);
        }
    }
    read
}

/// A control batch holding one commit marker at `offset`. Clients skip control records
/// (librdkafka and the Java client ignore commit markers) and go on from `offset + 1`: it
/// stands for a run of offsets the broker left out (markers, records of aborted
/// transactions, which read_committed readers get filtered here rather than client-side).
fn encode_skip_marker(offset: u64) -> Result<Bytes, String> {
    let marker = WireRecord {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: offset as i64,
        sequence: -1,
        timestamp: 0,
        // Kafka's control record: key (version 0, type 1 = commit), value (version 0,
        // coordinator epoch 0).
        key: Some(Bytes::from_static(&[0, 0, 0, 1])),
        value: Some(Bytes::from_static(&[0, 0, 0, 0, 0, 0])),
        headers: Default::default(),
    };
    let mut out = BytesMut::with_capacity(96);
    RecordBatchEncoder::encode(
        &mut out,
        std::iter::once(&marker),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(out.freeze())
}

/// Encodes stored records as one uncompressed v2 record batch.
pub fn encode(records: &[StoredRecord]) -> Result<Bytes, String> {
    let Some(first) = records.first() else {
        return Ok(Bytes::new());
    };
    let base = first.offset as i64;
    let wire: Vec<WireRecord> = records
        .iter()
        .map(|r| WireRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: r.offset as i64,
            // The encoder starts a new batch where offset - sequence changes; keeping it
            // constant (gaps left by compaction included) makes one batch whose base
            // sequence is -1 (no producer).
            sequence: (r.offset as i64 - base - 1) as i32,
            timestamp: r.timestamp,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string().into(), v.clone()))
                .collect(),
        })
        .collect();
    let mut out = BytesMut::with_capacity(records.len() * 64);
    RecordBatchEncoder::encode(
        &mut out,
        wire.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(out.freeze())
}
