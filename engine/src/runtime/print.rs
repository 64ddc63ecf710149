//! print.rs owns [`TopicPrinter`]: `PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n]`,
//! the raw records of a topic as lines in ksqlDB's form
//! (`rowtime: 2026/11/26 10:00:00.000 Z, key: alice, value: {...}, partition: 0`), read
//! from the end (or the start) of each partition and tailed as records arrive.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_log::{Log, ReadLimit, Topic};

use super::error::Result;

/// A running PRINT.
#[derive(Debug)]
pub struct TopicPrinter {
    topic: Arc<Topic>,
    positions: BTreeMap<u32, u64>,
    /// Print every n-th record.
    interval: u64,
    seen: u64,
    remaining: Option<u64>,
}

impl TopicPrinter {
    pub fn new(
        log: &Log,
        topic: &str,
        from_beginning: bool,
        interval: Option<u64>,
        limit: Option<u64>,
    ) -> Result<TopicPrinter> {
        let topic = log.topic(topic)?;
        let positions = super::push::start_positions(&topic, from_beginning);
        Ok(TopicPrinter {
            topic,
            positions,
            interval: interval.unwrap_or(1).max(1),
            seen: 0,
            remaining: limit,
        })
    }

    pub fn topic(&self) -> &str {
        self.topic.name()
    }

    /// Whether LIMIT records were printed.
    pub fn finished(&self) -> bool {
        self.remaining == Some(0)
    }

    /// The lines of the records that arrived since the last poll.
    pub fn poll(&mut self) -> Result<Vec<String>> {
        let mut lines = Vec::new();
        // A follower (read-only log) sees the writer's appends on a refresh.
        self.topic.refresh()?;
        for p in self.topic.partitions() {
            if self.finished() {
                break;
            }
            let from = self
                .positions
                .get(&p.id())
                .copied()
                .unwrap_or(0)
                .max(p.start_offset());
            let records = p.read(from, ReadLimit::records(1024))?;
            let Some(last) = records.last() else { continue };
            self.positions.insert(p.id(), last.offset + 1);
            for r in records {
                self.seen += 1;
                if !(self.seen - 1).is_multiple_of(self.interval) {
                    continue;
                }
                if let Some(n) = &mut self.remaining {
                    if *n == 0 {
                        break;
                    }
                    *n -= 1;
                }
                lines.push(format!(
                    "rowtime: {}, key: {}, value: {}, partition: {}",
                    format_rowtime(r.timestamp),
                    show_bytes(r.key.as_deref()),
                    show_bytes(r.value.as_deref()),
                    p.id()
                ));
            }
        }
        Ok(lines)
    }

    /// Whether any partition has records not printed yet.
    pub fn has_more(&self) -> bool {
        self.topic
            .partitions()
            .iter()
            .any(|p| p.end_offset() > self.positions.get(&p.id()).copied().unwrap_or(0))
    }
}

/// `2026/11/26 10:00:00.000 Z`, as ksqlDB prints record times.
fn format_rowtime(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string(),
        None => ms.to_string(),
    }
}

/// Text as text; other bytes as hex; absent as `<null>`.
fn show_bytes(b: Option<&[u8]>) -> String {
    match b {
        None => "<null>".to_string(),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\t') => s.to_string(),
            _ => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                format!("0x{hex}")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rowtime_and_bytes_are_shown_as_ksqldb_prints_them() {
        assert_eq!(format_rowtime(0), "1970/01/01 00:00:00.000 Z");
        assert_eq!(show_bytes(None), "<null>");
        assert_eq!(show_bytes(Some(b"alice")), "alice");
        assert_eq!(show_bytes(Some(&[0, 0, 0, 7])), "0x00000007");
    }
}
