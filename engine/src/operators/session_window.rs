//! session_window.rs owns GROUP BY over SESSION windows: per key, rows closer than the gap
//! merge into one session; a row that bridges sessions merges them (the replaced sessions
//! are deleted downstream). Stream time is the largest timestamp seen (per source
//! partition); a row whose session would have closed (end + gap + grace <= stream time) is
//! dropped, and sessions leave memory and the store then (Kafka Streams' session store
//! retention). EMIT FINAL: each session is emitted once, when stream time passes its end +
//! grace.
//!
//! As in Kafka Streams' session aggregation, a session holds its accumulators: a row adds
//! to them, and a row that bridges sessions merges theirs, earliest end first
//! ([`crate::aggregate::Accumulator::merge`], ksqlDB's UDAF merge), before adding itself.
//! With the record cache on, updates wait in a cache keyed by (key, window) until the next
//! flush, so a session that grows and is replaced between two flushes sends only its last
//! state, and a replaced session nobody downstream saw sends no delete (Kafka Streams'
//! caching session store).

use std::collections::hash_map::Entry;
use std::collections::BTreeSet;

use arrow::datatypes::{DataType, SchemaRef};
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;

use super::aggregate::{grace_ms, AggregateInput, Evaluated};
use super::group_state::{
    emit, fast_map, read_values, Durable, FastMap, KeyTable, OutKey, Output, OutputShape,
};
use super::Operator;
use crate::aggregate::codec::{Reader, Writer};
use crate::aggregate::column::AccColumn;
use crate::aggregate::AggregateFunction;
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug)]
struct Session {
    window: Window,
    /// The largest timestamp of its rows.
    ts: i64,
    /// Its accumulators' states: a group of [`SessionStates`].
    state: u32,
    /// Its current window has a value downstream (sent directly, or by a cache flush).
    downstream: bool,
}

/// One key's sessions.
#[derive(Debug, Default)]
struct KeySessions {
    list: Vec<Session>,
    /// A commit wrote the key's sessions to the store (so dropping them needs a delete).
    persisted: bool,
    /// Changed since the last commit (listed in `SessionWindows::dirty`).
    dirty: bool,
}

/// Every session's accumulators, as groups of one column per call (aggregate/column.rs): a
/// session holds a group index, freed when it leaves and reused by a later session.
#[derive(Debug)]
struct SessionStates {
    accs: Vec<AccColumn>,
    arg_counts: Vec<usize>,
    free: Vec<u32>,
    len: u32,
    /// A boxed accumulator's argument values (reused between rows).
    scratch: Vec<ScalarValue>,
}

impl SessionStates {
    fn new(functions: &[AggregateFunction], arg_counts: Vec<usize>) -> Self {
        SessionStates {
            accs: functions.iter().map(AccColumn::new).collect(),
            arg_counts,
            free: Vec::new(),
            len: 0,
            scratch: Vec::new(),
        }
    }

    /// A group in the initial state.
    fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(g) => {
                for a in &mut self.accs {
                    a.reset(g as usize);
                }
                g
            }
            None => {
                for a in &mut self.accs {
                    a.push();
                }
                self.len += 1;
                self.len - 1
            }
        }
    }

    fn release(&mut self, g: u32) {
        self.free.push(g);
    }

    /// Folds input row `row` of `e` into group `g`.
    fn add(&mut self, g: u32, e: &Evaluated, row: usize) -> Result<()> {
        let mut at = 0;
        for (acc, n) in self.accs.iter_mut().zip(&self.arg_counts) {
            acc.add(g as usize, &e.arg_cols[at..at + n], row, &mut self.scratch)?;
            at += n;
        }
        Ok(())
    }

    /// Folds group `other` into `g`.
    fn merge(&mut self, g: u32, other: u32) -> Result<()> {
        for a in &mut self.accs {
            a.merge_within(g as usize, other as usize)?;
        }
        Ok(())
    }

    fn values(&self, g: u32) -> Vec<ScalarValue> {
        self.accs.iter().map(|a| a.value(g as usize)).collect()
    }
}

