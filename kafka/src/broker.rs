//! broker.rs owns the state shared by every connection: the log, the config, the group
//! coordinator, the producer-id allocator and the idempotent producers' sequence state.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use brook_log::{Log, LogError, Topic, TopicConfig};

use crate::group::Coordinator;
use crate::produce::ProducerStates;
use crate::txn::Transactions;
use crate::KafkaConfig;

/// Kafka's error codes used by this broker (see Kafka's `Errors`).
pub mod code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const MESSAGE_TOO_LARGE: i16 = 10;
    pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub const INVALID_GROUP_ID: i16 = 24;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub const INVALID_CONFIG: i16 = 40;
    pub const INVALID_REQUEST: i16 = 42;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    pub const ILLEGAL_SASL_STATE: i16 = 34;
    pub const SASL_AUTHENTICATION_FAILED: i16 = 58;
    pub const UNKNOWN_SERVER_ERROR: i16 = -1;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const INVALID_RECORD: i16 = 87;
    pub const PRODUCER_FENCED: i16 = 90;
}

/// Maps a log error to Kafka's nearest error code.
pub fn log_error_code(e: &LogError) -> i16 {
    match e {
        LogError::TopicNotFound(_) | LogError::TopicDeleted(_) => code::UNKNOWN_TOPIC_OR_PARTITION,
        LogError::PartitionNotFound { .. } => code::UNKNOWN_TOPIC_OR_PARTITION,
        LogError::InvalidTopicName { .. } => code::INVALID_TOPIC_EXCEPTION,
        LogError::TopicExists(_) => code::TOPIC_ALREADY_EXISTS,
        LogError::UnknownConfig { .. } | LogError::InvalidConfig { .. } => code::INVALID_CONFIG,
        LogError::RecordTooLarge { .. } => code::MESSAGE_TOO_LARGE,
        LogError::InvalidRecord { .. } => code::INVALID_RECORD,
        LogError::OffsetOutOfRange { .. } => code::OFFSET_OUT_OF_RANGE,
        LogError::Corrupt { .. } | LogError::Io { .. } => code::KAFKA_STORAGE_ERROR,
        _ => code::UNKNOWN_SERVER_ERROR,
    }
}

pub struct Broker {
    pub log: Arc<Log>,
    pub config: KafkaConfig,
    /// Host and port given to clients as this broker's address.
    pub advertised: (String, u16),
    pub groups: Coordinator,
    pub producers: ProducerStates,
    /// Transactional producers, by producer id.
    pub transactions: Transactions,
    next_producer_id: AtomicI64,
}

impl Broker {
    pub fn new(log: Arc<Log>, config: KafkaConfig, advertised: (String, u16)) -> Arc<Broker> {
        // Producer ids must not repeat across restarts (the sequence state is in memory): start
        // from the clock, in a range no earlier run reached.
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Arc::new(Broker {
            log,
            groups: Coordinator::new(&config),
            config,
            advertised,
            producers: ProducerStates::default(),
            transactions: Transactions::default(),
            next_producer_id: AtomicI64::new(now_ms * 1000),
        })
    }

    pub fn allocate_producer_id(&self) -> i64 {
        self.next_producer_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The topic, created with the default partition count if missing and `create` allows it.
    pub fn topic(&self, name: &str, create: bool) -> Result<Arc<Topic>, LogError> {
        match self.log.topic(name) {
            Err(LogError::TopicNotFound(_)) if create && self.config.auto_create_topics => {
                tracing::info!(topic = name, "kafka: auto-creating topic");
                self.log
                    .topic_or_create(name, TopicConfig::new(self.config.default_partitions))
            }
            other => other,
        }
    }
}
