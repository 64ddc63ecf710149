//! txn.rs owns Kafka's transactional APIs over the log's transactions
//! ([`brook_log::Producer`]): InitProducerId with a transactional id (fences the id's
//! previous incarnation and ends its open transaction), AddPartitionsToTxn and
//! AddOffsetsToTxn (begin the transaction; partitions join it with their first write),
//! transactional Produce batches (appended with the client's sequence numbers, so retries
//! are written once), TxnOffsetCommit (group offsets that commit with the transaction) and
//! EndTxn (commit or abort: markers on every partition written, offsets applied on commit).
//! The log persists the coordinator state, so a restarted broker finishes open
//! transactions; the map from producer id to handle is in memory, and a client whose
//! producer id the broker no longer knows gets INVALID_PRODUCER_ID_MAPPING and
//! re-initialises. Transaction timeouts are not enforced (an abandoned transaction stays
//! open, holding back read_committed readers, until its id is initialised again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use brook_log::{LogError, Producer, Record, Topic};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, AddPartitionsToTxnRequest,
    AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProducerId, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};

use crate::broker::{code, log_error_code, Broker};

/// One transactional id's current incarnation.
struct Session {
    transactional_id: String,
    producer: Producer,
    /// How the last transaction ended (true = committed), so a retried EndTxn whose answer
    /// was lost is acknowledged instead of refused.
    last_end: Mutex<Option<bool>>,
}

/// The transactional producers this broker serves, by producer id.
#[derive(Default)]
pub struct Transactions {
    by_pid: Mutex<HashMap<i64, Arc<Session>>>,
}

impl Transactions {
    /// The session of `producer_id` if `transactional_id` (when given) and `epoch` match:
    /// otherwise Kafka's error code for the mismatch.
    fn session(
        &self,
        producer_id: i64,
        epoch: i16,
        transactional_id: Option<&str>,
    ) -> Result<Arc<Session>, i16> {
        let session = self
            .by_pid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&producer_id)
            .cloned()
            .ok_or(code::INVALID_PRODUCER_ID_MAPPING)?;
        if transactional_id.is_some_and(|id| id != session.transactional_id) {
            return Err(code::INVALID_PRODUCER_ID_MAPPING);
        }
        if epoch != session.producer.epoch() {
            return Err(if epoch < session.producer.epoch() {
                code::PRODUCER_FENCED
            } else {
                code::INVALID_PRODUCER_EPOCH
            });
        }
        Ok(session)
    }
}

/// Kafka's code for a log error met by a transactional operation.
fn txn_error_code(e: &LogError) -> i16 {
    match e {
        LogError::ProducerFenced { .. } => code::PRODUCER_FENCED,
        LogError::OutOfOrderSequence { .. } => code::OUT_OF_ORDER_SEQUENCE_NUMBER,
        LogError::InvalidTxnState { .. } => code::INVALID_TXN_STATE,
        e => log_error_code(e),
    }
}

/// Begins the session's transaction unless one is open (AddPartitionsToTxn and
/// AddOffsetsToTxn start it, as in Kafka).
fn ensure_begun(session: &Session) -> Result<(), i16> {
    if session.producer.in_transaction() {
        return Ok(());
    }
    session.producer.begin().map_err(|e| txn_error_code(&e))
}

/// InitProducerId for a transactional id (the caller serves the plain idempotent case).
pub async fn init_producer_id(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let id = request
        .transactional_id
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    let failed = |code| {
        InitProducerIdResponse::default()
            .with_error_code(code)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if id.is_empty() {
        return failed(code::INVALID_REQUEST);
    }
    let log = broker.log.clone();
    let init_id = id.clone();
    // Fencing writes abort markers and fsyncs the coordinator topic: off the async threads.
    let producer = match tokio::task::spawn_blocking(move || log.init_transactions(&init_id)).await
    {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            tracing::warn!(transactional_id = %id, error = %e, "kafka: InitProducerId failed");
            return failed(txn_error_code(&e));
        }
        Err(_) => return failed(code::UNKNOWN_SERVER_ERROR),
    };
    let (pid, epoch) = (producer.producer_id(), producer.epoch());
    let session = Arc::new(Session {
        transactional_id: id.clone(),
        producer,
        last_end: Mutex::new(None),
    });
    let mut by_pid = broker
        .transactions
        .by_pid
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    // The id's older incarnation (fenced now) may hold a different producer id.
    by_pid.retain(|_, s| s.transactional_id != id);
    by_pid.insert(pid, session);
    InitProducerIdResponse::default()
        .with_error_code(code::NONE)
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
}

