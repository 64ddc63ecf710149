//! aggregate.rs owns GROUP BY: per group (and window), the running state of each aggregate
//! call, updated row by row and emitted after every row (ksqlDB with record caching off).
//!
//! - Streams: each row is added to its group's accumulators. Null rows and rows whose group
//!   key has a NULL are skipped.
//! - Tables: a row replaces the previous row of its source key, so the previous row is taken
//!   back (retracted) from its group first; a delete only retracts. When the old and new rows
//!   are in the same group one update is emitted, else one per group (old group first).
//! - Windows: TUMBLING `[k·size, k·size+size)`, HOPPING every `[k·advance, k·advance+size)`
//!   holding the row, SESSION merging rows closer than the gap (replaced sessions are
//!   deleted). Stream time is the largest timestamp seen; a row for a window that closed
//!   (window end + grace <= stream time) is dropped. Default grace: 24 hours, as ksqlDB.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use brook_sql::analyzer::WindowType;
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate, make_batch, Operator};
use crate::aggregate::{Accumulator, AggregateFunction};
use crate::formats::windowed::Window;
use crate::runtime::error::{EngineError, Result};
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// Grace period when a window names none (ksqlDB's default).
pub const DEFAULT_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// One aggregate call: its function and the expressions of its per-row arguments.
#[derive(Debug)]
pub struct AggregateCallPlan {
    pub function: AggregateFunction,
    pub args: Vec<Arc<dyn PhysicalExpr>>,
}

#[derive(Debug)]
struct Group {
    key: Vec<ScalarValue>,
    accs: Vec<Box<dyn Accumulator>>,
}

#[derive(Debug, Clone)]
struct Session {
    window: Window,
    /// The argument values of every row in the session, to rebuild merged sessions.
    rows: Vec<Vec<Vec<ScalarValue>>>,
}

/// A table row's contribution, kept to retract it when the row changes.
#[derive(Debug, Clone)]
struct TableRow {
    group: Vec<u8>,
    key: Vec<ScalarValue>,
    args: Vec<Vec<ScalarValue>>,
}

#[derive(Debug)]
pub struct Aggregate {
    group_by: Vec<Arc<dyn PhysicalExpr>>,
    calls: Vec<AggregateCallPlan>,
    window: Option<WindowSpec>,
    schema: SchemaRef,
    /// Input columns that make up the source key (table input only).
    table_key: Option<Vec<usize>>,
    groups: HashMap<Vec<u8>, Group>,
    sessions: HashMap<Vec<u8>, (Vec<ScalarValue>, Vec<Session>)>,
    table_rows: HashMap<Vec<u8>, TableRow>,
    /// Largest timestamp seen, per source partition.
    stream_times: HashMap<u32, i64>,
    stream_time: i64,
    key_converter: Option<RowConverter>,
    source_key_converter: Option<RowConverter>,
}

/// An emitted update.
struct Output {
    key: Vec<ScalarValue>,
    values: Option<Vec<ScalarValue>>,
    timestamp: i64,
    window: Option<Window>,
}

impl Aggregate {
    /// `table_key`: for table input, the input columns holding the source table's key.
    pub fn new(
        group_by: Vec<Arc<dyn PhysicalExpr>>,
        calls: Vec<AggregateCallPlan>,
        window: Option<WindowSpec>,
        schema: SchemaRef,
        table_key: Option<Vec<usize>>,
    ) -> Self {
        Aggregate {
            group_by,
            calls,
            window,
            schema,
            table_key,
            groups: HashMap::new(),
            sessions: HashMap::new(),
            table_rows: HashMap::new(),
            stream_times: HashMap::new(),
            stream_time: i64::MIN,
            key_converter: None,
            source_key_converter: None,
        }
    }

    fn grace(&self) -> i64 {
        self.window
            .and_then(|w| w.grace_ms)
            .map(|g| g as i64)
            .unwrap_or(DEFAULT_GRACE_MS)
    }

    fn new_accumulators(&self) -> Vec<Box<dyn Accumulator>> {
        self.calls.iter().map(|c| c.function.create()).collect()
    }

    fn values_of(accs: &[Box<dyn Accumulator>]) -> Vec<ScalarValue> {
        accs.iter().map(|a| a.value()).collect()
    }

    /// Adds (or retracts) one row's arguments to the group `gk`, returning its new values.
    fn update(
        &mut self,
        gk: Vec<u8>,
        key: &[ScalarValue],
        args: &[Vec<ScalarValue>],
        retract: bool,
    ) -> Result<Vec<ScalarValue>> {
        if !self.groups.contains_key(&gk) {
            let accs = self.new_accumulators();
            self.groups.insert(
                gk.clone(),
                Group {
                    key: key.to_vec(),
                    accs,
                },
            );
        }
        let g = self.groups.get_mut(&gk).expect("inserted above");
        for (acc, a) in g.accs.iter_mut().zip(args) {
            if retract {
                acc.retract(a)?;
            } else {
                acc.add(a)?;
            }
        }
        Ok(Self::values_of(&g.accs))
    }

