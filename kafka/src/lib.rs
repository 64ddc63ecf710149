//! brook-kafka: the broker side of Kafka's wire protocol over Brook's embedded log, so
//! Kafka clients (librdkafka, the Java client, kcat, ...) produce to and consume from a data
//! directory's topics. One broker, itself the leader of every partition and the group
//! coordinator. The codecs are the `kafka-protocol` crate's; this crate maps requests onto
//! [`brook_log::Log`], transactions onto the log's [`brook_log::Producer`]. Records are re-encoded as v2 record batches on fetch (the log keeps
//! its own batch format on disk).
//!
//! ```no_run
//! # async fn run(log: std::sync::Arc<brook_log::Log>) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9092").await?;
//! brook_kafka::serve(log, listener, brook_kafka::KafkaConfig::default(), std::future::pending::<()>()).await?;
//! # Ok(()) }
//! ```

mod admin;
mod api_versions;
mod broker;
mod conn;
mod fetch;
mod group;
mod metadata;
mod offsets;
mod produce;
mod sasl;
mod txn;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use brook_log::Log;
use tokio::net::TcpListener;

pub use api_versions::SUPPORTED_APIS;
pub use sasl::{Mechanism, SaslError, SaslUsers};

/// How the listener behaves. `Default` suits a local broker on the listener's own address.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// This broker's node id (every partition's leader and the controller).
    pub node_id: i32,
    /// Host and port given to clients in Metadata; `None` = the listener's local address.
    pub advertised: Option<(String, u16)>,
    /// Create a topic named in Metadata (when the client allows it) or Produce if missing,
    /// as Kafka's `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// Partitions of auto-created topics and of CreateTopics asking for the default (-1).
    pub default_partitions: u32,
    /// Largest request accepted; a bigger length prefix closes that connection.
    pub max_request_bytes: usize,
    /// How long a new group waits for more members before its first rebalance completes
    /// (Kafka's `group.initial.rebalance.delay.ms`).
    pub initial_rebalance_delay: Duration,
    /// Session timeouts clients may ask for (Kafka's group.min/max.session.timeout.ms).
    pub min_session_timeout: Duration,
    pub max_session_timeout: Duration,
    /// SASL on: every connection authenticates (SaslHandshake v1, SaslAuthenticate) as one
    /// of these users before any other request but ApiVersions; a connection that sends
    /// another request first, or fails to authenticate, is closed.
    pub sasl: Option<Arc<SaslUsers>>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            node_id: 1,
            advertised: None,
            auto_create_topics: true,
            default_partitions: 1,
            max_request_bytes: 100 << 20,
            initial_rebalance_delay: Duration::from_millis(300),
            min_session_timeout: Duration::from_millis(6000),
            max_session_timeout: Duration::from_secs(1800),
            sasl: None,
        }
    }
}

/// Serves Kafka clients on `listener` until `shutdown` completes, over `log` (which must be
/// writable). Connections are served concurrently; a malformed request or a client that
/// disconnects closes only its own connection. Returns once the listener stopped accepting
/// and open connections were closed.
pub async fn serve(
    log: Arc<Log>,
    listener: TcpListener,
    config: KafkaConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let advertised = config
        .advertised
        .clone()
        .unwrap_or_else(|| (local.ip().to_string(), local.port()));
    let broker = broker::Broker::new(log, config, advertised);
    let reaper = tokio::spawn(group::run_reaper(broker.clone()));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    tracing::info!(%local, "kafka listener started");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let broker = broker.clone();
                    connections.spawn(async move {
                        if let Err(e) = conn::serve_connection(broker, stream).await {
                            tracing::debug!(%peer, error = %e, "kafka connection closed");
                        }
                    });
                }
                // Out of file descriptors and the like: wait a little, keep serving.
                Err(e) => {
                    tracing::warn!(error = %e, "kafka listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished connection tasks so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    reaper.abort();
    connections.shutdown().await;
    Ok(())
}
