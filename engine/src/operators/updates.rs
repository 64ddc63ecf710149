//! updates.rs owns [`Updates`]: the results a windowed GROUP BY operator emits, gathered
//! column by column as they come (keys as input rows of the batch or key rows copied in,
//! each call's result straight from its accumulator column, timestamps, windows and
//! deletes), then made into one batch of output rows.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, UInt32Array};
use arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;

use super::aggregate::Evaluated;
use super::group_state::{corrupt, scalars_to_array, KeyTable};
use super::make_batch;
use crate::aggregate::column::{AccColumn, ColumnResults};
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::rows::Rows;

/// The key of an emitted result: an input row of the batch, or a key row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UpdateKey<'a> {
    Input(usize),
    Own(&'a [u8]),
}

/// Emitted results, built column by column.
#[derive(Debug)]
pub(crate) struct Updates {
    /// Per result: the input row, or u32::MAX for a key row of `own`.
    rows: Vec<u32>,
    own_ends: Vec<usize>,
    own: Vec<u8>,
    results: Vec<ColumnResults>,
    timestamps: Vec<i64>,
    windows: Vec<Window>,
    deletes: Vec<bool>,
}

const OWN_KEY: u32 = u32::MAX;

impl Updates {
    /// Empty results for the calls whose states are these columns.
    pub fn new(accs: &[AccColumn]) -> Self {
        Updates {
            rows: Vec::new(),
            own_ends: Vec::new(),
            own: Vec::new(),
            results: accs.iter().map(|a| a.results(0)).collect(),
            timestamps: Vec::new(),
            windows: Vec::new(),
            deletes: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    /// Room for `n` more results, `key_bytes` of them key rows of their own.
    pub fn reserve(&mut self, n: usize, key_bytes: usize) {
        self.rows.reserve(n);
        self.timestamps.reserve(n);
        self.windows.reserve(n);
        self.deletes.reserve(n);
        if key_bytes > 0 {
            self.own_ends.reserve(n);
            self.own.reserve(key_bytes);
        }
        for r in &mut self.results {
            r.reserve(n);
        }
    }

    fn push_key(&mut self, key: UpdateKey<'_>) {
        match key {
            UpdateKey::Input(r) => self.rows.push(r as u32),
            UpdateKey::Own(bytes) => {
                self.rows.push(OWN_KEY);
                self.own.extend_from_slice(bytes);
                self.own_ends.push(self.own.len());
            }
        }
    }

    /// Appends group `g`'s result (its state in each of `accs`).
    pub fn push_group(
        &mut self,
        accs: &[AccColumn],
        g: u32,
        key: UpdateKey<'_>,
        ts: i64,
        window: Window,
    ) -> Result<()> {
        self.push_key(key);
        for (acc, out) in accs.iter().zip(self.results.iter_mut()) {
            acc.push_result(g as usize, out)?;
        }
        self.timestamps.push(ts);
        self.windows.push(window);
        self.deletes.push(false);
        Ok(())
    }

    /// Appends a result taken earlier (as scalars).
    pub fn push_values(
        &mut self,
        key: &[u8],
        values: Vec<ScalarValue>,
        ts: i64,
        window: Window,
    ) -> Result<()> {
        self.push_key(UpdateKey::Own(key));
        for (v, out) in values.into_iter().zip(self.results.iter_mut()) {
            out.push_scalar(v)?;
        }
        self.timestamps.push(ts);
        self.windows.push(window);
        self.deletes.push(false);
        Ok(())
    }

    /// Appends the delete of `key`'s result for `window` (its values are nulls).
    pub fn push_delete(&mut self, key: UpdateKey<'_>, ts: i64, window: Window) {
        self.push_key(key);
        for out in &mut self.results {
            out.push_null();
        }
        self.timestamps.push(ts);
        self.windows.push(window);
        self.deletes.push(true);
    }

    /// The results as rows of `schema` (key columns, the calls' results, then window
    /// bounds); `input` is the batch that [`UpdateKey::Input`] rows point into.
    pub fn finish(
        self,
        schema: &SchemaRef,
        keys: &mut KeyTable,
        partition: u32,
        input: Option<&Evaluated>,
    ) -> Result<Rows> {
        let n = self.len();
        let fields = schema.fields();
        let n_keys = keys.types().len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        if n_keys > 0 {
            let all_input = self.own_ends.is_empty();
            match input {
                Some(e) if all_input && n > 0 => {
                    let idx = UInt32Array::from(self.rows.clone());
                    for c in &e.key_cols {
                        columns.push(arrow::compute::take(c.as_ref(), &idx, None)?);
                    }
                }
                _ => {
                    let conv = keys.converter()?;
                    let parser = conv.parser();
                    let mut own = 0;
                    let mut list = Vec::with_capacity(n);
                    for &r in &self.rows {
                        if r == OWN_KEY {
                            let from = if own == 0 { 0 } else { self.own_ends[own - 1] };
                            list.push(parser.parse(&self.own[from..self.own_ends[own]]));
                            own += 1;
                        } else {
                            let rows =
                                input.and_then(|e| e.key_rows.as_ref()).ok_or_else(|| {
                                    corrupt("an update of an input row without the input's keys")
                                })?;
                            list.push(rows.row(r as usize));
                        }
                    }
                    columns.extend(conv.convert_rows(list)?);
                }
            }
        }
        let mut results = self.results.into_iter();
        for f in fields.iter().skip(n_keys) {
            let dt = f.data_type();
            let array: ArrayRef = match results.next() {
                Some(r) => match r.finish() {
                    Ok(array) => super::conform(array, dt)?,
                    Err(scalars) if scalars.is_empty() => arrow::array::new_empty_array(dt),
                    Err(scalars) => scalars_to_array(scalars, dt)?,
                },
                None => {
                    let values: Vec<i64> = match f.name().as_str() {
                        "WINDOWSTART" => self.windows.iter().map(|w| w.start).collect(),
                        "WINDOWEND" => self.windows.iter().map(|w| w.end).collect(),
                        _ => self.timestamps.clone(),
                    };
                    Arc::new(Int64Array::from(values))
                }
            };
            columns.push(array);
        }
        Ok(Rows {
            batch: make_batch(schema, columns, n)?,
            timestamps: self.timestamps,
            deletes: self.deletes,
            windows: Some(self.windows),
            partition,
        })
    }
}

#[cfg(test)]
impl Updates {
    /// (key row, timestamp, window, delete) of result `i` (every key a key row).
    pub fn row(&self, i: usize) -> (&[u8], i64, Window, bool) {
        let from = if i == 0 { 0 } else { self.own_ends[i - 1] };
        (
            &self.own[from..self.own_ends[i]],
            self.timestamps[i],
            self.windows[i],
            self.deletes[i],
        )
    }

    pub fn results(&self) -> &[ColumnResults] {
        &self.results
    }
}