pub fn add_partitions(
    broker: &Arc<Broker>,
    request: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let session = broker.transactions.session(
        request.v3_and_below_producer_id.0,
        request.v3_and_below_producer_epoch,
        Some(&request.v3_and_below_transactional_id.0),
    );
    let begun = session.and_then(|s| ensure_begun(&s));
    let results = request
        .v3_and_below_topics
        .into_iter()
        .map(|t| {
            let topic = broker.log.topic(&t.name.0);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let error = match (&begun, &topic) {
                        (Err(code), _) => *code,
                        (Ok(()), Err(e)) => log_error_code(e),
                        (Ok(()), Ok(topic)) if p < 0 || p as u32 >= topic.partition_count() => {
                            code::UNKNOWN_TOPIC_OR_PARTITION
                        }
                        (Ok(()), Ok(_)) => code::NONE,
                    };
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(error)
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name)
                .with_results_by_partition(partitions)
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}

pub fn add_offsets(
    broker: &Arc<Broker>,
    request: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let error = match broker.transactions.session(
        request.producer_id.0,
        request.producer_epoch,
        Some(&request.transactional_id.0),
    ) {
        Ok(session) => ensure_begun(&session).err().unwrap_or(code::NONE),
        Err(code) => code,
    };
    AddOffsetsToTxnResponse::default().with_error_code(error)
}

pub async fn txn_offset_commit(
    broker: &Arc<Broker>,
    request: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let session = broker.transactions.session(
        request.producer_id.0,
        request.producer_epoch,
        Some(&request.transactional_id.0),
    );
    let group = request.group_id.0.to_string();
    let offsets: Vec<(String, u32, u64)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.partition_index >= 0 && p.committed_offset >= 0)
                .map(|p| {
                    (
                        t.name.0.to_string(),
                        p.partition_index as u32,
                        p.committed_offset as u64,
                    )
                })
        })
        .collect();
    let error = match session {
        Err(code) => code,
        Ok(session) if !session.producer.in_transaction() => code::INVALID_TXN_STATE,
        Ok(session) => {
            // Offsets are records of the offsets topic written inside the transaction.
            match tokio::task::spawn_blocking(move || {
                session.producer.send_offsets(&group, &offsets)
            })
            .await
            {
                Ok(Ok(())) => code::NONE,
                Ok(Err(e)) => txn_error_code(&e),
                Err(_) => code::UNKNOWN_SERVER_ERROR,
            }
        }
    };
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let error = if p.partition_index < 0 || p.committed_offset < 0 {
                        code::INVALID_REQUEST
                    } else {
                        error
                    };
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error)
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

pub async fn end(broker: &Arc<Broker>, request: EndTxnRequest) -> EndTxnResponse {
    let respond = |code| {
        EndTxnResponse::default()
            .with_error_code(code)
            .with_producer_id(request.producer_id)
            .with_producer_epoch(request.producer_epoch)
    };
    let session = match broker.transactions.session(
        request.producer_id.0,
        request.producer_epoch,
        Some(&request.transactional_id.0),
    ) {
        Ok(s) => s,
        Err(code) => return respond(code),
    };
    let commit = request.committed;
    let ended = tokio::task::spawn_blocking(move || {
        if !session.producer.in_transaction() {
            // A retry of the EndTxn that ended the last transaction is acknowledged again.
            let last = *session.last_end.lock().unwrap_or_else(|e| e.into_inner());
            return if last == Some(commit) {
                code::NONE
            } else {
                code::INVALID_TXN_STATE
            };
        }
        let result = if commit {
            session.producer.commit()
        } else {
            session.producer.abort()
        };
        match result {
            Ok(()) => {
                *session.last_end.lock().unwrap_or_else(|e| e.into_inner()) = Some(commit);
                code::NONE
            }
            Err(e) => {
                tracing::warn!(transactional_id = %session.transactional_id, error = %e, "kafka: EndTxn failed");
                txn_error_code(&e)
            }
        }
    })
    .await
    .unwrap_or(code::UNKNOWN_SERVER_ERROR);
    respond(ended)
}

/// Appends a transactional batch of `producer_id` with its first sequence number: its base
/// offset, or (error code, message).
pub fn append(
    broker: &Broker,
    topic: &Topic,
    partition: u32,
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    records: &[Record],
) -> Result<u64, (i16, String)> {
    let session = broker
        .transactions
        .session(producer_id, epoch, None)
        .map_err(|code| {
            (
                code,
                format!("producer id {producer_id} epoch {epoch} is not a current transactional producer"),
            )
        })?;
    if !session.producer.in_transaction() {
        return Err((
            code::INVALID_TXN_STATE,
            "a transactional batch outside a transaction (AddPartitionsToTxn first)".into(),
        ));
    }
    session
        .producer
        .append_with_sequence(topic, partition, base_sequence, records)
        .map(|info| info.base_offset)
        .map_err(|e| (txn_error_code(&e), e.to_string()))
}
