//! query.rs owns [`PersistentQuery`]: a CREATE ... AS SELECT or INSERT INTO ... SELECT kept
//! running. Each [`PersistentQuery::step`] reads what is new on the source topic's
//! partitions (from the query's committed offsets), runs it through the operators as one
//! micro-batch per partition read, writes the results to the sink topic, then commits the
//! operators' state and the source offsets.
//!
//! Who calls `step` and `commit`: the engine's thread for this query (see `runner.rs`), or
//! the caller of [`super::Engine::step_queries`] when queries run in the foreground.
//!
//! Exactly-once (`processing.guarantee=exactly_once_v2`, the default): the query has a
//! transactional producer (transactional id = the query id; a restarted query fences its
//! previous incarnation and aborts what that left open). Everything one commit covers —
//! sink records, the state stores' changelog records and the source offsets (the query's
//! consumer group) — is written in one transaction, and the stores' RocksDB writes follow
//! once it committed. Sources are read `read_committed`, so a query downstream of another
//! sees only its committed output. A crash anywhere loses nothing and doubles nothing: the
//! open transaction is aborted, state restores from committed changelog records, and the
//! query resumes from the committed offsets. `at_least_once` writes without transactions
//! and reads `read_uncommitted` (a crash re-emits what followed the last commit).
//!
//! A query with joins reads several topics (see [`JoinedTopic`]): each step reads what is
//! new on all of them, decodes it for every input over the topic, and runs it in the order
//! [`Pipeline::in_time_order`] gives.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_log::{IsolationLevel, Log, Partition, Producer, ReadLimit, RecordRef, Topic};

use super::codec::{ProvidedSchemas, SourceCodec};
use super::error::{EngineError, Result};
use super::materialized::Materialization;
use super::pipeline::{run_operators, Pipeline};
use super::processing_log::{self, ProcessingError};
use crate::formats::windowed::WindowType;

/// Records read per partition per micro-batch. 16,384 rather than 8,192: the per-batch work
/// (Arrow arrays, output rows, the sink append) then weighs less, 4% on the tumbling anchor
/// (median of five alternated runs). The final results are the same; how many intermediate
/// updates a record cache lets through moves with where batches end, as it does in ksqlDB.
pub const DEFAULT_BATCH_RECORDS: usize = 16384;
/// Default `commit.interval.ms`: ksqlDB's (`KsqlConstants.defaultCommitIntervalMsConfig`,
/// 2000 ms, which it sets over Kafka Streams' 30 s). The record caches flush at commit too.
pub const DEFAULT_COMMIT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(2000);

/// `processing.guarantee`: how a persistent query commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProcessingGuarantee {
    /// One transaction per commit (sink, changelogs, offsets); read_committed inputs.
    #[default]
    ExactlyOnceV2,
    /// Plain writes; a crash re-emits what followed the last commit.
    AtLeastOnce,
}

/// The property names that set the guarantee (ksqlDB's and Kafka Streams' forms).
pub const PROCESSING_GUARANTEE_PROPERTIES: [&str; 2] =
    ["processing.guarantee", "ksql.streams.processing.guarantee"];

impl ProcessingGuarantee {
    /// Parses a `processing.guarantee` value (`exactly_once` is taken as `exactly_once_v2`,
    /// as Kafka Streams 3 does).
    pub fn parse(value: &str) -> std::result::Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "exactly_once_v2" | "exactly_once" | "exactly_once_beta" => {
                Ok(ProcessingGuarantee::ExactlyOnceV2)
            }
            "at_least_once" => Ok(ProcessingGuarantee::AtLeastOnce),
            other => Err(format!(
                "invalid processing.guarantee {other:?}: expected exactly_once_v2 or at_least_once"
            )),
        }
    }

    /// The property's value.
    pub fn name(self) -> &'static str {
        match self {
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
        }
    }

    fn isolation(self) -> IsolationLevel {
        match self {
            ProcessingGuarantee::ExactlyOnceV2 => IsolationLevel::ReadCommitted,
            ProcessingGuarantee::AtLeastOnce => IsolationLevel::ReadUncommitted,
        }
    }
}

