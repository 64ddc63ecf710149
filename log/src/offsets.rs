//! offsets.rs owns committed consumer-group offsets: records in the internal compacted
//! topic `__consumer_offsets` (one partition, fsync per commit), mirrored in memory and
//! rebuilt from the topic on open.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::error::{LogError, Result};
use crate::log::CONSUMER_OFFSETS_TOPIC;
use crate::partition::lock;
use crate::record::{ReadLimit, Record};
use crate::topic::Topic;

/// (group, topic, partition).
pub(crate) type Key = (String, String, u32);

/// The committed offsets of every group.
#[derive(Debug)]
pub(crate) struct OffsetStore {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The offsets topic; `None` on a read-only log whose writer has not created it yet.
    topic: Option<Arc<Topic>>,
    map: BTreeMap<Key, u64>,
    /// Offset up to which the topic was read into `map`.
    loaded_to: u64,
}

const KEY_VERSION: u8 = 0;
const VALUE_VERSION: u8 = 0;

fn encode_key(group: &str, topic: &str, partition: u32) -> Bytes {
    let mut b = Vec::with_capacity(9 + group.len() + topic.len());
    b.push(KEY_VERSION);
    b.extend_from_slice(&(group.len() as u16).to_be_bytes());
    b.extend_from_slice(group.as_bytes());
    b.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    b.extend_from_slice(topic.as_bytes());
    b.extend_from_slice(&partition.to_be_bytes());
    Bytes::from(b)
}

fn decode_key(b: &[u8]) -> Option<Key> {
    let (&v, rest) = b.split_first()?;
    if v != KEY_VERSION {
        return None;
    }
    let (group, rest) = take_str(rest)?;
    let (topic, rest) = take_str(rest)?;
    let p: [u8; 4] = rest.try_into().ok()?;
    Some((group, topic, u32::from_be_bytes(p)))
}

fn take_str(b: &[u8]) -> Option<(String, &[u8])> {
    let n = u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize;
    let s = b.get(2..2 + n)?;
    Some((String::from_utf8(s.to_vec()).ok()?, &b[2 + n..]))
}

fn encode_value(offset: u64, now_ms: i64) -> Bytes {
    let mut b = Vec::with_capacity(17);
    b.push(VALUE_VERSION);
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&now_ms.to_be_bytes());
    Bytes::from(b)
}

fn decode_value(b: &[u8]) -> Option<u64> {
    if b.len() < 9 || b[0] != VALUE_VERSION {
        return None;
    }
    Some(u64::from_be_bytes(b[1..9].try_into().ok()?))
}

/// The records of an offset commit of `group`.
pub(crate) fn offset_records<S: AsRef<str>>(
    group: &str,
    offsets: &[(S, u32, u64)],
    now_ms: i64,
) -> Result<Vec<Record>> {
    if group.is_empty() || group.len() > u16::MAX as usize {
        return Err(LogError::InvalidArgument(format!(
            "consumer group name must be 1 to {} bytes, got {}",
            u16::MAX,
            group.len()
        )));
    }
    let mut records = Vec::with_capacity(offsets.len());
    for (t, p, o) in offsets {
        crate::log::validate_topic_name(t.as_ref())?;
        records.push(Record::keyed(
            encode_key(group, t.as_ref(), *p),
            encode_value(*o, now_ms),
            now_ms,
        ));
    }
    Ok(records)
}

impl State {
    fn topic(&self) -> Result<&Arc<Topic>> {
        self.topic.as_ref().ok_or_else(|| {
            LogError::InvalidArgument(format!("the {CONSUMER_OFFSETS_TOPIC} topic does not exist"))
        })
    }

    /// Reads the offsets topic from `loaded_to` to its end into `map`. Records that do
    /// not decode (a future format) are skipped; a corrupt range of a closed segment is
    /// skipped with a note (the offsets in it fall back to older ones).
    fn load(&mut self) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        let Some(topic) = self.topic.clone() else {
            return Ok(notes);
        };
        let p = topic.partition(0)?;
        let end = p.end_offset();
        if self.loaded_to > end {
            // The log went back (a follower saw an append its writer then rolled back).
            self.map.clear();
            self.loaded_to = 0;
        }
        let mut pos = self.loaded_to.max(p.start_offset());
        // Committed offsets only: offsets sent in a transaction count once it commits.
        let end = end.min(p.last_stable_offset());
        while pos < end {
            let recs = match p.read_isolated(
                pos,
                ReadLimit::bytes(4 << 20),
                crate::IsolationLevel::ReadCommitted,
            ) {
                Ok(r) => r,
                Err(e @ LogError::Corrupt { .. }) => {
                    let next = p
                        .segments()
                        .iter()
                        .map(|s| s.base_offset)
                        .find(|&b| b > pos);
                    notes.push(format!(
                        "{CONSUMER_OFFSETS_TOPIC}: skipped unreadable commits: {e}"
                    ));
                    match next {
                        Some(b) => {
                            pos = b;
                            continue;
                        }
                        None => break,
                    }
                }
                Err(e) => return Err(e),
            };
            if recs.next_offset <= pos {
                break;
            }
            pos = recs.next_offset;
            for r in recs.records {
                let Some(key) = r.key.as_deref().and_then(decode_key) else {
                    continue;
                };
                match r.value.as_deref().map(decode_value) {
                    Some(Some(o)) => {
                        self.map.insert(key, o);
                    }
                    Some(None) => {}
                    None => {
                        self.map.remove(&key);
                    }
                }
            }
        }
        self.loaded_to = self.loaded_to.max(pos);
        Ok(notes)
    }
}

