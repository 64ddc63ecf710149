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
//!
//! Layout: sessions are small indexes into [`Sessions`] (window, timestamp, key, flags and
//! one accumulator column per call side by side), linked per key; a cached update points at
//! its session and reads the value when the cache drains, so a session that left meanwhile
//! is freed then. A key whose sessions all left keeps its id for a while (keys come back),
//! until idle keys outnumber the limit and are swept.

use std::collections::{BTreeMap, BTreeSet};

use arrow::datatypes::{DataType, SchemaRef};
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;

use super::aggregate::{grace_ms, AggregateInput, Evaluated};
use super::group_state::{fast_map, read_values, Durable, FastMap, KeyTable};
use super::updates::{UpdateKey, Updates};
use super::Operator;
use crate::aggregate::codec::{Reader, Writer};
use crate::aggregate::column::AccColumn;
use crate::aggregate::AggregateFunction;
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// No session, cache entry or key.
const NONE: u32 = u32::MAX;

/// Session flags: in its key's list.
const LIVE: u8 = 1;
/// Its current window has a value downstream (sent directly, or by a cache flush).
const DOWNSTREAM: u8 = 2;
/// Left its key, its cached value not sent yet: freed when the cache drains.
const RETIRED: u8 = 4;

/// Key flags: the entry holds the key's id.
const HELD: u8 = 1;
/// A commit wrote the key's sessions to the store (so dropping them needs a delete).
const PERSISTED: u8 = 2;
/// Changed since the last commit (listed in `SessionWindows::dirty`).
const DIRTY: u8 = 4;
/// Held without sessions since its last one left (counted in `SessionWindows::idle`).
const IDLE: u8 = 8;

/// Idle keys (no session left) kept at least, before a sweep frees them.
const IDLE_KEYS: usize = 1 << 17;

/// One session (its accumulators are in the columns beside).
#[derive(Debug, Clone, Copy)]
struct Session {
    window: Window,
    /// The largest timestamp of its rows.
    ts: i64,
    key: u32,
    /// The next session of its key (or NONE).
    next: u32,
    /// Its pending value in the record cache's order (or NONE).
    cached: u32,
    flags: u8,
}

/// Every session, by index: the session, and its state in one accumulator column per call
/// (aggregate/column.rs). A freed index is reused by a later session, reset. (A row touches
/// one session: its fields sit together, in one cache line.)
#[derive(Debug)]
struct Sessions {
    at: Vec<Session>,
    accs: Vec<AccColumn>,
    arg_counts: Vec<usize>,
    /// A boxed accumulator's argument values (reused between rows).
    scratch: Vec<ScalarValue>,
    free: Vec<u32>,
}

impl Sessions {
    fn new(functions: &[AggregateFunction], arg_counts: Vec<usize>) -> Self {
        Sessions {
            at: Vec::new(),
            accs: functions.iter().map(AccColumn::new).collect(),
            arg_counts,
            scratch: Vec::new(),
            free: Vec::new(),
        }
    }

