//! session_window.rs owns GROUP BY over SESSION windows: per key, rows closer than the gap
//! merge into one session; a row that bridges sessions merges them (the replaced sessions
//! are deleted downstream). Stream time is the largest timestamp seen (per source
//! partition); a row whose session would have closed (end + gap + grace <= stream time) is
//! dropped, and sessions leave the store then (Kafka Streams' session store retention).
//! EMIT FINAL: each session is emitted once, when stream time passes its end + grace.
//!
//! A session keeps its rows' argument values, so a merged session's result is computed
//! from its rows in order (as adding them one by one would give).

use arrow::datatypes::{DataType, SchemaRef};
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;

use super::aggregate::{AggregateInput, Evaluated, DEFAULT_GRACE_MS};
use super::group_state::{
    emit, fast_map, read_values, write_values, Durable, FastMap, GroupTable, OutKey, Output,
    OutputShape,
};
use super::Operator;
use crate::aggregate::codec::{Reader, Writer};
use crate::formats::windowed::Window;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

#[derive(Debug, Clone)]
struct Session {
    window: Window,
    /// The largest timestamp of its rows.
    ts: i64,
    /// The argument values of every row in the session, to rebuild merged sessions.
    rows: Vec<Vec<Vec<ScalarValue>>>,
}

/// The first format of a key's sessions (with the key's values).
const TAG_SESSIONS: u8 = 0xA3;
/// A key's sessions (the key is in the store key).
const TAG_SESSIONS_ROWKEY: u8 = 0xA6;

/// GROUP BY over session windows.
#[derive(Debug)]
pub struct SessionWindows {
    spec: WindowSpec,
    input: AggregateInput,
    schema: SchemaRef,
    /// Only its key table is used: sessions are kept per key id below.
    groups: GroupTable,
    sessions: FastMap<u32, Vec<Session>>,
    /// Keys whose sessions changed since the last commit.
    dirty: std::collections::BTreeSet<Box<[u8]>>,
    stream_times: FastMap<u32, i64>,
    stream_time: i64,
    last_emit_close: FastMap<u32, i64>,
    durable: Durable,
    arg_types: Vec<Vec<DataType>>,
}

impl SessionWindows {
    pub(crate) fn new(input: AggregateInput, spec: WindowSpec, schema: SchemaRef) -> Self {
        let groups = GroupTable::new(input.key_types.clone(), input.functions.clone(), None);
        SessionWindows {
            spec,
            input,
            schema,
            groups,
            sessions: fast_map(),
            dirty: Default::default(),
            stream_times: fast_map(),
            stream_time: i64::MIN,
            last_emit_close: fast_map(),
            durable: Durable::default(),
            arg_types: Vec::new(),
        }
    }

    fn gap(&self) -> i64 {
        self.spec.size_ms as i64
    }

    /// GRACE PERIOD, else 24 hours — or none for EMIT FINAL.
    fn grace(&self) -> i64 {
        match (self.spec.grace_ms, self.spec.emit_final) {
            (Some(g), _) => g as i64,
            (None, true) => 0,
            (None, false) => DEFAULT_GRACE_MS,
        }
    }

    fn mark(&mut self, key: u32) {
        if self.durable.store.is_some() {
            self.dirty.insert(self.groups.keys.bytes(key).into());
        }
    }

    /// The result of a session's rows.
    fn values(&self, rows: &[Vec<Vec<ScalarValue>>]) -> Result<Vec<ScalarValue>> {
        let mut accs = self.groups.new_accumulators();
        for r in rows {
            for (acc, a) in accs.iter_mut().zip(r) {
                acc.add(a)?;
            }
        }
        Ok(accs.iter().map(|a| a.value()).collect())
    }

    /// Puts `sessions` back for `key` (holding the key while any are left).
    fn put_sessions(&mut self, key: u32, sessions: Vec<Session>, had: bool) {
        match (sessions.is_empty(), had) {
            (true, true) => {
                self.sessions.remove(&key);
                self.groups.keys.release(key);
            }
            (true, false) => {}
            (false, had) => {
                if !had {
                    self.groups.keys.retain(key);
                }
                self.sessions.insert(key, sessions);
            }
        }
    }

