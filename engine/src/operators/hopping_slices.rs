//! hopping_slices.rs owns HOPPING windows computed from slices (Flink's slice sharing), for
//! aggregations whose states merge exactly (COUNT; SUM, MIN, MAX of integers) and emit
//! changes: the timeline is cut into slices of gcd(size, advance); a row updates the one
//! slice holding it, and a window's value is the merge of its size/gcd slices, made when the
//! window's update goes downstream. State (and what each commit writes) is then one group
//! per slice and key instead of one per window and key: a sixth for a 60 s window that
//! advances by 10 s.
//!
//! Outputs are those of hopping_window.rs: with the record cache off, each row sends the
//! new value of every open window holding it; with it on, each changed window's last value
//! goes at the next flush. A window closed by grace takes no more rows: a row that still
//! reaches one of its slices (for a later, open window) does not change what the closed
//! window sent, because a closed window waiting in the cache gets its value before the row
//! is added. Slices leave with the last window that holds them (the retention), or at the
//! next flush if a pending update of a window past the retention still merges them.
//!
//! [`HoppingOperator`] picks this layout for a new store, and the per-window operator
//! ([`super::hopping_window`]) for a store that an earlier version wrote in window layout.

use arrow::datatypes::SchemaRef;
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;

use super::aggregate::{grace_ms, time_window_retention_ms, AggregateInput};
use super::group_state::{fast_map, same_key, Durable, FastMap};
use super::hopping_window::{hopping, Hopping};
use super::time_window::{TimeWindowAggregate, WindowAssigner};
use super::updates::Updates;
use super::window_groups::WindowGroups;
use super::Operator;
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// The meta entry that marks a store written in slice layout (its value: the slice size).
const META_LAYOUT: &[u8] = b"hopping_slices";

