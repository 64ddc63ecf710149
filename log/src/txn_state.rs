//! txn_state.rs owns one partition's view of producers and transactions: the sequence
//! numbers of idempotent producers (so a retried append is not doubled), the transactions
//! still open on the partition (which bound the last stable offset), and the aborted
//! transactions (which `read_committed` readers skip), persisted in `aborted.txnindex`.
//!
//! `aborted.txnindex` is a sequence of 24-byte entries (big-endian): producer id (i64),
//! first offset of the transaction in this partition (u64), offset of its abort marker
//! (u64). An entry is written and fsynced *before* its abort marker is appended, so a
//! marker on disk always has its entry; an entry whose marker never made it (a crash in
//! between) covers exactly the records the transaction wrote, which recovery aborts again
//! at the same offset. A torn trailing entry is ignored.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::record::AppendInfo;

/// File name of a partition's aborted-transaction index.
pub(crate) const ABORTED_INDEX_FILE: &str = "aborted.txnindex";
const ENTRY_LEN: usize = 24;
/// How many recent appends per producer are remembered to answer a retry.
const RECENT_APPENDS: usize = 5;

/// One aborted transaction on one partition: the producer's batches with offsets in
/// `first..=last` are not committed (`last` is the abort marker's offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub producer_id: i64,
    pub first: u64,
    pub last: u64,
}

impl AbortedTxn {
    /// Whether a batch of `producer_id` starting at `offset` belongs to this transaction.
    pub fn covers(&self, producer_id: i64, offset: u64) -> bool {
        self.producer_id == producer_id && offset >= self.first && offset <= self.last
    }
}

/// What the partition remembers of a producer for idempotence.
#[derive(Debug, Clone)]
struct ProducerEntry {
    epoch: i16,
    /// Sequence number of the last record appended.
    last_seq: i32,
    /// Recent appends: (base sequence, record count, where they went).
    recent: VecDeque<(i32, i32, AppendInfo)>,
}

/// The outcome of checking an append's sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceCheck {
    /// Write it.
    Append,
    /// The same append was already written: answer with where it went, write nothing.
    Duplicate(AppendInfo),
    /// An older epoch of the producer: it has been fenced by a newer one.
    Fenced { current: i16 },
    /// A gap or an old sequence that is not a recent append.
    OutOfOrder { expected: i32 },
}

/// A partition's producers and transactions.
#[derive(Debug, Default)]
pub(crate) struct PartitionTxns {
    producers: HashMap<i64, ProducerEntry>,
    /// Open transactions: producer id -> first offset it wrote here.
    open: BTreeMap<i64, u64>,
    /// Aborted transactions, in the order of their markers.
    aborted: Vec<AbortedTxn>,
    /// The aborted-transaction index file (`None` on a read-only log).
    index_path: Option<PathBuf>,
    /// On a follower: every batch below this offset has been accounted for.
    scanned: u64,
}