    fn windows_for(&self, ts: i64) -> Vec<Window> {
        let Some(w) = self.window else {
            return vec![];
        };
        let size = w.size_ms as i64;
        match w.kind {
            WindowType::Tumbling => {
                let start = ts - ts.rem_euclid(size.max(1));
                vec![Window {
                    start,
                    end: start + size,
                }]
            }
            WindowType::Hopping => {
                let advance = w.advance_ms.unwrap_or(w.size_ms).max(1) as i64;
                let mut out = Vec::new();
                let last = ts - ts.rem_euclid(advance);
                let mut start = last;
                while start > ts - size && start >= 0 {
                    out.push(Window {
                        start,
                        end: start + size,
                    });
                    start -= advance;
                }
                out.reverse();
                out
            }
            WindowType::Session => vec![],
        }
    }

    fn session_update(
        &mut self,
        gk: Vec<u8>,
        key: &[ScalarValue],
        args: Vec<Vec<ScalarValue>>,
        ts: i64,
        out: &mut Vec<Output>,
    ) -> Result<()> {
        let gap = self.window.map(|w| w.size_ms as i64).unwrap_or(0);
        let close = self.stream_time.saturating_sub(self.grace());
        let sessions = &mut self
            .sessions
            .entry(gk)
            .or_insert_with(|| (key.to_vec(), Vec::new()))
            .1;
        let (merge, keep): (Vec<Session>, Vec<Session>) = sessions
            .drain(..)
            .partition(|s| s.window.end + gap >= ts && s.window.start - gap <= ts);
        *sessions = keep;
        let mut window = Window { start: ts, end: ts };
        let mut rows = Vec::new();
        for s in &merge {
            window.start = window.start.min(s.window.start);
            window.end = window.end.max(s.window.end);
            rows.extend(s.rows.iter().cloned());
        }
        if window.end <= close {
            // The session this row would join has closed: the row is late.
            sessions.extend(merge);
            return Ok(());
        }
        rows.push(args);
        let mut accs: Vec<Box<dyn Accumulator>> =
            self.calls.iter().map(|c| c.function.create()).collect();
        for r in &rows {
            for (acc, a) in accs.iter_mut().zip(r) {
                acc.add(a)?;
            }
        }
        for s in &merge {
            if s.window != window {
                out.push(Output {
                    key: key.to_vec(),
                    values: None,
                    timestamp: ts,
                    window: Some(s.window),
                });
            }
        }
        out.push(Output {
            key: key.to_vec(),
            values: Some(Self::values_of(&accs)),
            timestamp: ts,
            window: Some(window),
        });
        sessions.push(Session { window, rows });
        Ok(())
    }
}

fn row_values(cols: &[ArrayRef], row: usize) -> Result<Vec<ScalarValue>> {
    cols.iter()
        .map(|c| ScalarValue::try_from_array(c, row).map_err(EngineError::from))
        .collect()
}

fn convert(conv: &mut Option<RowConverter>, cols: &[ArrayRef]) -> Result<arrow::row::Rows> {
    if conv.is_none() {
        let fields = cols
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        *conv = Some(RowConverter::new(fields)?);
    }
    Ok(conv.as_ref().expect("set above").convert_columns(cols)?)
}