/// Whether a hopping GROUP BY can run on slices: changes emitted (not EMIT FINAL), a
/// window made of several slices, and every call's states merge exactly.
pub(crate) fn applies(input: &AggregateInput, spec: &WindowSpec) -> bool {
    let size = spec.size_ms;
    let advance = spec.advance_ms.unwrap_or(size);
    !spec.emit_final
        && advance > 0
        && advance < size
        && input.functions.iter().all(|f| f.merge_is_exact())
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A key's changed windows waiting in the record cache.
#[derive(Debug)]
struct PendingKey {
    hash: u64,
    /// The key row is `WindowCache::keys[previous key_end..key_end]`.
    key_end: usize,
    /// Starts of its changed windows: spans `(first, last)` of starts `advance` apart,
    /// disjoint, in order and never adjacent: `first`, then `more` (a key's rows less than
    /// a window apart make one span, so `more` is usually empty and allocates nothing).
    first: (i64, i64),
    more: Vec<(i64, i64)>,
    /// Values taken when a row reached one of a pending window's slices after the window
    /// closed (for a later window): window start, the calls' results and the timestamp.
    settled: Vec<(i64, Vec<ScalarValue>, i64)>,
}

/// Changed windows waiting for the next flush, by key, first changed key first: a row
/// changes its key's open windows, consecutive starts, in one lookup.
#[derive(Debug)]
struct WindowCache {
    /// Windows it holds before it must flush.
    max_windows: usize,
    advance: i64,
    /// Windows held (the sum of the spans' lengths).
    windows: usize,
    /// The earliest window start of a pending update (`i64::MAX`: none): slices from there
    /// on stay until the flush merges them, even past the retention.
    first_pending: i64,
    /// Pending keys, found by key.
    index: hashbrown::HashTable<u32>,
    order: Vec<PendingKey>,
    keys: Vec<u8>,
}

impl PendingKey {
    fn spans(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }

    /// Adds the window starts `span` (`advance` apart); returns how many were new.
    fn add(&mut self, span: (i64, i64), advance: i64) -> usize {
        let count = |s| span_windows(s, advance);
        // The common case: a later row of the key, overlapping or right after its last span.
        let last = self.more.last_mut().unwrap_or(&mut self.first);
        if span.0 >= last.0 && span.0 <= last.1.saturating_add(advance) {
            let before = count(*last);
            last.1 = last.1.max(span.1);
            return count(*last) - before;
        }
        let mut spans: Vec<(i64, i64)> = self.spans().collect();
        let before: usize = spans.iter().map(|&s| count(s)).sum();
        add_span(&mut spans, span, advance);
        let after: usize = spans.iter().map(|&s| count(s)).sum();
        self.first = spans[0];
        self.more = spans.split_off(1);
        after - before
    }
}

impl WindowCache {
    fn new(max_windows: usize, advance: i64) -> Self {
        WindowCache {
            max_windows,
            advance,
            windows: 0,
            first_pending: i64::MAX,
            index: hashbrown::HashTable::new(),
            order: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn key(&self, i: usize) -> &[u8] {
        let from = if i == 0 { 0 } else { self.order[i - 1].key_end };
        &self.keys[from..self.order[i].key_end]
    }

    fn find(&self, key_hash: u64, key: &[u8]) -> Option<usize> {
        self.index
            .find(key_hash, |&i| {
                self.order[i as usize].hash == key_hash && same_key(self.key(i as usize), key)
            })
            .map(|&i| i as usize)
    }

    fn is_due(&self) -> bool {
        self.windows >= self.max_windows
    }

    /// Takes the value of `key`'s window starting at `start` now, if it is pending and was
    /// not taken yet (windows `size` long, made of `groups`' slices).
    fn settle(
        &mut self,
        start: i64,
        key_hash: u64,
        key: &[u8],
        groups: &mut WindowGroups,
        size: i64,
    ) -> Result<()> {
        let Some(i) = self.find(key_hash, key) else {
            return Ok(());
        };
        let p = &self.order[i];
        let pending = p.spans().any(|(a, b)| a <= start && start <= b);
        if !pending || p.settled.iter().any(|(s, _, _)| *s == start) {
            return Ok(());
        }
        let window = Window {
            start,
            end: start + size,
        };
        let (values, ts) = groups.merged(window, key_hash, key)?;
        self.order[i].settled.push((start, values, ts));
        Ok(())
    }

    /// Notes changes of `key`'s windows starting at `first..=last` (`advance` apart).
    fn insert(&mut self, first: i64, last: i64, key_hash: u64, key: &[u8]) {
        self.first_pending = self.first_pending.min(first);
        match self.find(key_hash, key) {
            Some(i) => self.windows += self.order[i].add((first, last), self.advance),
            None => {
                let i = self.order.len() as u32;
                self.keys.extend_from_slice(key);
                self.order.push(PendingKey {
                    hash: key_hash,
                    key_end: self.keys.len(),
                    first: (first, last),
                    more: Vec::new(),
                    settled: Vec::new(),
                });
                self.windows += span_windows((first, last), self.advance);
                let order = &self.order;
                self.index
                    .insert_unique(key_hash, i, |&j| order[j as usize].hash);
            }
        }
    }

    /// Appends every pending update to `out`, key by key, each key's windows in start
    /// order: a settled value as taken, the others merged from `groups`' slices (looked up
    /// once for the key). The caller empties the cache after, whatever the result.
    fn send_all(&mut self, groups: &mut WindowGroups, size: i64, out: &mut Updates) -> Result<()> {
        out.reserve(
            self.windows,
            self.keys.len() / self.order.len().max(1) * self.windows,
        );
        let mut found = Vec::new();
        for i in 0..self.order.len() {
            let hash = self.order[i].hash;
            let first = self.order[i].first;
            let more = std::mem::take(&mut self.order[i].more);
            let mut settled = std::mem::take(&mut self.order[i].settled);
            let key = self.key(i);
            let last = more.last().unwrap_or(&first).1;
            groups.find_groups(first.0, last + size, hash, key, &mut found);
            for (a, b) in std::iter::once(first).chain(more) {
                let mut start = a;
                while start <= b {
                    let window = Window {
                        start,
                        end: start + size,
                    };
                    match settled.iter().position(|(s, _, _)| *s == start) {
                        Some(j) => {
                            let (_, values, ts) = settled.swap_remove(j);
                            out.push_values(key, values, ts, window)?;
                        }
                        None => groups.push_merged_from(&found, window, key, out)?,
                    }
                    start += self.advance;
                }
            }
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.first_pending = i64::MAX;
        self.windows = 0;
        self.index.clear();
        self.order.clear();
        self.keys.clear();
    }
}

/// The windows of a span `(first, last)` of window starts `advance` apart.
fn span_windows((first, last): (i64, i64), advance: i64) -> usize {
    ((last - first) / advance + 1) as usize
}

/// Adds the span `(first, last)` of window starts (`advance` apart) to `spans` (disjoint,
/// in order, not adjacent), merging the spans it touches.
fn add_span(spans: &mut Vec<(i64, i64)>, (first, last): (i64, i64), advance: i64) {
    // The common case: a later row of the key, overlapping or right after its last span.
    if let Some(l) = spans.last_mut() {
        if first >= l.0 && first <= l.1.saturating_add(advance) {
            l.1 = l.1.max(last);
            return;
        }
    }
    let (mut first, mut last) = (first, last);
    let mut kept = Vec::with_capacity(spans.len() + 1);
    for &(a, b) in spans.iter() {
        if b.saturating_add(advance) < first || last.saturating_add(advance) < a {
            kept.push((a, b));
        } else {
            first = first.min(a);
            last = last.max(b);
        }
    }
    kept.push((first, last));
    kept.sort_unstable();
    *spans = kept;
}

/// GROUP BY over hopping windows, state kept per slice.
#[derive(Debug)]
pub(crate) struct HoppingSlices {
    assigner: Hopping,
    size: i64,
    slice: i64,
    spec: WindowSpec,
    input: AggregateInput,
    schema: SchemaRef,
    /// Slices: groups by (slice start, key).
    groups: WindowGroups,
    cache: Option<WindowCache>,
    stream_times: FastMap<u32, i64>,
    stream_time: i64,
    durable: Durable,
    last_partition: u32,
    windows: Vec<Window>,
}

impl HoppingSlices {
    fn new(input: AggregateInput, spec: WindowSpec, schema: SchemaRef) -> Self {
        let size = spec.size_ms as i64;
        let advance = spec.advance_ms.map_or(size, |a| a as i64);
        let slice = gcd(size, advance);
        let groups = WindowGroups::new(
            input.key_types.clone(),
            input.functions.clone(),
            input.arg_counts.clone(),
            slice,
        );
        let mut durable = Durable::default();
        durable.layout = Some((META_LAYOUT, slice.to_be_bytes().to_vec()));
        HoppingSlices {
            assigner: Hopping::new(spec.size_ms, spec.advance_ms),
            size,
            slice,
            spec,
            input,
            schema,
            groups,
            cache: None,
            stream_times: fast_map(),
            stream_time: i64::MIN,
            durable,
            last_partition: 0,
            windows: Vec::new(),
        }
    }

    fn grace(&self) -> i64 {
        grace_ms(&self.spec)
    }

    fn retention(&self) -> i64 {
        time_window_retention_ms(&self.spec, self.size)
    }

    /// Takes the value of a cached update of `key`'s window at `start` now, so that rows
    /// reaching its slices later (for other windows) do not change it.
    fn settle(&mut self, start: i64, hash: u64, key: &[u8]) -> Result<()> {
        match &mut self.cache {
            Some(c) => c.settle(start, hash, key, &mut self.groups, self.size),
            None => Ok(()),
        }
    }

    /// `key`'s open windows in `windows` (consecutive starts) changed.
    fn changed(
        &mut self,
        windows: &[Window],
        hash: u64,
        key: &[u8],
        out: &mut Updates,
    ) -> Result<()> {
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
            return Ok(());
        };
        match &mut self.cache {
            Some(c) => {
                c.insert(first.start, last.start, hash, key);
                Ok(())
            }
            None => {
                for w in windows {
                    self.groups.push_merged(*w, hash, key, out)?;
                }
                Ok(())
            }
        }
    }

    fn cache_due(&self) -> bool {
        self.cache.as_ref().is_some_and(WindowCache::is_due)
    }

    fn drain_cache(&mut self, out: &mut Updates) -> Result<()> {
        let Some(c) = &mut self.cache else {
            return Ok(());
        };
        let sent = c.send_all(&mut self.groups, self.size, out);
        c.clear();
        sent
    }

    /// Drops the slices past the retention, except those a pending update still merges at
    /// the next flush: its window closed long ago, so no row reaches those slices any more
    /// (a row whose windows all closed is dropped), and keeping them a little longer costs
    /// less than taking each such window's value early.
    fn expire(&mut self) {
        let horizon = self.stream_time.saturating_sub(self.retention());
        let keep_from = self
            .cache
            .as_ref()
            .map_or(horizon, |c| c.first_pending.min(horizon));
        if self.groups.first_start().is_some_and(|s| s < keep_from) {
            self.groups.expire(keep_from);
        }
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

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &super::aggregate::Evaluated,
        errors: &mut Vec<ProcessingError>,
        out: &mut Updates,
    ) -> Result<()> {
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
                for w in windows.iter().filter(|w| w.end <= close) {
                    self.settle(w.start, hash, key)?;
                }
                let start = ts.div_euclid(self.slice) * self.slice;
                self.groups.update(start, hash, key, e, row, ts)?;
                // Windows come in start order: the open ones are the last.
                let open = windows.partition_point(|w| w.end <= close);
                self.changed(&windows[open..], hash, key, out)?;
            }
            self.expire();
        }
        self.windows = windows;
        Ok(())
    }

    fn emit(&mut self, out: Updates, partition: u32) -> Result<Rows> {
        out.finish(&self.schema, &mut self.groups.keys, partition, None)
    }
}

impl Operator for HoppingSlices {
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
        if self.cache_due() {
            self.drain_cache(&mut out)?;
        }
        self.emit(out, input.partition)
    }

    fn retention(&self) -> Option<i64> {
        Some(HoppingSlices::retention(self))
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        if max_keys > 0 {
            let advance = self.spec.advance_ms.map_or(self.size, |a| a as i64);
            self.cache = Some(WindowCache::new(max_keys, advance));
        }
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        let mut out = self.groups.updates();
        self.drain_cache(&mut out)?;
        if out.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(out, self.last_partition)?])
    }
}

