//! join.rs owns [`Join`]: the join of two inputs, with the state each side keeps and the
//! rules of when a change on one side emits, as Kafka Streams runs ksqlDB's joins.
//!
//! Rows come in from either side ([`Join::process`] with a [`Side`]), laid out as that side's
//! plan schema; rows go out laid out as the `Join` node's schema: the key column(s), the
//! columns of both sides (null for a side that is absent), then ROWTIME, ROWPARTITION,
//! ROWOFFSET (and WINDOWSTART/WINDOWEND when windowed).
//!
//! The join key is `left_key` evaluated over left rows and `right_key` over right rows; a
//! windowed source's window is part of the key. A null join key never matches.
//!
//! - **Stream-stream** (`WITHIN before/after`, optional `GRACE PERIOD`): both sides are
//!   buffered per key. A record joins the other side's records with a timestamp in
//!   `[t - before, t + after]` (a right record looks the other way), each match emitted at
//!   `max(t, t')`, in the order of the matches' timestamps. A store only shows records newer
//!   than its own stream time minus retention (`before + after + grace`). Without a GRACE
//!   PERIOD (grace then 24 h) a record of an outer side that matches nothing emits at once
//!   with nulls. With one, ksqlDB uses Kafka Streams' fix for spurious results: such a record
//!   waits until the join's stream time passes `t + after (right: before) + grace`, and
//!   emits then (ordered by time, right side first) unless a match came meanwhile; a record
//!   whose window is already past emits at once.
//! - **Stream-table**: the table side keeps its latest row per key; only stream records emit,
//!   joined with the table row at that moment (LEFT: nulls when there is none), at the stream
//!   record's time.
//! - **Table-table**: both sides keep their latest row per key and both emit: an update joins
//!   the other side's row at `max(t, t')`; INNER needs both, LEFT/RIGHT keep their outer side,
//!   FULL either. When a joined row goes away the key's row is deleted (a tombstone), or
//!   re-emitted with nulls for the side that went when the other side is kept.
//! - **Durable state**: with a state store attached ([`Join::attach_state`]), the table
//!   sides of stream-table and table-table joins, and the buffered records, pending outer
//!   records and stream time of stream-stream joins, live in a brook-state store (changelog
//!   included) and are loaded back when the query restarts; changes are written at each
//!   commit ([`Join::commit_state`]); buffered records leave the store when they expire
//!   (retention = before + after + grace). Foreign-key state is kept in memory only (not
//!   yet durable).
//! - **Foreign key**: the left table's `left_key` names a right table key. The left keeps
//!   its rows and an index of which left keys point at each right key; a left update joins
//!   the right row it points at (INNER: a tombstone when there is none and the left row had
//!   been there before), a right update re-emits every left row pointing at it (at
//!   `max(t_right, t_left)`), in left key order. The output key is the left table's key.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use brook_sql::ast::JoinType;
use brook_sql::plan::{ColumnRole, JoinKind, JoinWithin, Schema};
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::{conform, evaluate, make_batch};
use crate::formats::windowed::Window;
use crate::runtime::error::{EngineError, Result};
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// The grace of a stream-stream join without a GRACE PERIOD: Kafka Streams' old default of
/// 24 hours (less the window), as ksqlDB's `JoinWindows.of` gives it.
pub const DEFAULT_JOIN_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// Which input of a join rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// What a join needs from its plan node.
pub struct JoinSpec {
    pub kind: JoinKind,
    pub join_type: JoinType,
    pub within: Option<JoinWithin>,
    /// Evaluated over left rows / right rows.
    pub left_key: Arc<dyn PhysicalExpr>,
    pub right_key: Arc<dyn PhysicalExpr>,
    /// The schemas of the two inputs and of the join's output.
    pub left: Schema,
    pub right: Schema,
    pub output: Schema,
    pub left_arrow: SchemaRef,
    pub right_arrow: SchemaRef,
    pub output_arrow: SchemaRef,
    /// Whether a windowed key's window end is part of the key: session windows. Time
    /// windows are keyed by their start alone, as their serialized keys are.
    pub window_end_in_key: bool,
}

/// Where an output column's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutColumn {
    Key(usize),
    Left(usize),
    Right(usize),
    RowTime,
    RowPartition,
    RowOffset,
    WindowStart,
    WindowEnd,
    Null,
}

/// One row of an input, all its columns.
type Row = Arc<Vec<ScalarValue>>;

/// An input row, decoded for the join.
struct In {
    /// Join key (with the window) as bytes; `None` when the key is null.
    key: Option<Vec<u8>>,
    key_value: ScalarValue,
    row: Row,
    ts: i64,
    delete: bool,
    window: Option<Window>,
}

/// A row to emit.
struct Out {
    key: Vec<ScalarValue>,
    left: Option<Row>,
    right: Option<Row>,
    ts: i64,
    delete: bool,
    window: Option<Window>,
}

/// A buffered stream record.
#[derive(Clone)]
struct Buffered {
    ts: i64,
    seq: u64,
    key_value: ScalarValue,
    row: Row,
    window: Option<Window>,
}

/// One side of a stream-stream join: records per key in arrival order.
#[derive(Default)]
struct StreamBuffer {
    by_key: HashMap<Vec<u8>, Vec<Buffered>>,
    /// The largest timestamp put (the store's stream time).
    observed: Option<i64>,
    puts: usize,
    /// What changed since the last commit, when the join's state is durable.
    changes: Option<BufferChanges>,
}