impl OffsetStore {
    /// Loads the committed offsets by reading the whole offsets topic (it is compacted).
    pub fn open(topic: Arc<Topic>) -> Result<(OffsetStore, Vec<String>)> {
        let mut state = State {
            topic: Some(topic),
            map: BTreeMap::new(),
            loaded_to: 0,
        };
        let notes = state.load()?;
        Ok((
            OffsetStore {
                state: Mutex::new(state),
            },
            notes,
        ))
    }

    /// A store without an offsets topic (a read-only log of a directory whose writer has
    /// not created it yet).
    pub fn empty() -> OffsetStore {
        OffsetStore {
            state: Mutex::new(State {
                topic: None,
                map: BTreeMap::new(),
                loaded_to: 0,
            }),
        }
    }

    /// Read-only log: reads the commits the writer appended since the last call. `topic`
    /// is the offsets topic as now known (after a refresh); a different one than before
    /// (it appeared, or was re-created) is read from its start.
    pub fn catch_up(&self, topic: Option<Arc<Topic>>) -> Result<()> {
        let mut st = lock(&self.state);
        let same = match (&st.topic, &topic) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            st.topic = topic;
            st.map.clear();
            st.loaded_to = 0;
        }
        st.load().map(drop)
    }

    /// Appends all offsets as one batch (atomic) and fsyncs it (the offsets topic has
    /// `flush.messages=1`) before updating the in-memory view.
    pub fn commit<S: AsRef<str>>(
        &self,
        group: &str,
        offsets: &[(S, u32, u64)],
        now_ms: i64,
    ) -> Result<()> {
        if group.is_empty() || group.len() > u16::MAX as usize {
            return Err(LogError::InvalidArgument(format!(
                "consumer group name must be 1 to {} bytes, got {}",
                u16::MAX,
                group.len()
            )));
        }
        if offsets.is_empty() {
            return Ok(());
        }
        let records = offset_records(group, offsets, now_ms)?;
        let mut st = lock(&self.state);
        let info = st.topic()?.append(0, &records)?;
        st.loaded_to = st.loaded_to.max(info.last_offset + 1);
        for (t, p, o) in offsets {
            st.map
                .insert((group.to_string(), t.as_ref().to_string(), *p), *o);
        }
        Ok(())
    }

    /// Removes every group's offsets for `topic` (tombstones), after a topic deletion.
    pub fn remove_topic(&self, topic: &str, now_ms: i64) -> Result<()> {
        let mut st = lock(&self.state);
        let keys: Vec<Key> = st.map.keys().filter(|k| k.1 == topic).cloned().collect();
        if keys.is_empty() {
            return Ok(());
        }
        let records: Vec<Record> = keys
            .iter()
            .map(|(g, t, p)| Record::tombstone(encode_key(g, t, *p), now_ms))
            .collect();
        let info = st.topic()?.append(0, &records)?;
        st.loaded_to = st.loaded_to.max(info.last_offset + 1);
        for k in keys {
            st.map.remove(&k);
        }
        Ok(())
    }

    /// Applies offsets committed in a transaction (their records are in the topic).
    pub fn apply(&self, offsets: BTreeMap<Key, u64>) {
        let mut st = lock(&self.state);
        for (k, o) in offsets {
            st.map.insert(k, o);
        }
    }

    pub fn get(&self, group: &str, topic: &str, partition: u32) -> Option<u64> {
        lock(&self.state)
            .map
            .get(&(group.to_string(), topic.to_string(), partition))
            .copied()
    }

    pub fn group(&self, group: &str) -> Vec<(String, u32, u64)> {
        lock(&self.state)
            .map
            .iter()
            .filter(|(k, _)| k.0 == group)
            .map(|(k, &o)| (k.1.clone(), k.2, o))
            .collect()
    }

    pub fn groups(&self) -> Vec<String> {
        let mut g: Vec<String> = lock(&self.state).map.keys().map(|k| k.0.clone()).collect();
        g.dedup();
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_roundtrip() {
        let k = encode_key("g1", "orders", 7);
        assert_eq!(decode_key(&k), Some(("g1".into(), "orders".into(), 7)));
        assert_eq!(decode_value(&encode_value(42, 5)), Some(42));
        assert_eq!(decode_key(&k[..k.len() - 1]), None);
        assert_eq!(decode_key(&[]), None);
        assert_eq!(decode_value(&[0, 1]), None);
    }
}
