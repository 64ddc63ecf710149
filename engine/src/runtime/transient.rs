//! transient.rs owns SELECT statements run to completion: pull queries (no EMIT) answer
//! from the current state of a table — the latest record per key of its topic — or scan a
//! stream's topic; push queries (EMIT CHANGES) here replay the topic from the start (when
//! `auto.offset.reset` is `earliest`) up to its current end. The interactive shell streams
//! push queries live instead.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use brook_log::{IsolationLevel, Log, ReadLimit, StoredRecord};
use brook_sql::plan::Schema;

use super::error::Result;
use super::pipeline::{run_operators, Pipeline};
use super::processing_log::ProcessingError;

/// The rows a SELECT returned.
#[derive(Debug, Clone)]
pub struct QueryRows {
    /// Output columns (keys, then values).
    pub schema: Schema,
    pub batches: Vec<RecordBatch>,
    /// Per row, across the batches in order: whether the row is a table change deleting its
    /// key (push queries over tables). Empty when no row is.
    pub tombstones: Vec<bool>,
}

impl QueryRows {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Runs a transient query over what its source topic holds now.
pub fn run(
    log: &Arc<Log>,
    mut pipeline: Pipeline,
    pull: bool,
    from_beginning: bool,
) -> Result<QueryRows> {
    let entry = pipeline.source.codec.entry.clone();
    let topic = log.topic(&entry.topic)?;
    let mut batches = Vec::new();
    let mut tombstones: Vec<bool> = Vec::new();
    let mut errors: Vec<ProcessingError> = Vec::new();
    if !pull && !from_beginning {
        return Ok(QueryRows {
            schema: pipeline.output.clone(),
            batches,
            tombstones: Vec::new(),
        });
    }
    if pipeline.join.is_some() {
        return run_joined(log, pipeline, errors);
    }
    for p in topic.partitions() {
        let mut records = read_partition(p)?;
        if entry.is_table() {
            // A table record without a key is invalid (ksqlDB drops it).
            records.retain(|r| r.key.is_some());
        }
        if pull && entry.is_table() {
            // The table's current state: the latest record per key, tombstones removing it.
            let mut latest: BTreeMap<Vec<u8>, StoredRecord> = BTreeMap::new();
            for r in records {
                let k = r.key.as_deref().unwrap_or_default().to_vec();
                if r.value.is_none() {
                    latest.remove(&k);
                } else {
                    latest.insert(k, r);
                }
            }
            records = latest.into_values().collect();
        }
        for chunk in records.chunks(8192) {
            let src = &pipeline.source;
            let mut rows = src
                .codec
                .decode(&src.schema, &src.arrow, p.id(), chunk, &mut errors)?;
            if !entry.is_table() {
                // A stream record without a value is no row (ksqlDB ignores it).
                let keep: Vec<bool> = rows.deletes.iter().map(|d| !d).collect();
                rows = rows.filter(&arrow::array::BooleanArray::from(keep))?;
            }
            let out = run_operators(&mut pipeline.operators, rows, &mut errors)?;
            if out.is_empty() {
                continue;
            }
            if pull {
                let keep: Vec<bool> = out.deletes.iter().map(|d| !d).collect();
                let out = out.filter(&arrow::array::BooleanArray::from(keep))?;
                if !out.is_empty() {
                    batches.push(out.batch);
                }
            } else {
                // A push query over a table shows deletions as tombstone rows.
                tombstones.extend(out.deletes.iter().copied());
                batches.push(out.batch);
            }
        }
    }
    if !tombstones.contains(&true) {
        tombstones.clear();
    }
    Ok(QueryRows {
        schema: pipeline.output.clone(),
        batches,
        tombstones,
    })
}

/// A SELECT with joins: every topic it reads, from the start, in the order
/// [`Pipeline::in_time_order`] gives (joins have no pull form; the result is their changes).
fn run_joined(
    log: &Arc<Log>,
    mut pipeline: Pipeline,
    mut errors: Vec<ProcessingError>,
) -> Result<QueryRows> {
    let mut pieces = Vec::new();
    let mut topics: Vec<String> = Vec::new();
    let inputs: Vec<(usize, String)> = pipeline
        .inputs()
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.codec.entry.topic.clone()))
        .collect();
    for (_, name) in &inputs {
        if topics.contains(name) {
            continue;
        }
        topics.push(name.clone());
        let topic = log.topic(name)?;
        for p in topic.partitions() {
            let records = read_partition(p)?;
            for (i, _) in inputs.iter().filter(|(_, t)| t == name) {
                let src = pipeline.input(*i);
                let rows =
                    src.codec
                        .decode(&src.schema, &src.arrow, p.id(), &records, &mut errors)?;
                pieces.push((*i, rows));
            }
        }
    }
    let mut batches = Vec::new();
    for (input, rows) in pipeline.in_time_order(pieces)? {
        let out = pipeline.process(input, rows, &mut errors)?;
        let keep: Vec<bool> = out.deletes.iter().map(|d| !d).collect();
        let out = out.filter(&arrow::array::BooleanArray::from(keep))?;
        if !out.is_empty() {
            batches.push(out.batch);
        }
    }
    Ok(QueryRows {
        schema: pipeline.output.clone(),
        batches,
        tombstones: Vec::new(),
    })
}

/// Every committed record a partition holds now, in offset order (records of open or
/// aborted transactions are not results).
fn read_partition(p: &brook_log::Partition) -> Result<Vec<StoredRecord>> {
    let mut records: Vec<StoredRecord> = Vec::new();
    let mut from = p.start_offset();
    loop {
        let read = p.read_isolated(
            from,
            ReadLimit::records(8192),
            IsolationLevel::ReadCommitted,
        )?;
        if read.next_offset <= from {
            break;
        }
        from = read.next_offset;
        records.extend(read.records);
    }
    Ok(records)
}
