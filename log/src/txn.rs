//! txn.rs owns transactions across partitions, modelled on Kafka's: the transaction
//! coordinator (transactional id -> producer id, epoch, state, partitions, persisted in the
//! internal compacted topic `__transaction_state`) and [`Producer`], the handle that
//! writes idempotently (sequence numbers per partition) and, when transactional, writes to
//! partitions of several topics and consumer-group offsets that are then committed or
//! aborted together.
//!
//! Protocol (one transaction):
//! 1. before its first write to a partition, the coordinator records the partition (and
//!    the partition's end offset, where the transaction starts there) with state
//!    `Ongoing`, fsynced — so that recovery knows every partition to end it on;
//! 2. data batches carry the producer id and epoch; `read_committed` readers stop at the
//!    first offset of the oldest open transaction (the last stable offset);
//! 3. commit: the partitions are fsynced, the coordinator records `PrepareCommit` (the
//!    commit point), commit markers are written to every partition, then `Complete`;
//!    abort does the same with `PrepareAbort` and abort markers (recorded in each
//!    partition's aborted-transaction index, which `read_committed` readers skip);
//! 4. on open, every transaction not `Complete` is finished: `PrepareCommit` rolls
//!    forward (commit markers), `Ongoing` / `PrepareAbort` are aborted. So a crash at any
//!    point leaves each transaction committed everywhere or nowhere.
//!
//! Fencing: [`crate::Log::init_transactions`] with a transactional id ends that id's
//! unfinished transaction (aborts it) and bumps its epoch. Every write, commit and abort
//! of a producer checks its epoch under the id's lock, so an older incarnation fails with
//! [`LogError::ProducerFenced`] from then on, and never writes after the new one started.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

#[cfg(test)]
use crate::batch;
use crate::batch::{ControlKind, ProducerStamp};
use crate::error::{LogError, Result};
use crate::log::{now_ms, Inner, CONSUMER_OFFSETS_TOPIC};
use crate::partition::lock;
use crate::partitioner::kafka_partition;
use crate::record::{AppendInfo, AsRecord, ReadLimit, Record};
use crate::topic::Topic;
use crate::IsolationLevel;

/// Name of the internal compacted topic that holds the transaction coordinator's state.
pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

const VERSION: u8 = 0;
/// Key of the record holding the next producer id to hand out.
const NEXT_PID_KEY: &[u8] = b"p";

/// Where a transactional id's current transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// No transaction open (the last one completed).
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
}

/// (topic, partition, first offset of the transaction there).
type TxnPartition = (String, u32, u64);

/// The coordinator's record of one transactional id.
#[derive(Debug, Clone)]
struct TxnMeta {
    producer_id: i64,
    epoch: i16,
    status: Status,
    partitions: Vec<TxnPartition>,
}