/// Records a stream buffer took in and let go of since the last commit.
#[derive(Default)]
struct BufferChanges {
    added: Vec<(Vec<u8>, Buffered)>,
    /// (key, ts, seq).
    removed: Vec<(Vec<u8>, i64, u64)>,
}

impl StreamBuffer {
    /// The oldest timestamp a fetch sees.
    fn min_visible(&self, retention: i64) -> i64 {
        match self.observed {
            Some(o) => o.saturating_sub(retention).saturating_add(1),
            None => i64::MIN,
        }
    }

    fn put(&mut self, key: &[u8], b: Buffered, retention: i64) {
        let min = self.min_visible(retention);
        self.observed = Some(self.observed.map_or(b.ts, |o| o.max(b.ts)));
        if b.ts >= min {
            if let Some(c) = &mut self.changes {
                c.added.push((key.to_vec(), b.clone()));
            }
            self.by_key.entry(key.to_vec()).or_default().push(b);
        }
        self.puts += 1;
        if self.puts.is_multiple_of(1024) {
            let min = self.min_visible(retention);
            let changes = &mut self.changes;
            self.by_key.retain(|k, v| {
                v.retain(|b| {
                    let keep = b.ts >= min;
                    if !keep {
                        if let Some(c) = changes.as_mut() {
                            c.removed.push((k.clone(), b.ts, b.seq));
                        }
                    }
                    keep
                });
                !v.is_empty()
            });
        }
    }