/// A persistent query.
#[derive(Debug)]
pub struct PersistentQuery {
    pub id: String,
    /// The statement that started it.
    pub sql: String,
    pub sink_name: String,
    pub source_name: String,
    pipeline: Pipeline,
    sink_codec: SourceCodec,
    sink_topic: Arc<Topic>,
    source_topic: Arc<Topic>,
    /// Next offset to read, per source partition.
    positions: BTreeMap<u32, u64>,
    log: Arc<Log>,
    /// Records read and records that failed, since start.
    pub processed: u64,
    pub failed: u64,
    /// Records written to the sink, since start.
    pub produced: u64,
    pub batch_records: usize,
    /// How often state and offsets are committed while records keep coming
    /// (`commit.interval.ms`).
    pub commit_interval: std::time::Duration,
    /// When the first record processed since the last commit was processed (None: all
    /// committed). Nothing stays uncommitted longer than `commit_interval` while the query
    /// is stepped.
    uncommitted_since: Option<std::time::Instant>,
    /// For a query with joins: every topic it reads (the source topic first). Empty otherwise.
    joined: Vec<JoinedTopic>,
    /// The current rows of the table a CTAS writes, for pull queries (see `materialized`).
    materialized: Option<Materialization>,
    pub guarantee: ProcessingGuarantee,
    /// The transactional producer (exactly-once; made on first use for a query without
    /// state, whose workers each have their own).
    producer: Option<Arc<Producer>>,
    /// The state stores its operators use (a transactional view when exactly-once).
    stores: Option<brook_state::StateStores>,
    /// Set by `restrict_to`: the worker's transactional id names its partitions.
    worker_partitions: Option<Vec<u32>>,
}

/// A topic a query with joins reads, and the pipeline inputs over it.
#[derive(Debug)]
struct JoinedTopic {
    topic: Arc<Topic>,
    inputs: Vec<usize>,
    /// Next offset to read, per partition.
    positions: BTreeMap<u32, u64>,
}