#[derive(Debug)]
pub(crate) enum HoppingOperator {
    Slices(HoppingSlices),
    Windows(TimeWindowAggregate<Hopping>),
}

impl HoppingOperator {
    pub(crate) fn new(input: AggregateInput, spec: WindowSpec, schema: SchemaRef) -> Self {
        HoppingOperator::Slices(HoppingSlices::new(input, spec, schema))
    }

    fn op(&mut self) -> &mut dyn Operator {
        match self {
            HoppingOperator::Slices(s) => s,
            HoppingOperator::Windows(w) => w,
        }
    }
}

impl Operator for HoppingOperator {
    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        self.op().process(input, errors)
    }

    fn commit(&mut self) -> Result<()> {
        self.op().commit()
    }

    fn attach_state(
        &mut self,
        stores: &brook_state::StateStores,
        query_id: &str,
        index: usize,
    ) -> Result<Option<Vec<(u32, u64)>>> {
        let HoppingOperator::Slices(s) = self else {
            return self.op().attach_state(stores, query_id, index);
        };
        let offsets = s.attach_state(stores, query_id, index)?;
        let store = s.durable.store.as_ref().expect("attached above");
        let window_layout = store.meta(META_LAYOUT)?.is_none() && !store.prefix(b"g")?.is_empty();
        if !window_layout {
            return Ok(offsets);
        }
        // Written per window by an earlier version: go on that way.
        s.durable.store = None;
        let mut w = hopping(s.input.clone(), s.spec, s.schema.clone());
        if let Some(c) = &s.cache {
            w.enable_record_cache(c.max_windows);
        }
        let offsets = w.attach_state(stores, query_id, index)?;
        *self = HoppingOperator::Windows(w);
        Ok(offsets)
    }

    fn note_offsets(&mut self, offsets: &[(u32, u64)]) {
        self.op().note_offsets(offsets)
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        self.op().enable_record_cache(max_keys)
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        self.op().flush()
    }

    fn retention(&self) -> Option<i64> {
        match self {
            HoppingOperator::Slices(s) => Operator::retention(s),
            HoppingOperator::Windows(w) => Operator::retention(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::operators::window_tests::{
        count_per_key, open_stores, run, run_on, schema, spec, Run, Update,
    };
    use brook_sql::analyzer::WindowType;

    fn sliced(size: u64, advance: u64, grace: Option<u64>) -> HoppingOperator {
        HoppingOperator::new(
            count_per_key(),
            spec(WindowType::Hopping, size, Some(advance), grace),
            schema(),
        )
    }

    fn per_window(size: u64, advance: u64, grace: Option<u64>) -> Box<dyn Operator> {
        Box::new(hopping(
            count_per_key(),
            spec(WindowType::Hopping, size, Some(advance), grace),
            schema(),
        ))
    }

    /// Out of order, with rows late for some of their windows and for all of them.
    const ROWS: &[(&str, i64)] = &[
        ("a", 1),
        ("b", 3),
        ("a", 14),
        ("a", 9),
        ("b", 26),
        ("a", 12),
        ("a", 2),
        ("b", 31),
        ("a", 30),
        ("b", 18),
    ];

    /// The last value sent for each (key, window).
    fn last_values(updates: &[Update]) -> Vec<Update> {
        let mut last = BTreeMap::new();
        for u in updates {
            last.insert((u.0.clone(), u.2), u.clone());
        }
        last.into_values().collect()
    }

    #[test]
    fn applies_to_merge_exact_calls_that_emit_changes() {
        let s = spec(WindowType::Hopping, 60, Some(10), None);
        assert!(applies(&count_per_key(), &s));
        let mut final_ = s;
        final_.emit_final = true;
        assert!(!applies(&count_per_key(), &final_));
        // A tumbling window in hopping clothes has one slice per window.
        assert!(!applies(
            &count_per_key(),
            &spec(WindowType::Hopping, 60, Some(60), None)
        ));
    }

    #[test]
    fn sends_what_the_per_window_operator_sends_without_the_cache() {
        for grace in [None, Some(0), Some(4)] {
            let want = run(per_window(10, 5, grace), ROWS, Run::default());
            let got = run(Box::new(sliced(10, 5, grace)), ROWS, Run::default());
            assert_eq!(got, want, "grace {grace:?}");
        }
    }

    #[test]
    fn the_cache_sends_the_same_last_values() {
        for grace in [None, Some(0), Some(4)] {
            let want = run(per_window(10, 5, grace), ROWS, Run { cache: true });
            let got = run(Box::new(sliced(10, 5, grace)), ROWS, Run { cache: true });
            assert_eq!(last_values(&got), last_values(&want), "grace {grace:?}");
            // One update per changed window.
            assert_eq!(got.len(), last_values(&got).len(), "grace {grace:?}");
        }
    }

    #[test]
    fn a_closed_window_keeps_its_value_when_a_late_row_reaches_its_slice() {
        // [0, 10) closes at stream time 12; (a, 7) then counts for [5, 15) only.
        let got = run(
            Box::new(sliced(10, 5, Some(0))),
            &[("a", 1), ("a", 12), ("a", 7)],
            Run { cache: true },
        );
        assert_eq!(
            got,
            vec![
                ("a".into(), Some(1), 0, 10, 1),
                ("a".into(), Some(2), 5, 15, 12),
                ("a".into(), Some(1), 10, 20, 12),
            ]
        );
    }

    /// 3,000 rows of 5 keys, out of order by up to 20 (grace 4: some rows late, some for
    /// closed windows only), through caches of 7 and 40 windows (so many flushes): the last
    /// value of every window is the per-window operator's. (Flushes fall on other rows than
    /// the per-window cache's, so the values sent in between differ a little.)
    #[test]
    fn a_small_cache_sends_the_last_values_of_the_per_window_operator() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let keys = ["a", "b", "c", "d", "e"];
        let rows: Vec<(&str, i64)> = (0..3000)
            .map(|i| {
                (
                    keys[next(5) as usize],
                    (i / 3 + next(21) as i64 - 10).max(0),
                )
            })
            .collect();
        for windows in [7, 40] {
            let mut want_op = per_window(10, 5, Some(4));
            want_op.enable_record_cache(windows);
            let want = run_on(want_op.as_mut(), &rows, Run::default());
            let mut got_op = sliced(10, 5, Some(4));
            got_op.enable_record_cache(windows);
            let got = run_on(&mut got_op, &rows, Run::default());
            assert_eq!(last_values(&got), last_values(&want), "cache of {windows}");
            // Some windows sent several times (flushes between their rows), not every time.
            assert!(got.len() > last_values(&got).len(), "cache of {windows}");
            assert!(got.len() < want.len() * 11 / 10, "cache of {windows}");
        }
    }

    #[test]
    fn spans_of_window_starts_merge() {
        let mut spans = vec![(0, 10), (30, 40)];
        add_span(&mut spans, (60, 70), 5);
        assert_eq!(spans, vec![(0, 10), (30, 40), (60, 70)]);
        add_span(&mut spans, (15, 20), 5);
        assert_eq!(spans, vec![(0, 20), (30, 40), (60, 70)], "adjacent: merged");
        add_span(&mut spans, (20, 65), 5);
        assert_eq!(spans, vec![(0, 70)]);
        let mut p = PendingKey {
            hash: 0,
            key_end: 0,
            first: (10, 20),
            more: Vec::new(),
            settled: Vec::new(),
        };
        assert_eq!(p.add((15, 30), 5), 2);
        assert_eq!(p.add((0, 5), 5), 2);
        assert_eq!(p.add((50, 50), 5), 1);
        assert_eq!(p.spans().collect::<Vec<_>>(), vec![(0, 30), (50, 50)]);
        assert_eq!(p.add((35, 45), 5), 3);
        assert_eq!(p.spans().collect::<Vec<_>>(), vec![(0, 50)]);
    }

    #[test]
    fn slices_leave_after_the_retention() {
        let mut op = sliced(10, 5, Some(0));
        run_on(&mut op, &[("a", 1), ("b", 2), ("a", 100)], Run::default());
        let HoppingOperator::Slices(s) = &op else {
            panic!("slices")
        };
        // Only a's slice at 100 is left (retention: size + grace = 10).
        assert_eq!(s.groups.len(), 1);
    }

    #[test]
    fn slices_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let stores = open_stores(dir.path());
        let mut op = sliced(10, 5, None);
        op.attach_state(&stores, "q", 0).unwrap();
        run_on(&mut op, &[("a", 1), ("a", 7)], Run::default());
        op.commit().unwrap();
        drop(op);
        let mut op = sliced(10, 5, None);
        op.attach_state(&stores, "q", 0).unwrap();
        assert!(matches!(op, HoppingOperator::Slices(_)));
        let out = run_on(&mut op, &[("a", 8)], Run::default());
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(3), 0, 10, 8),
                ("a".into(), Some(2), 5, 15, 8)
            ]
        );
    }

    #[test]
    fn a_store_written_per_window_goes_on_per_window() {
        let dir = tempfile::tempdir().unwrap();
        let stores = open_stores(dir.path());
        let mut old = per_window(10, 5, None);
        old.attach_state(&stores, "q", 0).unwrap();
        run_on(old.as_mut(), &[("a", 1), ("a", 7)], Run::default());
        old.commit().unwrap();
        drop(old);
        let mut op = sliced(10, 5, None);
        op.attach_state(&stores, "q", 0).unwrap();
        assert!(matches!(op, HoppingOperator::Windows(_)));
        let out = run_on(&mut op, &[("a", 8)], Run::default());
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(3), 0, 10, 8),
                ("a".into(), Some(2), 5, 15, 8)
            ]
        );
    }
}
