//! scalable_push.rs owns scalable push queries (ksqlDB's `ksql.query.push.v2.enabled`): push
//! queries over the output of one running persistent query share one reader of its sink.
//!
//! As in ksqlDB, where a `ScalablePushRegistry` per persistent query runs one consumer of
//! the query's sink from `latest` and fans the rows out to every scalable push query
//! attached to it, a [`SharedSink`] reads the sink's committed records once, decodes them
//! once, and keeps the decoded batches until every attached [`SinkSubscription`] has taken
//! them. A thousand clients watching one table cost one decode per record, not a thousand.
//! Each subscription then runs its own filter and projection (the rest of its pipeline).
//!
//! [`eligible`] holds ksqlDB's rules for when a push query is scalable; the engine falls
//! back to an ordinary push query (which reads the topic itself) when they do not hold.
//!
//! A subscriber that stops taking rows does not hold memory without bound: once the batches
//! it has not taken exceed [`MAX_PENDING_BATCHES`], it is detached and its next poll fails
//! with [`EngineError::Statement`] saying it fell behind.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use brook_log::{Partition, Topic};
use brook_sql::plan::{LogicalPlan, Node};

use super::error::{EngineError, Result};
use super::pipeline::SourceInput;
use super::processing_log::ProcessingError;
use super::rows::Rows;

/// Decoded batches a subscriber may leave untaken before it is detached.
pub const MAX_PENDING_BATCHES: usize = 4096;

/// The property that turns scalable push queries on (off by default, as in ksqlDB).
pub const PUSH_V2_ENABLED: &str = "ksql.query.push.v2.enabled";

/// Whether a push query over `plan` may attach to the output of a running query, by
/// ksqlDB's rules: the property is on; it reads one source (no join) that exactly one
/// running query writes (`writers`); it has no GROUP BY, WINDOW, HAVING or PARTITION BY;
/// and it starts at the latest offsets (`auto.offset.reset` is not `earliest`).
pub fn eligible(plan: &LogicalPlan, enabled: bool, from_beginning: bool, writers: usize) -> bool {
    enabled && !from_beginning && writers == 1 && only_selects(plan)
}

/// Whether the plan reads one source through filters, projections, table functions and a
/// limit only.
fn only_selects(plan: &LogicalPlan) -> bool {
    match &plan.node {
        Node::Source { .. } => true,
        Node::Filter { input, .. }
        | Node::FlatMap { input, .. }
        | Node::Project { input, .. }
        | Node::Limit { input, .. } => only_selects(input),
        _ => false,
    }
}

/// What the shared reader decoded from one read of one partition.
#[derive(Debug)]
struct Decoded {
    rows: Rows,
    errors: Vec<ProcessingError>,
    records: u64,
}

/// The reader's position and the decoded batches some subscriber has not taken yet.
#[derive(Debug, Default)]
struct Tail {
    /// Next offset to read, per partition.
    positions: BTreeMap<u32, u64>,
    /// Decoded batches, oldest first; the front one has sequence number `first_seq`.
    pending: VecDeque<Arc<Decoded>>,
    first_seq: u64,
    /// The next sequence number each attached subscriber takes.
    cursors: HashMap<u64, u64>,
    /// Subscribers detached for falling behind (their next poll fails).
    detached: Vec<u64>,
    next_subscriber: u64,
    /// Records read from the sink, over the reader's life.
    records_read: u64,
}

impl Tail {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.pending.len() as u64
    }

    /// Drops the batches every subscriber has taken.
    fn trim(&mut self) {
        let oldest = self
            .cursors
            .values()
            .copied()
            .min()
            .unwrap_or(self.next_seq());
        while self.first_seq < oldest && self.pending.pop_front().is_some() {
            self.first_seq += 1;
        }
    }

    /// Detaches the subscribers furthest behind while too many batches are kept.
    fn bound(&mut self) {
        while self.pending.len() > MAX_PENDING_BATCHES {
            let Some((&id, _)) = self.cursors.iter().min_by_key(|(_, seq)| **seq) else {
                break;
            };
            self.cursors.remove(&id);
            self.detached.push(id);
            self.trim();
        }
    }
}

