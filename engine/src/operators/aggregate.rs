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
//!   deleted). Stream time is the largest timestamp seen (per source partition); a row for a
//!   window that closed (window end + grace <= stream time) is dropped. Default grace: 24
//!   hours, as ksqlDB. Windows are kept for their retention (RETENTION, else size + grace).
//! - Results carry the largest timestamp of the rows they fold in (Kafka Streams' rule).
//! - EMIT FINAL: no updates; each window is emitted once when stream time passes its end +
//!   grace, following Kafka Streams' on-window-close emission.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use brook_sql::analyzer::WindowType;
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::{evaluate_or_null, make_batch, Operator};
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
    /// The result's timestamp: the largest timestamp of the rows folded in.
    ts: i64,
}

#[derive(Debug, Clone)]
struct Session {
    window: Window,
    /// The largest timestamp of its rows.
    ts: i64,
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
    durable: Durable,
    /// Time-window groups by window start, to expire them after the retention.
    by_start: std::collections::BTreeMap<i64, std::collections::HashSet<Vec<u8>>>,
    /// EMIT FINAL: the close time up to which windows were emitted, per partition.
    last_emit_close: HashMap<u32, i64>,
    /// The record cache, when on (see [`Operator::enable_record_cache`]).
    cache: Option<RecordCache>,
    /// The source partition of the last rows processed.
    last_partition: u32,
}

/// Groups updated since the last flush, whose latest values go downstream at the next one
/// (Kafka Streams' caching window/key-value store, as ksqlDB runs persistent queries with
/// `cache.max.bytes.buffering` above 0). Only for stream input without session windows or
/// EMIT FINAL: there every update of a group is its whole current state.
#[derive(Debug, Default)]
struct RecordCache {
    max_keys: usize,
    /// Dirty group keys (window start + group key for time windows), first update first.
    order: Vec<Vec<u8>>,
    dirty: std::collections::HashSet<Vec<u8>>,
    /// Updates of dirty groups whose window expired before the flush.
    evicted: Vec<Output>,
}

/// The group key of an emitted update: the values kept with the group, or — for a stream
/// row's own update — the row of the input key columns (taken from the batch in one go when
/// the output is built, rather than as scalars per row).
#[derive(Debug)]
enum OutKey {
    Values(Vec<ScalarValue>),
    Row(usize),
}

/// Where a group's key values come from when the group is created.
#[derive(Clone, Copy)]
enum KeySource<'a> {
    Values(&'a [ScalarValue]),
    Row(&'a [ArrayRef], usize),
}

impl KeySource<'_> {
    fn values(self) -> Result<Vec<ScalarValue>> {
        match self {
            KeySource::Values(v) => Ok(v.to_vec()),
            KeySource::Row(cols, row) => row_values(cols, row),
        }
    }
}

