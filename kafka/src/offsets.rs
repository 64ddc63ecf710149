//! offsets.rs owns ListOffsets (earliest, latest, by timestamp) and OffsetCommit /
//! OffsetFetch over the log's durable consumer-group offsets (the ones `brook consume` and
//! the engine use). A commit by a group member is checked against the group's generation.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::{code, log_error_code, Broker};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn list_offsets(
    broker: &Arc<Broker>,
    request: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let broker = broker.clone();
    // read_committed clients see the last stable offset as the latest.
    let isolation = if request.isolation_level == 1 {
        brook_log::IsolationLevel::ReadCommitted
    } else {
        brook_log::IsolationLevel::ReadUncommitted
    };
    let topics = tokio::task::spawn_blocking(move || {
        request
            .topics
            .into_iter()
            .map(|t| {
                let topic = broker.log.topic(&t.name.0);
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let answer = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_timestamp(-1)
                            .with_offset(-1);
                        let partition = match &topic {
                            Ok(t) if p.partition_index >= 0 => {
                                t.partition(p.partition_index as u32)
                            }
                            Ok(t) => t.partition(u32::MAX),
                            Err(e) => return answer.with_error_code(log_error_code(e)),
                        };
                        let partition = match partition {
                            Ok(p) => p,
                            Err(e) => return answer.with_error_code(log_error_code(&e)),
                        };
                        match p.timestamp {
                            LATEST => {
                                answer.with_offset(partition.end_offset_for(isolation) as i64)
                            }
                            EARLIEST => answer.with_offset(partition.start_offset() as i64),
                            MAX_TIMESTAMP => answer.with_error_code(code::UNSUPPORTED_VERSION),
                            ts if ts < 0 => answer.with_error_code(code::INVALID_REQUEST),
                            ts => match partition.offset_for_timestamp(ts) {
                                Ok(Some(offset)) => {
                                    let stamp = partition
                                        .read(offset, brook_log::ReadLimit::records(1))
                                        .ok()
                                        .and_then(|r| r.first().map(|r| r.timestamp))
                                        .unwrap_or(ts);
                                    answer.with_offset(offset as i64).with_timestamp(stamp)
                                }
                                Ok(None) => answer,
                                Err(e) => answer.with_error_code(log_error_code(&e)),
                            },
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    ListOffsetsResponse::default().with_topics(topics)
}

pub async fn commit(broker: &Arc<Broker>, request: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = request.group_id.0.to_string();
    let group_error = broker.groups.check_commit(
        &group,
        &request.member_id,
        request.generation_id_or_member_epoch,
    );
    let mut commits = Vec::new();
    let mut topics = Vec::new();
    for t in &request.topics {
        let topic = broker.log.topic(&t.name.0);
        let partitions = t
            .partitions
            .iter()
            .map(|p| {
                let error = if group_error != code::NONE {
                    group_error
                } else {
                    match &topic {
                        Err(e) => log_error_code(e),
                        Ok(topic)
                            if p.partition_index < 0
                                || p.partition_index as u32 >= topic.partition_count() =>
                        {
                            code::UNKNOWN_TOPIC_OR_PARTITION
                        }
                        Ok(_) if p.committed_offset < 0 => code::OFFSET_OUT_OF_RANGE,
                        Ok(_) => {
                            commits.push((
                                t.name.0.to_string(),
                                p.partition_index as u32,
                                p.committed_offset as u64,
                            ));
                            code::NONE
                        }
                    }
                };
                OffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(error)
            })
            .collect::<Vec<_>>();
        topics.push(
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions),
        );
    }
    if !commits.is_empty() {
        let log = broker.log.clone();
        let written = tokio::task::spawn_blocking(move || {
            let refs: Vec<(&str, u32, u64)> = commits
                .iter()
                .map(|(t, p, o)| (t.as_str(), *p, *o))
                .collect();
            log.commit_offsets(&group, &refs).map_err(|e| {
                tracing::warn!(group, error = %e, "kafka: offset commit failed");
                log_error_code(&e)
            })
        })
        .await
        .unwrap_or(Err(code::UNKNOWN_SERVER_ERROR));
        if let Err(error) = written {
            for t in &mut topics {
                for p in &mut t.partitions {
                    if p.error_code == code::NONE {
                        p.error_code = error;
                    }
                }
            }
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}

pub fn fetch(broker: &Arc<Broker>, request: OffsetFetchRequest) -> OffsetFetchResponse {
    let group = request.group_id.0.to_string();
    let committed = broker.log.committed_offsets(&group);
    let topics: Vec<(String, Vec<i32>)> = match request.topics {
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect(),
        None => {
            let mut names: Vec<String> = committed.iter().map(|(t, _, _)| t.clone()).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|name| {
                    let parts = committed
                        .iter()
                        .filter(|(t, _, _)| *t == name)
                        .map(|(_, p, _)| *p as i32)
                        .collect();
                    (name, parts)
                })
                .collect()
        }
    };
    let topics = topics
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|p| {
                    let offset = (p >= 0)
                        .then(|| broker.log.committed_offset(&group, &name, p as u32))
                        .flatten();
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(p)
                        .with_committed_offset(offset.map(|o| o as i64).unwrap_or(-1))
                        .with_committed_leader_epoch(-1)
                        .with_metadata(Some(StrBytes::from_static_str("")))
                        .with_error_code(code::NONE)
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions)
        })
        .collect();
    OffsetFetchResponse::default()
        .with_topics(topics)
        .with_error_code(code::NONE)
}