/// One running query's sink, read once for every scalable push query attached to it.
#[derive(Debug)]
pub struct SharedSink {
    topic: Arc<Topic>,
    /// The column types the sink decodes to: a subscriber whose source decodes to other
    /// types cannot share the batches.
    types: Vec<DataType>,
    tail: Mutex<Tail>,
}

impl SharedSink {
    /// A reader of `topic` for sources decoding to `arrow`'s column types, starting at the
    /// topic's current end.
    pub fn new(topic: Arc<Topic>, arrow: &SchemaRef) -> SharedSink {
        let positions = super::push::start_positions(&topic, false);
        SharedSink {
            topic,
            types: column_types(arrow),
            tail: Mutex::new(Tail {
                positions,
                ..Tail::default()
            }),
        }
    }

    /// Whether a source decoding to `arrow` can share this reader's batches.
    pub fn fits(&self, topic: &str, arrow: &SchemaRef) -> bool {
        self.topic.name() == topic && self.types == column_types(arrow)
    }

    /// Records read from the sink so far: once each, however many subscribers there are.
    pub fn records_read(&self) -> u64 {
        self.lock().records_read
    }

    /// Subscribers attached now.
    pub fn subscribers(&self) -> usize {
        self.lock().cursors.len()
    }

    fn lock(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attaches a subscriber that sees what reaches the sink from now on. `input` decodes
    /// the records read meanwhile (it decodes like every other subscriber's, see `fits`).
    pub fn subscribe(self: &Arc<Self>, input: &SourceInput) -> Result<SinkSubscription> {
        let mut tail = self.lock();
        if tail.cursors.is_empty() {
            // Nobody needs what was read before: start over at the end.
            tail.pending.clear();
            tail.first_seq = 0;
            tail.positions = super::push::start_positions(&self.topic, false);
        } else {
            // Others are attached: read up to the end so the newcomer starts after it.
            while self.advance(&mut tail, input)? {}
        }
        let id = tail.next_subscriber;
        tail.next_subscriber += 1;
        let at = tail.next_seq();
        tail.cursors.insert(id, at);
        Ok(SinkSubscription {
            sink: self.clone(),
            id,
        })
    }

    /// Reads and decodes one bounded read of every partition; whether anything was read.
    fn advance(&self, tail: &mut Tail, input: &SourceInput) -> Result<bool> {
        let mut any = false;
        for p in self.topic.partitions() {
            let (records, moved) = super::push::read_next(p, &mut tail.positions)?;
            any |= moved;
            if records.is_empty() {
                continue;
            }
            let mut errors = Vec::new();
            let rows = super::push::decode_input(input, p.id(), &records, &mut errors)?;
            let n = records.len() as u64;
            tail.records_read += n;
            tail.pending.push_back(Arc::new(Decoded {
                rows,
                errors,
                records: n,
            }));
        }
        tail.bound();
        Ok(any)
    }

    /// Every partition of the sink with the reader's next offset there.
    fn positions(&self, tail: &Tail) -> Vec<(Arc<Partition>, u64)> {
        self.topic
            .partitions()
            .iter()
            .map(|p| {
                let at = tail.positions.get(&p.id()).copied().unwrap_or(0);
                (p.clone(), at.max(p.start_offset()))
            })
            .collect()
    }
}

/// The rows a subscriber took in one poll, laid out as its own source's schema.
#[derive(Debug)]
pub struct Taken {
    pub rows: Vec<Rows>,
    pub errors: Vec<ProcessingError>,
    pub records: u64,
}

/// One scalable push query's place in a [`SharedSink`]; dropping it detaches it.
#[derive(Debug)]
pub struct SinkSubscription {
    sink: Arc<SharedSink>,
    id: u64,
}

impl SinkSubscription {
    /// Advances the shared reader once and takes every batch this subscriber has not taken,
    /// relabelled with `input`'s schema (the same columns under its own alias).
    pub fn poll(&mut self, input: &SourceInput) -> Result<Taken> {
        let mut tail = self.sink.lock();
        if tail.detached.contains(&self.id) {
            return Err(fell_behind());
        }
        self.sink.advance(&mut tail, input)?;
        let Some(&from) = tail.cursors.get(&self.id) else {
            return Err(fell_behind());
        };
        let mut taken = Taken {
            rows: Vec::new(),
            errors: Vec::new(),
            records: 0,
        };
        let skip = (from - tail.first_seq) as usize;
        for d in tail.pending.iter().skip(skip) {
            let mut rows = d.rows.clone();
            rows.batch = RecordBatch::try_new(input.arrow.clone(), rows.batch.columns().to_vec())?;
            taken.rows.push(rows);
            taken.errors.extend(d.errors.iter().cloned());
            taken.records += d.records;
        }
        let end = tail.next_seq();
        tail.cursors.insert(self.id, end);
        tail.trim();
        Ok(taken)
    }

