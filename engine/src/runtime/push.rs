//! push.rs owns [`PushQuery`]: a live `SELECT ... EMIT CHANGES`. It reads its source topics
//! from their ends (or their starts, with `auto.offset.reset=earliest`) and, each time it is
//! polled, runs what arrived since through its pipeline and hands back the rows that came
//! out — for tables and aggregations, every change. It keeps no state outside itself:
//! dropping it frees everything it holds. A LIMIT ends it once that many rows came out.
//!
//! Between polls a front end waits for input: [`PushQuery::wait`] blocks the thread until
//! the log notifies an append to a partition it reads; [`PushQuery::changed`] is the same
//! as a future, for async front ends (one task per push query, no thread). On a follower
//! (a read-only log another process writes) appends are seen by refreshing: `wait` polls,
//! and `changed` relies on the log's background refresher (every 100 ms).
//!
//! A scalable push query (see `scalable_push.rs`) reads no topic itself: it takes the rows a
//! [`SharedSink`] decoded once for every push query attached to the same running query.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{BooleanArray, RecordBatch};
use brook_log::{IsolationLevel, Log, Partition, ReadLimit, StoredRecord, Topic};
use brook_sql::plan::Schema;

use super::error::Result;
use super::pipeline::{Pipeline, SourceInput};
use super::processing_log::ProcessingError;
use super::rows::Rows;
use super::scalable_push::{SharedSink, SinkSubscription};

/// Records read per partition per poll.
const POLL_RECORDS: usize = 8192;

/// A topic a push query reads, with the pipeline inputs decoded from it.
#[derive(Debug)]
struct Subscription {
    topic: Arc<Topic>,
    inputs: Vec<usize>,
    /// Next offset to read, per partition.
    positions: BTreeMap<u32, u64>,
}

/// Where a reader of `topic` starts in each partition: the start, or the current end.
pub(crate) fn start_positions(topic: &Topic, from_beginning: bool) -> BTreeMap<u32, u64> {
    topic
        .partitions()
        .iter()
        .map(|p| {
            let at = if from_beginning {
                p.start_offset()
            } else {
                p.end_offset()
            };
            (p.id(), at)
        })
        .collect()
}

/// One bounded read of `p`'s committed records (what an exactly-once query aborted is not
/// output) from its entry in `positions` (or its start), moving the entry past what was
/// read; also whether it moved.
pub(crate) fn read_next(
    p: &Partition,
    positions: &mut BTreeMap<u32, u64>,
) -> Result<(Vec<StoredRecord>, bool)> {
    let from = positions
        .get(&p.id())
        .copied()
        .unwrap_or(0)
        .max(p.start_offset());
    let read = p.read_isolated(
        from,
        ReadLimit::records(POLL_RECORDS),
        IsolationLevel::ReadCommitted,
    )?;
    let moved = read.next_offset > from;
    if moved {
        positions.insert(p.id(), read.next_offset);
    }
    Ok((read.records, moved))
}

/// Decodes `records` of `partition` as rows of `input`, as a push query sees them: a table
/// record without a key is no row, nor is a stream record without a value.
pub(crate) fn decode_input(
    input: &SourceInput,
    partition: u32,
    records: &[StoredRecord],
    errors: &mut Vec<ProcessingError>,
) -> Result<Rows> {
    let table = input.codec.entry.is_table();
    let keyed: Vec<StoredRecord>;
    let records = if table && records.iter().any(|r| r.key.is_none()) {
        keyed = records
            .iter()
            .filter(|r| r.key.is_some())
            .cloned()
            .collect();
        &keyed[..]
    } else {
        records
    };
    let rows = input
        .codec
        .decode(&input.schema, &input.arrow, partition, records, errors)?;
    if table {
        return Ok(rows);
    }
    let keep: BooleanArray = rows.deletes.iter().map(|d| Some(!d)).collect();
    rows.filter(&keep)
}