    /// A session of `key` in the initial state (not linked yet).
    fn alloc(&mut self, key: u32, window: Window, ts: i64) -> u32 {
        let session = Session {
            window,
            ts,
            key,
            next: NONE,
            cached: NONE,
            flags: 0,
        };
        match self.free.pop() {
            Some(s) => {
                for a in &mut self.accs {
                    a.reset(s as usize);
                }
                self.at[s as usize] = session;
                s
            }
            None => {
                for a in &mut self.accs {
                    a.push();
                }
                self.at.push(session);
                (self.at.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, s: u32) {
        self.at[s as usize].flags = 0;
        self.free.push(s);
    }

    /// Folds input row `row` of `e` into session `s`.
    fn add(&mut self, s: u32, e: &Evaluated, row: usize) -> Result<()> {
        let mut at = 0;
        for (acc, n) in self.accs.iter_mut().zip(&self.arg_counts) {
            acc.add(s as usize, &e.arg_cols[at..at + n], row, &mut self.scratch)?;
            at += n;
        }
        Ok(())
    }

    /// Folds session `other`'s accumulators into `s`'s.
    fn merge(&mut self, s: u32, other: u32) -> Result<()> {
        for a in &mut self.accs {
            a.merge_within(s as usize, other as usize)?;
        }
        Ok(())
    }

    /// Sessions in use (live, or retired until the cache drains).
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.at.len() - self.free.len()
    }
}

/// Sessions by the bucket of their end, to find those that closed without a sorted entry
/// per session: a bucket is taken whole once all its ends have closed, so a session leaves
/// at most one bucket width (1/16 of gap + grace) after it closed. Entries go stale when a
/// session grows or is freed; the visitor checks.
#[derive(Debug)]
struct EndBuckets {
    width: i64,
    buckets: BTreeMap<i64, Vec<u32>>,
    /// Emptied buckets' lists, reused.
    spare: Vec<Vec<u32>>,
}

impl EndBuckets {
    fn new(retention: i64) -> Self {
        EndBuckets {
            width: (retention / 16).max(1),
            buckets: BTreeMap::new(),
            spare: Vec::new(),
        }
    }

    fn push(&mut self, end: i64, s: u32) {
        let spare = &mut self.spare;
        self.buckets
            .entry(end.div_euclid(self.width))
            .or_insert_with(|| spare.pop().unwrap_or_default())
            .push(s);
    }

    /// The next bucket whose ends are all before `close`.
    fn pop_closed(&mut self, close: i64) -> Option<Vec<u32>> {
        let entry = self.buckets.first_entry()?;
        let last = entry.key().saturating_add(1).saturating_mul(self.width) - 1;
        (last < close).then(|| entry.remove())
    }

    fn recycle(&mut self, mut list: Vec<u32>) {
        list.clear();
        self.spare.push(list);
    }
}

/// One key's sessions: the first of its list (linked through `Sessions::next`) and flags.
#[derive(Debug, Clone, Copy)]
struct KeyEntry {
    head: u32,
    flags: u8,
}

const NO_KEY: KeyEntry = KeyEntry {
    head: NONE,
    flags: 0,
};

/// The first format of a key's sessions: the key's values, then each session's rows.
const TAG_SESSIONS: u8 = 0xA3;
/// A key's sessions with each session's rows (the key is in the store key).
const TAG_SESSIONS_ROWKEY: u8 = 0xA6;
/// A key's sessions with each session's saved accumulators.
const TAG_SESSIONS_ACCS: u8 = 0xA7;

/// A pending update in the session record cache.
#[derive(Debug, Clone, Copy)]
struct Cached {
    /// NONE: cancelled (created and replaced between two flushes).
    key: u32,
    window: Window,
    /// The session whose value goes out, or NONE: a delete.
    session: u32,
    ts: i64,
}

/// Session updates waiting for the next flush, first update first. A session points at
/// its own pending value; deletes of replaced windows wait beside them.
#[derive(Debug)]
struct SessionCache {
    max_keys: usize,
    order: Vec<Cached>,
}

impl SessionCache {
    /// Appends `entry` (its key held until the drain); its index.
    fn push(&mut self, keys: &mut KeyTable, entry: Cached) -> u32 {
        keys.retain(entry.key);
        self.order.push(entry);
        (self.order.len() - 1) as u32
    }
}

/// GROUP BY over session windows.
#[derive(Debug)]
pub struct SessionWindows {
    spec: WindowSpec,
    input: AggregateInput,
    schema: SchemaRef,
    /// Group keys, interned: sessions are listed per key id in `by_key`.
    keys: KeyTable,
    sessions: Sessions,
    by_key: Vec<KeyEntry>,
    /// Keys holding their id, and those of them without sessions.
    held: usize,
    idle: usize,
    /// Idle keys swept when there are more than this (and more than the active ones).
    idle_limit: usize,
    /// Keys whose sessions changed since the last commit (ids may repeat: each is checked
    /// against its entry's DIRTY flag).
    dirty: Vec<u32>,
    /// Store keys of persisted keys whose sessions all left since the last commit.
    deleted: Vec<Vec<u8>>,
    /// Each session, by its end each time that is set: expiry visits the ends that closed.
    expiry: EndBuckets,
    /// EMIT FINAL: (session end, key) of every session made, to visit keys in end order.
    by_end: BTreeSet<(i64, u32)>,
    cache: Option<SessionCache>,
    stream_times: FastMap<u32, i64>,
    stream_time: i64,
    last_emit_close: FastMap<u32, i64>,
    durable: Durable,
    arg_types: Vec<Vec<DataType>>,
    last_partition: u32,
    /// Reused per row: the sessions the row reaches.
    merge: Vec<u32>,
}

impl SessionWindows {
    pub(crate) fn new(input: AggregateInput, spec: WindowSpec, schema: SchemaRef) -> Self {
        SessionWindows {
            spec,
            keys: KeyTable::new(input.key_types.clone()),
            sessions: Sessions::new(&input.functions, input.arg_counts.clone()),
            input,
            schema,
            by_key: Vec::new(),
            held: 0,
            idle: 0,
            idle_limit: IDLE_KEYS,
            dirty: Vec::new(),
            deleted: Vec::new(),
            expiry: EndBuckets::new(grace_ms(&spec).saturating_add(spec.size_ms as i64)),
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

    fn entry(&mut self, key: u32) -> &mut KeyEntry {
        let i = key as usize;
        if i >= self.by_key.len() {
            self.by_key.resize(i + 1, NO_KEY);
        }
        &mut self.by_key[i]
    }

    /// The first of `key`'s sessions (NONE: it has none).
    fn head(&self, key: u32) -> u32 {
        self.by_key.get(key as usize).map_or(NONE, |k| k.head)
    }

    /// Links session `s` first in `key`'s list (holding the key; marking it changed).
    fn link(&mut self, key: u32, s: u32) {
        let entry = self.entry(key);
        let was = *entry;
        entry.head = s;
        entry.flags = (entry.flags | HELD) & !IDLE;
        let session = &mut self.sessions.at[s as usize];
        session.next = was.head;
        session.flags |= LIVE;
        if was.flags & HELD == 0 {
            self.keys.retain(key);
            self.held += 1;
        } else if was.flags & IDLE != 0 {
            self.idle -= 1;
        }
        self.touch(key);
    }

    /// Unlinks session `s` (after `prev`, or first) from `key`'s list.
    fn unlink(&mut self, key: u32, prev: u32, s: u32) {
        let next = self.sessions.at[s as usize].next;
        if prev == NONE {
            self.by_key[key as usize].head = next;
        } else {
            self.sessions.at[prev as usize].next = next;
        }
        self.sessions.at[s as usize].next = NONE;
        self.sessions.at[s as usize].flags &= !LIVE;
    }

    /// Marks `key`'s sessions changed (for the next commit).
    fn touch(&mut self, key: u32) {
        if self.durable.store.is_none() {
            return;
        }
        let entry = &mut self.by_key[key as usize];
        if entry.flags & DIRTY == 0 {
            entry.flags |= DIRTY;
            self.dirty.push(key);
        }
    }

    /// The window of `key`'s session `s` is replaced: its delete goes downstream, into the
    /// record cache, or nowhere when nobody downstream saw it.
    fn retract(&mut self, key: u32, s: u32, row: usize, out: &mut Updates) {
        if self.spec.emit_final {
            return;
        }
        let i = s as usize;
        let (window, ts) = (self.sessions.at[i].window, self.sessions.at[i].ts);
        let downstream = self.sessions.at[i].flags & DOWNSTREAM != 0;
        self.sessions.at[i].flags &= !DOWNSTREAM;
        let Some(cache) = &mut self.cache else {
            out.push_delete(UpdateKey::Input(row), ts, window);
            return;
        };
        let c = std::mem::replace(&mut self.sessions.at[i].cached, NONE);
        if c != NONE {
            let entry = &mut cache.order[c as usize];
            if downstream {
                entry.session = NONE;
                entry.ts = ts;
            } else {
                // Created and replaced between two flushes: nobody needs to hear of it.
                entry.key = NONE;
                self.keys.release(key);
            }
        } else if downstream {
            let delete = Cached {
                key,
                window,
                session: NONE,
                ts,
            };
            cache.push(&mut self.keys, delete);
        }
    }

    /// Sends session `s`'s value downstream, or into the record cache.
    fn send(&mut self, key: u32, s: u32, row: usize, out: &mut Updates) -> Result<()> {
        if self.spec.emit_final {
            return Ok(());
        }
        let i = s as usize;
        let (window, ts) = (self.sessions.at[i].window, self.sessions.at[i].ts);
        let Some(cache) = &mut self.cache else {
            return out.push_group(&self.sessions.accs, s, UpdateKey::Input(row), ts, window);
        };
        let c = self.sessions.at[i].cached;
        if c != NONE {
            cache.order[c as usize].ts = ts;
        } else {
            let value = Cached {
                key,
                window,
                session: s,
                ts,
            };
            self.sessions.at[i].cached = cache.push(&mut self.keys, value);
        }
        Ok(())
    }

    fn cache_due(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.order.len() >= c.max_keys)
    }

    /// Empties the record cache into `out`: each cached session's last update, first
    /// update first.
    fn drain_cache(&mut self, out: &mut Updates) -> Result<()> {
        let Some(cache) = &mut self.cache else {
            return Ok(());
        };
        let mut order = std::mem::take(&mut cache.order);
        out.reserve(order.len(), 0);
        for c in &order {
            if c.key == NONE {
                continue;
            }
            let key = UpdateKey::Own(self.keys.bytes(c.key));
            if c.session == NONE {
                out.push_delete(key, c.ts, c.window);
            } else {
                let s = c.session;
                out.push_group(&self.sessions.accs, s, key, c.ts, c.window)?;
                let i = s as usize;
                self.sessions.at[i].cached = NONE;
                if self.sessions.at[i].flags & RETIRED != 0 {
                    self.sessions.release(s);
                } else {
                    self.sessions.at[i].flags |= DOWNSTREAM;
                }
            }
            // The key's bytes were copied out: it may go at the next collect.
            self.keys.release(c.key);
        }
        // The list keeps its capacity for the next period.
        order.clear();
        if let Some(cache) = &mut self.cache {
            cache.order = order;
        }
        Ok(())
    }

    /// Folds row `row` at `ts` into `key`'s sessions: merges the sessions it reaches, adds
    /// the row, and sends the replaced sessions' deletes and the session's new value.
    fn update(
        &mut self,
        key: u32,
        e: &Evaluated,
        row: usize,
        ts: i64,
        out: &mut Updates,
    ) -> Result<()> {
        let gap = self.gap();
        // A session can grow until the gap has passed: it closes `gap + grace` after its
        // end, and leaves then.
        let close = self.close();
        let mut merge = std::mem::take(&mut self.merge);
        let mut prev = NONE;
        let mut s = self.head(key);
        while s != NONE {
            let next = self.sessions.at[s as usize].next;
            let w = self.sessions.at[s as usize].window;
            if w.end >= close && w.end + gap >= ts && w.start - gap <= ts {
                self.unlink(key, prev, s);
                merge.push(s);
            } else {
                prev = s;
            }
            s = next;
        }
        if merge.is_empty() && ts < close {
            // The session this row would start has closed already: the row is late.
            self.merge = merge;
            return Ok(());
        }
        let mut window = Window { start: ts, end: ts };
        let mut session_ts = ts;
        for &s in &merge {
            let w = self.sessions.at[s as usize].window;
            window.start = window.start.min(w.start);
            window.end = window.end.max(w.end);
            session_ts = session_ts.max(self.sessions.at[s as usize].ts);
        }
        // Kafka Streams merges the sessions it finds in the store's order (by end).
        let sessions = &self.sessions;
        merge.sort_by_key(|&s| {
            let w = sessions.at[s as usize].window;
            (w.end, w.start)
        });
        let mut keep = DOWNSTREAM;
        for &s in &merge {
            if self.sessions.at[s as usize].window != window {
                self.retract(key, s, row, out);
                keep = 0;
            }
        }
        let (s, grew) = match merge.first() {
            Some(&s) => {
                for &other in &merge[1..] {
                    self.sessions.merge(s, other)?;
                    self.sessions.release(other);
                }
                (s, self.sessions.at[s as usize].window.end != window.end)
            }
            None => (self.sessions.alloc(key, window, session_ts), true),
        };
        merge.clear();
        self.merge = merge;
        let i = s as usize;
        self.sessions.at[i].window = window;
        self.sessions.at[i].ts = session_ts;
        self.sessions.at[i].flags &= keep;
        if self.cache.is_none() {
            self.sessions.at[i].flags |= DOWNSTREAM;
        }
        self.sessions.add(s, e, row)?;
        self.link(key, s);
        if grew {
            self.expiry.push(window.end, s);
            if self.spec.emit_final {
                self.by_end.insert((window.end, key));
            }
        }
        self.send(key, s, row, out)
    }

    /// Drops the sessions that closed (gap + grace after their end). Keys
    /// may come from several source partitions, so the slowest one's stream time says
    /// what closed.
    fn expire(&mut self) {
        let Some(time) = self.stream_times.values().min().copied() else {
            return;
        };
        let close = time.saturating_sub(self.grace()).saturating_sub(self.gap());
        while let Some(list) = self.expiry.pop_closed(close) {
            for &s in &list {
                self.leave(s, close);
            }
            self.expiry.recycle(list);
        }
        while self.by_end.first().is_some_and(|(end, _)| *end < close) {
            self.by_end.pop_first();
        }
        self.sweep();
    }

    /// Drops session `s` if it is live and closed (ends before `close`).
    fn leave(&mut self, s: u32, close: i64) {
        let i = s as usize;
        if self.sessions.at[i].flags & LIVE == 0 || self.sessions.at[i].window.end >= close {
            return;
        }
        let key = self.sessions.at[i].key;
        let mut prev = NONE;
        let mut at = self.head(key);
        while at != s && at != NONE {
            prev = at;
            at = self.sessions.at[at as usize].next;
        }
        self.unlink(key, prev, s);
        if self.sessions.at[i].cached != NONE {
            self.sessions.at[i].flags |= RETIRED;
        } else {
            self.sessions.release(s);
        }
        let entry = &mut self.by_key[key as usize];
        if entry.head != NONE {
            self.touch(key);
            return;
        }
        self.idle += 1;
        entry.flags |= IDLE;
        if entry.flags & PERSISTED != 0 {
            entry.flags &= !PERSISTED;
            self.deleted.push(store_key(self.keys.bytes(key)));
        }
    }

    /// Frees the ids of keys without sessions, once there are many of them.
    fn sweep(&mut self) {
        if self.idle <= self.idle_limit || self.idle * 2 < self.held {
            return;
        }
        for (key, entry) in self.by_key.iter_mut().enumerate() {
            if entry.flags & IDLE != 0 {
                *entry = NO_KEY;
                self.keys.release(key as u32);
                self.held -= 1;
                self.idle -= 1;
            }
        }
        self.keys.collect();
    }

    /// EMIT FINAL: emits the sessions that closed since the last emission.
    fn emit_final(&mut self, partition: u32, out: &mut Updates) -> Result<()> {
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
        let mut found: Vec<(i64, &[u8], u32)> = Vec::new();
        for key in keys {
            let mut s = self.head(key);
            while s != NONE {
                let end = self.sessions.at[s as usize].window.end;
                if end >= lower && end <= upper {
                    found.push((end, self.keys.bytes(key), s));
                }
                s = self.sessions.at[s as usize].next;
            }
        }
        found.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, key, s) in found {
            let i = s as usize;
            let (window, ts) = (self.sessions.at[i].window, self.sessions.at[i].ts);
            out.push_group(&self.sessions.accs, s, UpdateKey::Own(key), ts, window)?;
        }
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
            let key = self.keys.intern(&k[1..]);
            for s in self.decode(key, &v)? {
                let end = self.sessions.at[s as usize].window.end;
                self.sessions.at[s as usize].flags = DOWNSTREAM;
                self.link(key, s);
                self.expiry.push(end, s);
                if self.spec.emit_final {
                    self.by_end.insert((end, key));
                }
            }
            let entry = self.entry(key);
            entry.flags = (entry.flags & !DIRTY) | PERSISTED;
        }
        self.dirty.clear();
        self.keys.collect();
        Ok(())
    }

    /// `key`'s sessions from the store: accumulators, or (earlier formats) every row's
    /// arguments, added in order.
    fn decode(&mut self, key: u32, v: &[u8]) -> Result<Vec<u32>> {
        let sessions = &mut self.sessions;
        let arg_types = &self.arg_types;
        let mut with_rows = |mut r: Reader<'_>| -> Result<Vec<u32>> {
            let n = r.u64()? as usize;
            let mut list = Vec::with_capacity(n);
            for _ in 0..n {
                let window = Window {
                    start: r.i64()?,
                    end: r.i64()?,
                };
                let s = sessions.alloc(key, window, r.i64()?);
                for _ in 0..r.u64()? {
                    for (acc, t) in sessions.accs.iter_mut().zip(arg_types) {
                        acc.add_values(s as usize, &read_values(&mut r, t)?)?;
                    }
                }
                list.push(s);
            }
            Ok(list)
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
                let mut list = Vec::with_capacity(n);
                for _ in 0..n {
                    let window = Window {
                        start: r.i64()?,
                        end: r.i64()?,
                    };
                    let s = self.sessions.alloc(key, window, r.i64()?);
                    for acc in &mut self.sessions.accs {
                        acc.replace_saved(s as usize, r.bytes()?)?;
                    }
                    list.push(s);
                }
                Ok(list)
            }
        }
    }

    /// `key`'s sessions in the store's format.
    fn encode(&self, key: u32) -> Vec<u8> {
        let sessions = &self.sessions;
        let mut list = Vec::new();
        let mut s = self.head(key);
        while s != NONE {
            list.push(s as usize);
            s = sessions.at[s as usize].next;
        }
        let mut w = Writer::new(TAG_SESSIONS_ACCS);
        w.usize(list.len());
        for i in list {
            w.i64(sessions.at[i].window.start);
            w.i64(sessions.at[i].window.end);
            w.i64(sessions.at[i].ts);
            for a in &sessions.accs {
                w.bytes(&a.save(i));
            }
        }
        w.finish()
    }

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        errors: &mut Vec<ProcessingError>,
        out: &mut Updates,
    ) -> Result<()> {
        for row in 0..input.len() {
            if !e.groupable(input, row, errors) {
                continue;
            }
            let ts = input.timestamps[row];
            self.stream_time = self.stream_time.max(ts);
            let key = self.keys.intern(e.key(row));
            self.update(key, e, row, ts, out)?;
            if self.spec.emit_final {
                self.emit_final(input.partition, out)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, out: Updates, partition: u32, e: Option<&Evaluated>) -> Result<Rows> {
        let rows = out.finish(&self.schema, &mut self.keys, partition, e)?;
        self.keys.collect();
        Ok(rows)
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
            let Some(entry) = self.by_key.get_mut(key as usize) else {
                continue;
            };
            if entry.flags & DIRTY == 0 {
                continue;
            }
            entry.flags &= !DIRTY;
            if entry.head == NONE {
                continue;
            }
            entry.flags |= PERSISTED;
            let v = self.encode(key);
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
                order: Vec::new(),
            });
        }
    }

    fn flush(&mut self) -> Result<Vec<Rows>> {
        let mut out = Updates::new(&self.sessions.accs);
        self.drain_cache(&mut out)?;
        if out.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![self.emit(out, self.last_partition, None)?])
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
        let mut out = Updates::new(&self.sessions.accs);
        self.process_rows(&input, &e, errors, &mut out)?;
        self.stream_times.insert(input.partition, self.stream_time);
        self.last_partition = input.partition;
        self.expire();
        if self.cache_due() {
            self.drain_cache(&mut out)?;
        }
        self.emit(out, input.partition, Some(&e))
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
        // Only b's session is left (a's closed when stream time reached 100); a's key is
        // kept, idle, until a sweep.
        assert_eq!(op.sessions.in_use(), 1);
        assert_eq!((op.held, op.idle), (2, 1));
        op.idle_limit = 0;
        op.sweep();
        assert_eq!((op.held, op.idle), (1, 0));
        assert_eq!(op.keys.len(), 1);
        // a comes back under a new id.
        let out = crate::operators::window_tests::run_on(&mut op, &[("a", 101)], Run::default());
        assert_eq!(out, vec![("a".into(), Some(1), 101, 101, 101)]);
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
        assert_eq!(op.sessions.at.len(), 2);
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
        assert_eq!(op.sessions.in_use(), 1);
        op.idle_limit = 0;
        op.sweep();
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

    /// The final table an update stream leaves: (key, start, end) -> count.
    fn final_table(
        out: Vec<crate::operators::window_tests::Update>,
    ) -> std::collections::BTreeMap<(String, i64, i64), i64> {
        let mut table = std::collections::BTreeMap::new();
        for (key, count, start, end, _) in out {
            match count {
                Some(n) => table.insert((key, start, end), n),
                None => table.remove(&(key, start, end)),
            };
        }
        table
    }

    #[test]
    fn random_rows_end_as_the_gap_clusters_them_with_or_without_cache_and_sweeps() {
        // 3,000 rows over 8 keys, time moving on by 0-5 ms a row, each up to 3 ms out of
        // order: within the grace (5), so no row is late.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let mut t = 0i64;
        let rows: Vec<(&str, i64)> = (0..3000)
            .map(|_| {
                t += next(6) as i64;
                (keys[next(8) as usize], t - next(4) as i64)
            })
            .collect();
        // What the sessions must be: per key, timestamps within the gap (10) of the next
        // chained into one session.
        let mut expected = std::collections::BTreeMap::new();
        for key in keys {
            let mut ts: Vec<i64> = rows.iter().filter(|r| r.0 == key).map(|r| r.1).collect();
            ts.sort_unstable();
            let mut start = 0;
            for i in 0..ts.len() {
                if i + 1 == ts.len() || ts[i + 1] - ts[i] > 10 {
                    let n = (i + 1 - start) as i64;
                    expected.insert((key.to_string(), ts[start], ts[i]), n);
                    start = i + 1;
                }
            }
        }
        assert!(expected.len() > 100, "the rows make many sessions");
        let plain = final_table(run(Box::new(session(10, Some(5))), &rows, Run::default()));
        assert_eq!(plain, expected);
        // With the record cache (drained every 1,000 entries) and idle keys swept as soon as
        // they are half the held ones (this run sweeps some 190 times).
        let mut op = session(10, Some(5));
        op.idle_limit = 0;
        let cached = crate::operators::window_tests::run_on(&mut op, &rows, Run { cache: true });
        assert_eq!(final_table(cached), expected);
    }
}
