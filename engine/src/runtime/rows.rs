//! rows.rs owns [`Rows`]: what flows between operators. A batch laid out as a plan node's
//! schema, plus the per-record facts that are not columns of every schema: the record time
//! the sink writes, whether the row deletes its key (a table change), and its window.

use arrow::array::{Array, BooleanArray, RecordBatch, UInt32Array};
use arrow::compute::{filter_record_batch, take_record_batch};

use crate::formats::windowed::Window;

use super::error::EngineError;

/// Rows between two operators.
#[derive(Debug, Clone)]
pub struct Rows {
    /// One column per column of the producing node's schema, in order.
    pub batch: RecordBatch,
    /// The record time of each row: the timestamp the sink writes.
    pub timestamps: Vec<i64>,
    /// `true` where the row is a table change that deletes its key: only the key columns
    /// are meaningful and the sink writes a tombstone.
    pub deletes: Vec<bool>,
    /// The window of each row, when its key is windowed.
    pub windows: Option<Vec<Window>>,
    /// The source partition the rows were read from: stream time (window closing) is kept
    /// per partition, as Kafka Streams keeps it per task.
    pub partition: u32,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows where `mask` is true (null counts as false).
    pub fn filter(&self, mask: &BooleanArray) -> Result<Rows, EngineError> {
        if mask.null_count() == 0 && mask.true_count() == mask.len() {
            return Ok(self.clone());
        }
        let keep = |i: usize| mask.is_valid(i) && mask.value(i);
        Ok(Rows {
            batch: filter_record_batch(&self.batch, mask)?,
            timestamps: pick(&self.timestamps, keep),
            deletes: pick(&self.deletes, keep),
            windows: self.windows.as_ref().map(|w| pick(w, keep)),
            partition: self.partition,
        })
    }

    /// The rows at `indices`, in that order (repeats allowed).
    pub fn take(&self, indices: &[u32]) -> Result<Rows, EngineError> {
        let idx = UInt32Array::from(indices.to_vec());
        Ok(Rows {
            batch: take_record_batch(&self.batch, &idx)?,
            timestamps: indices
                .iter()
                .map(|i| self.timestamps[*i as usize])
                .collect(),
            deletes: indices.iter().map(|i| self.deletes[*i as usize]).collect(),
            windows: self
                .windows
                .as_ref()
                .map(|w| indices.iter().map(|i| w[*i as usize]).collect()),
            partition: self.partition,
        })
    }
}

fn pick<T: Copy>(v: &[T], keep: impl Fn(usize) -> bool) -> Vec<T> {
    v.iter()
        .enumerate()
        .filter(|(i, _)| keep(*i))
        .map(|(_, x)| *x)
        .collect()
}
