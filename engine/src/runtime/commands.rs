//! commands.rs owns the command topic: every accepted statement that changes the catalog
//! or starts/stops a query is appended here (its text and the session properties in force),
//! and replayed in order when the engine opens the data directory again.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_log::{Log, ReadLimit, Record, TopicConfig};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::{EngineError, Result};

/// The internal topic holding the commands.
pub const COMMAND_TOPIC: &str = "_brook_commands";

/// One recorded statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The statement's text (variables already substituted).
    pub sql: String,
    /// Session properties when it ran.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// The id of the query it started, so a restarted query keeps its offsets.
    #[serde(default)]
    pub query_id: Option<String>,
}

/// Appends a command.
pub fn append(log: &Arc<Log>, command: &Command) -> Result<()> {
    let topic = log.topic_or_create(COMMAND_TOPIC, TopicConfig::new(1))?;
    let bytes = serde_json::to_vec(command)
        .map_err(|e| EngineError::CommandTopic(format!("cannot encode command: {e}")))?;
    topic.append(0, &[Record::unkeyed(Bytes::from(bytes), now_ms())])?;
    topic.flush()?;
    Ok(())
}

/// Every command recorded, in order.
pub fn read_all(log: &Arc<Log>) -> Result<Vec<Command>> {
    let Ok(topic) = log.topic(COMMAND_TOPIC) else {
        return Ok(Vec::new());
    };
    let partition = topic.partition(0)?;
    let mut out = Vec::new();
    let mut from = partition.start_offset();
    loop {
        let records = partition.read(from, ReadLimit::records(1024))?;
        let Some(last) = records.last() else {
            break;
        };
        from = last.offset + 1;
        for r in records {
            let Some(v) = r.value else { continue };
            let c: Command = serde_json::from_slice(&v).map_err(|e| {
                EngineError::CommandTopic(format!(
                    "record at offset {} is not a command: {e}",
                    r.offset
                ))
            })?;
            out.push(c);
        }
    }
    Ok(out)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