impl PersistentQuery {
    /// Starts a query from its committed offsets (the start of the source for a new query).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        sql: String,
        pipeline: Pipeline,
        log: Arc<Log>,
        sink_topic: Arc<Topic>,
        schemas: &ProvidedSchemas,
        state: Option<&brook_state::StateStores>,
        guarantee: ProcessingGuarantee,
    ) -> Result<Self> {
        Self::new_task(
            id, sql, pipeline, log, sink_topic, schemas, state, guarantee, None,
        )
    }

    /// Starts one task of a query whose state is partitioned like its source (a GROUP BY of
    /// the source's key, see the engine's `start_query`): the task reads source partition
    /// `task` only, with state stores, table materialization and transactional id of its
    /// own, all named `<query id>-partitions-<task>` (as Kafka Streams gives each task its
    /// stores and, under exactly-once v2, each thread its producer). Offsets go to the
    /// query's consumer group. `None`: one task over every partition (names `<query id>`).
    #[allow(clippy::too_many_arguments)]
    pub fn new_task(
        id: String,
        sql: String,
        pipeline: Pipeline,
        log: Arc<Log>,
        sink_topic: Arc<Topic>,
        schemas: &ProvidedSchemas,
        state: Option<&brook_state::StateStores>,
        guarantee: ProcessingGuarantee,
        task: Option<u32>,
    ) -> Result<Self> {
        let mut pipeline = pipeline;
        let scope = match task {
            Some(p) => task_name(&id, &[p]),
            None => id.clone(),
        };
        // Exactly-once with state: fence the previous incarnation (aborting its open
        // transaction) before the stores restore, so they restore committed records only.
        let producer = match (guarantee, state) {
            (ProcessingGuarantee::ExactlyOnceV2, Some(_)) => {
                Some(Arc::new(log.init_transactions(&scope)?))
            }
            _ => None,
        };
        let stores = match (state, &producer) {
            (Some(s), Some(p)) => Some(s.transactional(p.clone())),
            (Some(s), None) => Some(s.clone()),
            (None, _) => None,
        };
        let state = stores.as_ref();
        // Stateful operators restore their state; the offsets it was committed with win
        // over the consumer group's (they commit atomically with the state).
        let mut restored: Option<Vec<(u32, u64)>> = None;
        if let Some(stores) = state {
            for (i, op) in pipeline.operators.iter_mut().enumerate() {
                if let Some(o) = op.attach_state(stores, &scope, i)? {
                    restored = Some(o);
                }
            }
        }
        if let Some(stores) = state {
            pipeline.attach_join_state(stores, &id)?;
        }
        let sink = pipeline
            .sink
            .clone()
            .expect("persistent queries have a sink");
        let sink_codec = SourceCodec::new(&sink, schemas)?;
        let materialized = match state {
            Some(stores) if sink.is_table() => Some(Materialization::open(
                stores,
                &scope,
                sink_topic.partition_count(),
                sink_codec.window_type(),
                pipeline.operators.iter().find_map(|o| o.retention()),
            )?),
            _ => None,
        };
        let source_topic = log.topic(&pipeline.source.codec.entry.topic)?;
        let mut positions = BTreeMap::new();
        for p in 0..source_topic.partition_count() {
            if task.is_some_and(|t| t != p) {
                continue;
            }
            let committed = match &restored {
                Some(o) => o.iter().find(|(q, _)| *q == p).map(|(_, o)| *o),
                None => log.committed_offset(&id, source_topic.name(), p),
            };
            let start = source_topic.partition(p)?.start_offset();
            positions.insert(p, committed.unwrap_or(start).max(start));
        }
        let mut joined: Vec<JoinedTopic> = Vec::new();
        if pipeline.join.is_some() {
            for (i, input) in pipeline.inputs().into_iter().enumerate() {
                let name = &input.codec.entry.topic;
                if let Some(t) = joined.iter_mut().find(|t| t.topic.name() == name) {
                    t.inputs.push(i);
                    continue;
                }
                let topic = log.topic(name)?;
                let mut positions = BTreeMap::new();
                for p in 0..topic.partition_count() {
                    let start = topic.partition(p)?.start_offset();
                    let committed = log.committed_offset(&id, topic.name(), p);
                    positions.insert(p, committed.unwrap_or(start).max(start));
                }
                joined.push(JoinedTopic {
                    topic,
                    inputs: vec![i],
                    positions,
                });
            }
        }
        Ok(PersistentQuery {
            id,
            sql,
            sink_name: sink.name.clone(),
            source_name: pipeline.source.codec.entry.name.clone(),
            pipeline,
            sink_codec,
            sink_topic,
            source_topic,
            positions,
            log,
            processed: 0,
            failed: 0,
            produced: 0,
            batch_records: DEFAULT_BATCH_RECORDS,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            uncommitted_since: None,
            joined,
            materialized,
            guarantee,
            producer,
            stores,
            worker_partitions: task.map(|p| vec![p]),
        })
    }

    /// The transactional producer, made on first use (exactly-once only).
    fn producer(&mut self) -> Result<Option<Arc<Producer>>> {
        if self.guarantee != ProcessingGuarantee::ExactlyOnceV2 {
            return Ok(None);
        }
        if self.producer.is_none() {
            let txn_id = match &self.worker_partitions {
                None => self.id.clone(),
                Some(ps) => task_name(&self.id, ps),
            };
            self.producer = Some(Arc::new(self.log.init_transactions(&txn_id)?));
        }
        Ok(self.producer.clone())
    }

    /// The producer with a transaction open (exactly-once), beginning one if needed.
    fn transaction(&mut self) -> Result<Option<Arc<Producer>>> {
        let p = self.producer()?;
        if let Some(p) = &p {
            if !p.in_transaction() {
                p.begin()?;
            }
        }
        Ok(p)
    }

    /// Commits the operators' state, the materialization and the source offsets: in one
    /// transaction (exactly-once, then the stores' RocksDB writes), or one after the other.
    fn commit_state_and_offsets(&mut self, offsets: &[(String, u32, u64)]) -> Result<()> {
        let producer = self.transaction()?;
        self.pipeline.for_each_operator(&mut |op| op.commit())?;
        self.pipeline.commit_joins()?;
        if let Some(m) = &self.materialized {
            m.commit()?;
        }
        match producer {
            Some(p) => {
                p.send_offsets(&self.id, offsets)?;
                p.commit()?;
                if let Some(s) = &self.stores {
                    s.complete_transaction()?;
                }
            }
            None => self.log.commit_offsets(&self.id, offsets)?,
        }
        Ok(())
    }

    /// [`PersistentQuery::step`] for a query with joins.
    fn step_joined(&mut self) -> Result<usize> {
        let mut total = 0;
        let mut errors: Vec<ProcessingError> = Vec::new();
        let mut pieces = Vec::new();
        for t in self.joined.iter_mut() {
            for p in 0..t.topic.partition_count() {
                let partition = t.topic.partition(p)?.clone();
                let from = t.positions.get(&p).copied().unwrap_or(0);
                let from = from.max(partition.start_offset());
                let read = partition.read_isolated(
                    from,
                    ReadLimit::records(self.batch_records),
                    self.guarantee.isolation(),
                )?;
                t.positions.insert(p, read.next_offset.max(from));
                let records = read.records;
                if records.is_empty() {
                    continue;
                }
                total += records.len();
                for &i in &t.inputs {
                    let src = self.pipeline.input(i);
                    let rows =
                        src.codec
                            .decode(&src.schema, &src.arrow, p, &records, &mut errors)?;
                    pieces.push((i, rows));
                }
            }
        }
        if total == 0 {
            return Ok(0);
        }
        for (input, rows) in self.pipeline.in_time_order(pieces)? {
            let out = self
                .pipeline
                .process(input, rows, &mut errors)
                .map_err(|cause| {
                    let topic = self
                        .joined
                        .iter()
                        .find(|t| t.inputs.contains(&input))
                        .map(|t| t.topic.name().to_string())
                        .unwrap_or_default();
                    EngineError::Processing {
                        query: self.id.clone(),
                        records: format!("topic={topic}"),
                        cause: Box::new(cause),
                    }
                })?;
            self.produce(&out, &mut errors)?;
        }
        for out in self.pipeline.flush(&mut errors)? {
            self.produce(&out, &mut errors)?;
        }
        self.failed += errors.len() as u64;
        self.processed += total as u64;
        let offsets: Vec<(String, u32, u64)> = self
            .joined
            .iter()
            .flat_map(|t| {
                t.positions
                    .iter()
                    .map(|(p, o)| (t.topic.name().to_string(), *p, *o))
            })
            .collect();
        self.commit_state_and_offsets(&offsets)?;
        processing_log::write(&self.log, &self.id, &errors)?;
        Ok(total)
    }

    /// The names of every source it reads (the joined ones too).
    pub fn source_names(&self) -> Vec<&str> {
        self.pipeline
            .inputs()
            .into_iter()
            .map(|i| i.codec.entry.name.as_str())
            .collect()
    }

    /// Writes rows to the sink topic; rows that cannot be encoded are reported in `errors`.
    /// The table's materialization (a CTAS) follows what is written.
    fn produce(
        &mut self,
        out: &super::rows::Rows,
        errors: &mut Vec<ProcessingError>,
    ) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        let mut skipped = Vec::new();
        let encoded = self.sink_codec.encode_batch(out, &mut skipped);
        errors.extend(skipped.into_iter().map(ProcessingError::row));
        match encoded {
            Ok(batch) => {
                let recs = batch.records();
                let producer = self.transaction()?;
                produce(
                    &self.sink_topic,
                    &self.sink_codec,
                    &recs,
                    producer.as_deref(),
                )?;
                self.produced += recs.len() as u64;
                if let Some(m) = &self.materialized {
                    m.apply(&recs);
                }
            }
            Err(e) => errors.push(ProcessingError::row(format!(
                "Error serializing rows for {}: {e}",
                self.sink_name
            ))),
        }
        Ok(())
    }

    /// Turns on the record caches of its operators (see
    /// [`crate::operators::Operator::enable_record_cache`]); their contents go to the
    /// sink at each commit.
    pub fn enable_record_cache(&mut self, max_keys: usize) {
        for op in self.pipeline.operators.iter_mut() {
            op.enable_record_cache(max_keys);
        }
    }

    /// The current rows of the table this query writes, when it is a CTAS run with state.
    pub fn materialized(&self) -> Option<&Materialization> {
        self.materialized.as_ref()
    }

    /// The source topic's name.
    pub fn source_topic(&self) -> &str {
        self.source_topic.name()
    }

    /// Processes what is new on the source; returns the number of records read.
    pub fn step(&mut self) -> Result<usize> {
        if !self.joined.is_empty() {
            return self.step_joined();
        }
        let mut total = 0;
        let mut errors: Vec<ProcessingError> = Vec::new();
        let partitions: Vec<u32> = self.positions.keys().copied().collect();
        for p in partitions {
            let partition = self.source_topic.partition(p)?.clone();
            let from = self.positions.get(&p).copied().unwrap_or(0);
            let from = from.max(partition.start_offset());
            let read = partition.read_isolated(
                from,
                ReadLimit::records(self.batch_records),
                self.guarantee.isolation(),
            )?;
            let next = read.next_offset.max(from);
            let records = read.records;
            if records.is_empty() {
                // Only markers or aborted records: move past them.
                self.positions.insert(p, next);
                continue;
            }
            total += records.len();
            let before = errors.len();
            let src = &self.pipeline.source;
            let rows = src
                .codec
                .decode(&src.schema, &src.arrow, p, &records, &mut errors)?;
            let out = run_operators(&mut self.pipeline.operators, rows, &mut errors).map_err(
                |cause| EngineError::Processing {
                    query: self.id.clone(),
                    records: format!(
                        "topic={}, partition={p}, offsets={from}..={}",
                        self.source_topic.name(),
                        next - 1
                    ),
                    cause: Box::new(cause),
                },
            )?;
            self.produce(&out, &mut errors)?;
            self.failed += (errors.len() - before) as u64;
            self.positions.insert(p, next);
        }
        if total > 0 {
            self.processed += total as u64;
            self.uncommitted_since
                .get_or_insert_with(std::time::Instant::now);
            processing_log::write(&self.log, &self.id, &errors)?;
            if self.commit_due() {
                self.commit()?;
            }
        }
        Ok(total)
    }

    /// Whether records were processed since the last commit.
    pub fn has_uncommitted(&self) -> bool {
        self.uncommitted_since.is_some()
    }

    /// Whether the oldest uncommitted work is `commit_interval` old.
    pub fn commit_due(&self) -> bool {
        self.time_to_commit().is_some_and(|d| d.is_zero())
    }

    /// How long until a commit is due (None: nothing to commit).
    pub fn time_to_commit(&self) -> Option<std::time::Duration> {
        self.uncommitted_since
            .map(|t| self.commit_interval.saturating_sub(t.elapsed()))
    }

    /// Every partition it reads with the next offset it will read there (its position).
    pub fn input_positions(&self) -> Vec<(Arc<Partition>, u64)> {
        if !self.joined.is_empty() {
            return self
                .joined
                .iter()
                .flat_map(|t| {
                    t.topic.partitions().iter().map(|p| {
                        let at = t.positions.get(&p.id()).copied().unwrap_or(0);
                        (p.clone(), at)
                    })
                })
                .collect();
        }
        self.source_topic
            .partitions()
            .iter()
            .filter_map(|p| Some((p.clone(), *self.positions.get(&p.id())?)))
            .collect()
    }

    /// Reads (and commits) only the source partitions in `partitions` from now on: one of
    /// several workers of a query that keeps no state, each over its own partitions.
    pub fn restrict_to(&mut self, partitions: &[u32]) {
        self.positions.retain(|p, _| partitions.contains(p));
        self.worker_partitions = Some(self.positions.keys().copied().collect());
    }

    /// The source partitions it reads.
    pub fn source_partitions(&self) -> Vec<u32> {
        self.positions.keys().copied().collect()
    }

    /// The sink topic's name.
    pub fn sink_topic(&self) -> &str {
        self.sink_topic.name()
    }

    /// Commits the operators' state with the source offsets it covers, then the offsets
    /// to the query's consumer group. Steps commit once the oldest uncommitted record is
    /// `commit_interval` old; a query is also committed when it has caught up and someone
    /// waits for that (see [`super::Engine::wait_until_idle`]), and when it stops.
    pub fn commit(&mut self) -> Result<()> {
        if self.uncommitted_since.is_none() {
            return Ok(());
        }
        // What record caches hold goes to the sink before the offsets that cover it.
        let mut errors = Vec::new();
        for out in self.pipeline.flush(&mut errors)? {
            self.produce(&out, &mut errors)?;
        }
        self.failed += errors.len() as u64;
        processing_log::write(&self.log, &self.id, &errors)?;
        let positions: Vec<(u32, u64)> = self.positions.iter().map(|(p, o)| (*p, *o)).collect();
        for op in self.pipeline.operators.iter_mut() {
            op.note_offsets(&positions);
        }
        let topic = self.source_topic.name().to_string();
        let offsets: Vec<(String, u32, u64)> = self
            .positions
            .iter()
            .map(|(p, o)| (topic.clone(), *p, *o))
            .collect();
        self.commit_state_and_offsets(&offsets)?;
        self.uncommitted_since = None;
        Ok(())
    }

    /// Whether every partition has been read to its end.
    pub fn caught_up(&self) -> bool {
        if !self.joined.is_empty() {
            return self.joined.iter().all(|t| {
                t.topic.partitions().iter().all(|p| {
                    t.positions.get(&p.id()).copied().unwrap_or(0)
                        >= p.end_offset_for(self.guarantee.isolation())
                })
            });
        }
        self.source_topic.partitions().iter().all(|p| {
            self.positions
                .get(&p.id())
                .is_none_or(|at| *at >= p.end_offset_for(self.guarantee.isolation()))
        })
    }
}