    fn update(
        &mut self,
        key: u32,
        args: Vec<Vec<ScalarValue>>,
        ts: i64,
        out: &mut Vec<Output>,
    ) -> Result<()> {
        self.mark(key);
        let gap = self.gap();
        // A session can grow until the gap has passed: it closes `gap + grace` after its
        // end, and leaves the store then.
        let close = self
            .stream_time
            .saturating_sub(self.grace())
            .saturating_sub(gap);
        let had = self.sessions.contains_key(&key);
        let sessions = self.sessions.remove(&key).unwrap_or_default();
        let (merge, mut keep): (Vec<Session>, Vec<Session>) = sessions.into_iter().partition(|s| {
            s.window.end >= close && s.window.end + gap >= ts && s.window.start - gap <= ts
        });
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
            keep.extend(merge);
            self.put_sessions(key, keep, had);
            return Ok(());
        }
        rows.push(args);
        let values = self.values(&rows)?;
        if !self.spec.emit_final {
            for s in &merge {
                if s.window != window {
                    out.push(Output {
                        key: OutKey::Key(key),
                        values: None,
                        timestamp: s.ts,
                        window: Some(s.window),
                    });
                }
            }
            out.push(Output {
                key: OutKey::Key(key),
                values: Some(values),
                timestamp: session_ts,
                window: Some(window),
            });
        }
        keep.push(Session {
            window,
            ts: session_ts,
            rows,
        });
        self.put_sessions(key, keep, had);
        Ok(())
    }

    /// Drops `key`'s sessions past their retention (gap + grace after their end).
    fn expire(&mut self, key: u32) {
        let close = self
            .stream_time
            .saturating_sub(self.grace())
            .saturating_sub(self.gap());
        if let Some(sessions) = self.sessions.get_mut(&key) {
            sessions.retain(|s| s.window.end >= close);
            if sessions.is_empty() {
                self.sessions.remove(&key);
                self.groups.keys.release(key);
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
        let mut found: Vec<(i64, &[u8], Output)> = Vec::new();
        for (key, sessions) in &self.sessions {
            for s in sessions {
                if s.window.end >= lower && s.window.end <= upper {
                    found.push((
                        s.window.end,
                        self.groups.keys.bytes(*key),
                        Output {
                            key: OutKey::Key(*key),
                            values: Some(self.values(&s.rows)?),
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
            let mut r = match v.first() {
                Some(&TAG_SESSIONS) => {
                    let mut r = Reader::new(&v, TAG_SESSIONS)?;
                    read_values(&mut r, &self.input.key_types)?;
                    r
                }
                _ => Reader::new(&v, TAG_SESSIONS_ROWKEY)?,
            };
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
                    for t in &self.arg_types {
                        row.push(read_values(&mut r, t)?);
                    }
                    rows.push(row);
                }
                sessions.push(Session { window, ts, rows });
            }
            let key = self.groups.keys.intern(&k[1..]);
            self.put_sessions(key, sessions, false);
        }
        self.groups.keys.collect();
        Ok(())
    }

    fn encode(&self, key: &[u8]) -> Option<Vec<u8>> {
        let id = self.groups.keys.id(key)?;
        let sessions = self.sessions.get(&id)?;
        let mut w = Writer::new(TAG_SESSIONS_ROWKEY);
        w.usize(sessions.len());
        for s in sessions {
            w.i64(s.window.start);
            w.i64(s.window.end);
            w.i64(s.ts);
            w.usize(s.rows.len());
            for row in &s.rows {
                for (a, ty) in row.iter().zip(&self.arg_types) {
                    write_values(&mut w, a, ty);
                }
            }
        }
        Some(w.finish())
    }

    fn process_rows(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        errors: &mut Vec<ProcessingError>,
        outputs: &mut Vec<Output>,
    ) -> Result<()> {
        for row in 0..input.len() {
            if input.deletes[row] {
                continue;
            }
            if e.null_key(row) {
                errors.push(ProcessingError::row(
                    "Group-by column with null value; row skipped".to_string(),
                ));
                continue;
            }
            let ts = input.timestamps[row];
            self.stream_time = self.stream_time.max(ts);
            let args = self.input.args(e, row)?;
            let key = self.groups.keys.intern(e.key(row));
            self.update(key, args, ts, outputs)?;
            if self.spec.emit_final {
                self.emit_final(input.partition, outputs)?;
            }
            self.expire(key);
        }
        Ok(())
    }
}

impl Operator for SessionWindows {
    fn retention(&self) -> Option<i64> {
        Some(self.grace().saturating_add(self.gap()))
    }

    fn commit(&mut self) -> Result<()> {
        if self.durable.store.is_none() {
            return Ok(());
        }
        let changes = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|k| {
                let v = self.encode(&k);
                let mut sk = Vec::with_capacity(k.len() + 1);
                sk.push(b's');
                sk.extend_from_slice(&k);
                (sk, v)
            })
            .collect();
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

    fn process(&mut self, input: Rows, errors: &mut Vec<ProcessingError>) -> Result<Rows> {
        let e = self.input.evaluate(&mut self.groups, &input, errors)?;
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
        let rows = emit(
            &OutputShape {
                schema: &self.schema,
                n_aggs: self.input.functions.len(),
                windowed: true,
            },
            &mut self.groups.keys,
            outputs,
            input.partition,
            &e.key_cols,
            e.key_rows.as_ref(),
        )?;
        self.groups.keys.collect();
        Ok(rows)
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
        assert_eq!(op.groups.keys.len(), 1);
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
        let log = std::sync::Arc::new(
            brook_log::Log::open(dir.path().join("log"), brook_log::LogOptions::default()).unwrap(),
        );
        let stores = brook_state::StateStores::open(&dir.path().join("state"), log).unwrap();
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
}