/// The first format of a key's sessions: the key's values, then each session's rows.
const TAG_SESSIONS: u8 = 0xA3;
/// A key's sessions with each session's rows (the key is in the store key).
const TAG_SESSIONS_ROWKEY: u8 = 0xA6;
/// A key's sessions with each session's saved accumulators.
const TAG_SESSIONS_ACCS: u8 = 0xA7;

/// A pending update in the session record cache.
#[derive(Debug)]
struct Cached {
    key: u32,
    window: Window,
    /// None: a delete.
    values: Option<Vec<ScalarValue>>,
    ts: i64,
}

/// Session updates waiting for the next flush, by (key, window), first update first.
#[derive(Debug)]
struct SessionCache {
    max_keys: usize,
    index: FastMap<(u32, i64, i64), usize>,
    order: Vec<Option<Cached>>,
}

/// GROUP BY over session windows.
#[derive(Debug)]
pub struct SessionWindows {
    spec: WindowSpec,
    input: AggregateInput,
    schema: SchemaRef,
    /// Group keys, interned: sessions are kept per key id below.
    keys: KeyTable,
    states: SessionStates,
    sessions: FastMap<u32, KeySessions>,
    /// Keys whose sessions changed since the last commit (ids may repeat or be reused:
    /// each is checked against its entry's `dirty` flag).
    dirty: Vec<u32>,
    /// Store keys of persisted keys whose sessions all left since the last commit.
    deleted: Vec<Vec<u8>>,
    /// (session end, key) of every session made: expiry and EMIT FINAL visit keys in end
    /// order (stale entries, for sessions since grown or merged, are skipped).
    by_end: BTreeSet<(i64, u32)>,
    cache: Option<SessionCache>,
    stream_times: FastMap<u32, i64>,
    stream_time: i64,
    last_emit_close: FastMap<u32, i64>,
    durable: Durable,
    arg_types: Vec<Vec<DataType>>,
    last_partition: u32,
    /// Reused per row: the sessions the row reaches.
    merge: Vec<Session>,
}

impl SessionWindows {
    pub(crate) fn new(input: AggregateInput, spec: WindowSpec, schema: SchemaRef) -> Self {
        SessionWindows {
            spec,
            keys: KeyTable::new(input.key_types.clone()),
            states: SessionStates::new(&input.functions, input.arg_counts.clone()),
            input,
            schema,
            sessions: fast_map(),
            dirty: Vec::new(),
            deleted: Vec::new(),
            by_end: BTreeSet::new(),
            cache: None,
            stream_times: fast_map(),
            stream_time: i64::MIN,
            last_emit_close: fast_map(),
            durable: Durable::default(),
            arg_types: Vec::new(),
            last_partition: 0,
            merge: Vec::new(),
        }
    }

    fn gap(&self) -> i64 {
        self.spec.size_ms as i64
    }

    fn grace(&self) -> i64 {
        grace_ms(&self.spec)
    }

    /// Sessions ending before this have closed (they can no longer grow) and leave.
    fn close(&self) -> i64 {
        self.stream_time
            .saturating_sub(self.grace())
            .saturating_sub(self.gap())
    }

    /// Takes `key`'s sessions out (an empty entry if it has none).
    fn take_sessions(&mut self, key: u32) -> (KeySessions, bool) {
        match self.sessions.remove(&key) {
            Some(s) => (s, true),
            None => (KeySessions::default(), false),
        }
    }

    /// Puts `key`'s sessions back (holding the key while any are left; a persisted key
    /// left without sessions is deleted from the store at the next commit).
    fn put_sessions(&mut self, key: u32, mut entry: KeySessions, had: bool) {
        if entry.list.is_empty() {
            if entry.persisted && self.durable.store.is_some() {
                self.deleted.push(store_key(self.keys.bytes(key)));
            }
            if had {
                self.keys.release(key);
            }
            return;
        }
        if !had {
            self.keys.retain(key);
        }
        if self.durable.store.is_some() && !entry.dirty {
            entry.dirty = true;
            self.dirty.push(key);
        }
        self.sessions.insert(key, entry);
    }