/// An emitted update.
#[derive(Debug)]
struct Output {
    key: OutKey,
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
            durable: Durable::default(),
            by_start: std::collections::BTreeMap::new(),
            last_emit_close: HashMap::new(),
            cache: None,
            last_partition: 0,
        }
    }

    /// Notes that group `gk` changed (record cache on).
    fn cache_dirty(&mut self, gk: &[u8]) {
        if let Some(c) = &mut self.cache {
            if !c.dirty.contains(gk) {
                c.dirty.insert(gk.to_vec());
                c.order.push(gk.to_vec());
            }
        }
    }

    /// The window a time-window group key stands for.
    fn window_of(&self, gk: &[u8]) -> Option<Window> {
        let start = self.window_start_of(gk)?;
        let size = self.window.map(|w| w.size_ms as i64).unwrap_or(0);
        Some(Window {
            start,
            end: start + size,
        })
    }

    /// The current state of group `gk` as an update.
    fn group_output(&self, gk: &[u8]) -> Option<Output> {
        let g = self.groups.get(gk)?;
        Some(Output {
            key: OutKey::Values(g.key.clone()),
            values: Some(Self::values_of(&g.accs)),
            timestamp: g.ts,
            window: self.window_of(gk),
        })
    }

    /// Empties the record cache: the latest update of every dirty group, in the order they
    /// first changed.
    fn drain_cache(&mut self) -> Vec<Output> {
        let Some(c) = &mut self.cache else {
            return Vec::new();
        };
        let order = std::mem::take(&mut c.order);
        c.dirty.clear();
        let mut out = std::mem::take(&mut c.evicted);
        out.extend(order.iter().filter_map(|k| self.group_output(k)));
        out
    }

    /// GRACE PERIOD, else 24 hours — or none for EMIT FINAL, whose results come at window
    /// end unless a grace period is asked for (as ksqlDB's conformance cases show).
    fn grace(&self) -> i64 {
        match self.window {
            Some(w) => match (w.grace_ms, w.emit_final) {
                (Some(g), _) => g as i64,
                (None, true) => 0,
                (None, false) => DEFAULT_GRACE_MS,
            },
            None => DEFAULT_GRACE_MS,
        }
    }

    fn values_of(accs: &[Box<dyn Accumulator>]) -> Vec<ScalarValue> {
        accs.iter().map(|a| a.value()).collect()
    }

    /// Adds (or retracts) one row's arguments to the group `gk`, returning its new values.
    fn update(
        &mut self,
        gk: Vec<u8>,
        key: KeySource<'_>,
        args: &[Vec<ScalarValue>],
        retract: bool,
        ts: i64,
    ) -> Result<(Vec<ScalarValue>, i64)> {
        self.mark(b'g', &gk);
        if let Some(start) = self.window_start_of(&gk) {
            if !self.groups.contains_key(&gk) {
                self.by_start.entry(start).or_default().insert(gk.clone());
            }
        }
        let g = match self.groups.entry(gk) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(Group {
                key: key.values()?,
                accs: self.calls.iter().map(|c| c.function.create()).collect(),
                ts,
            }),
        };
        g.ts = g.ts.max(ts);
        for (acc, a) in g.accs.iter_mut().zip(args) {
            if retract {
                acc.retract(a)?;
            } else {
                acc.add(a)?;
            }
        }
        Ok((Self::values_of(&g.accs), g.ts))
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
        self.mark(b's', &gk);
        let gap = self.window.map(|w| w.size_ms as i64).unwrap_or(0);
        // A session can grow until the gap has passed: it closes `gap + grace` after its
        // end, and leaves the store then (Kafka Streams' session store retention).
        let close = self
            .stream_time
            .saturating_sub(self.grace())
            .saturating_sub(gap);
        let sessions = &mut self
            .sessions
            .entry(gk)
            .or_insert_with(|| (key.to_vec(), Vec::new()))
            .1;
        let (merge, keep): (Vec<Session>, Vec<Session>) = sessions.drain(..).partition(|s| {
            s.window.end >= close && s.window.end + gap >= ts && s.window.start - gap <= ts
        });
        *sessions = keep;
        let mut window = Window { start: ts, end: ts };
        let mut rows = Vec::new();
        let mut session_ts = ts;
        for s in &merge {
            window.start = window.start.min(s.window.start);
            window.end = window.end.max(s.window.end);
            session_ts = session_ts.max(s.ts);
            rows.extend(s.rows.iter().cloned());
        }
        if window.end < close {
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
                    key: OutKey::Values(key.to_vec()),
                    values: None,
                    timestamp: s.ts,
                    window: Some(s.window),
                });
            }
        }
        out.push(Output {
            key: OutKey::Values(key.to_vec()),
            values: Some(Self::values_of(&accs)),
            timestamp: session_ts,
            window: Some(window),
        });
        sessions.push(Session {
            window,
            ts: session_ts,
            rows,
        });
        Ok(())
    }
}

impl Aggregate {
    /// How long time-window groups are kept: RETENTION, else window size + grace (the
    /// window store's retention in Kafka Streams, which EMIT FINAL results depend on).
    fn retention(&self) -> i64 {
        let w = self.window.expect("windowed");
        w.retention_ms
            .map(|r| r as i64)
            .unwrap_or(w.size_ms as i64 + self.grace())
    }

