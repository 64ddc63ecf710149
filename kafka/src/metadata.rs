//! metadata.rs owns Metadata: one broker (this one), the controller and the leader of every
//! partition; topics named by the client (auto-created when both sides allow it) or all.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::{code, log_error_code, Broker};

/// Every Brook data directory is its own one-broker cluster.
pub const CLUSTER_ID: &str = "brook";

pub fn handle(broker: &Arc<Broker>, request: MetadataRequest, _version: i16) -> MetadataResponse {
    let node = BrokerId(broker.config.node_id);
    let names: Vec<(String, bool)> = match &request.topics {
        None => broker
            .log
            .topics()
            .into_iter()
            .map(|t| (t, false))
            .collect(),
        Some(topics) => topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| (n.0.to_string(), true)))
            .collect(),
    };
    let topics = names
        .into_iter()
        .map(|(name, named)| {
            let create = named && request.allow_auto_topic_creation;
            topic_metadata(broker, &name, create, node)
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(vec![broker_entry(broker)])
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(node)
        .with_topics(topics)
}

pub fn broker_entry(broker: &Broker) -> MetadataResponseBroker {
    MetadataResponseBroker::default()
        .with_node_id(BrokerId(broker.config.node_id))
        .with_host(StrBytes::from_string(broker.advertised.0.clone()))
        .with_port(broker.advertised.1 as i32)
}

fn topic_metadata(
    broker: &Broker,
    name: &str,
    create: bool,
    node: BrokerId,
) -> MetadataResponseTopic {
    let entry = MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))));
    match broker.topic(name, create) {
        Ok(topic) => entry.with_error_code(code::NONE).with_partitions(
            (0..topic.partition_count())
                .map(|p| {
                    MetadataResponsePartition::default()
                        .with_partition_index(p as i32)
                        .with_leader_id(node)
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![node])
                        .with_isr_nodes(vec![node])
                })
                .collect(),
        ),
        Err(e) => entry.with_error_code(log_error_code(&e)),
    }
}