    /// Sends an update of `key`'s session `window` downstream, or into the record cache.
    /// `downstream`: whether that window already has a value downstream.
    fn send(
        &mut self,
        out: &mut Vec<Output>,
        key: u32,
        window: Window,
        state: Option<u32>,
        ts: i64,
        downstream: bool,
    ) {
        if self.spec.emit_final {
            return;
        }
        let values = state.map(|g| self.states.values(g));
        let Some(cache) = &mut self.cache else {
            out.push(Output {
                key: OutKey::Key(key),
                values,
                timestamp: ts,
                window: Some(window),
            });
            return;
        };
        // One hash of the entry's key, whichever way it goes.
        match cache.index.entry((key, window.start, window.end)) {
            Entry::Occupied(e) if values.is_none() && !downstream => {
                // Created and replaced between two flushes: nobody needs to hear of it.
                let i = e.remove();
                cache.order[i] = None;
                self.keys.release(key);
            }
            Entry::Occupied(e) => {
                if let Some(c) = cache.order[*e.get()].as_mut() {
                    c.values = values;
                    c.ts = ts;
                }
            }
            Entry::Vacant(_) if values.is_none() && !downstream => {}
            Entry::Vacant(e) => {
                e.insert(cache.order.len());
                cache.order.push(Some(Cached {
                    key,
                    window,
                    values,
                    ts,
                }));
                self.keys.retain(key);
            }
        }
    }