    /// Whether a poll would return something: a batch not taken, or unread records.
    pub fn has_input(&self) -> bool {
        let tail = self.sink.lock();
        let behind = tail
            .cursors
            .get(&self.id)
            .is_none_or(|&at| at < tail.next_seq());
        behind
            || self
                .sink
                .positions(&tail)
                .iter()
                .any(|(p, at)| p.end_offset() > *at)
    }

    /// Resolves once [`SinkSubscription::has_input`] may be true: at once when it is, else
    /// on the next append to the sink.
    pub fn changed(&self) -> impl Future<Output = ()> + Send + 'static {
        let ready = self.has_input();
        let positions = self.sink.positions(&self.sink.lock());
        async move {
            if !ready {
                super::runner::any_append(positions).await;
            }
        }
    }

    /// Every partition of the sink with the shared reader's next offset there.
    pub fn partitions(&self) -> Vec<(Arc<Partition>, u64)> {
        self.sink.positions(&self.sink.lock())
    }

    /// The shared reader this subscription is attached to.
    pub fn sink(&self) -> &Arc<SharedSink> {
        &self.sink
    }
}

impl Drop for SinkSubscription {
    fn drop(&mut self) {
        let mut tail = self.sink.lock();
        tail.cursors.remove(&self.id);
        tail.detached.retain(|d| *d != self.id);
        tail.trim();
    }
}

fn fell_behind() -> EngineError {
    EngineError::Statement(format!(
        "Scalable push query fell behind its source by more than {MAX_PENDING_BATCHES} batches \
         and was detached: read its rows faster, or run it again to resume from the latest rows"
    ))
}

fn column_types(arrow: &SchemaRef) -> Vec<DataType> {
    arrow
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_with(pending: usize, cursors: &[(u64, u64)]) -> Tail {
        let mut t = Tail::default();
        for _ in 0..pending {
            t.pending.push_back(Arc::new(Decoded {
                rows: Rows {
                    batch: RecordBatch::new_empty(Arc::new(arrow::datatypes::Schema::empty())),
                    timestamps: vec![],
                    deletes: vec![],
                    windows: None,
                    partition: 0,
                },
                errors: vec![],
                records: 1,
            }));
        }
        t.cursors = cursors.iter().copied().collect();
        t
    }

    #[test]
    fn batches_stay_until_every_subscriber_took_them() {
        let mut t = tail_with(5, &[(0, 2), (1, 4)]);
        t.trim();
        assert_eq!(t.first_seq, 2);
        assert_eq!(t.pending.len(), 3);
        t.cursors.insert(0, 5);
        t.trim();
        assert_eq!((t.first_seq, t.pending.len()), (4, 1));
        t.cursors.clear();
        t.trim();
        assert!(t.pending.is_empty());
        assert_eq!(t.next_seq(), 5);
    }

    #[test]
    fn the_slowest_subscriber_is_detached_when_too_much_is_kept() {
        let mut t = tail_with(MAX_PENDING_BATCHES + 10, &[(7, 0), (8, 20)]);
        t.bound();
        assert_eq!(t.detached, vec![7]);
        assert!(t.cursors.contains_key(&8));
        assert_eq!(t.first_seq, 20);
        assert!(t.pending.len() <= MAX_PENDING_BATCHES);
    }
}
