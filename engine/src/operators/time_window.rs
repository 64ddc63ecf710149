//! time_window.rs owns what the tumbling and hopping window operators share: a GROUP BY
//! whose groups are (window, key), with ksqlDB's grace period, retention and EMIT FINAL.
//! Which windows a row falls into is the [`WindowAssigner`]'s (tumbling_window.rs,
//! hopping_window.rs), so no row branches on the window kind.
//!
//! - Stream time is the largest timestamp seen (per source partition); a row for a window
//!   that closed (window end + grace <= stream time) is dropped. Default grace: 24 hours.
//! - Windows are kept for their retention (RETENTION, else size + grace), then dropped.
//! - EMIT CHANGES: each row's update of each of its windows goes downstream (or into the
//!   record cache). EMIT FINAL: no updates; each window is emitted once when stream time
//!   passes its end + grace (Kafka Streams' on-window-close emission).

use arrow::datatypes::SchemaRef;
use brook_sql::plan::WindowSpec;

use super::aggregate::{grace_ms, time_window_retention_ms, AggregateInput, Evaluated};
use super::group_state::{Durable, FastMap};
use super::updates::Updates;
use super::window_groups::WindowGroups;
use super::Operator;
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// The windows a timestamp falls into.
pub(crate) trait WindowAssigner: Send + std::fmt::Debug + 'static {
    /// Window size.
    fn size(&self) -> i64;
    /// Clears `out` and fills it with the windows holding `ts`, earliest first.
    fn assign(&self, ts: i64, out: &mut Vec<Window>);
}

/// GROUP BY over time windows laid out by `A`.
#[derive(Debug)]
pub(crate) struct TimeWindowAggregate<A: WindowAssigner> {
    assigner: A,
    spec: WindowSpec,
    input: AggregateInput,
    schema: SchemaRef,
    /// The groups, by window start.
    groups: WindowGroups,
    /// Largest timestamp seen, per source partition.
    stream_times: FastMap<u32, i64>,
    stream_time: i64,
    /// EMIT FINAL: the close time up to which windows were emitted, per partition.
    last_emit_close: FastMap<u32, i64>,
    durable: Durable,
    last_partition: u32,
    /// Reused per row: the row's windows.
    windows: Vec<Window>,
}

impl<A: WindowAssigner> TimeWindowAggregate<A> {
    pub(crate) fn new(
        assigner: A,
        input: AggregateInput,
        spec: WindowSpec,
        schema: SchemaRef,
    ) -> Self {
        let groups = WindowGroups::new(
            input.key_types.clone(),
            input.functions.clone(),
            input.arg_counts.clone(),
            assigner.size(),
        );
        TimeWindowAggregate {
            assigner,
            spec,
            input,
            schema,
            groups,
            stream_times: super::group_state::fast_map(),
            stream_time: i64::MIN,
            last_emit_close: super::group_state::fast_map(),
            durable: Durable::default(),
            last_partition: 0,
            windows: Vec::new(),
        }
    }

    fn grace(&self) -> i64 {
        grace_ms(&self.spec)
    }

    fn retention(&self) -> i64 {
        time_window_retention_ms(&self.spec, self.assigner.size())
    }

    fn load(&mut self) -> Result<()> {
        self.durable.loaded = true;
        let Some(store) = &self.durable.store else {
            return Ok(());
        };
        self.groups.load(store)?;
        self.stream_times = self.durable.stream_times()?;
        Ok(())
    }

    /// Drops windows older than the retention.
    fn expire(&mut self) {
        self.groups
            .expire(self.stream_time.saturating_sub(self.retention()));
    }