    fn cache_due(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.order.len() >= c.max_keys)
    }

    /// Empties the record cache: each cached session's last update, first update first.
    fn drain_cache(&mut self) -> Vec<Output> {
        let Some(cache) = &mut self.cache else {
            return Vec::new();
        };
        cache.index.clear();
        let mut order = std::mem::take(&mut cache.order);
        let mut out = Vec::with_capacity(order.len());
        for c in order.drain(..).flatten() {
            if c.values.is_some() {
                if let Some(s) = self
                    .sessions
                    .get_mut(&c.key)
                    .and_then(|k| k.list.iter_mut().find(|s| s.window == c.window))
                {
                    s.downstream = true;
                }
            }
            // The key stays valid until the outputs are built (collect runs after emit).
            self.keys.release(c.key);
            out.push(Output {
                key: OutKey::Key(c.key),
                values: c.values,
                timestamp: c.ts,
                window: Some(c.window),
            });
        }
        // The list keeps its capacity for the next period.
        if let Some(cache) = &mut self.cache {
            cache.order = order;
        }
        out
    }

    /// Folds a row at `ts` into `key`'s sessions: merges the sessions it reaches, adds the
    /// row, and sends the replaced sessions' deletes and the session's new value.
    fn update(
        &mut self,
        key: u32,
        e: &Evaluated,
        row: usize,
        ts: i64,
        out: &mut Vec<Output>,
    ) -> Result<()> {
        let gap = self.gap();
        // A session can grow until the gap has passed: it closes `gap + grace` after its
        // end, and leaves then.
        let close = self.close();
        // The key's entry stays in the map: the sessions this row reaches are taken out of
        // it, the new one put back (two lookups instead of a remove and an insert).
        let mut merge = std::mem::take(&mut self.merge);
        if let Some(entry) = self.sessions.get_mut(&key) {
            merge.extend(entry.list.extract_if(.., |s| {
                s.window.end >= close && s.window.end + gap >= ts && s.window.start - gap <= ts
            }));
        }
        let mut window = Window { start: ts, end: ts };
        let mut session_ts = ts;
        for s in &merge {
            window.start = window.start.min(s.window.start);
            window.end = window.end.max(s.window.end);
            session_ts = session_ts.max(s.ts);
        }
        if window.end < close {
            // The session this row would join has closed: the row is late.
            if let Some(entry) = self.sessions.get_mut(&key) {
                entry.list.append(&mut merge);
            }
            self.merge = merge;
            return Ok(());
        }
        // Kafka Streams merges the sessions it finds in the store's order (by end).
        merge.sort_by_key(|s| (s.window.end, s.window.start));
        let mut downstream = false;
        let mut state = None;
        let mut replaced = Vec::new();
        for s in merge.drain(..) {
            if s.window == window {
                downstream |= s.downstream;
            } else {
                replaced.push((s.window, s.ts, s.downstream));
            }
            match state {
                None => state = Some(s.state),
                Some(into) => {
                    self.states.merge(into, s.state)?;
                    self.states.release(s.state);
                }
            }
        }
        self.merge = merge;
        let state = match state {
            Some(g) => g,
            None => self.states.alloc(),
        };
        self.states.add(state, e, row)?;
        for (w, t, d) in replaced {
            self.send(out, key, w, None, t, d);
        }
        self.send(out, key, window, Some(state), session_ts, downstream);
        let session = Session {
            window,
            ts: session_ts,
            state,
            downstream: downstream || self.cache.is_none(),
        };
        self.by_end.insert((window.end, key));
        let tracked = self.durable.store.is_some();
        match self.sessions.get_mut(&key) {
            Some(entry) => {
                entry.list.push(session);
                if tracked && !entry.dirty {
                    entry.dirty = true;
                    self.dirty.push(key);
                }
            }
            None => self.put_sessions(
                key,
                KeySessions {
                    list: vec![session],
                    persisted: false,
                    dirty: false,
                },
                false,
            ),
        }
        Ok(())
    }

    /// Drops the sessions that closed (gap + grace after their end), key by key in end order.
    /// Keys may come from several source partitions, so the slowest one's stream time says
    /// what closed.
    fn expire(&mut self) {
        let Some(time) = self.stream_times.values().min().copied() else {
            return;
        };
        let close = time.saturating_sub(self.grace()).saturating_sub(self.gap());
        while self.by_end.first().is_some_and(|(end, _)| *end < close) {
            let (_, key) = self.by_end.pop_first().expect("non-empty");
            let Some(entry) = self.sessions.get_mut(&key) else {
                continue;
            };
            let before = entry.list.len();
            for s in entry.list.extract_if(.., |s| s.window.end < close) {
                self.states.release(s.state);
            }
            if entry.list.len() != before {
                let (entry, _) = self.take_sessions(key);
                self.put_sessions(key, entry, true);
            }
        }
    }

    /// EMIT FINAL: emits the sessions that closed since the last emission.
    fn emit_final(&mut self, partition: u32, out: &mut Vec<Output>) -> Result<()> {
        let close = self.stream_time.saturating_sub(self.grace());
        let last = self.last_emit_close.get(&partition).copied();
        if last.is_some_and(|l| l >= close) {
            return Ok(());
        }
        let upper = close - 1;
        let lower = last.unwrap_or(0).max(0);
        if upper < lower {
            return Ok(());
        }
        let mut keys: Vec<u32> = self
            .by_end
            .range((lower, 0)..=(upper, u32::MAX))
            .map(|(_, k)| *k)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut found: Vec<(i64, &[u8], Output)> = Vec::new();
        for key in keys {
            let Some(entry) = self.sessions.get(&key) else {
                continue;
            };
            for s in &entry.list {
                if s.window.end >= lower && s.window.end <= upper {
                    found.push((
                        s.window.end,
                        self.keys.bytes(key),
                        Output {
                            key: OutKey::Key(key),
                            values: Some(self.states.values(s.state)),
                            timestamp: s.ts,
                            window: Some(s.window),
                        },
                    ));
                }
            }
        }
        found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        out.extend(found.into_iter().map(|f| f.2));
        self.last_emit_close.insert(partition, close);
        Ok(())
    }

    fn load(&mut self, arg_types: Vec<Vec<DataType>>) -> Result<()> {
        self.arg_types = arg_types;
        self.durable.loaded = true;
        let Some(store) = &self.durable.store else {
            return Ok(());
        };
        let entries = store.prefix(b"s")?;
        self.stream_times = self.durable.stream_times()?;
        for (k, v) in entries {
            let list = self.decode(&v)?;
            let key = self.keys.intern(&k[1..]);
            for s in &list {
                self.by_end.insert((s.window.end, key));
            }
            self.keys.retain(key);
            self.sessions.insert(
                key,
                KeySessions {
                    list,
                    persisted: true,
                    dirty: false,
                },
            );
        }
        self.keys.collect();
        Ok(())
    }

    /// A key's sessions from the store: accumulators, or (earlier formats) every row's
    /// arguments, added in order.
    fn decode(&mut self, v: &[u8]) -> Result<Vec<Session>> {
        let states = &mut self.states;
        let arg_types = &self.arg_types;
        let mut with_rows = |mut r: Reader<'_>| -> Result<Vec<Session>> {
            let n = r.u64()? as usize;
            let mut sessions = Vec::with_capacity(n);
            for _ in 0..n {
                let window = Window {
                    start: r.i64()?,
                    end: r.i64()?,
                };
                let ts = r.i64()?;
                let state = states.alloc();
                for _ in 0..r.u64()? {
                    for (acc, t) in states.accs.iter_mut().zip(arg_types) {
                        acc.add_values(state as usize, &read_values(&mut r, t)?)?;
                    }
                }
                sessions.push(Session {
                    window,
                    ts,
                    state,
                    downstream: true,
                });
            }
            Ok(sessions)
        };
        match v.first() {
            Some(&TAG_SESSIONS) => {
                let mut r = Reader::new(v, TAG_SESSIONS)?;
                read_values(&mut r, &self.input.key_types)?;
                with_rows(r)
            }
            Some(&TAG_SESSIONS_ROWKEY) => with_rows(Reader::new(v, TAG_SESSIONS_ROWKEY)?),
            _ => {
                let mut r = Reader::new(v, TAG_SESSIONS_ACCS)?;
                let n = r.u64()? as usize;
                let mut sessions = Vec::with_capacity(n);
                for _ in 0..n {
                    let window = Window {
                        start: r.i64()?,
                        end: r.i64()?,
                    };
                    let ts = r.i64()?;
                    let state = self.states.alloc();
                    for acc in &mut self.states.accs {
                        acc.replace_saved(state as usize, r.bytes()?)?;
                    }
                    sessions.push(Session {
                        window,
                        ts,
                        state,
                        downstream: true,
                    });
                }
                Ok(sessions)
            }
        }
    }

    fn encode(states: &SessionStates, sessions: &[Session]) -> Vec<u8> {
        let mut w = Writer::new(TAG_SESSIONS_ACCS);
        w.usize(sessions.len());
        for s in sessions {
            w.i64(s.window.start);
            w.i64(s.window.end);
            w.i64(s.ts);
            for a in &states.accs {
                w.bytes(&a.save(s.state as usize));
            }
        }
        w.finish()
    }

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        errors: &mut Vec<ProcessingError>,
        outputs: &mut Vec<Output>,
    ) -> Result<()> {
        for row in 0..input.len() {
            if !e.groupable(input, row, errors) {
                continue;
            }
            let ts = input.timestamps[row];
            self.stream_time = self.stream_time.max(ts);
            let key = self.keys.intern(e.key(row));
            self.update(key, e, row, ts, outputs)?;
            if self.spec.emit_final {
                self.emit_final(input.partition, outputs)?;
            }
        }
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
            &mut self.keys,
            outputs,
            partition,
            e,
        )
    }
}

