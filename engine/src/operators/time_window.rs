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

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;
use brook_sql::plan::WindowSpec;

use super::aggregate::{grace_ms, time_window_retention_ms, AggregateInput, Evaluated};
use super::group_state::{emit, Durable, FastMap, GroupTable, OutKey, Output, OutputShape};
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
    groups: GroupTable,
    /// Groups by window start, to expire them after the retention and emit them in order.
    by_start: BTreeMap<i64, Vec<u32>>,
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
        let groups = GroupTable::new(
            input.key_types.clone(),
            input.functions.clone(),
            Some(assigner.size()),
        );
        TimeWindowAggregate {
            assigner,
            spec,
            input,
            schema,
            groups,
            by_start: BTreeMap::new(),
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
        for slot in self.groups.load(store)? {
            let start = self.groups.group(slot).start;
            self.by_start.entry(start).or_default().push(slot);
        }
        self.stream_times = self.durable.stream_times()?;
        Ok(())
    }

    /// Drops groups older than the retention.
    fn expire(&mut self) {
        let horizon = self.stream_time.saturating_sub(self.retention());
        while let Some((&start, _)) = self.by_start.first_key_value() {
            if start >= horizon {
                break;
            }
            let (_, slots) = self.by_start.pop_first().expect("non-empty");
            for slot in slots {
                self.groups.remove(slot);
            }
        }
    }

    /// EMIT FINAL: emits the windows that closed since the last emission, as Kafka Streams'
    /// on-window-close strategy does (windows expired from the store are not emitted).
    fn emit_final(&mut self, partition: u32, out: &mut Vec<Output>) {
        let close = self.stream_time.saturating_sub(self.grace());
        let last = self.last_emit_close.get(&partition).copied();
        if last.is_some_and(|l| l >= close) {
            return;
        }
        let size = self.assigner.size();
        let upper = close - size;
        if upper < 0 {
            return;
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
                return;
            }
        }
        let from = lower.max(self.stream_time.saturating_sub(self.retention()));
        if from <= upper {
            for (_, slots) in self.by_start.range(from..=upper) {
                let mut slots = slots.clone();
                slots.sort_by(|a, b| {
                    let ka = self.groups.keys.bytes(self.groups.group(*a).key);
                    let kb = self.groups.keys.bytes(self.groups.group(*b).key);
                    ka.cmp(kb)
                });
                out.extend(slots.into_iter().map(|s| self.groups.output(s)));
            }
        }
        self.last_emit_close.insert(partition, close);
    }

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        errors: &mut Vec<ProcessingError>,
        outputs: &mut Vec<Output>,
    ) -> Result<()> {
        let emit_final = self.spec.emit_final;
        let grace = self.grace();
        let mut args = Vec::new();
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
                self.input.args_into(e, row, &mut args)?;
                let id = self.groups.keys.intern(e.key(row));
                for win in windows.iter().filter(|w| w.end > close) {
                    let (slot, new) = self.groups.find_or_create(win.start, id, ts);
                    if new {
                        self.by_start.entry(win.start).or_default().push(slot);
                    }
                    self.groups.group_mut(slot).apply(&args, false, ts)?;
                    if !self.groups.touched(slot) && !emit_final {
                        let g = self.groups.group(slot);
                        outputs.push(Output {
                            key: OutKey::Input(row),
                            values: Some(g.values()),
                            timestamp: g.ts,
                            window: Some(*win),
                        });
                    }
                }
            }
            if emit_final {
                self.emit_final(input.partition, outputs);
            }
            self.expire();
        }
        self.windows = windows;
        Ok(())
    }

    fn emit(
        &mut self,
        outputs: Vec<Output>,
        partition: u32,
        e: Option<&Evaluated>,
    ) -> Result<Rows> {
        emit(
            &OutputShape {
                schema: &self.schema,
                n_aggs: self.input.functions.len(),
                windowed: true,
            },
            &mut self.groups.keys,
            outputs,
            partition,
            e,
        )
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
        let e = self.input.evaluate(&mut self.groups, &input, errors)?;
        if !self.durable.loaded {
            self.load()?;
        }
        self.stream_time = self
            .stream_times
            .get(&input.partition)
            .copied()
            .unwrap_or(i64::MIN);
        let mut outputs = Vec::new();
        self.process_rows(&input, &e, errors, &mut outputs)?;
        self.stream_times.insert(input.partition, self.stream_time);
        self.last_partition = input.partition;
        if self.groups.cache_due() {
            outputs.extend(self.groups.drain_cache());
        }
        self.emit(outputs, input.partition, Some(&e))
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
        let outputs = self.groups.drain_cache();
        if outputs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(outputs, self.last_partition, None)?])
    }
}