impl Drop for PersistentQuery {
    /// A query that goes away with a transaction open (it failed, or was dropped without
    /// a commit) aborts it, so that `read_committed` readers of its sink are not held back
    /// at its last stable offset until the next start.
    fn drop(&mut self) {
        if let Some(p) = &self.producer {
            if p.in_transaction() {
                let _ = p.abort();
            }
        }
    }
}

/// The name of a query's task or worker over source partitions `partitions`: its
/// transactional id, and the prefix of its state stores' names.
fn task_name(query_id: &str, partitions: &[u32]) -> String {
    let ps: Vec<String> = partitions.iter().map(u32::to_string).collect();
    format!("{query_id}-partitions-{}", ps.join("_"))
}

/// Writes a query's output records to its sink topic. Keys pick partitions as Kafka's
/// default partitioner does, except windowed keys, which Kafka Streams partitions by the key
/// without its window (`WindowedStreamPartitioner`), so every window of a key lands on the
/// key's partition.
fn produce(
    topic: &Topic,
    codec: &SourceCodec,
    records: &[RecordRef<'_>],
    producer: Option<&Producer>,
) -> Result<()> {
    let trailer = match codec.window_type() {
        None => {
            match producer {
                Some(p) => p.produce(topic, records)?,
                None => topic.produce(records)?,
            };
            return Ok(());
        }
        Some(WindowType::Time) => 8,
        Some(WindowType::Session) => 16,
    };
    if topic.partition_count() == 1 {
        // One partition: no key to hash, no copy to sort records by partition.
        match producer {
            Some(prod) => prod.append(topic, 0, records)?,
            None => topic.append(0, records)?,
        };
        return Ok(());
    }
    let mut by_partition: BTreeMap<u32, Vec<RecordRef<'_>>> = BTreeMap::new();
    for r in records {
        let p = match r.key {
            Some(k) if k.len() >= trailer => topic.partition_for_key(&k[..k.len() - trailer]),
            _ => 0,
        };
        by_partition.entry(p).or_default().push(*r);
    }
    for (p, rs) in by_partition {
        match producer {
            Some(prod) => prod.append(topic, p, &rs)?,
            None => topic.append(p, &rs)?,
        };
    }
    Ok(())
}