    /// EMIT FINAL: emits the windows that closed since the last emission, as Kafka Streams'
    /// on-window-close strategy does (windows expired from the store are not emitted).
    fn emit_final(&mut self, partition: u32, out: &mut Updates) -> Result<()> {
        let close = self.stream_time.saturating_sub(self.grace());
        let last = self.last_emit_close.get(&partition).copied();
        if last.is_some_and(|l| l >= close) {
            return Ok(());
        }
        let size = self.assigner.size();
        let upper = close - size;
        if upper < 0 {
            return Ok(());
        }
        let lower = match last {
            None => 0,
            Some(l) => (l - size).max(0) + 1,
        };
        if last.is_some() {
            let mut a = Vec::new();
            let mut b = Vec::new();
            self.assigner.assign(upper, &mut a);
            self.assigner.assign(lower - 1, &mut b);
            let starts = |w: &[Window]| {
                w.iter()
                    .filter(|w| w.start >= 0)
                    .map(|w| w.start)
                    .collect::<Vec<_>>()
            };
            if starts(&a) == starts(&b) {
                return Ok(());
            }
        }
        let from = lower.max(self.stream_time.saturating_sub(self.retention()));
        if from <= upper {
            self.groups.push_windows(from, upper, out)?;
        }
        self.last_emit_close.insert(partition, close);
        Ok(())
    }

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        errors: &mut Vec<ProcessingError>,
        out: &mut Updates,
    ) -> Result<()> {
        let emit_final = self.spec.emit_final;
        let grace = self.grace();
        let mut windows = std::mem::take(&mut self.windows);
        for row in 0..input.len() {
            if !e.groupable(input, row, errors) {
                continue;
            }
            let ts = input.timestamps[row];
            self.stream_time = self.stream_time.max(ts);
            let close = self.stream_time.saturating_sub(grace);
            self.assigner.assign(ts, &mut windows);
            if windows.iter().any(|w| w.end > close) {
                let key = e.key(row);
                let hash = self.groups.hash(key);
                for win in windows.iter().filter(|w| w.end > close) {
                    let (g, cached) = self.groups.update(win.start, hash, key, e, row, ts)?;
                    if !cached && !emit_final {
                        self.groups.push_update(win.start, g, Some(row), out)?;
                    }
                }
            }
            if emit_final {
                self.emit_final(input.partition, out)?;
            }
            self.expire();
        }
        self.windows = windows;
        Ok(())
    }

    fn emit(&mut self, out: Updates, partition: u32, e: Option<&Evaluated>) -> Result<Rows> {
        out.finish(&self.schema, &mut self.groups.keys, partition, e)
    }

    #[cfg(test)]
    pub(crate) fn live_groups(&self) -> usize {
        self.groups.len()
    }
}

impl<A: WindowAssigner> Operator for TimeWindowAggregate<A> {
    fn commit(&mut self) -> Result<()> {
        if self.durable.store.is_none() {
            return Ok(());
        }
        let changes = self.groups.take_changes();
        self.durable.commit(changes, &self.stream_times)
    }

    fn attach_state(
        &mut self,
        stores: &brook_state::StateStores,
        query_id: &str,
        index: usize,
    ) -> Result<Option<Vec<(u32, u64)>>> {
        self.groups.track_changes();
        self.durable.attach(stores, query_id, index)
    }

    fn note_offsets(&mut self, offsets: &[(u32, u64)]) {
        self.durable.note_offsets(offsets);
    }

    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let e = self.input.evaluate(&mut self.groups.keys, &input, errors)?;
        if !self.durable.loaded {
            self.load()?;
        }
        self.stream_time = self
            .stream_times
            .get(&input.partition)
            .copied()
            .unwrap_or(i64::MIN);
        let mut out = self.groups.updates();
        self.process_rows(&input, &e, errors, &mut out)?;
        self.stream_times.insert(input.partition, self.stream_time);
        self.last_partition = input.partition;
        if self.groups.cache_due() {
            self.groups.drain_cache(&mut out)?;
        }
        self.emit(out, input.partition, Some(&e))
    }

    fn retention(&self) -> Option<i64> {
        Some(TimeWindowAggregate::retention(self))
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        if !self.spec.emit_final {
            self.groups.enable_cache(max_keys);
        }
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        let mut out = self.groups.updates();
        self.groups.drain_cache(&mut out)?;
        if out.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(out, self.last_partition, None)?])
    }
}