    /// The window start a time-window group key begins with.
    fn window_start_of(&self, gk: &[u8]) -> Option<i64> {
        match self.window {
            Some(w) if w.kind != WindowType::Session && gk.len() >= 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&gk[..8]);
                Some(i64::from_be_bytes(b))
            }
            _ => None,
        }
    }

    /// Drops time-window groups older than the retention.
    fn expire_windows(&mut self) {
        let horizon = self.stream_time.saturating_sub(self.retention());
        while let Some((&start, _)) = self.by_start.first_key_value() {
            if start >= horizon {
                break;
            }
            let (_, keys) = self.by_start.pop_first().expect("non-empty");
            for k in keys {
                // A cached update of an expiring window still goes downstream.
                if self.cache.as_ref().is_some_and(|c| c.dirty.contains(&k)) {
                    if let Some(o) = self.group_output(&k) {
                        let c = self.cache.as_mut().expect("checked above");
                        c.dirty.remove(&k);
                        c.evicted.push(o);
                    }
                }
                self.groups.remove(&k);
                self.mark(b'g', &k);
            }
        }
    }

    /// EMIT FINAL: emits the windows that closed since the last emission, as Kafka Streams'
    /// on-window-close strategy does (windows expired from the store are not emitted).
    fn maybe_emit_final(&mut self, partition: u32, out: &mut Vec<Output>) {
        let Some(w) = self.window.filter(|w| w.emit_final) else {
            return;
        };
        let close = self.stream_time.saturating_sub(self.grace());
        let last = self.last_emit_close.get(&partition).copied();
        if last.is_some_and(|l| l >= close) {
            return;
        }
        if w.kind == WindowType::Session {
            let upper = close - 1;
            let lower = last.unwrap_or(0).max(0);
            if upper < lower {
                return;
            }
            let mut found: Vec<(Window, Vec<u8>, Output)> = Vec::new();
            for (gk, (key, sessions)) in &self.sessions {
                for s in sessions {
                    if s.window.end >= lower && s.window.end <= upper {
                        let mut accs: Vec<Box<dyn Accumulator>> =
                            self.calls.iter().map(|c| c.function.create()).collect();
                        for r in &s.rows {
                            for (acc, a) in accs.iter_mut().zip(r) {
                                let _ = acc.add(a);
                            }
                        }
                        found.push((
                            s.window,
                            gk.clone(),
                            Output {
                                key: OutKey::Values(key.clone()),
                                values: Some(Self::values_of(&accs)),
                                timestamp: s.ts,
                                window: Some(s.window),
                            },
                        ));
                    }
                }
            }
            found.sort_by(|a, b| (a.0.end, &a.1).cmp(&(b.0.end, &b.1)));
            out.extend(found.into_iter().map(|f| f.2));
            self.last_emit_close.insert(partition, close);
            return;
        }
        let size = w.size_ms as i64;
        let upper = close - size;
        if upper < 0 {
            return;
        }
        let lower = match last {
            None => 0,
            Some(l) => (l - size).max(0) + 1,
        };
        if last.is_some() {
            let starts =
                |t: i64| -> Vec<i64> { self.windows_for(t).iter().map(|w| w.start).collect() };
            if starts(upper) == starts(lower - 1) {
                return;
            }
        }
        let from = lower.max(self.stream_time.saturating_sub(self.retention()));
        let mut found: Vec<Output> = Vec::new();
        if from <= upper {
            for (start, keys) in self.by_start.range(from..=upper) {
                let mut keys: Vec<&Vec<u8>> = keys.iter().collect();
                keys.sort();
                for k in keys {
                    if let Some(g) = self.groups.get(k) {
                        found.push(Output {
                            key: OutKey::Values(g.key.clone()),
                            values: Some(Self::values_of(&g.accs)),
                            timestamp: g.ts,
                            window: Some(Window {
                                start: *start,
                                end: start + size,
                            }),
                        });
                    }
                }
            }
        }
        out.extend(found);
        self.last_emit_close.insert(partition, close);
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
    fn commit(&mut self) -> Result<()> {
        self.commit_state()
    }

    fn attach_state(
        &mut self,
        stores: &brook_state::StateStores,
        query_id: &str,
        index: usize,
    ) -> Result<Option<Vec<(u32, u64)>>> {
        let name = format!("{query_id}-Aggregate-{index}");
        let store = stores.store(&name, &format!("_brook-{name}-changelog"))?;
        let offsets = store.meta(META_OFFSETS)?.map(|b| {
            decode_offsets(&b)
                .into_iter()
                .map(|(p, o)| (p, o.max(0) as u64))
                .collect()
        });
        self.durable.store = Some(store);
        self.durable.loaded = false;
        Ok(offsets)
    }

    fn note_offsets(&mut self, offsets: &[(u32, u64)]) {
        self.durable.offsets = offsets.to_vec();
    }

    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let mut exprs = self.group_by.clone();
        for c in &self.calls {
            exprs.extend(c.args.iter().cloned());
        }
        let cols = evaluate_or_null(&exprs, &input, errors)?;
        let n_keys = self.group_by.len();
        if !self.durable.loaded {
            let mut at = n_keys;
            let mut types = Vec::new();
            for c in &self.calls {
                types.push(
                    cols[at..at + c.args.len()]
                        .iter()
                        .map(|a| a.data_type().clone())
                        .collect(),
                );
                at += c.args.len();
            }
            self.load(types)?;
        }
        let key_cols = &cols[..n_keys];
        let key_rows = convert(&mut self.key_converter, key_cols)?;
        let source_keys = match &self.table_key {
            Some(idx) => {
                let sk: Vec<ArrayRef> =
                    idx.iter().map(|i| input.batch.column(*i).clone()).collect();
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
            let null_key = key_cols.iter().any(|c| c.is_null(row));
            let mut args: Vec<Vec<ScalarValue>> = Vec::with_capacity(self.calls.len());
            let mut at = n_keys;
            for c in &self.calls {
                args.push(row_values(&cols[at..at + c.args.len()], row)?);
                at += c.args.len();
            }
            // No GROUP BY (a transient aggregate over everything): one group.
            let gk = if n_keys == 0 {
                Vec::new()
            } else {
                key_rows.row(row).as_ref().to_vec()
            };

            if let Some(sk) = &source_keys {
                // Table input: retract the previous row of this source key, then add.
                let sk = sk.row(row).as_ref().to_vec();
                self.mark(b't', &sk);
                let old = self.table_rows.remove(&sk);
                let same_group =
                    old.as_ref().is_some_and(|o| o.group == gk) && !delete && !null_key;
                if let Some(o) = &old {
                    let (values, gts) = self.update(
                        o.group.clone(),
                        KeySource::Values(&o.key),
                        &o.args,
                        true,
                        ts,
                    )?;
                    if !same_group {
                        outputs.push(Output {
                            key: OutKey::Values(o.key.clone()),
                            values: Some(values),
                            timestamp: gts,
                            window: None,
                        });
                    }
                }
                if delete || null_key {
                    continue;
                }
                let key = row_values(key_cols, row)?;
                let (values, gts) =
                    self.update(gk.clone(), KeySource::Values(&key), &args, false, ts)?;
                outputs.push(Output {
                    key: OutKey::Values(key.clone()),
                    values: Some(values),
                    timestamp: gts,
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
                None if self.cache.is_some() => {
                    self.update(gk.clone(), KeySource::Row(key_cols, row), &args, false, ts)?;
                    self.cache_dirty(&gk);
                }
                None => {
                    let (values, gts) =
                        self.update(gk, KeySource::Row(key_cols, row), &args, false, ts)?;
                    outputs.push(Output {
                        key: OutKey::Row(row),
                        values: Some(values),
                        timestamp: gts,
                        window: None,
                    });
                }
                Some(w) if w.kind == WindowType::Session => {
                    self.stream_time = self.stream_time.max(ts);
                    let mut updates = Vec::new();
                    let key = row_values(key_cols, row)?;
                    self.session_update(gk.clone(), &key, args, ts, &mut updates)?;
                    if !w.emit_final {
                        outputs.extend(updates);
                    }
                    self.maybe_emit_final(input.partition, &mut outputs);
                    // Sessions past their retention (gap + grace after their end) go.
                    let horizon = self
                        .stream_time
                        .saturating_sub(self.grace())
                        .saturating_sub(w.size_ms as i64);
                    if let Some((_, sessions)) = self.sessions.get_mut(&gk) {
                        sessions.retain(|s| s.window.end >= horizon);
                    }
                }
                Some(w) => {
                    self.stream_time = self.stream_time.max(ts);
                    let close = self.stream_time.saturating_sub(self.grace());
                    for win in self.windows_for(ts) {
                        if win.end <= close {
                            continue;
                        }
                        let mut wk = win.start.to_be_bytes().to_vec();
                        wk.extend_from_slice(&gk);
                        if self.cache.is_some() {
                            self.update(
                                wk.clone(),
                                KeySource::Row(key_cols, row),
                                &args,
                                false,
                                ts,
                            )?;
                            self.cache_dirty(&wk);
                            continue;
                        }
                        let (values, gts) =
                            self.update(wk, KeySource::Row(key_cols, row), &args, false, ts)?;
                        if !w.emit_final {
                            outputs.push(Output {
                                key: OutKey::Row(row),
                                values: Some(values),
                                timestamp: gts,
                                window: Some(win),
                            });
                        }
                    }
                    self.maybe_emit_final(input.partition, &mut outputs);
                    self.expire_windows();
                }
            }
        }
        self.stream_times.insert(input.partition, self.stream_time);
        self.last_partition = input.partition;
        if self
            .cache
            .as_ref()
            .is_some_and(|c| c.dirty.len() >= c.max_keys || !c.evicted.is_empty())
        {
            outputs.extend(self.drain_cache());
        }
        self.emit(outputs, input.partition, key_cols)
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        let cacheable = self.table_key.is_none()
            && self
                .window
                .is_none_or(|w| w.kind != WindowType::Session && !w.emit_final);
        if cacheable && max_keys > 0 {
            self.cache = Some(RecordCache {
                max_keys,
                ..RecordCache::default()
            });
        }
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        let outputs = self.drain_cache();
        if outputs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(outputs, self.last_partition, &[])?])
    }
}