impl PartitionTxns {
    /// Loads the aborted-transaction index of partition directory `dir` (a missing file is
    /// an empty index). `writable`: the file may be appended to later.
    pub fn load(dir: &Path, writable: bool) -> io::Result<PartitionTxns> {
        let path = dir.join(ABORTED_INDEX_FILE);
        let aborted = match std::fs::read(&path) {
            Ok(bytes) => bytes
                .chunks_exact(ENTRY_LEN)
                .map(|e| AbortedTxn {
                    producer_id: i64::from_be_bytes(e[0..8].try_into().expect("8 bytes")),
                    first: u64::from_be_bytes(e[8..16].try_into().expect("8 bytes")),
                    last: u64::from_be_bytes(e[16..24].try_into().expect("8 bytes")),
                })
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(PartitionTxns {
            aborted,
            index_path: writable.then_some(path),
            ..PartitionTxns::default()
        })
    }

    /// The state of a read-only follower: empty, to be derived from the batches (see
    /// [`PartitionTxns::on_follower_batch`]).
    pub fn follower() -> PartitionTxns {
        PartitionTxns::default()
    }

    /// On a follower: the offset below which every batch has been accounted for.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// On a follower: every batch below `offset` has been accounted for.
    pub fn set_scanned(&mut self, offset: u64) {
        self.scanned = self.scanned.max(offset);
    }

    /// On a follower: forgets everything derived so far (the writer rewrote the tail the
    /// follower had read), to be derived again from offset 0.
    pub fn reset_follower(&mut self) {
        *self = PartitionTxns::follower();
    }

    /// On a follower: accounts for one batch read from the partition, in offset order. A
    /// transactional data batch opens (or continues) its producer's transaction; a marker
    /// (`marker` = whether it aborts, and the transaction's first offset here) ends it.
    pub fn on_follower_batch(
        &mut self,
        producer_id: i64,
        base_offset: u64,
        transactional: bool,
        marker: Option<(bool, u64)>,
    ) {
        match marker {
            Some((aborted, first)) => {
                let aborted = aborted.then_some(AbortedTxn {
                    producer_id,
                    first,
                    last: base_offset,
                });
                self.on_marker(producer_id, aborted);
            }
            None if transactional => {
                self.open.entry(producer_id).or_insert(base_offset);
            }
            None => {}
        }
    }

    /// Checks an append of `count` records by `producer_id`/`epoch` starting at
    /// `base_seq`. A producer the partition does not know (new, or from before a reopen)
    /// may start at any sequence.
    pub fn check_sequence(
        &self,
        producer_id: i64,
        epoch: i16,
        base_seq: i32,
        count: i32,
    ) -> SequenceCheck {
        let Some(p) = self.producers.get(&producer_id) else {
            return SequenceCheck::Append;
        };
        if epoch < p.epoch {
            return SequenceCheck::Fenced { current: p.epoch };
        }
        if epoch > p.epoch {
            return if base_seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::OutOfOrder { expected: 0 }
            };
        }
        let expected = p.last_seq.wrapping_add(1);
        if base_seq == expected {
            return SequenceCheck::Append;
        }
        if let Some((_, _, info)) = p
            .recent
            .iter()
            .find(|(s, n, _)| *s == base_seq && *n == count)
        {
            return SequenceCheck::Duplicate(*info);
        }
        SequenceCheck::OutOfOrder { expected }
    }