    /// Records of `key` with a timestamp in `[from, to]`, oldest first.
    fn fetch(&self, key: &[u8], from: i64, to: i64, retention: i64) -> Vec<Buffered> {
        let from = from.max(self.min_visible(retention));
        let mut v: Vec<Buffered> = self
            .by_key
            .get(key)
            .map(|v| {
                v.iter()
                    .filter(|b| b.ts >= from && b.ts <= to)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|b| (b.ts, b.seq));
        v
    }
}

/// A table side's row for a key.
#[derive(Clone)]
struct TableRow {
    row: Row,
    ts: i64,
    window: Option<Window>,
}

/// A left row of a foreign-key join.
struct FkLeft {
    row: Row,
    /// The right key it points at.
    fk: Option<Vec<u8>>,
    /// Whether its subscription was sent for this value (a right update re-emits it).
    current: bool,
}

/// The state of a join.
#[derive(Default)]
struct State {
    // Stream-stream.
    left_stream: StreamBuffer,
    right_stream: StreamBuffer,
    stream_time: Option<i64>,
    /// Unmatched outer records waiting for their window to close: by (time, side: right 0 /
    /// left 1, key), as Kafka Streams orders its outer-join store.
    pending: BTreeMap<(i64, u8, Vec<u8>), (Side, Buffered)>,
    seq: u64,
    // Stream-table and table-table.
    left_table: HashMap<Vec<u8>, TableRow>,
    right_table: HashMap<Vec<u8>, TableRow>,
    // Foreign key.
    fk_left: HashMap<Vec<u8>, FkLeft>,
    /// Right key → left keys pointing at it (in key order) with their subscription time.
    subscriptions: HashMap<Vec<u8>, BTreeMap<Vec<u8>, i64>>,
}

/// The join operator.
pub struct Join {
    kind: JoinKind,
    join_type: JoinType,
    left_key: Arc<dyn PhysicalExpr>,
    right_key: Arc<dyn PhysicalExpr>,
    key_type: DataType,
    columns: Vec<OutColumn>,
    output_arrow: SchemaRef,
    /// The left input's key columns (the output key of a foreign-key join).
    left_key_columns: Vec<usize>,
    left_partition: Option<usize>,
    right_partition: Option<usize>,
    left_offset: Option<usize>,
    right_offset: Option<usize>,
    /// Stream-stream windows.
    before: i64,
    after: i64,
    grace: i64,
    spurious_fix: bool,
    window_end_in_key: bool,
    key_converter: Option<RowConverter>,
    left_key_converter: Option<RowConverter>,
    state: State,
    /// Column types of the two inputs' rows (to store table rows).
    left_types: Vec<DataType>,
    right_types: Vec<DataType>,
    durable: Option<Durable>,
}

/// The store of a join's state and what changed since the last commit.
struct Durable {
    store: brook_state::Store,
    /// Table keys changed: (side tag, key).
    dirty: HashSet<(u8, Vec<u8>)>,
    /// Pending outer records (stream-stream) inserted or removed.
    dirty_pending: HashSet<(i64, u8, Vec<u8>)>,
}

const TAG_BUFFERED: u8 = b'B';
const TAG_PENDING: u8 = b'P';
const TAG_META: u8 = b'M';
const BUFFERED_TAG: u8 = 0xB2;
const META_TAG: u8 = 0xB3;

/// A timestamp as bytes that sort like the number.
fn sortable(ts: i64) -> [u8; 8] {
    ((ts as u64) ^ (1 << 63)).to_be_bytes()
}

fn unsortable(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    (u64::from_be_bytes(a) ^ (1 << 63)) as i64
}

/// Store key of a buffered record: `B`, side, time, sequence, join key.
fn buffered_key(side: u8, key: &[u8], ts: i64, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(18 + key.len());
    k.push(TAG_BUFFERED);
    k.push(side);
    k.extend_from_slice(&sortable(ts));
    k.extend_from_slice(&seq.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// Store key of a pending outer record: `P`, time, order, join key.
fn pending_key(ts: i64, order: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(10 + key.len());
    k.push(TAG_PENDING);
    k.extend_from_slice(&sortable(ts));
    k.push(order);
    k.extend_from_slice(key);
    k
}

fn encode_buffered(side: Side, b: &Buffered, key_type: &DataType, types: &[DataType]) -> Vec<u8> {
    use crate::aggregate::codec::{write_value_or_null, Writer};
    let mut w = Writer::new(BUFFERED_TAG);
    w.u8(side_tag(side));
    w.i64(b.ts);
    w.u64(b.seq);
    write_value_or_null(&mut w, &b.key_value, key_type);
    match b.window {
        Some(win) => {
            w.bool(true);
            w.i64(win.start);
            w.i64(win.end);
        }
        None => w.bool(false),
    }
    w.usize(b.row.len());
    for (v, t) in b.row.iter().zip(types) {
        write_value_or_null(&mut w, v, t);
    }
    w.finish()
}

fn decode_buffered(
    bytes: &[u8],
    key_type: &DataType,
    left: &[DataType],
    right: &[DataType],
) -> Result<(Side, Buffered)> {
    use crate::aggregate::codec::{corrupt, read_value, Reader};
    let mut r = Reader::new(bytes, BUFFERED_TAG)?;
    let side = if r.u8()? == TAG_LEFT {
        Side::Left
    } else {
        Side::Right
    };
    let ts = r.i64()?;
    let seq = r.u64()?;
    let key_value = read_value(&mut r, key_type)?;
    let window = if r.bool()? {
        Some(Window {
            start: r.i64()?,
            end: r.i64()?,
        })
    } else {
        None
    };
    let types = match side {
        Side::Left => left,
        Side::Right => right,
    };
    let n = r.len()?;
    if n != types.len() {
        return Err(corrupt(format!(
            "a stored join record has {n} columns, the input has {}",
            types.len()
        ))
        .into());
    }
    let row = types
        .iter()
        .map(|t| read_value(&mut r, t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok((
        side,
        Buffered {
            ts,
            seq,
            key_value,
            row: Arc::new(row),
            window,
        },
    ))
}

const TAG_LEFT: u8 = b'L';
const TAG_RIGHT: u8 = b'R';
const TABLE_ROW_TAG: u8 = 0xB1;

fn side_tag(side: Side) -> u8 {
    match side {
        Side::Left => TAG_LEFT,
        Side::Right => TAG_RIGHT,
    }
}

fn encode_table_row(r: &TableRow, types: &[DataType]) -> Vec<u8> {
    use crate::aggregate::codec::{write_value_or_null, Writer};
    let mut w = Writer::new(TABLE_ROW_TAG);
    w.i64(r.ts);
    match r.window {
        Some(win) => {
            w.bool(true);
            w.i64(win.start);
            w.i64(win.end);
        }
        None => w.bool(false),
    }
    w.usize(r.row.len());
    for (v, t) in r.row.iter().zip(types) {
        write_value_or_null(&mut w, v, t);
    }
    w.finish()
}

fn decode_table_row(b: &[u8], types: &[DataType]) -> Result<TableRow> {
    use crate::aggregate::codec::{corrupt, read_value, Reader};
    let mut r = Reader::new(b, TABLE_ROW_TAG)?;
    let ts = r.i64()?;
    let window = if r.bool()? {
        Some(Window {
            start: r.i64()?,
            end: r.i64()?,
        })
    } else {
        None
    };
    let n = r.len()?;
    if n != types.len() {
        return Err(corrupt(format!(
            "a stored join row has {n} columns, the input has {}",
            types.len()
        ))
        .into());
    }
    let row = types
        .iter()
        .map(|t| read_value(&mut r, t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    r.finish()?;
    Ok(TableRow {
        row: Arc::new(row),
        ts,
        window,
    })
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("kind", &self.kind)
            .field("join_type", &self.join_type)
            .field("columns", &self.columns)
            .finish()
    }
}

fn pseudo_position(schema: &Schema, name: &str) -> Option<usize> {
    schema
        .columns
        .iter()
        .position(|c| c.role == ColumnRole::Pseudo && c.name == name && c.source.is_none())
        .or_else(|| {
            schema
                .columns
                .iter()
                .position(|c| c.role == ColumnRole::Pseudo && c.name == name)
        })
}

impl Join {
    pub fn new(spec: JoinSpec) -> Result<Self> {
        let n_keys = spec
            .output
            .columns
            .iter()
            .take_while(|c| c.is_key())
            .count();
        let mut columns = Vec::with_capacity(spec.output.columns.len());
        let find = |schema: &Schema, c: &brook_sql::plan::Column| {
            schema
                .columns
                .iter()
                .position(|s| s.name == c.name && s.source == c.source)
        };
        for (i, c) in spec.output.columns.iter().enumerate() {
            let col = if i < n_keys {
                OutColumn::Key(i)
            } else if c.source.is_none() && c.role == ColumnRole::Pseudo {
                match c.name.as_str() {
                    "ROWTIME" => OutColumn::RowTime,
                    "ROWPARTITION" => OutColumn::RowPartition,
                    "ROWOFFSET" => OutColumn::RowOffset,
                    "WINDOWSTART" => OutColumn::WindowStart,
                    "WINDOWEND" => OutColumn::WindowEnd,
                    _ => OutColumn::Null,
                }
            } else if let Some(p) = find(&spec.left, c) {
                OutColumn::Left(p)
            } else if let Some(p) = find(&spec.right, c) {
                OutColumn::Right(p)
            } else {
                OutColumn::Null
            };
            columns.push(col);
        }
        let key_type = spec.left_key.data_type(&spec.left_arrow)?;
        let left_key_columns: Vec<usize> = spec
            .left
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_key())
            .map(|(i, _)| i)
            .collect();
        let (before, after, grace, spurious_fix) = match spec.within {
            Some(w) => {
                let before = w.before_ms as i64;
                let after = w.after_ms as i64;
                match w.grace_ms {
                    Some(g) => (before, after, g as i64, true),
                    None => (
                        before,
                        after,
                        (DEFAULT_JOIN_GRACE_MS - 2 * before).max(0),
                        false,
                    ),
                }
            }
            None => (0, 0, 0, false),
        };
        Ok(Join {
            kind: spec.kind,
            join_type: spec.join_type,
            left_key: spec.left_key,
            right_key: spec.right_key,
            key_type,
            columns,
            output_arrow: spec.output_arrow,
            left_key_columns,
            left_partition: pseudo_position(&spec.left, "ROWPARTITION"),
            right_partition: pseudo_position(&spec.right, "ROWPARTITION"),
            left_offset: pseudo_position(&spec.left, "ROWOFFSET"),
            right_offset: pseudo_position(&spec.right, "ROWOFFSET"),
            before,
            after,
            grace,
            spurious_fix,
            window_end_in_key: spec.window_end_in_key,
            key_converter: None,
            left_key_converter: None,
            state: State::default(),
            left_types: spec
                .left_arrow
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
            right_types: spec
                .right_arrow
                .fields()
                .iter()
                .map(|f| f.data_type().clone())
                .collect(),
            durable: None,
        })
    }

    /// Opens the store `name` of its state (stream-stream, stream-table and table-table
    /// joins; a foreign-key join keeps its state in memory) and loads what it holds.
    pub fn attach_state(&mut self, stores: &brook_state::StateStores, name: &str) -> Result<()> {
        if self.kind == JoinKind::ForeignKey {
            return Ok(());
        }
        let store = stores.store(name, &format!("_brook-{name}-changelog"))?;
        if self.kind == JoinKind::StreamStream {
            self.load_streams(&store)?;
            self.durable = Some(Durable {
                store,
                dirty: HashSet::new(),
                dirty_pending: HashSet::new(),
            });
            return Ok(());
        }
        for (tag, side) in [(TAG_LEFT, Side::Left), (TAG_RIGHT, Side::Right)] {
            let types = match side {
                Side::Left => &self.left_types,
                Side::Right => &self.right_types,
            };
            let mut rows = HashMap::new();
            for (k, v) in store.prefix(&[tag])? {
                rows.insert(k[1..].to_vec(), decode_table_row(&v, types)?);
            }
            match side {
                Side::Left => self.state.left_table = rows,
                Side::Right => self.state.right_table = rows,
            }
        }
        self.durable = Some(Durable {
            store,
            dirty: HashSet::new(),
            dirty_pending: HashSet::new(),
        });
        Ok(())
    }

    /// Loads a stream-stream join's buffers, pending outer records and times.
    fn load_streams(&mut self, store: &brook_state::Store) -> Result<()> {
        use crate::aggregate::codec::Reader;
        let st = &mut self.state;
        for (k, v) in store.prefix(&[TAG_BUFFERED])? {
            if k.len() < 18 {
                continue;
            }
            let (side, b) =
                decode_buffered(&v, &self.key_type, &self.left_types, &self.right_types)?;
            let key = k[18..].to_vec();
            let buf = match side {
                Side::Left => &mut st.left_stream,
                Side::Right => &mut st.right_stream,
            };
            buf.by_key.entry(key).or_default().push(b);
        }
        for buf in [&mut st.left_stream, &mut st.right_stream] {
            for v in buf.by_key.values_mut() {
                v.sort_by_key(|b| b.seq);
            }
            buf.changes = Some(BufferChanges::default());
        }
        for (k, v) in store.prefix(&[TAG_PENDING])? {
            if k.len() < 10 {
                continue;
            }
            let (side, b) =
                decode_buffered(&v, &self.key_type, &self.left_types, &self.right_types)?;
            st.pending
                .insert((unsortable(&k[1..9]), k[9], k[10..].to_vec()), (side, b));
        }
        if let Some(m) = store.get(&[TAG_META])? {
            let mut r = Reader::new(&m, META_TAG)?;
            let opt = |r: &mut Reader| -> Result<Option<i64>> {
                Ok(if r.bool()? { Some(r.i64()?) } else { None })
            };
            st.stream_time = opt(&mut r)?;
            st.left_stream.observed = opt(&mut r)?;
            st.right_stream.observed = opt(&mut r)?;
            st.seq = r.u64()?;
            r.finish()?;
        }
        Ok(())
    }

    /// Writes a stream-stream join's changes since the last commit into the store.
    fn write_streams(&mut self) {
        use crate::aggregate::codec::Writer;
        let Some(d) = &mut self.durable else { return };
        let st = &mut self.state;
        for (side, buf) in [
            (Side::Left, &mut st.left_stream),
            (Side::Right, &mut st.right_stream),
        ] {
            let types = match side {
                Side::Left => &self.left_types,
                Side::Right => &self.right_types,
            };
            let Some(c) = buf.changes.as_mut() else {
                buf.changes = Some(BufferChanges::default());
                continue;
            };
            for (key, b) in c.added.drain(..) {
                d.store.put(
                    &buffered_key(side_tag(side), &key, b.ts, b.seq),
                    &encode_buffered(side, &b, &self.key_type, types),
                );
            }
            for (key, ts, seq) in c.removed.drain(..) {
                d.store.delete(&buffered_key(side_tag(side), &key, ts, seq));
            }
        }
        for (ts, order, key) in d.dirty_pending.drain() {
            let k = pending_key(ts, order, &key);
            match st.pending.get(&(ts, order, key)) {
                Some((side, b)) => {
                    let types = match side {
                        Side::Left => &self.left_types,
                        Side::Right => &self.right_types,
                    };
                    d.store
                        .put(&k, &encode_buffered(*side, b, &self.key_type, types));
                }
                None => d.store.delete(&k),
            }
        }
        let mut w = Writer::new(META_TAG);
        for t in [
            st.stream_time,
            st.left_stream.observed,
            st.right_stream.observed,
        ] {
            match t {
                Some(t) => {
                    w.bool(true);
                    w.i64(t);
                }
                None => w.bool(false),
            }
        }
        w.u64(st.seq);
        d.store.put(&[TAG_META], &w.finish());
    }

    /// Writes the table rows changed since the last commit to the store and commits it.
    pub fn commit_state(&mut self) -> Result<()> {
        if self.kind == JoinKind::StreamStream {
            self.write_streams();
        }
        let Some(d) = &mut self.durable else {
            return Ok(());
        };
        for (tag, key) in d.dirty.drain() {
            let (table, types) = if tag == TAG_LEFT {
                (&self.state.left_table, &self.left_types)
            } else {
                (&self.state.right_table, &self.right_types)
            };
            let mut k = Vec::with_capacity(key.len() + 1);
            k.push(tag);
            k.extend_from_slice(&key);
            match table.get(&key) {
                Some(r) => d.store.put(&k, &encode_table_row(r, types)),
                None => d.store.delete(&k),
            }
        }
        d.store.commit(&[])?;
        Ok(())
    }

    /// Notes a table key changed (for the next commit).
    fn mark(&mut self, side: Side, key: &[u8]) {
        if let Some(d) = &mut self.durable {
            d.dirty.insert((side_tag(side), key.to_vec()));
        }
    }

    fn outer(&self, side: Side) -> bool {
        match side {
            Side::Left => matches!(self.join_type, JoinType::Left | JoinType::Full),
            Side::Right => matches!(self.join_type, JoinType::Right | JoinType::Full),
        }
    }

    /// Processes rows of one side, in order; returns the rows the join emits.
    pub fn process(
        &mut self,
        side: Side,
        input: Rows,
        errors: &mut Vec<ProcessingError>,
    ) -> Result<Rows> {
        let expr = match side {
            Side::Left => self.left_key.clone(),
            Side::Right => self.right_key.clone(),
        };
        let (cols, kept) = evaluate(std::slice::from_ref(&expr), &input, errors)?;
        let input = match kept {
            Some(mask) => input.filter(&mask)?,
            None => input,
        };
        let key_array = conform(cols[0].clone(), &self.key_type)?;
        let keys = encode_keys(&mut self.key_converter, std::slice::from_ref(&key_array))?;
        let fk_left = self.kind == JoinKind::ForeignKey && side == Side::Left;
        let own_keys = if fk_left {
            let arrays: Vec<ArrayRef> = self
                .left_key_columns
                .iter()
                .map(|i| input.batch.column(*i).clone())
                .collect();
            Some(encode_keys(&mut self.left_key_converter, &arrays)?)
        } else {
            None
        };
        let mut outs = Vec::new();
        let window_end_in_key = self.window_end_in_key;
        for i in 0..input.len() {
            let window = input.windows.as_ref().map(|w| w[i]);
            let with_window = |mut k: Vec<u8>| {
                if let Some(w) = window {
                    k.extend_from_slice(&w.start.to_be_bytes());
                    if window_end_in_key {
                        k.extend_from_slice(&w.end.to_be_bytes());
                    }
                }
                k
            };
            let key = (!key_array.is_null(i)).then(|| with_window(keys[i].clone()));
            let row: Row = Arc::new(
                input
                    .batch
                    .columns()
                    .iter()
                    .map(|c| ScalarValue::try_from_array(c, i))
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            );
            let rec = In {
                key,
                key_value: ScalarValue::try_from_array(&key_array, i)?,
                row,
                ts: input.timestamps[i],
                delete: input.deletes[i],
                window,
            };
            match self.kind {
                JoinKind::StreamStream => self.stream_stream(side, rec, &mut outs),
                JoinKind::StreamTable => self.stream_table(side, rec, &mut outs),
                JoinKind::TableTable => self.table_table(side, rec, &mut outs),
                JoinKind::ForeignKey => {
                    let own = own_keys.as_ref().map(|k| k[i].clone());
                    self.foreign_key(side, rec, own, &mut outs)
                }
            }
        }
        self.emit(outs, input.partition)
    }

    // ---- stream-stream ---------------------------------------------------------------------

    fn retention(&self) -> i64 {
        self.before + self.after + self.grace
    }

    fn stream_stream(&mut self, side: Side, rec: In, outs: &mut Vec<Out>) {
        let Some(key) = rec.key.clone() else { return };
        if rec.delete {
            return;
        }
        let retention = self.retention();
        // This side's window: how far back and ahead of the record the other side matches.
        let (back, ahead) = match side {
            Side::Left => (self.before, self.after),
            Side::Right => (self.after, self.before),
        };
        self.state.seq += 1;
        let b = Buffered {
            ts: rec.ts,
            seq: self.state.seq,
            key_value: rec.key_value.clone(),
            row: rec.row.clone(),
            window: rec.window,
        };
        match side {
            Side::Left => self.state.left_stream.put(&key, b.clone(), retention),
            Side::Right => self.state.right_stream.put(&key, b.clone(), retention),
        }
        let now = self.state.stream_time.map_or(rec.ts, |t| t.max(rec.ts));
        self.state.stream_time = Some(now);
        if self.spurious_fix && rec.ts == now {
            self.emit_closed(now, outs);
        }
        let other = match side {
            Side::Left => &self.state.right_stream,
            Side::Right => &self.state.left_stream,
        };
        let from = rec.ts.saturating_sub(back).max(0);
        let to = rec.ts.saturating_add(ahead).max(0);
        let matches = other.fetch(&key, from, to, retention);
        let other_side = match side {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        };
        for m in &matches {
            if self.spurious_fix {
                let k = (m.ts, side_order(other_side), key.clone());
                if self.state.pending.remove(&k).is_some() {
                    if let Some(d) = &mut self.durable {
                        d.dirty_pending.insert(k);
                    }
                }
            }
            // A windowed result has the left record's window.
            let (left, right, window) = match side {
                Side::Left => (rec.row.clone(), m.row.clone(), rec.window),
                Side::Right => (m.row.clone(), rec.row.clone(), m.window),
            };
            outs.push(Out {
                key: vec![rec.key_value.clone()],
                left: Some(left),
                right: Some(right),
                ts: rec.ts.max(m.ts),
                delete: false,
                window,
            });
        }
        if matches.is_empty() && self.outer(side) {
            if !self.spurious_fix || to < now {
                outs.push(one_sided(side, &b, b.ts));
            } else {
                if let Some(d) = &mut self.durable {
                    d.dirty_pending
                        .insert((rec.ts, side_order(side), key.clone()));
                }
                self.state
                    .pending
                    .insert((rec.ts, side_order(side), key), (side, b));
            }
        }
    }

    /// Emits, with nulls for the other side, the unmatched outer records whose window closed.
    fn emit_closed(&mut self, now: i64, outs: &mut Vec<Out>) {
        let mut closed = Vec::new();
        let shortest = self.before.min(self.after);
        for (k, (side, b)) in &self.state.pending {
            // Entries are in time order: from here on none can have closed.
            if b.ts.saturating_add(shortest).saturating_add(self.grace) >= now {
                break;
            }
            let look = match side {
                Side::Left => self.after,
                Side::Right => self.before,
            };
            if b.ts.saturating_add(look).saturating_add(self.grace) < now {
                closed.push(k.clone());
            }
        }
        for k in closed {
            if let Some(d) = &mut self.durable {
                d.dirty_pending.insert(k.clone());
            }
            if let Some((side, b)) = self.state.pending.remove(&k) {
                outs.push(one_sided(side, &b, b.ts));
            }
        }
    }

    // ---- stream-table ----------------------------------------------------------------------

    fn stream_table(&mut self, side: Side, rec: In, outs: &mut Vec<Out>) {
        let Some(key) = rec.key else { return };
        match side {
            Side::Right => {
                self.mark(Side::Right, &key);
                if rec.delete {
                    self.state.right_table.remove(&key);
                } else {
                    self.state.right_table.insert(
                        key,
                        TableRow {
                            row: rec.row,
                            ts: rec.ts,
                            window: rec.window,
                        },
                    );
                }
            }
            Side::Left => {
                if rec.delete {
                    return;
                }
                let other = self.state.right_table.get(&key);
                if other.is_none() && !self.outer(Side::Left) {
                    return;
                }
                outs.push(Out {
                    key: vec![rec.key_value],
                    left: Some(rec.row),
                    right: other.map(|o| o.row.clone()),
                    ts: rec.ts,
                    delete: false,
                    window: rec.window,
                });
            }
        }
    }

    // ---- table-table -----------------------------------------------------------------------

    fn table_table(&mut self, side: Side, rec: In, outs: &mut Vec<Out>) {
        let Some(key) = rec.key else { return };
        self.mark(side, &key);
        let (own, other) = match side {
            Side::Left => (&mut self.state.left_table, &self.state.right_table),
            Side::Right => (&mut self.state.right_table, &self.state.left_table),
        };
        let old = if rec.delete {
            own.remove(&key)
        } else {
            own.insert(
                key.clone(),
                TableRow {
                    row: rec.row.clone(),
                    ts: rec.ts,
                    window: rec.window,
                },
            )
        };
        let other = other.get(&key).cloned();
        let other_side = match side {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        };
        let new = (!rec.delete).then(|| rec.row.clone());
        let pair = |mine: Option<Row>, theirs: Option<Row>| match side {
            Side::Left => (mine, theirs),
            Side::Right => (theirs, mine),
        };
        match other {
            None => {
                if !self.outer(side) || (new.is_none() && old.is_none()) {
                    return;
                }
                let delete = new.is_none();
                let (left, right) = pair(Some(rec.row.clone()), None);
                outs.push(Out {
                    key: vec![rec.key_value],
                    left,
                    right,
                    ts: rec.ts,
                    delete,
                    window: rec.window,
                });
            }
            Some(o) => {
                let ts = rec.ts.max(o.ts);
                let (left, right, delete) = match new {
                    Some(n) => {
                        let (l, r) = pair(Some(n), Some(o.row.clone()));
                        (l, r, false)
                    }
                    None if self.outer(other_side) => {
                        let (l, r) = pair(None, Some(o.row.clone()));
                        (l, r, false)
                    }
                    None => {
                        let (l, r) = pair(Some(rec.row.clone()), Some(o.row.clone()));
                        (l, r, true)
                    }
                };
                outs.push(Out {
                    key: vec![rec.key_value],
                    left,
                    right,
                    ts,
                    delete,
                    window: match side {
                        Side::Left => rec.window,
                        Side::Right => o.window.or(rec.window),
                    },
                });
            }
        }
    }

    // ---- foreign key -----------------------------------------------------------------------

    fn left_key_values(&self, row: &Row) -> Vec<ScalarValue> {
        self.left_key_columns
            .iter()
            .map(|i| row[*i].clone())
            .collect()
    }

    fn foreign_key(&mut self, side: Side, rec: In, own: Option<Vec<u8>>, outs: &mut Vec<Out>) {
        match side {
            Side::Left => self.fk_left_update(rec, own.unwrap_or_default(), outs),
            Side::Right => self.fk_right_update(rec, outs),
        }
    }

    fn fk_left_update(&mut self, rec: In, k: Vec<u8>, outs: &mut Vec<Out>) {
        let key_values = self.left_key_values(&rec.row);
        let old = self.state.fk_left.remove(&k);
        let leftjoin = self.outer(Side::Left);
        if rec.delete {
            let Some(old) = old else { return };
            let Some(ofk) = old.fk else { return };
            if let Some(s) = self.state.subscriptions.get_mut(&ofk) {
                s.remove(&k);
            }
            let ts = self
                .state
                .right_table
                .get(&ofk)
                .map_or(rec.ts, |r| rec.ts.max(r.ts));
            // Tombstones carry the rows they take back: the key may be computed from them.
            outs.push(Out {
                key: key_values,
                left: Some(rec.row),
                right: None,
                ts,
                delete: true,
                window: None,
            });
            return;
        }
        let new_fk = rec.key.clone();
        let mut entry = FkLeft {
            row: rec.row.clone(),
            fk: new_fk.clone(),
            current: false,
        };
        // A null foreign key (now or before) sends nothing.
        let skip = new_fk.is_none() || old.as_ref().is_some_and(|o| o.fk.is_none());
        if skip {
            self.state.fk_left.insert(k, entry);
            return;
        }
        let nfk = new_fk.expect("checked above");
        if let Some(ofk) = old.as_ref().and_then(|o| o.fk.clone()) {
            if ofk != nfk {
                if let Some(s) = self.state.subscriptions.get_mut(&ofk) {
                    s.remove(&k);
                }
            }
        }
        self.state
            .subscriptions
            .entry(nfk.clone())
            .or_default()
            .insert(k.clone(), rec.ts);
        entry.current = true;
        self.state.fk_left.insert(k, entry);
        let right = self.state.right_table.get(&nfk);
        match right {
            Some(r) => outs.push(Out {
                key: key_values,
                left: Some(rec.row),
                right: Some(r.row.clone()),
                ts: rec.ts.max(r.ts),
                delete: false,
                window: None,
            }),
            None if leftjoin => outs.push(Out {
                key: key_values,
                left: Some(rec.row),
                right: None,
                ts: rec.ts,
                delete: false,
                window: None,
            }),
            // An update of a row that was there before must take back what it joined.
            None if old.is_some() => outs.push(Out {
                key: key_values,
                left: Some(rec.row),
                right: None,
                ts: rec.ts,
                delete: true,
                window: None,
            }),
            None => {}
        }
    }

    fn fk_right_update(&mut self, rec: In, outs: &mut Vec<Out>) {
        let Some(key) = rec.key else { return };
        if rec.delete {
            self.state.right_table.remove(&key);
        } else {
            self.state.right_table.insert(
                key.clone(),
                TableRow {
                    row: rec.row.clone(),
                    ts: rec.ts,
                    window: rec.window,
                },
            );
        }
        let leftjoin = self.outer(Side::Left);
        let Some(subs) = self.state.subscriptions.get(&key) else {
            return;
        };
        for (k, sub_ts) in subs {
            let Some(left) = self.state.fk_left.get(k) else {
                continue;
            };
            if !left.current {
                continue;
            }
            let ts = rec.ts.max(*sub_ts);
            let key_values = self.left_key_values(&left.row);
            if rec.delete && !leftjoin {
                outs.push(Out {
                    key: key_values,
                    left: Some(left.row.clone()),
                    right: None,
                    ts,
                    delete: true,
                    window: None,
                });
            } else {
                outs.push(Out {
                    key: key_values,
                    left: Some(left.row.clone()),
                    right: (!rec.delete).then(|| rec.row.clone()),
                    ts,
                    delete: false,
                    window: None,
                });
            }
        }
    }

    // ---- output ----------------------------------------------------------------------------

    fn emit(&self, outs: Vec<Out>, partition: u32) -> Result<Rows> {
        let n = outs.len();
        let fields = self.output_arrow.fields();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
        for (col, field) in self.columns.iter().zip(fields.iter()) {
            let dt = field.data_type();
            let values: Vec<ScalarValue> = outs
                .iter()
                .map(|o| match col {
                    OutColumn::Key(i) => o.key.get(*i).cloned().unwrap_or(ScalarValue::Null),
                    OutColumn::Left(i) => {
                        o.left.as_ref().map_or(ScalarValue::Null, |r| r[*i].clone())
                    }
                    OutColumn::Right(i) => o
                        .right
                        .as_ref()
                        .map_or(ScalarValue::Null, |r| r[*i].clone()),
                    OutColumn::RowTime => ScalarValue::Int64(Some(o.ts)),
                    OutColumn::RowPartition => {
                        side_value(o, self.left_partition, self.right_partition)
                    }
                    OutColumn::RowOffset => side_value(o, self.left_offset, self.right_offset),
                    OutColumn::WindowStart => ScalarValue::Int64(o.window.map(|w| w.start)),
                    OutColumn::WindowEnd => ScalarValue::Int64(o.window.map(|w| w.end)),
                    OutColumn::Null => ScalarValue::Null,
                })
                .collect();
            columns.push(scalars_to_array(values, dt)?);
        }
        let windowed = self.columns.contains(&OutColumn::WindowStart);
        Ok(Rows {
            batch: make_batch(&self.output_arrow, columns, n)?,
            timestamps: outs.iter().map(|o| o.ts).collect(),
            deletes: outs.iter().map(|o| o.delete).collect(),
            windows: windowed.then(|| {
                outs.iter()
                    .map(|o| o.window.unwrap_or(Window { start: 0, end: 0 }))
                    .collect()
            }),
            partition,
        })
    }
}

/// The value of a pseudo-column taken from the left row, or the right one when the left is
/// absent.
fn side_value(o: &Out, left: Option<usize>, right: Option<usize>) -> ScalarValue {
    if let (Some(r), Some(i)) = (&o.left, left) {
        return r[i].clone();
    }
    if let (Some(r), Some(i)) = (&o.right, right) {
        return r[i].clone();
    }
    ScalarValue::Null
}

/// Kafka Streams' order of the sides in its outer-join store: right before left.
fn side_order(side: Side) -> u8 {
    match side {
        Side::Right => 0,
        Side::Left => 1,
    }
}

/// A stream record with nulls for the other side.
fn one_sided(side: Side, b: &Buffered, ts: i64) -> Out {
    let (left, right) = match side {
        Side::Left => (Some(b.row.clone()), None),
        Side::Right => (None, Some(b.row.clone())),
    };
    Out {
        key: vec![b.key_value.clone()],
        left,
        right,
        ts,
        delete: false,
        window: b.window,
    }
}

/// Order-preserving bytes of each row of `arrays`.
fn encode_keys(conv: &mut Option<RowConverter>, arrays: &[ArrayRef]) -> Result<Vec<Vec<u8>>> {
    if conv.is_none() {
        let fields = arrays
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        *conv = Some(RowConverter::new(fields)?);
    }
    let rows = conv.as_ref().expect("set above").convert_columns(arrays)?;
    Ok((0..rows.num_rows())
        .map(|i| rows.row(i).as_ref().to_vec())
        .collect())
}

/// An array of type `dt` from scalars (nulls of any type become nulls of `dt`).
fn scalars_to_array(values: Vec<ScalarValue>, dt: &DataType) -> Result<ArrayRef> {
    let typed_null = ScalarValue::try_from_array(&arrow::array::new_null_array(dt, 1), 0)
        .map_err(EngineError::from)?;
    let values: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| {
            if v.is_null() && v.data_type() != *dt {
                typed_null.clone()
            } else {
                v
            }
        })
        .collect();
    if values.is_empty() {
        return Ok(arrow::array::new_empty_array(dt));
    }
    match ScalarValue::iter_to_array(values.clone()) {
        Ok(a) => conform(a, dt),
        Err(_) => {
            let cast: Vec<ScalarValue> = values
                .into_iter()
                .map(|v| v.cast_to(dt))
                .collect::<std::result::Result<_, _>>()?;
            Ok(ScalarValue::iter_to_array(cast)?)
        }
    }
}

#[cfg(test)]
mod tests;