/// Rows a push query emitted, with whether each deletes its key (a tombstone).
#[derive(Debug, Clone)]
pub struct PushChanges {
    pub batch: RecordBatch,
    pub tombstones: Vec<bool>,
}

/// A running push query.
#[derive(Debug)]
pub struct PushQuery {
    pipeline: Pipeline,
    subscriptions: Vec<Subscription>,
    /// Set for a scalable push query: its rows come from a shared reader of the sink.
    shared: Option<SinkSubscription>,
    /// Rows still allowed by LIMIT; None without one.
    remaining: Option<u64>,
    /// Records read and rows emitted so far.
    pub records_read: u64,
    pub rows_emitted: u64,
    /// Records that failed to decode or evaluate (also in the processing log's form).
    pub errors: Vec<ProcessingError>,
}

impl PushQuery {
    /// Subscribes to the pipeline's source topics, at their starts when `from_beginning`,
    /// else at their current ends.
    pub fn new(log: &Arc<Log>, pipeline: Pipeline, from_beginning: bool) -> Result<PushQuery> {
        let mut subscriptions: Vec<Subscription> = Vec::new();
        for (i, input) in pipeline.inputs().into_iter().enumerate() {
            let name = &input.codec.entry.topic;
            if let Some(s) = subscriptions.iter_mut().find(|s| s.topic.name() == name) {
                s.inputs.push(i);
                continue;
            }
            let topic = log.topic(name)?;
            let positions = start_positions(&topic, from_beginning);
            subscriptions.push(Subscription {
                topic,
                inputs: vec![i],
                positions,
            });
        }
        Ok(PushQuery {
            remaining: pipeline.limit,
            pipeline,
            subscriptions,
            shared: None,
            records_read: 0,
            rows_emitted: 0,
            errors: Vec::new(),
        })
    }

    /// A scalable push query: attaches `pipeline` (one source, no join) to `sink`, the
    /// shared reader of the running query that writes that source.
    pub fn attached(pipeline: Pipeline, sink: &Arc<SharedSink>) -> Result<PushQuery> {
        let shared = sink.subscribe(pipeline.input(0))?;
        Ok(PushQuery {
            remaining: pipeline.limit,
            pipeline,
            subscriptions: Vec::new(),
            shared: Some(shared),
            records_read: 0,
            rows_emitted: 0,
            errors: Vec::new(),
        })
    }

    /// Whether it is a scalable push query, attached to a running query's output.
    pub fn is_scalable(&self) -> bool {
        self.shared.is_some()
    }

    /// The columns of the rows it emits (keys, then values).
    pub fn schema(&self) -> &Schema {
        &self.pipeline.output
    }