impl Operator for Aggregate {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let mut exprs = self.group_by.clone();
        for c in &self.calls {
            exprs.extend(c.args.iter().cloned());
        }
        let (cols, kept) = evaluate(&exprs, &input, errors)?;
        let input = match kept {
            Some(mask) => input.filter(&mask)?,
            None => input,
        };
        let n_keys = self.group_by.len();
        let key_cols = &cols[..n_keys];
        let key_rows = convert(&mut self.key_converter, key_cols)?;
        let source_keys = match &self.table_key {
            Some(idx) => {
                let sk: Vec<ArrayRef> = idx.iter().map(|i| input.batch.column(*i).clone()).collect();
                Some(convert(&mut self.source_key_converter, &sk)?)
            }
            None => None,
        };
        let mut outputs: Vec<Output> = Vec::new();
        self.stream_time = self
            .stream_times
            .get(&input.partition)
            .copied()
            .unwrap_or(i64::MIN);
        for row in 0..input.len() {
            let ts = input.timestamps[row];
            let delete = input.deletes[row];
            let key = row_values(key_cols, row)?;
            let null_key = key.iter().any(ScalarValue::is_null);
            let mut args: Vec<Vec<ScalarValue>> = Vec::with_capacity(self.calls.len());
            let mut at = n_keys;
            for c in &self.calls {
                args.push(row_values(&cols[at..at + c.args.len()], row)?);
                at += c.args.len();
            }
            let gk = key_rows.row(row).as_ref().to_vec();

            if let Some(sk) = &source_keys {
                // Table input: retract the previous row of this source key, then add.
                let sk = sk.row(row).as_ref().to_vec();
                let old = self.table_rows.remove(&sk);
                let same_group = old.as_ref().is_some_and(|o| o.group == gk) && !delete && !null_key;
                if let Some(o) = &old {
                    let values = self.update(o.group.clone(), &o.key, &o.args, true)?;
                    if !same_group {
                        outputs.push(Output {
                            key: o.key.clone(),
                            values: Some(values),
                            timestamp: ts,
                            window: None,
                        });
                    }
                }
                if delete || null_key {
                    continue;
                }
                let values = self.update(gk.clone(), &key, &args, false)?;
                outputs.push(Output {
                    key: key.clone(),
                    values: Some(values),
                    timestamp: ts,
                    window: None,
                });
                self.table_rows.insert(
                    sk,
                    TableRow {
                        group: gk,
                        key,
                        args,
                    },
                );
                continue;
            }

            if delete {
                continue;
            }
            if null_key {
                errors.push(ProcessingError::row(
                    "Group-by column with null value; row skipped".to_string(),
                ));
                continue;
            }
            match self.window {
                None => {
                    let values = self.update(gk, &key, &args, false)?;
                    outputs.push(Output {
                        key,
                        values: Some(values),
                        timestamp: ts,
                        window: None,
                    });
                }
                Some(w) if w.kind == WindowType::Session => {
                    self.stream_time = self.stream_time.max(ts);
                    self.session_update(gk, &key, args, ts, &mut outputs)?;
                }
                Some(_) => {
                    self.stream_time = self.stream_time.max(ts);
                    let close = self.stream_time.saturating_sub(self.grace());
                    for win in self.windows_for(ts) {
                        if win.end <= close {
                            continue;
                        }
                        let mut wk = win.start.to_be_bytes().to_vec();
                        wk.extend_from_slice(&gk);
                        let values = self.update(wk, &key, &args, false)?;
                        outputs.push(Output {
                            key: key.clone(),
                            values: Some(values),
                            timestamp: ts,
                            window: Some(win),
                        });
                    }
                }
            }
        }
        self.stream_times.insert(input.partition, self.stream_time);
        self.emit(outputs, input.partition)
    }
}

impl Aggregate {
    fn emit(&self, outputs: Vec<Output>, partition: u32) -> Result<Rows> {
        let n = outputs.len();
        let fields = self.schema.fields();
        let n_keys = self.group_by.len();
        let n_aggs = self.calls.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            let dt = f.data_type();
            let values: Vec<ScalarValue> = if i < n_keys {
                outputs.iter().map(|o| o.key[i].clone()).collect()
            } else if i < n_keys + n_aggs {
                let a = i - n_keys;
                outputs
                    .iter()
                    .map(|o| match &o.values {
                        Some(v) => v[a].clone(),
                        None => ScalarValue::try_from(dt).unwrap_or(ScalarValue::Null),
                    })
                    .collect()
            } else {
                outputs
                    .iter()
                    .map(|o| {
                        ScalarValue::Int64(Some(match f.name().as_str() {
                            "WINDOWSTART" => o.window.map(|w| w.start).unwrap_or(0),
                            "WINDOWEND" => o.window.map(|w| w.end).unwrap_or(0),
                            _ => o.timestamp,
                        }))
                    })
                    .collect()
            };
            let array = if values.is_empty() {
                arrow::array::new_empty_array(dt)
            } else {
                scalars_to_array(values, dt)?
            };
            columns.push(array);
        }
        Ok(Rows {
            batch: make_batch(&self.schema, columns, n)?,
            timestamps: outputs.iter().map(|o| o.timestamp).collect(),
            deletes: outputs.iter().map(|o| o.values.is_none()).collect(),
            windows: self
                .window
                .map(|_| outputs.iter().map(|o| o.window.unwrap_or(Window { start: 0, end: 0 })).collect()),
            partition,
        })
    }
}

/// Builds an array of type `dt` from scalars (casting scalars of a near type).
fn scalars_to_array(values: Vec<ScalarValue>, dt: &arrow::datatypes::DataType) -> Result<ArrayRef> {
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| {
            if v.is_null() && v.data_type() != *dt {
                ScalarValue::try_from(dt).unwrap_or(v)
            } else {
                v
            }
        })
        .collect();
    match ScalarValue::iter_to_array(values.clone()) {
        Ok(a) => super::conform(a, dt),
        Err(_) => {
            // Mixed types: cast each to the target first.
            let cast: Vec<ScalarValue> = values
                .into_iter()
                .map(|v| v.cast_to(dt))
                .collect::<std::result::Result<_, _>>()?;
            Ok(ScalarValue::iter_to_array(cast)?)
        }
    }
}