    /// Records an append that was written.
    pub fn on_append(
        &mut self,
        producer_id: i64,
        epoch: i16,
        base_seq: i32,
        count: i32,
        info: AppendInfo,
        transactional: bool,
    ) {
        let p = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch,
                last_seq: -1,
                recent: VecDeque::new(),
            });
        if epoch != p.epoch {
            p.epoch = epoch;
            p.recent.clear();
        }
        p.last_seq = base_seq.wrapping_add(count - 1);
        p.recent.push_back((base_seq, count, info));
        while p.recent.len() > RECENT_APPENDS {
            p.recent.pop_front();
        }
        if transactional {
            self.open.entry(producer_id).or_insert(info.base_offset);
        }
    }

    /// Raises a producer's epoch here (a marker written by a newer epoch fences the older
    /// one on this partition too).
    pub fn bump_epoch(&mut self, producer_id: i64, epoch: i16) {
        let p = self
            .producers
            .entry(producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch,
                last_seq: -1,
                recent: VecDeque::new(),
            });
        if epoch > p.epoch {
            p.epoch = epoch;
            p.last_seq = -1;
            p.recent.clear();
        }
    }

    /// The first offset of `producer_id`'s open transaction here, if any.
    pub fn open_first(&self, producer_id: i64) -> Option<u64> {
        self.open.get(&producer_id).copied()
    }

    /// Writes (and fsyncs) the index entry of an abort whose marker goes at `last`;
    /// returns the index's length before it, for [`PartitionTxns::unpersist_abort`].
    pub fn persist_abort(&self, txn: AbortedTxn) -> io::Result<Option<u64>> {
        let Some(path) = &self.index_path else {
            return Ok(None);
        };
        let mut f: File = OpenOptions::new().create(true).append(true).open(path)?;
        let len = f.metadata()?.len();
        if len % ENTRY_LEN as u64 != 0 {
            // A torn entry from a crash: cut it off before appending.
            f.set_len(len - len % ENTRY_LEN as u64)?;
        }
        let mut e = [0u8; ENTRY_LEN];
        e[0..8].copy_from_slice(&txn.producer_id.to_be_bytes());
        e[8..16].copy_from_slice(&txn.first.to_be_bytes());
        e[16..24].copy_from_slice(&txn.last.to_be_bytes());
        let before = len - len % ENTRY_LEN as u64;
        f.write_all(&e)?;
        f.sync_all()?;
        Ok(Some(before))
    }

    /// Takes back an entry [`PartitionTxns::persist_abort`] wrote when its marker could not
    /// be written: the marker's offset will hold other records, which the entry would
    /// otherwise hide as aborted. `len` is what `persist_abort` returned.
    pub fn unpersist_abort(&self, len: Option<u64>) -> io::Result<()> {
        let (Some(path), Some(len)) = (&self.index_path, len) else {
            return Ok(());
        };
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    /// A transaction of `producer_id` ended with a marker at `marker_offset`.
    pub fn on_marker(&mut self, producer_id: i64, aborted: Option<AbortedTxn>) {
        self.open.remove(&producer_id);
        if let Some(a) = aborted {
            if !self.aborted.contains(&a) {
                self.aborted.push(a);
            }
        }
    }

    /// The last stable offset: the first offset of the oldest open transaction, or `end`.
    pub fn last_stable_offset(&self, end: u64) -> u64 {
        self.open.values().copied().min().unwrap_or(end).min(end)
    }

    /// The aborted transactions that may cover batches in `from..to`.
    pub fn aborted_between(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last >= from && a.first < to)
            .copied()
            .collect()
    }

    /// Whether a batch of `producer_id` at `offset` was aborted.
    pub fn is_aborted(&self, producer_id: i64, offset: u64) -> bool {
        producer_id >= 0 && self.aborted.iter().any(|a| a.covers(producer_id, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(b: u64, l: u64) -> AppendInfo {
        AppendInfo {
            base_offset: b,
            last_offset: l,
        }
    }

    #[test]
    fn sequences_dedupe_retries_and_refuse_gaps_and_old_epochs() {
        let mut t = PartitionTxns::default();
        assert_eq!(t.check_sequence(7, 0, 0, 3), SequenceCheck::Append);
        t.on_append(7, 0, 0, 3, info(10, 12), false);
        assert_eq!(t.check_sequence(7, 0, 3, 2), SequenceCheck::Append);
        assert_eq!(
            t.check_sequence(7, 0, 0, 3),
            SequenceCheck::Duplicate(info(10, 12))
        );
        assert_eq!(
            t.check_sequence(7, 0, 5, 1),
            SequenceCheck::OutOfOrder { expected: 3 }
        );
        t.bump_epoch(7, 1);
        assert_eq!(
            t.check_sequence(7, 0, 3, 1),
            SequenceCheck::Fenced { current: 1 }
        );
        assert_eq!(t.check_sequence(7, 1, 0, 1), SequenceCheck::Append);
    }

    #[test]
    fn a_follower_derives_open_and_aborted_transactions_from_batches() {
        let mut t = PartitionTxns::follower();
        t.on_follower_batch(-1, 0, false, None);
        t.on_follower_batch(1, 1, true, None);
        t.on_follower_batch(2, 3, true, None);
        t.on_follower_batch(1, 4, true, None);
        assert_eq!(
            t.last_stable_offset(6),
            1,
            "producer 1's transaction is open"
        );
        t.on_follower_batch(1, 6, true, Some((true, 1)));
        assert_eq!(t.last_stable_offset(7), 3, "producer 2's is still open");
        assert!(t.is_aborted(1, 1) && t.is_aborted(1, 4) && !t.is_aborted(2, 3));
        t.on_follower_batch(2, 7, true, Some((false, 3)));
        assert_eq!(t.last_stable_offset(8), 8);
        t.set_scanned(8);
        assert_eq!(t.scanned(), 8);
        t.reset_follower();
        assert_eq!((t.scanned(), t.aborted_between(0, 100)), (0, vec![]));
    }

    #[test]
    fn lso_and_aborted_index_survive_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = PartitionTxns::load(dir.path(), true).unwrap();
        t.on_append(1, 0, 0, 2, info(5, 6), true);
        t.on_append(2, 0, 0, 1, info(7, 7), true);
        assert_eq!(t.last_stable_offset(8), 5);
        let a = AbortedTxn {
            producer_id: 1,
            first: 5,
            last: 8,
        };
        t.persist_abort(a).unwrap();
        t.on_marker(1, Some(a));
        assert_eq!(t.last_stable_offset(9), 7);
        t.on_marker(2, None);
        assert_eq!(t.last_stable_offset(10), 10);
        assert!(t.is_aborted(1, 6) && !t.is_aborted(2, 6) && !t.is_aborted(1, 9));
        // A torn trailing entry is ignored.
        let path = dir.path().join(ABORTED_INDEX_FILE);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        let t = PartitionTxns::load(dir.path(), true).unwrap();
        assert_eq!(t.aborted_between(0, 100), vec![a]);
    }
}