    /// Whether LIMIT rows have come out: the query is over.
    pub fn finished(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Processes what arrived since the last poll and returns the rows emitted (none when
    /// nothing new arrived); deletions are left out (see [`PushQuery::poll_changes`]).
    pub fn poll(&mut self) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for change in self.poll_changes()? {
            let keep: BooleanArray = change.tombstones.iter().map(|d| Some(!d)).collect();
            let batch = arrow::compute::filter_record_batch(&change.batch, &keep)?;
            if batch.num_rows() > 0 {
                out.push(batch);
            }
        }
        Ok(out)
    }

    /// Processes what arrived since the last poll and returns the changes emitted, as a
    /// transient push query replays them (`transient::run`): a stream record without a value
    /// and a table record without a key are no row; a change deleting a table's key is a
    /// tombstone row (its key columns set), counted by LIMIT as ksqlDB counts it. Joins
    /// show no deletions.
    pub fn poll_changes(&mut self) -> Result<Vec<PushChanges>> {
        let mut out = Vec::new();
        if self.finished() {
            return Ok(out);
        }
        let mut pieces = Vec::new();
        let mut errors = Vec::new();
        if let Some(shared) = &mut self.shared {
            let taken = shared.poll(self.pipeline.input(0))?;
            self.records_read += taken.records;
            errors.extend(taken.errors);
            pieces.extend(taken.rows.into_iter().map(|rows| (0, rows)));
        }
        for s in self.subscriptions.iter_mut() {
            for p in s.topic.partitions() {
                let (records, _) = read_next(p, &mut s.positions)?;
                if records.is_empty() {
                    continue;
                }
                self.records_read += records.len() as u64;
                for &i in &s.inputs {
                    let rows = decode_input(self.pipeline.input(i), p.id(), &records, &mut errors)?;
                    pieces.push((i, rows));
                }
            }
        }
        if pieces.is_empty() {
            return Ok(out);
        }
        let joined = self.pipeline.join.is_some();
        let ordered = if joined {
            self.pipeline.in_time_order(pieces)?
        } else {
            pieces
        };
        for (input, rows) in ordered {
            let mut rows = self.pipeline.process(input, rows, &mut errors)?;
            if joined {
                let keep: BooleanArray = rows.deletes.iter().map(|d| Some(!d)).collect();
                rows = rows.filter(&keep)?;
            }
            let mut batch = rows.batch;
            let mut tombstones = rows.deletes;
            if let Some(remaining) = &mut self.remaining {
                let n = (batch.num_rows() as u64).min(*remaining);
                batch = batch.slice(0, n as usize);
                tombstones.truncate(n as usize);
                *remaining -= n;
            }
            if batch.num_rows() > 0 {
                self.rows_emitted += batch.num_rows() as u64;
                out.push(PushChanges { batch, tombstones });
            }
            if self.finished() {
                break;
            }
        }
        self.errors.extend(errors);
        Ok(out)
    }

    /// Every partition it reads, with the next offset it reads there.
    fn positions(&self) -> Vec<(Arc<Partition>, u64)> {
        if let Some(shared) = &self.shared {
            return shared.partitions();
        }
        self.subscriptions
            .iter()
            .flat_map(|s| {
                s.topic.partitions().iter().map(|p| {
                    let at = s.positions.get(&p.id()).copied().unwrap_or(0);
                    (p.clone(), at.max(p.start_offset()))
                })
            })
            .collect()
    }

    /// Whether a partition it reads has records it has not read yet.
    pub fn has_input(&self) -> bool {
        if let Some(shared) = &self.shared {
            return shared.has_input();
        }
        self.positions().iter().any(|(p, at)| p.end_offset() > *at)
    }

    /// Waits up to `timeout` for a record to arrive on any partition it reads (returns
    /// early when one does), woken by the log's append notification.
    pub fn wait(&self, timeout: Duration) -> Result<()> {
        if self.shared.is_some() {
            if !self.has_input() {
                super::runner::wait_for_append(&self.positions(), timeout, &|| false);
            }
            return Ok(());
        }
        let read_only = self
            .subscriptions
            .first()
            .and_then(|s| s.topic.partitions().first().map(|p| p.is_read_only()))
            .unwrap_or(false);
        if !read_only {
            super::runner::wait_for_append(&self.positions(), timeout, &|| false);
            return Ok(());
        }
        // A follower sees another process's appends only by refreshing.
        let step = Duration::from_millis(20).min(timeout);
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            for s in &self.subscriptions {
                s.topic.refresh()?;
            }
            if self.has_input() {
                return Ok(());
            }
            std::thread::sleep(step);
        }
        Ok(())
    }

    /// Resolves once a partition it reads has a record it has not read (at once if one
    /// already has): await it between polls instead of [`PushQuery::wait`]. The future
    /// holds no borrow of the query and is `Send`; drop it to stop waiting.
    pub fn changed(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = self.shared.as_ref().map(|s| s.changed());
        let appended = super::runner::any_append(self.positions());
        async move {
            match shared {
                Some(changed) => changed.await,
                None => appended.await,
            }
        }
    }
}
