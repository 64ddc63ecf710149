//! admin.rs owns the admin APIs — CreateTopics, DeleteTopics, DescribeConfigs,
//! CreatePartitions — and InitProducerId (idempotent producers; transactions are not
//! supported yet and are refused).

use std::sync::Arc;

use brook_log::{LogError, TopicConfig};
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::broker::{code, log_error_code, Broker};

const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SOURCE_TOPIC_CONFIG: i8 = 1;

/// A topic's Kafka configs (the partition count is not one).
fn topic_properties(config: &TopicConfig) -> Vec<(String, String)> {
    config
        .to_properties()
        .into_iter()
        .filter(|(k, _)| k != "partitions")
        .collect()
}

fn text(s: impl Into<String>) -> Option<StrBytes> {
    Some(StrBytes::from_string(s.into()))
}

pub async fn create_topics(
    broker: &Arc<Broker>,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let broker = broker.clone();
    let results = tokio::task::spawn_blocking(move || {
        request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let result = CreatableTopicResult::default().with_name(t.name.clone());
                let partitions = match t.num_partitions {
                    -1 => broker.config.default_partitions,
                    n if n > 0 => n as u32,
                    n => {
                        return result
                            .with_error_code(code::INVALID_PARTITIONS)
                            .with_error_message(text(format!(
                                "{n} partitions: must be at least 1"
                            )))
                    }
                };
                if t.replication_factor > 1 {
                    return result
                        .with_error_code(code::INVALID_REPLICATION_FACTOR)
                        .with_error_message(text(format!(
                            "replication factor {} is larger than the one broker Brook runs",
                            t.replication_factor
                        )));
                }
                if !t.assignments.is_empty() {
                    return result
                        .with_error_code(code::INVALID_REQUEST)
                        .with_error_message(text("manual replica assignments are not supported"));
                }
                let props: Vec<(String, String)> = t
                    .configs
                    .iter()
                    .filter_map(|c| {
                        c.value
                            .as_ref()
                            .map(|v| (c.name.to_string(), v.to_string()))
                    })
                    .collect();
                let config = match TopicConfig::from_properties(partitions, &props) {
                    Ok(c) => c,
                    Err(e) => {
                        return result
                            .with_error_code(log_error_code(&e))
                            .with_error_message(text(e.to_string()))
                    }
                };
                if request.validate_only {
                    if let Err(e) = brook_log::validate_topic_name(&name) {
                        return result
                            .with_error_code(log_error_code(&e))
                            .with_error_message(text(e.to_string()));
                    }
                    if broker.log.topic(&name).is_ok() {
                        let e = LogError::TopicExists(name);
                        return result
                            .with_error_code(log_error_code(&e))
                            .with_error_message(text(e.to_string()));
                    }
                } else if let Err(e) = broker.log.create_topic(&name, config.clone()) {
                    return result
                        .with_error_code(log_error_code(&e))
                        .with_error_message(text(e.to_string()));
                }
                let configs = topic_properties(&config)
                    .into_iter()
                    .map(|(k, v)| {
                        CreatableTopicConfigs::default()
                            .with_name(StrBytes::from_string(k))
                            .with_value(text(v))
                            .with_config_source(SOURCE_TOPIC_CONFIG)
                    })
                    .collect();
                result
                    .with_error_code(code::NONE)
                    .with_num_partitions(partitions as i32)
                    .with_replication_factor(1)
                    .with_configs(Some(configs))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    CreateTopicsResponse::default().with_topics(results)
}

pub async fn delete_topics(
    broker: &Arc<Broker>,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let mut names: Vec<TopicName> = request.topic_names;
    names.extend(request.topics.into_iter().filter_map(|t| t.name));
    let broker = broker.clone();
    let responses = tokio::task::spawn_blocking(move || {
        names
            .into_iter()
            .map(|name| {
                let result = DeletableTopicResult::default().with_name(Some(name.clone()));
                match broker.log.delete_topic(&name.0) {
                    Ok(()) => result.with_error_code(code::NONE),
                    Err(e) => result
                        .with_error_code(log_error_code(&e))
                        .with_error_message(text(e.to_string())),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    DeleteTopicsResponse::default().with_responses(responses)
}

pub fn describe_configs(
    broker: &Arc<Broker>,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|r| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match r.resource_type {
                RESOURCE_TOPIC => match broker.log.topic(&r.resource_name) {
                    Ok(topic) => {
                        // Null (and, leniently, empty) asks for every config.
                        let wanted = r.configuration_keys.as_ref().filter(|k| !k.is_empty());
                        let configs = topic_properties(topic.config())
                            .into_iter()
                            .filter(|(k, _)| {
                                wanted.is_none_or(|keys| keys.iter().any(|w| w.as_str() == k))
                            })
                            .map(|(k, v)| {
                                DescribeConfigsResourceResult::default()
                                    .with_name(StrBytes::from_string(k))
                                    .with_value(text(v))
                                    .with_config_source(SOURCE_TOPIC_CONFIG)
                            })
                            .collect();
                        result.with_error_code(code::NONE).with_configs(configs)
                    }
                    Err(e) => result
                        .with_error_code(log_error_code(&e))
                        .with_error_message(text(e.to_string())),
                },
                // No broker settings are configurable: an empty list.
                RESOURCE_BROKER => result.with_error_code(code::NONE),
                other => result
                    .with_error_code(code::INVALID_REQUEST)
                    .with_error_message(text(format!(
                        "config resource type {other} is not supported"
                    ))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

pub fn create_partitions(
    broker: &Arc<Broker>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            match broker.log.topic(&t.name.0) {
                Err(e) => result
                    .with_error_code(log_error_code(&e))
                    .with_error_message(text(e.to_string())),
                Ok(topic) if t.count as i64 == topic.partition_count() as i64 => result
                    .with_error_code(code::INVALID_PARTITIONS)
                    .with_error_message(text(format!(
                        "topic {} already has {} partitions",
                        topic.name(),
                        t.count
                    ))),
                Ok(topic) => result
                    .with_error_code(code::INVALID_PARTITIONS)
                    .with_error_message(text(format!(
                        "adding partitions to an existing topic is not supported yet \
                         (topic {} has {}, {} asked)",
                        topic.name(),
                        topic.partition_count(),
                        t.count
                    ))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}

pub fn init_producer_id(
    broker: &Arc<Broker>,
    _request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_error_code(code::NONE)
        .with_producer_id(ProducerId(broker.allocate_producer_id()))
        .with_producer_epoch(0)
}