/// The store key of a group key's sessions.
fn store_key(key: &[u8]) -> Vec<u8> {
    let mut sk = Vec::with_capacity(key.len() + 1);
    sk.push(b's');
    sk.extend_from_slice(key);
    sk
}

impl Operator for SessionWindows {
    fn retention(&self) -> Option<i64> {
        Some(self.grace().saturating_add(self.gap()))
    }

    fn commit(&mut self) -> Result<()> {
        if self.durable.store.is_none() {
            return Ok(());
        }
        // Deletes first: a key that left and came back keeps its new sessions.
        let mut changes: Vec<(Vec<u8>, Option<Vec<u8>>)> = std::mem::take(&mut self.deleted)
            .into_iter()
            .map(|k| (k, None))
            .collect();
        for key in std::mem::take(&mut self.dirty) {
            let Some(entry) = self.sessions.get_mut(&key) else {
                continue;
            };
            if !entry.dirty {
                continue;
            }
            entry.dirty = false;
            entry.persisted = true;
            let v = Self::encode(&self.states, &entry.list);
            changes.push((store_key(self.keys.bytes(key)), Some(v)));
        }
        self.durable.commit(changes, &self.stream_times)
    }

    fn attach_state(
        &mut self,
        stores: &brook_state::StateStores,
        query_id: &str,
        index: usize,
    ) -> Result<Option<Vec<(u32, u64)>>> {
        self.durable.attach(stores, query_id, index)
    }