impl Aggregate {
    /// The updates as rows; `key_cols` are the input's key columns that [`OutKey::Row`]
    /// points into.
    fn emit(&self, outputs: Vec<Output>, partition: u32, key_cols: &[ArrayRef]) -> Result<Rows> {
        let n = outputs.len();
        let fields = self.schema.fields();
        let n_keys = self.group_by.len();
        let n_aggs = self.calls.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        // When every update is of an input row's own group, its key cells are taken from
        // the input columns at these rows.
        let rows: Option<arrow::array::UInt32Array> = outputs
            .iter()
            .map(|o| match o.key {
                OutKey::Row(r) => Some(r as u32),
                OutKey::Values(_) => None,
            })
            .collect::<Option<Vec<u32>>>()
            .map(arrow::array::UInt32Array::from);
        for (i, f) in fields.iter().enumerate() {
            let dt = f.data_type();
            if i < n_keys && n > 0 {
                if let Some(idx) = &rows {
                    let taken = arrow::compute::take(key_cols[i].as_ref(), idx, None)?;
                    columns.push(super::conform(taken, dt)?);
                    continue;
                }
            }
            let values: Vec<ScalarValue> = if i < n_keys {
                outputs
                    .iter()
                    .map(|o| match &o.key {
                        OutKey::Values(k) => Ok(k[i].clone()),
                        OutKey::Row(r) => row_values(&key_cols[i..=i], *r).map(|mut v| v.remove(0)),
                    })
                    .collect::<Result<_>>()?
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
            windows: self.window.map(|_| {
                outputs
                    .iter()
                    .map(|o| o.window.unwrap_or(Window { start: 0, end: 0 }))
                    .collect()
            }),
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
    // One type throughout: build the array and conform it to `dt`.
    let first = values.first().map(ScalarValue::data_type);
    if values.iter().all(|v| Some(v.data_type()) == first) {
        return super::conform(ScalarValue::iter_to_array(values)?, dt);
    }
    // Mixed types: cast each to the target first.
    let cast: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| v.cast_to(dt))
        .collect::<std::result::Result<_, _>>()?;
    Ok(ScalarValue::iter_to_array(cast)?)
}

// ---- durable state ---------------------------------------------------------------------------
//
// The store holds one entry per group (`g` + group key: key values and each accumulator's
// saved state), per session group (`s`: its sessions and their rows) and, for table input,
// per source key (`t`: the row's group and arguments, to retract it later). Entries are
// written at commit for the keys changed since the last one; stream times and the source
// offsets go in the store's meta, committed atomically with the data.

use crate::aggregate::codec::{read_value, write_value_or_null, Reader, Writer};
use arrow::datatypes::DataType;

const TAG_GROUP: u8 = 0xA1;
const TAG_TABLE_ROW: u8 = 0xA2;
const TAG_SESSIONS: u8 = 0xA3;
const META_OFFSETS: &[u8] = b"offsets";
const META_STREAM_TIMES: &[u8] = b"stream_times";

/// The store and what must be written to it at the next commit.
#[derive(Debug, Default)]
pub struct Durable {
    store: Option<brook_state::Store>,
    loaded: bool,
    dirty: std::collections::HashSet<Vec<u8>>,
    offsets: Vec<(u32, u64)>,
    arg_types: Vec<Vec<DataType>>,
}

fn write_values(w: &mut Writer, values: &[ScalarValue], types: &[DataType]) {
    w.usize(values.len());
    for (v, t) in values.iter().zip(types) {
        write_value_or_null(w, v, t);
    }
}

fn read_values(r: &mut Reader, types: &[DataType]) -> Result<Vec<ScalarValue>> {
    let n = r.u64()? as usize;
    if n != types.len() {
        return Err(crate::aggregate::AggregateError::CorruptState(format!(
            "expected {} values, found {n}",
            types.len()
        ))
        .into());
    }
    types.iter().map(|t| Ok(read_value(r, t)?)).collect()
}

fn encode_offsets(v: &[(u32, i64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 12);
    for (p, o) in v {
        out.extend_from_slice(&p.to_be_bytes());
        out.extend_from_slice(&o.to_be_bytes());
    }
    out
}

fn decode_offsets(b: &[u8]) -> Vec<(u32, i64)> {
    b.chunks_exact(12)
        .map(|c| {
            let mut p = [0u8; 4];
            let mut o = [0u8; 8];
            p.copy_from_slice(&c[..4]);
            o.copy_from_slice(&c[4..]);
            (u32::from_be_bytes(p), i64::from_be_bytes(o))
        })
        .collect()
}

impl Aggregate {
    fn key_types(&self) -> Vec<DataType> {
        self.schema.fields()[..self.group_by.len()]
            .iter()
            .map(|f| f.data_type().clone())
            .collect()
    }

    fn mark(&mut self, prefix: u8, key: &[u8]) {
        if self.durable.store.is_some() {
            let mut k = Vec::with_capacity(key.len() + 1);
            k.push(prefix);
            k.extend_from_slice(key);
            self.durable.dirty.insert(k);
        }
    }

    /// Loads every entry of the store (once the argument types are known).
    fn load(&mut self, arg_types: Vec<Vec<DataType>>) -> Result<()> {
        self.durable.arg_types = arg_types;
        self.durable.loaded = true;
        let Some(store) = &self.durable.store else {
            return Ok(());
        };
        let key_types = self.key_types();
        for (k, v) in store.prefix(b"g")? {
            let mut r = Reader::new(&v, TAG_GROUP)?;
            let key = read_values(&mut r, &key_types)?;
            let mut accs = Vec::with_capacity(self.calls.len());
            for c in &self.calls {
                accs.push(c.function.load(r.bytes()?)?);
            }
            let ts = r.i64()?;
            if let Some(start) = self.window_start_of(&k[1..]) {
                self.by_start
                    .entry(start)
                    .or_default()
                    .insert(k[1..].to_vec());
            }
            self.groups.insert(k[1..].to_vec(), Group { key, accs, ts });
        }
        for (k, v) in store.prefix(b"t")? {
            let mut r = Reader::new(&v, TAG_TABLE_ROW)?;
            let group = r.bytes()?.to_vec();
            let key = read_values(&mut r, &key_types)?;
            let mut args = Vec::new();
            for t in &self.durable.arg_types {
                args.push(read_values(&mut r, t)?);
            }
            self.table_rows
                .insert(k[1..].to_vec(), TableRow { group, key, args });
        }
        for (k, v) in store.prefix(b"s")? {
            let mut r = Reader::new(&v, TAG_SESSIONS)?;
            let key = read_values(&mut r, &key_types)?;
            let n = r.u64()? as usize;
            let mut sessions = Vec::with_capacity(n);
            for _ in 0..n {
                let window = Window {
                    start: r.i64()?,
                    end: r.i64()?,
                };
                let ts = r.i64()?;
                let rows_n = r.u64()? as usize;
                let mut rows = Vec::with_capacity(rows_n);
                for _ in 0..rows_n {
                    let mut row = Vec::new();
                    for t in &self.durable.arg_types {
                        row.push(read_values(&mut r, t)?);
                    }
                    rows.push(row);
                }
                sessions.push(Session { window, ts, rows });
            }
            self.sessions.insert(k[1..].to_vec(), (key, sessions));
        }
        if let Some(m) = store.meta(META_STREAM_TIMES)? {
            self.stream_times = decode_offsets(&m).into_iter().collect();
        }
        Ok(())
    }

    fn encode_entry(&self, k: &[u8]) -> Option<Vec<u8>> {
        let key_types = self.key_types();
        let rest = &k[1..];
        match k[0] {
            b'g' => self.groups.get(rest).map(|g| {
                let mut w = Writer::new(TAG_GROUP);
                write_values(&mut w, &g.key, &key_types);
                for a in &g.accs {
                    w.bytes(&a.save());
                }
                w.i64(g.ts);
                w.finish()
            }),
            b't' => self.table_rows.get(rest).map(|t| {
                let mut w = Writer::new(TAG_TABLE_ROW);
                w.bytes(&t.group);
                write_values(&mut w, &t.key, &key_types);
                for (a, ty) in t.args.iter().zip(&self.durable.arg_types) {
                    write_values(&mut w, a, ty);
                }
                w.finish()
            }),
            b's' => self.sessions.get(rest).map(|(key, sessions)| {
                let mut w = Writer::new(TAG_SESSIONS);
                write_values(&mut w, key, &key_types);
                w.usize(sessions.len());
                for s in sessions {
                    w.i64(s.window.start);
                    w.i64(s.window.end);
                    w.i64(s.ts);
                    w.usize(s.rows.len());
                    for row in &s.rows {
                        for (a, ty) in row.iter().zip(&self.durable.arg_types) {
                            write_values(&mut w, a, ty);
                        }
                    }
                }
                w.finish()
            }),
            _ => None,
        }
    }

    fn commit_state(&mut self) -> Result<()> {
        if self.durable.store.is_none() {
            return Ok(());
        }
        let dirty: Vec<Vec<u8>> = self.durable.dirty.drain().collect();
        let entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = dirty
            .into_iter()
            .map(|k| {
                let v = self.encode_entry(&k);
                (k, v)
            })
            .collect();
        let times: Vec<(u32, i64)> = self.stream_times.iter().map(|(p, t)| (*p, *t)).collect();
        let offsets: Vec<(u32, i64)> = self
            .durable
            .offsets
            .iter()
            .map(|(p, o)| (*p, *o as i64))
            .collect();
        let store = self.durable.store.as_mut().expect("checked above");
        for (k, v) in entries {
            match v {
                Some(v) => store.put(&k, &v),
                None => store.delete(&k),
            }
        }
        let times = encode_offsets(&times);
        let offsets = encode_offsets(&offsets);
        store.commit(&[(META_STREAM_TIMES, &times), (META_OFFSETS, &offsets)])?;
        Ok(())
    }
}