fn encode_meta(m: &TxnMeta) -> Bytes {
    let mut b = Vec::with_capacity(16 + m.partitions.len() * 32);
    b.push(VERSION);
    b.extend_from_slice(&m.producer_id.to_be_bytes());
    b.extend_from_slice(&m.epoch.to_be_bytes());
    b.push(m.status as u8);
    b.extend_from_slice(&(m.partitions.len() as u32).to_be_bytes());
    for (t, p, first) in &m.partitions {
        b.extend_from_slice(&(t.len() as u16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(&p.to_be_bytes());
        b.extend_from_slice(&first.to_be_bytes());
    }
    Bytes::from(b)
}

fn decode_meta(b: &[u8]) -> Option<TxnMeta> {
    let mut c = b;
    let mut take = |n: usize| -> Option<&[u8]> {
        if c.len() < n {
            return None;
        }
        let (h, t) = c.split_at(n);
        c = t;
        Some(h)
    };
    if take(1)?[0] != VERSION {
        return None;
    }
    let producer_id = i64::from_be_bytes(take(8)?.try_into().ok()?);
    let epoch = i16::from_be_bytes(take(2)?.try_into().ok()?);
    let status = match take(1)?[0] {
        0 => Status::Empty,
        1 => Status::Ongoing,
        2 => Status::PrepareCommit,
        3 => Status::PrepareAbort,
        _ => return None,
    };
    let n = u32::from_be_bytes(take(4)?.try_into().ok()?);
    let mut partitions = Vec::new();
    for _ in 0..n {
        let tl = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        let t = String::from_utf8(take(tl)?.to_vec()).ok()?;
        let p = u32::from_be_bytes(take(4)?.try_into().ok()?);
        let first = u64::from_be_bytes(take(8)?.try_into().ok()?);
        partitions.push((t, p, first));
    }
    Some(TxnMeta {
        producer_id,
        epoch,
        status,
        partitions,
    })
}

fn txn_key(id: &str) -> Bytes {
    let mut k = b"t".to_vec();
    k.extend_from_slice(id.as_bytes());
    Bytes::from(k)
}

/// The transaction coordinator of one log.
#[derive(Debug)]
pub(crate) struct Coordinator {
    topic: Arc<Topic>,
    next_pid: Mutex<i64>,
    /// One lock per transactional id: held for every write, commit and abort of its
    /// producer, and for fencing.
    txns: Mutex<HashMap<String, Arc<Mutex<TxnMeta>>>>,
}

impl Coordinator {
    /// Loads the coordinator state (the whole topic: it is compacted and small).
    pub fn load(topic: Arc<Topic>) -> Result<Coordinator> {
        let p = topic.partition(0)?.clone();
        let mut next_pid = 0i64;
        let mut txns: HashMap<String, TxnMeta> = HashMap::new();
        let mut pos = p.start_offset();
        loop {
            let batch = p.read_isolated(
                pos,
                ReadLimit::bytes(4 << 20),
                IsolationLevel::ReadUncommitted,
            )?;
            if batch.records.is_empty() && batch.next_offset == pos {
                break;
            }
            pos = batch.next_offset;
            for r in batch.records {
                let (Some(k), Some(v)) = (r.key.as_deref(), r.value.as_deref()) else {
                    continue;
                };
                if k == NEXT_PID_KEY && v.len() == 8 {
                    next_pid = next_pid.max(i64::from_be_bytes(v.try_into().expect("8 bytes")));
                } else if let (Some(id), Some(m)) = (k.strip_prefix(b"t"), decode_meta(v)) {
                    if let Ok(id) = String::from_utf8(id.to_vec()) {
                        next_pid = next_pid.max(m.producer_id + 1);
                        txns.insert(id, m);
                    }
                }
            }
        }
        Ok(Coordinator {
            topic,
            next_pid: Mutex::new(next_pid),
            txns: Mutex::new(
                txns.into_iter()
                    .map(|(k, v)| (k, Arc::new(Mutex::new(v))))
                    .collect(),
            ),
        })
    }

    /// Hands out a new producer id (persisted, so ids are never reused).
    fn allocate_pid(&self) -> Result<i64> {
        let mut next = lock(&self.next_pid);
        let pid = *next;
        self.topic.append(
            0,
            &[Record::keyed(
                Bytes::from_static(NEXT_PID_KEY),
                Bytes::copy_from_slice(&(pid + 1).to_be_bytes()),
                now_ms(),
            )],
        )?;
        *next = pid + 1;
        Ok(pid)
    }

    fn persist(&self, id: &str, m: &TxnMeta) -> Result<()> {
        self.topic
            .append(0, &[Record::keyed(txn_key(id), encode_meta(m), now_ms())])?;
        Ok(())
    }

    /// Ends every transaction left unfinished (on open, before anyone reads).
    pub fn recover(&self, topics: &BTreeMap<String, Arc<Topic>>) -> Result<Vec<String>> {
        let lookup = |n: &str| {
            topics
                .get(n)
                .cloned()
                .ok_or_else(|| LogError::TopicNotFound(n.to_string()))
        };
        let mut notes = Vec::new();
        let entries: Vec<(String, Arc<Mutex<TxnMeta>>)> = lock(&self.txns)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, m) in entries {
            let mut m = lock(&m);
            if m.status != Status::Empty {
                let what = if m.status == Status::PrepareCommit {
                    "committed"
                } else {
                    "aborted"
                };
                let commit = m.status == Status::PrepareCommit;
                self.finish(&lookup, &id, &mut m, commit)?;
                notes.push(format!(
                    "transactional id {id:?}: {what} the transaction left open by a crash"
                ));
            }
        }
        Ok(notes)
    }

    /// Writes the markers of `m`'s transaction (commit or abort) and marks it complete.
    fn finish(
        &self,
        topics: &dyn Fn(&str) -> Result<Arc<Topic>>,
        id: &str,
        m: &mut TxnMeta,
        commit: bool,
    ) -> Result<()> {
        if m.partitions.is_empty() && m.status == Status::Empty {
            return Ok(());
        }
        let prepared = if commit {
            Status::PrepareCommit
        } else {
            Status::PrepareAbort
        };
        if m.status == Status::PrepareCommit && !commit {
            // Past the commit point some partitions may hold commit markers already:
            // aborting now would take back records readers have seen (and tear the
            // transaction). It can only be completed: by a retried commit, or by recovery
            // (the next open, or the next `init_transactions` of the id).
            return Err(LogError::InvalidTxnState {
                producer: format!("transactional id {id:?}"),
                reason: "the transaction reached its commit point; it can only be committed"
                    .to_string(),
            });
        }
        if m.status != prepared {
            let before = m.status;
            m.status = prepared;
            if let Err(e) = self.persist(id, m) {
                // Not recorded: the transaction is where it was (an abort stays possible
                // when the commit point was not reached).
                m.status = before;
                return Err(e);
            }
        }
        let kind = if commit {
            ControlKind::Commit
        } else {
            ControlKind::Abort
        };
        for (topic, p, first) in &m.partitions {
            let t = match topics(topic) {
                Ok(t) => t,
                // A topic deleted since: nothing left to mark.
                Err(LogError::TopicNotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            if t.is_deleted() {
                continue;
            }
            t.partition(*p)?
                .write_marker(m.producer_id, m.epoch, kind, Some(*first))?;
        }
        m.status = Status::Empty;
        m.partitions.clear();
        self.persist(id, m)
    }
}

/// What a producer is doing now.
#[derive(Debug, Default)]
struct Local {
    /// Next sequence number per (topic, partition).
    sequences: HashMap<(String, u32), i32>,
    /// A transaction is open (begun).
    in_txn: bool,
    /// Offsets sent in the open transaction: (group, topic, partition) -> next offset.
    offsets: BTreeMap<(String, String, u32), u64>,
    /// Keyless records' partition, round robin per produce call.
    round_robin: u32,
}

/// A producer: idempotent appends (a retried append is not doubled), and, when made with
/// [`crate::Log::init_transactions`], transactions over partitions of several topics and
/// consumer-group offsets. Shared as `Arc<Producer>` (all methods take `&self`).
#[derive(Debug)]
pub struct Producer {
    inner: Arc<Inner>,
    producer_id: i64,
    epoch: i16,
    /// The transactional id and its coordinator entry (`None`: idempotent only).
    txn: Option<(String, Arc<Mutex<TxnMeta>>)>,
    local: Mutex<Local>,
}

impl Producer {
    /// Registers a transactional producer for `id`: ends the previous incarnation's
    /// unfinished transaction (aborted; committed if it had reached its commit point) and
    /// fences it by bumping the epoch.
    pub(crate) fn init(inner: &Arc<Inner>, id: &str) -> Result<Producer> {
        if id.is_empty() || id.len() > u16::MAX as usize {
            return Err(LogError::InvalidArgument(format!(
                "transactional id must be 1 to {} bytes, got {}",
                u16::MAX,
                id.len()
            )));
        }
        let coord = inner.coordinator()?;
        let entry = {
            let mut txns = lock(&coord.txns);
            match txns.get(id) {
                Some(e) => e.clone(),
                None => {
                    let pid = coord.allocate_pid()?;
                    let e = Arc::new(Mutex::new(TxnMeta {
                        producer_id: pid,
                        epoch: -1,
                        status: Status::Empty,
                        partitions: Vec::new(),
                    }));
                    txns.insert(id.to_string(), e.clone());
                    e
                }
            }
        };
        let (producer_id, epoch) = {
            let mut m = lock(&entry);
            if m.status != Status::Empty {
                let commit = m.status == Status::PrepareCommit;
                coord.finish(&|n| inner.topic(n), id, &mut m, commit)?;
            }
            if m.epoch == i16::MAX {
                m.producer_id = coord.allocate_pid()?;
                m.epoch = 0;
            } else {
                m.epoch += 1;
            }
            coord.persist(id, &m)?;
            (m.producer_id, m.epoch)
        };
        Ok(Producer {
            inner: inner.clone(),
            producer_id,
            epoch,
            txn: Some((id.to_string(), entry)),
            local: Mutex::new(Local::default()),
        })
    }

    /// An idempotent producer without transactions (a new producer id).
    pub(crate) fn idempotent(inner: &Arc<Inner>) -> Result<Producer> {
        let pid = inner.coordinator()?.allocate_pid()?;
        Ok(Producer {
            inner: inner.clone(),
            producer_id: pid,
            epoch: 0,
            txn: None,
            local: Mutex::new(Local::default()),
        })
    }

    /// The producer id.
    pub fn producer_id(&self) -> i64 {
        self.producer_id
    }

    /// The epoch (bumped by every `init_transactions` of the same transactional id).
    pub fn epoch(&self) -> i16 {
        self.epoch
    }

    /// The transactional id, if any.
    pub fn transactional_id(&self) -> Option<&str> {
        self.txn.as_ref().map(|(id, _)| id.as_str())
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        lock(&self.local).in_txn
    }

    fn name(&self) -> String {
        match &self.txn {
            Some((id, _)) => format!("transactional id {id:?}"),
            None => format!("producer id {}", self.producer_id),
        }
    }

    fn state_error(&self, reason: &str) -> LogError {
        LogError::InvalidTxnState {
            producer: self.name(),
            reason: reason.to_string(),
        }
    }

    /// Locks the coordinator entry and checks that this producer is still current.
    fn guard(&self) -> Result<Option<MutexGuard<'_, TxnMeta>>> {
        let Some((_, entry)) = &self.txn else {
            return Ok(None);
        };
        let m = lock(entry);
        if m.producer_id != self.producer_id || m.epoch != self.epoch {
            return Err(LogError::ProducerFenced {
                producer: self.name(),
                epoch: self.epoch,
                current: if m.producer_id == self.producer_id {
                    m.epoch
                } else {
                    i16::MAX
                },
            });
        }
        Ok(Some(m))
    }

    /// Begins a transaction (transactional producers only).
    pub fn begin(&self) -> Result<()> {
        if self.txn.is_none() {
            return Err(self.state_error("an idempotent producer has no transactions"));
        }
        let _g = self.guard()?;
        let mut l = lock(&self.local);
        if l.in_txn {
            return Err(self.state_error("a transaction is already open"));
        }
        l.in_txn = true;
        Ok(())
    }

    /// Appends `records` to `topic`/`partition` as one batch with this producer's
    /// sequence numbers (a transactional producer needs an open transaction; the records
    /// are then visible to `read_committed` readers once it commits). A failed append may
    /// be retried: if it had been written, it is not written again.
    pub fn append<R: AsRecord>(
        &self,
        topic: &Topic,
        partition: u32,
        records: &[R],
    ) -> Result<AppendInfo> {
        let mut g = self.guard()?;
        let p = topic.partition(partition)?;
        if records.is_empty() {
            return Err(LogError::InvalidRecord {
                topic: topic.name().to_string(),
                partition,
                index: None,
                reason: "no records to append".into(),
            });
        }
        let mut l = lock(&self.local);
        if let Some(m) = g.as_deref_mut() {
            if !l.in_txn {
                return Err(self.state_error(
                    "a transactional producer writes inside a transaction: call begin first",
                ));
            }
            self.add_partition(m, topic, partition)?;
        }
        let key = (topic.name().to_string(), partition);
        let seq = l.sequences.get(&key).copied().unwrap_or(0);
        let info = p.append_producer(
            records,
            ProducerStamp {
                producer_id: self.producer_id,
                epoch: self.epoch,
                base_sequence: seq,
                transactional: self.txn.is_some(),
            },
        )?;
        l.sequences
            .insert(key, seq.wrapping_add(records.len() as i32));
        Ok(info)
    }

    /// Appends with an explicit base sequence number: the form a client that retries
    /// uses (the same base sequence and count as a written append returns where that one
    /// went, writing nothing).
    pub fn append_with_sequence(
        &self,
        topic: &Topic,
        partition: u32,
        base_sequence: i32,
        records: &[Record],
    ) -> Result<AppendInfo> {
        {
            let mut l = lock(&self.local);
            l.sequences
                .insert((topic.name().to_string(), partition), base_sequence);
        }
        self.append(topic, partition, records)
    }

    /// Partitions `records` like [`Topic::produce`] (keyed: Kafka's partitioner; keyless:
    /// one partition per call, round robin) and appends each partition's share.
    pub fn produce<R: AsRecord + Clone>(
        &self,
        topic: &Topic,
        records: &[R],
    ) -> Result<Vec<(u32, u64)>> {
        let n = topic.partition_count();
        let rr = {
            let mut l = lock(&self.local);
            l.round_robin = l.round_robin.wrapping_add(1);
            l.round_robin % n.max(1)
        };
        let mut by: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            let p = match r.key() {
                Some(k) => kafka_partition(k, n),
                None => rr,
            };
            by.entry(p).or_default().push(i);
        }
        let mut out = vec![(0u32, 0u64); records.len()];
        for (p, idx) in by {
            let batch: Vec<R> = idx.iter().map(|&i| records[i].clone()).collect();
            let info = self.append(topic, p, &batch)?;
            for (j, &i) in idx.iter().enumerate() {
                out[i] = (p, info.base_offset + j as u64);
            }
        }
        Ok(out)
    }

    /// Records `topic`/`partition` in the transaction before its first write there.
    fn add_partition(&self, m: &mut TxnMeta, topic: &Topic, partition: u32) -> Result<()> {
        if m.partitions
            .iter()
            .any(|(t, p, _)| t == topic.name() && *p == partition)
        {
            return Ok(());
        }
        let first = topic.partition(partition)?.end_offset();
        m.partitions
            .push((topic.name().to_string(), partition, first));
        m.status = Status::Ongoing;
        let (id, _) = self.txn.as_ref().expect("transactional");
        let coord = self.inner.coordinator()?;
        if let Err(e) = coord.persist(id, m) {
            m.partitions.pop();
            return Err(e);
        }
        Ok(())
    }

    /// Commits consumer-group offsets `(topic, partition, next_offset)` as part of the
    /// open transaction: they take effect (for [`crate::Log::committed_offset`] and after a
    /// restart) only if it commits.
    pub fn send_offsets<S: AsRef<str>>(
        &self,
        group: &str,
        offsets: &[(S, u32, u64)],
    ) -> Result<()> {
        if self.txn.is_none() {
            return Err(self.state_error("offsets join transactions; this producer has none"));
        }
        if offsets.is_empty() {
            return Ok(());
        }
        let records = crate::offsets::offset_records(group, offsets, now_ms())?;
        let topic = self.inner.topic(CONSUMER_OFFSETS_TOPIC)?;
        self.append(&topic, 0, &records)?;
        let mut l = lock(&self.local);
        for (t, p, o) in offsets {
            l.offsets
                .insert((group.to_string(), t.as_ref().to_string(), *p), *o);
        }
        Ok(())
    }

    /// Commits the open transaction: every record and offset written in it becomes
    /// visible to `read_committed` readers, atomically across partitions.
    pub fn commit(&self) -> Result<()> {
        self.end(true)
    }

    /// Aborts the open transaction: nothing written in it is ever visible to
    /// `read_committed` readers.
    pub fn abort(&self) -> Result<()> {
        self.end(false)
    }

    fn end(&self, commit: bool) -> Result<()> {
        let Some((id, _)) = &self.txn else {
            return Err(self.state_error("an idempotent producer has no transactions"));
        };
        let mut g = self.guard()?;
        let m = g.as_deref_mut().expect("transactional");
        let mut l = lock(&self.local);
        if !l.in_txn {
            return Err(self.state_error(if commit {
                "commit without an open transaction"
            } else {
                "abort without an open transaction"
            }));
        }
        let coord = self.inner.coordinator()?;
        if commit {
            // Everything of the transaction is on disk before the commit point.
            for (t, p, _) in &m.partitions {
                if let Ok(t) = self.inner.topic(t) {
                    t.partition(*p)?.sync_for_commit()?;
                }
            }
        }
        coord.finish(&|n| self.inner.topic(n), id, m, commit)?;
        l.in_txn = false;
        let offsets = std::mem::take(&mut l.offsets);
        if commit && !offsets.is_empty() {
            self.inner.offsets_store().apply(offsets);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Log, LogOptions, StoredRecord, TopicConfig};
    use proptest::prelude::*;

    fn open(dir: &std::path::Path) -> Log {
        Log::open(dir, LogOptions::default()).unwrap()
    }

    fn values(rs: &[StoredRecord]) -> Vec<String> {
        rs.iter()
            .map(|r| String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap())
            .collect()
    }

    /// Everything a reader at `isolation` reads from the start, following `next_offset`.
    fn read_all(p: &crate::Partition, isolation: IsolationLevel) -> (Vec<String>, u64) {
        let mut pos = p.start_offset();
        let mut out = Vec::new();
        loop {
            let b = p
                .read_isolated(pos, ReadLimit::records(3), isolation)
                .unwrap();
            out.extend(values(&b.records));
            if b.next_offset == pos {
                return (out, pos);
            }
            assert!(b.next_offset > pos);
            pos = b.next_offset;
        }
    }

    fn recs(prefix: &str, n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record::unkeyed(format!("{prefix}{i}"), i as i64))
            .collect()
    }

    #[test]
    fn commit_and_abort_across_topics_and_partitions() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let a = log.create_topic("a", TopicConfig::new(2)).unwrap();
        let b = log.create_topic("b", TopicConfig::new(1)).unwrap();
        let prod = log.init_transactions("q1").unwrap();
        prod.begin().unwrap();
        prod.append(&a, 0, &recs("a0-", 2)).unwrap();
        prod.append(&a, 1, &recs("a1-", 1)).unwrap();
        prod.append(&b, 0, &recs("b0-", 3)).unwrap();
        b.append(0, &recs("plain", 1)).unwrap();
        let pb = b.partition(0).unwrap();
        // Open: read_committed sees nothing (LSO = 0), read_uncommitted sees all data.
        assert_eq!(pb.last_stable_offset(), 0);
        assert_eq!(read_all(pb, IsolationLevel::ReadCommitted), (vec![], 0));
        assert_eq!(read_all(pb, IsolationLevel::ReadUncommitted).0.len(), 4);
        assert_eq!(pb.visible_end(), 0);
        prod.commit().unwrap();
        // Committed: markers are skipped, next offset reaches the end.
        let (v, next) = read_all(pb, IsolationLevel::ReadCommitted);
        assert_eq!(v, vec!["b0-0", "b0-1", "b0-2", "plain0"]);
        assert_eq!(next, pb.end_offset());
        assert_eq!(pb.visible_end(), 4);
        assert_eq!(
            read_all(a.partition(1).unwrap(), IsolationLevel::ReadCommitted).0,
            vec!["a1-0"]
        );
        // Aborted: never visible to read_committed; read_uncommitted still sees it.
        prod.begin().unwrap();
        prod.append(&b, 0, &recs("gone", 2)).unwrap();
        b.append(0, &recs("plain-after", 1)).unwrap();
        prod.abort().unwrap();
        let (v, next) = read_all(pb, IsolationLevel::ReadCommitted);
        assert_eq!(v, vec!["b0-0", "b0-1", "b0-2", "plain0", "plain-after0"]);
        assert_eq!(next, pb.end_offset());
        assert!(read_all(pb, IsolationLevel::ReadUncommitted)
            .0
            .contains(&"gone0".to_string()));
        // The legacy read never returns markers.
        let all = pb.read(0, 100).unwrap();
        assert!(all.iter().all(|r| batch::parse_control(r).is_none()));
        // Aborts survive a reopen (the aborted index).
        drop(prod);
        drop((a, b));
        drop(log);
        let log = open(dir.path());
        let pb = log.topic("b").unwrap().partition(0).unwrap().clone();
        assert_eq!(read_all(&pb, IsolationLevel::ReadCommitted).0.len(), 5);
        // Waiters wake for data, not for the trailing markers, also after a reopen.
        let last_data = pb.read(0, 100).unwrap().last().unwrap().offset;
        assert_eq!(pb.visible_end(), last_data + 1);
        assert!(pb.visible_end() < pb.end_offset());
    }

    #[test]
    fn a_new_incarnation_fences_the_old_one_and_aborts_its_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
        let old = log.init_transactions("q").unwrap();
        old.begin().unwrap();
        old.append(&t, 0, &recs("old", 2)).unwrap();
        let new = log.init_transactions("q").unwrap();
        assert_eq!(new.producer_id(), old.producer_id());
        assert!(new.epoch() > old.epoch());
        let p = t.partition(0).unwrap();
        // The old transaction was aborted by the init: the LSO moved on.
        assert_eq!(p.last_stable_offset(), p.end_offset());
        for r in [
            old.append(&t, 0, &recs("zombie", 1)).map(drop),
            old.commit(),
            old.abort(),
            old.begin(),
        ] {
            let e = r.unwrap_err();
            assert!(matches!(e, LogError::ProducerFenced { .. }), "{e}");
            assert!(e.to_string().contains("fenced"), "{e}");
        }
        new.begin().unwrap();
        new.append(&t, 0, &recs("new", 1)).unwrap();
        new.commit().unwrap();
        assert_eq!(read_all(p, IsolationLevel::ReadCommitted).0, vec!["new0"]);
    }

    #[test]
    fn retried_appends_are_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
        let prod = log.idempotent_producer().unwrap();
        let first = prod.append_with_sequence(&t, 0, 0, &recs("x", 3)).unwrap();
        let again = prod.append_with_sequence(&t, 0, 0, &recs("x", 3)).unwrap();
        assert_eq!(first, again);
        prod.append(&t, 0, &recs("y", 1)).unwrap();
        let gap = prod.append_with_sequence(&t, 0, 10, &recs("z", 1));
        assert!(matches!(
            gap,
            Err(LogError::OutOfOrderSequence { expected: 4, .. })
        ));
        assert_eq!(
            values(&t.partition(0).unwrap().read(0, 100).unwrap()),
            vec!["x0", "x1", "x2", "y0"]
        );
        // Without a transaction, a transactional-only call is refused clearly.
        assert!(matches!(
            prod.begin(),
            Err(LogError::InvalidTxnState { .. })
        ));
    }

    #[test]
    fn offsets_join_the_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let t = log.create_topic("t", TopicConfig::new(1)).unwrap();
        log.commit_offsets("g", &[("t", 0, 1)]).unwrap();
        let prod = log.init_transactions("g").unwrap();
        prod.begin().unwrap();
        prod.append(&t, 0, &recs("o", 1)).unwrap();
        prod.send_offsets("g", &[("t", 0, 5)]).unwrap();
        assert_eq!(log.committed_offset("g", "t", 0), Some(1));
        prod.abort().unwrap();
        assert_eq!(log.committed_offset("g", "t", 0), Some(1));
        prod.begin().unwrap();
        prod.send_offsets("g", &[("t", 0, 7)]).unwrap();
        prod.commit().unwrap();
        assert_eq!(log.committed_offset("g", "t", 0), Some(7));
        // An open transaction's offsets are dropped by the crash recovery.
        prod.begin().unwrap();
        prod.send_offsets("g", &[("t", 0, 9)]).unwrap();
        drop((prod, t));
        drop(log);
        let log = open(dir.path());
        assert_eq!(log.committed_offset("g", "t", 0), Some(7));
        assert!(log.recovery_notes().iter().any(|n| n.contains("aborted")));
    }

    #[test]
    fn a_crash_after_the_commit_point_rolls_forward() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let t = log.create_topic("t", TopicConfig::new(2)).unwrap();
        let prod = log.init_transactions("q").unwrap();
        prod.begin().unwrap();
        prod.append(&t, 0, &recs("p0-", 1)).unwrap();
        prod.append(&t, 1, &recs("p1-", 1)).unwrap();
        // Simulate a crash between the commit point and the markers.
        {
            let (id, entry) = prod.txn.as_ref().unwrap();
            let mut m = lock(entry);
            m.status = Status::PrepareCommit;
            log.inner.coordinator().unwrap().persist(id, &m).unwrap();
        }
        drop((prod, t));
        drop(log);
        let log = open(dir.path());
        let t = log.topic("t").unwrap();
        for p in 0..2 {
            assert_eq!(
                read_all(t.partition(p).unwrap(), IsolationLevel::ReadCommitted)
                    .0
                    .len(),
                1
            );
        }
    }

    /// A commit that failed after its commit point (say a full disk while writing the
    /// markers, one partition marked) cannot be aborted: that would take back records
    /// readers of the marked partition have seen. Recovery completes it.
    #[test]
    fn a_commit_that_failed_past_its_commit_point_is_never_aborted() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let t = log.create_topic("t", TopicConfig::new(2)).unwrap();
        let prod = log.init_transactions("q").unwrap();
        prod.begin().unwrap();
        prod.append(&t, 0, &recs("p0-", 1)).unwrap();
        prod.append(&t, 1, &recs("p1-", 1)).unwrap();
        {
            let (id, entry) = prod.txn.as_ref().unwrap();
            let mut m = lock(entry);
            m.status = Status::PrepareCommit;
            log.inner.coordinator().unwrap().persist(id, &m).unwrap();
            t.partition(0)
                .unwrap()
                .write_marker(prod.producer_id(), prod.epoch(), ControlKind::Commit, None)
                .unwrap();
        }
        let p0 = t.partition(0).unwrap();
        assert_eq!(read_all(p0, IsolationLevel::ReadCommitted).0, ["p0-0"]);
        let e = prod.abort().unwrap_err();
        assert!(matches!(e, LogError::InvalidTxnState { .. }), "{e}");
        assert_eq!(read_all(p0, IsolationLevel::ReadCommitted).0, ["p0-0"]);
        drop((prod, t));
        drop(log);
        let log = open(dir.path());
        let t = log.topic("t").unwrap();
        for (p, want) in [(0, "p0-0"), (1, "p1-0")] {
            let p = t.partition(p).unwrap();
            assert_eq!(read_all(p, IsolationLevel::ReadCommitted).0, [want]);
        }
    }

    #[test]
    fn compaction_drops_aborted_records_and_keeps_committed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let log = open(dir.path());
        let mut c = TopicConfig::new(1);
        c.cleanup_policy = crate::CleanupPolicy::Compact;
        c.segment_bytes = 300;
        let t = log.create_topic("c", c).unwrap();
        let prod = log.init_transactions("q").unwrap();
        for i in 0..20 {
            prod.begin().unwrap();
            prod.append(&t, 0, &[Record::keyed("k", format!("v{i}"), i)])
                .unwrap();
            if i % 2 == 0 {
                prod.commit().unwrap();
            } else {
                prod.abort().unwrap();
            }
        }
        t.compact_at(0).unwrap();
        let p = t.partition(0).unwrap();
        let (v, _) = read_all(p, IsolationLevel::ReadCommitted);
        assert_eq!(v.last().map(String::as_str), Some("v18"));
        assert!(v.iter().all(|x| x[1..].parse::<u32>().unwrap() % 2 == 0));
    }

    /// One step of the property test.
    #[derive(Debug, Clone)]
    enum Op {
        /// Producer `0..2` appends `n` records to partition `0..2` (beginning if needed).
        Append(usize, u32, usize),
        Commit(usize),
        Abort(usize),
        /// A plain (non-transactional) append.
        Plain(u32),
        /// Close and reopen the log (a crash: open transactions are aborted).
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..2usize, 0..2u32, 1..4usize).prop_map(|(p, q, n)| Op::Append(p, q, n)),
            2 => (0..2usize).prop_map(Op::Commit),
            1 => (0..2usize).prop_map(Op::Abort),
            1 => (0..2u32).prop_map(Op::Plain),
            1 => Just(Op::Reopen),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn read_committed_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut log = open(dir.path());
            log.create_topic("t", TopicConfig::new(2)).unwrap();
            let mut producers: Vec<Producer> = (0..2)
                .map(|i| log.init_transactions(&format!("p{i}")).unwrap())
                .collect();
            // Model: per partition, (value, owner) in offset order; owner None = plain.
            #[derive(Clone, Copy, PartialEq, Debug)]
            enum Fate { Open(usize), Committed, Aborted }
            let mut model: Vec<Vec<(String, Fate)>> = vec![Vec::new(), Vec::new()];
            let mut counter = 0;
            for o in ops {
                match o {
                    Op::Append(i, q, n) => {
                        let pr = &producers[i];
                        if !pr.in_transaction() {
                            pr.begin().unwrap();
                        }
                        let rs: Vec<Record> = (0..n).map(|_| {
                            counter += 1;
                            Record::unkeyed(format!("r{counter}"), 0)
                        }).collect();
                        pr.append(&log.topic("t").unwrap(), q, &rs).unwrap();
                        for r in &rs {
                            let v = String::from_utf8(r.value.as_deref().unwrap().to_vec()).unwrap();
                            model[q as usize].push((v, Fate::Open(i)));
                        }
                    }
                    Op::Commit(i) | Op::Abort(i) => {
                        let commit = matches!(o, Op::Commit(_));
                        let pr = &producers[i];
                        if !pr.in_transaction() {
                            continue;
                        }
                        if commit { pr.commit().unwrap() } else { pr.abort().unwrap() }
                        for part in model.iter_mut() {
                            for r in part.iter_mut() {
                                if r.1 == Fate::Open(i) {
                                    r.1 = if commit { Fate::Committed } else { Fate::Aborted };
                                }
                            }
                        }
                    }
                    Op::Plain(q) => {
                        counter += 1;
                        let v = format!("r{counter}");
                        log.topic("t").unwrap().append(q, &[Record::unkeyed(v.clone(), 0)]).unwrap();
                        model[q as usize].push((v, Fate::Committed));
                    }
                    Op::Reopen => {
                        drop(producers);
                        drop(log);
                        log = open(dir.path());
                        producers = (0..2)
                            .map(|i| log.init_transactions(&format!("p{i}")).unwrap())
                            .collect();
                        for part in model.iter_mut() {
                            for r in part.iter_mut() {
                                if matches!(r.1, Fate::Open(_)) {
                                    r.1 = Fate::Aborted;
                                }
                            }
                        }
                    }
                }
                let t = log.topic("t").unwrap();
                for q in 0..2u32 {
                    let part = &model[q as usize];
                    let stable = part
                        .iter()
                        .position(|r| matches!(r.1, Fate::Open(_)))
                        .unwrap_or(part.len());
                    let want: Vec<String> = part[..stable]
                        .iter()
                        .filter(|r| r.1 == Fate::Committed)
                        .map(|r| r.0.clone())
                        .collect();
                    let p = t.partition(q).unwrap();
                    let (got, next) = read_all(p, IsolationLevel::ReadCommitted);
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(next, p.last_stable_offset());
                    let all: Vec<String> = part.iter().map(|r| r.0.clone()).collect();
                    prop_assert_eq!(read_all(p, IsolationLevel::ReadUncommitted).0, all);
                }
            }
        }
    }
}