    fn note_offsets(&mut self, offsets: &[(u32, u64)]) {
        self.durable.note_offsets(offsets);
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        if max_keys > 0 && !self.spec.emit_final {
            self.cache = Some(SessionCache {
                max_keys,
                index: fast_map(),
                order: Vec::new(),
            });
        }
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        let outputs = self.drain_cache();
        if outputs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(outputs, self.last_partition, None)?])
    }

    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let e = self.input.evaluate(&mut self.keys, &input, errors)?;
        if !self.durable.loaded {
            self.load(e.arg_types(&self.input.arg_counts))?;
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
        self.expire();
        if self.cache_due() {
            outputs.extend(self.drain_cache());
        }
        self.emit(outputs, input.partition, Some(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::window_tests::{count_per_key, run, schema, spec, Run};
    use brook_sql::analyzer::WindowType;

    fn session(gap: u64, grace: Option<u64>) -> SessionWindows {
        SessionWindows::new(
            count_per_key(),
            spec(WindowType::Session, gap, None, grace),
            schema(),
        )
    }

    #[test]
    fn rows_within_the_gap_share_a_session() {
        let out = run(
            Box::new(session(10, Some(0))),
            &[("a", 1), ("a", 5), ("b", 6)],
            Run::default(),
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 1, 1, 1),
                ("a".into(), None, 1, 1, 1),
                ("a".into(), Some(2), 1, 5, 5),
                ("b".into(), Some(1), 6, 6, 6),
            ]
        );
    }

    #[test]
    fn a_row_bridging_two_sessions_merges_them() {
        let out = run(
            Box::new(session(10, None)),
            &[("a", 0), ("a", 20), ("a", 10)],
            Run::default(),
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 0, 0, 0),
                ("a".into(), Some(1), 20, 20, 20),
                ("a".into(), None, 0, 0, 0),
                ("a".into(), None, 20, 20, 20),
                ("a".into(), Some(3), 0, 20, 20),
            ]
        );
    }

    #[test]
    fn a_late_row_is_dropped_and_closed_sessions_are_forgotten() {
        let mut op = session(10, Some(0));
        let out = crate::operators::window_tests::run_on(
            &mut op,
            &[("a", 0), ("b", 100), ("a", 5)],
            Run::default(),
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 0, 0, 0),
                ("b".into(), Some(1), 100, 100, 100)
            ]
        );
        // Only b's session is left (a's closed when stream time reached 100).
        assert_eq!(op.sessions.len(), 1);
        assert_eq!(op.keys.len(), 1);
    }

    #[test]
    fn a_session_that_left_hands_its_state_to_a_new_one_reset() {
        let mut op = session(10, Some(0));
        let out = crate::operators::window_tests::run_on(
            &mut op,
            &[("a", 0), ("a", 3), ("b", 100), ("c", 200)],
            Run::default(),
        );
        // a's session grew over a merge (its [0, 0] replaced), then its state (count 2) left
        // at stream time 100 and was reused by b's or c's session from the initial state.
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(1), 0, 0, 0),
                ("a".into(), None, 0, 0, 0),
                ("a".into(), Some(2), 0, 3, 3),
                ("b".into(), Some(1), 100, 100, 100),
                ("c".into(), Some(1), 200, 200, 200)
            ]
        );
        assert_eq!(op.states.len, 2);
    }

    #[test]
    fn emit_final_emits_each_session_once_it_closes() {
        let op = SessionWindows::new(
            count_per_key(),
            crate::operators::window_tests::Final::final_(spec(
                WindowType::Session,
                10,
                None,
                None,
            )),
            schema(),
        );
        let out = run(
            Box::new(op),
            &[("a", 0), ("a", 5), ("b", 30)],
            Run::default(),
        );
        assert_eq!(out, vec![("a".into(), Some(2), 0, 5, 5)]);
    }

    #[test]
    fn sessions_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::operators::window_tests::open_stores(dir.path());
        let mut op = session(10, None);
        op.attach_state(&stores, "q", 0).unwrap();
        crate::operators::window_tests::run_on(&mut op, &[("a", 0), ("a", 5)], Run::default());
        op.commit().unwrap();
        drop(op);
        let mut op = session(10, None);
        op.attach_state(&stores, "q", 0).unwrap();
        let out = crate::operators::window_tests::run_on(&mut op, &[("a", 12)], Run::default());
        assert_eq!(
            out,
            vec![
                ("a".into(), None, 0, 5, 5),
                ("a".into(), Some(3), 0, 12, 12)
            ]
        );
    }

    #[test]
    fn the_cache_sends_a_session_once_per_flush() {
        // a's session grows twice and b's is bridged into one: only the last states go out,
        // and no delete for windows nobody downstream saw.
        let out = run(
            Box::new(session(10, None)),
            &[("a", 0), ("a", 5), ("b", 0), ("b", 20), ("a", 8), ("b", 10)],
            Run { cache: true },
        );
        assert_eq!(
            out,
            vec![
                ("a".into(), Some(3), 0, 8, 8),
                ("b".into(), Some(3), 0, 20, 20),
            ]
        );
    }

    #[test]
    fn the_cache_deletes_a_replaced_session_that_went_downstream() {
        let mut op = session(10, None);
        let first =
            crate::operators::window_tests::run_on(&mut op, &[("a", 0)], Run { cache: true });
        assert_eq!(first, vec![("a".into(), Some(1), 0, 0, 0)]);
        // Flushed above: growing it now deletes the old window downstream.
        let out = crate::operators::window_tests::run_on(
            &mut op,
            &[("a", 4), ("a", 6)],
            Run { cache: true },
        );
        assert_eq!(
            out,
            vec![("a".into(), None, 0, 0, 0), ("a".into(), Some(3), 0, 6, 6)]
        );
    }

    #[test]
    fn closed_sessions_of_keys_not_seen_again_leave_memory_and_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::operators::window_tests::open_stores(dir.path());
        let mut op = session(10, Some(0));
        op.attach_state(&stores, "q", 0).unwrap();
        crate::operators::window_tests::run_on(&mut op, &[("a", 0), ("b", 1)], Run::default());
        op.commit().unwrap();
        // c moves stream time past a's and b's sessions (end + gap + grace).
        crate::operators::window_tests::run_on(&mut op, &[("c", 50)], Run::default());
        assert_eq!(op.sessions.len(), 1);
        assert_eq!(op.keys.len(), 1);
        op.commit().unwrap();
        // Only c's sessions are left in the store.
        let stored = op.durable.store.as_ref().unwrap().prefix(b"s").unwrap();
        assert_eq!(stored.len(), 1);
    }

    #[test]
    fn sessions_saved_as_rows_by_earlier_versions_load() {
        let dir = tempfile::tempdir().unwrap();
        let stores = crate::operators::window_tests::open_stores(dir.path());
        let mut op = session(10, None);
        op.attach_state(&stores, "q", 0).unwrap();
        // a's key bytes, as the operator's key table makes them.
        let (_, rows) = op
            .keys
            .convert(&[std::sync::Arc::new(arrow::array::StringArray::from(vec!["a"])) as _])
            .unwrap();
        let key = store_key(rows.unwrap().row(0).data());
        // One session [0, 5] of two COUNT(*) rows (no arguments each).
        let mut w = Writer::new(TAG_SESSIONS_ROWKEY);
        w.usize(1);
        w.i64(0);
        w.i64(5);
        w.i64(5);
        w.usize(2);
        w.usize(0);
        w.usize(0);
        let store = op.durable.store.as_mut().unwrap();
        store.put(&key, &w.finish());
        store.commit(&[]).unwrap();
        drop(op);
        let mut op = session(10, None);
        op.attach_state(&stores, "q", 0).unwrap();
        let out = crate::operators::window_tests::run_on(&mut op, &[("a", 12)], Run::default());
        assert_eq!(
            out,
            vec![
                ("a".into(), None, 0, 5, 5),
                ("a".into(), Some(3), 0, 12, 12)
            ]
        );
    }
}
