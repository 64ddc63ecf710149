//! group_state.rs owns what the GROUP BY operators share: key interning and the
//! unwindowed aggregate's groups (aggregate.rs; session_window.rs keeps its sessions
//! beside them; the time windows keep theirs in window_groups.rs):
//!
//! - [`KeyTable`]: group keys in Arrow's row format, interned once into small integer ids
//!   (a fast hasher, no allocation for a key already seen, short keys inline in their
//!   entry), freed when no group holds them;
//! - [`GroupTable`]: the groups' accumulators in a slab indexed by key id,
//!   with the record cache and the set of groups to write at the next commit;
//! - [`Output`] and [`emit`]: updates turned into output rows, key columns decoded from the
//!   row format in one go;
//! - [`Durable`]: the operator's state store (attach, load, commit with the stream times and
//!   source offsets in its meta).

use std::collections::HashMap;
use std::hash::BuildHasher;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, Rows as KeyRows, SortField};
use datafusion::common::ScalarValue;

use super::make_batch;
use crate::aggregate::codec::{read_value, write_value_or_null, Reader, Writer};
use crate::aggregate::{Accumulator, AggregateError, AggregateFunction};
use crate::formats::windowed::Window;
use crate::runtime::error::{EngineError, Result};
use crate::runtime::rows::Rows;

/// A fast, seeded hasher for group lookups (std's SipHash was 5% of the engine benchmark).
pub(crate) type FastState = foldhash::fast::FixedState;
pub(crate) type FastMap<K, V> = HashMap<K, V, FastState>;

pub(crate) fn fast_map<K, V>() -> FastMap<K, V> {
    HashMap::with_hasher(FastState::with_seed(rand::random()))
}

// ---- keys ------------------------------------------------------------------------------------

/// Whether two group keys (rows) are equal: the short ones (most keys) compared with two
/// word loads each instead of a call to `memcmp`, which the group lookups of every row
/// spent 5% of a tumbling aggregation in.
#[inline]
pub(crate) fn same_key(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        // Two overlapping loads cover the key.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

/// Key rows up to this long are kept inline (most keys: a lookup reads one entry).
const INLINE_KEY: usize = 22;

/// A key row: inline when short, else on the heap.
#[derive(Debug)]
enum KeyBytes {
    Inline { len: u8, data: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl Default for KeyBytes {
    fn default() -> Self {
        KeyBytes::Inline {
            len: 0,
            data: [0; INLINE_KEY],
        }
    }
}

impl KeyBytes {
    fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_KEY {
            let mut data = [0; INLINE_KEY];
            data[..bytes.len()].copy_from_slice(bytes);
            KeyBytes::Inline {
                len: bytes.len() as u8,
                data,
            }
        } else {
            KeyBytes::Heap(bytes.into())
        }
    }

    fn get(&self) -> &[u8] {
        match self {
            KeyBytes::Inline { len, data } => &data[..*len as usize],
            KeyBytes::Heap(b) => b,
        }
    }
}

#[derive(Debug, Default)]
struct KeyEntry {
    bytes: KeyBytes,
    /// Groups (or sessions, table rows) holding the key.
    refs: u32,
    live: bool,
}

/// Group keys in Arrow's row format, interned into ids. A key nobody holds is freed at
/// [`KeyTable::collect`] (the end of a batch), so ids stay valid while a batch's outputs
/// are built.
#[derive(Debug)]
pub(crate) struct KeyTable {
    types: Vec<DataType>,
    converter: Option<RowConverter>,
    /// Live keys' ids, found by hashing their bytes (kept once, in `keys`).
    ids: hashbrown::HashTable<u32>,
    hasher: FastState,
    keys: Vec<KeyEntry>,
    free: Vec<u32>,
    /// Ids whose last holder let go (or that nobody took) since the last collect.
    unused: Vec<u32>,
}

impl KeyTable {
    /// Keys of these (output schema) types.
    pub fn new(types: Vec<DataType>) -> Self {
        KeyTable {
            types,
            converter: None,
            ids: hashbrown::HashTable::new(),
            hasher: FastState::with_seed(rand::random()),
            keys: Vec::new(),
            free: Vec::new(),
            unused: Vec::new(),
        }
    }

    pub fn types(&self) -> &[DataType] {
        &self.types
    }

    pub(crate) fn converter(&mut self) -> Result<&RowConverter> {
        if self.converter.is_none() {
            let fields = self
                .types
                .iter()
                .map(|t| SortField::new(t.clone()))
                .collect();
            self.converter = Some(RowConverter::new(fields)?);
        }
        Ok(self.converter.as_ref().expect("set above"))
    }

    /// The key columns, cast to the key types, and their rows (None without key columns).
    pub fn convert(&mut self, cols: &[ArrayRef]) -> Result<(Vec<ArrayRef>, Option<KeyRows>)> {
        let cols = cols
            .iter()
            .zip(self.types.clone())
            .map(|(c, t)| super::conform(c.clone(), &t))
            .collect::<Result<Vec<_>>>()?;
        if cols.is_empty() {
            return Ok((cols, None));
        }
        let rows = self.converter()?.convert_columns(&cols)?;
        Ok((cols, Some(rows)))
    }

    /// The id of the key `bytes` (a new id if unseen; free at the next collect unless held).
    pub fn intern(&mut self, bytes: &[u8]) -> u32 {
        let hash = self.hasher.hash_one(bytes);
        let keys = &self.keys;
        if let Some(id) = self
            .ids
            .find(hash, |&id| same_key(keys[id as usize].bytes.get(), bytes))
        {
            return *id;
        }
        let entry = KeyEntry {
            bytes: KeyBytes::new(bytes),
            refs: 0,
            live: true,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.keys[id as usize] = entry;
                id
            }
            None => {
                self.keys.push(entry);
                (self.keys.len() - 1) as u32
            }
        };
        let (keys, hasher) = (&self.keys, &self.hasher);
        self.ids.insert_unique(hash, id, |&id| {
            hasher.hash_one(keys[id as usize].bytes.get())
        });
        self.unused.push(id);
        id
    }

    pub fn bytes(&self, id: u32) -> &[u8] {
        self.keys[id as usize].bytes.get()
    }

    pub fn retain(&mut self, id: u32) {
        self.keys[id as usize].refs += 1;
    }

    pub fn release(&mut self, id: u32) {
        let k = &mut self.keys[id as usize];
        k.refs = k.refs.saturating_sub(1);
        if k.refs == 0 {
            self.unused.push(id);
        }
    }

    /// Frees the keys nobody holds (call when the batch's outputs are built).
    pub fn collect(&mut self) {
        for id in std::mem::take(&mut self.unused) {
            let k = &mut self.keys[id as usize];
            if k.refs == 0 && k.live {
                k.live = false;
                let bytes = std::mem::take(&mut k.bytes);
                let hash = self.hasher.hash_one(bytes.get());
                if let Ok(entry) = self.ids.find_entry(hash, |&i| i == id) {
                    entry.remove();
                }
                self.free.push(id);
            }
        }
    }

    /// The key columns of `rows` (each a key id or an input row of `input`).
    /// Live keys.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    fn arrays(&mut self, rows: &[OutKey], input: Option<&KeyRows>) -> Result<Vec<ArrayRef>> {
        if self.types.is_empty() {
            return Ok(Vec::new());
        }
        self.converter()?;
        let conv = self.converter.as_ref().expect("made above");
        let parser = conv.parser();
        let list: Vec<arrow::row::Row<'_>> = rows
            .iter()
            .map(|k| match k {
                OutKey::Key(id) => Ok(parser.parse(self.keys[*id as usize].bytes.get())),
                OutKey::Input(r) => input.map(|i| i.row(*r)).ok_or_else(|| {
                    EngineError::Arrow(arrow::error::ArrowError::InvalidArgumentError(
                        "an update of an input row without the input's keys".into(),
                    ))
                }),
            })
            .collect::<Result<_>>()?;
        Ok(conv.convert_rows(list)?)
    }
}

/// The bytes of input row `row`'s key (empty without key columns).
pub(crate) fn key_bytes(rows: Option<&KeyRows>, row: usize) -> &[u8] {
    match rows {
        Some(r) => r.row(row).data(),
        None => &[],
    }
}

// ---- groups ----------------------------------------------------------------------------------

/// One group's running state.
#[derive(Debug)]
pub(crate) struct Group {
    pub key: u32,
    pub accs: Vec<Box<dyn Accumulator>>,
    /// The result's timestamp: the largest timestamp of the rows folded in.
    pub ts: i64,
    /// Waiting in the record cache.
    cached: bool,
    /// Changed since the last commit.
    stored: bool,
    /// Written to the store by a commit (so removing it needs a delete there).
    persisted: bool,
}

impl Group {
    pub fn values(&self) -> Vec<ScalarValue> {
        self.accs.iter().map(|a| a.value()).collect()
    }

    /// Folds in (or takes back) one row's arguments.
    pub fn apply(&mut self, args: &[Vec<ScalarValue>], retract: bool, ts: i64) -> Result<()> {
        self.ts = self.ts.max(ts);
        for (acc, a) in self.accs.iter_mut().zip(args) {
            if retract {
                acc.retract(a)?;
            } else {
                acc.add(a)?;
            }
        }
        Ok(())
    }
}

/// Groups updated since the last flush, whose latest values go downstream at the next one
/// (Kafka Streams' caching store, as ksqlDB runs persistent queries with
/// `cache.max.bytes.buffering` above 0).
#[derive(Debug, Default)]
struct RecordCache {
    max_keys: usize,
    /// Dirty groups, first update first.
    order: Vec<u32>,
}

/// The groups of one operator: a slab of [`Group`]s indexed by key id.
#[derive(Debug)]
pub(crate) struct GroupTable {
    pub keys: KeyTable,
    functions: Vec<AggregateFunction>,
    index: FastMap<u32, u32>,
    slots: Vec<Option<Group>>,
    free: Vec<u32>,
    cache: Option<RecordCache>,
    /// Whether changes are tracked for a store.
    tracking: bool,
    stored: Vec<u32>,
    deleted: Vec<Vec<u8>>,
}

impl GroupTable {
    pub fn new(key_types: Vec<DataType>, functions: Vec<AggregateFunction>) -> Self {
        GroupTable {
            keys: KeyTable::new(key_types),
            functions,
            index: fast_map(),
            slots: Vec::new(),
            free: Vec::new(),
            cache: None,
            tracking: false,
            stored: Vec::new(),
            deleted: Vec::new(),
        }
    }

    pub fn enable_cache(&mut self, max_keys: usize) {
        if max_keys > 0 {
            self.cache = Some(RecordCache {
                max_keys,
                ..RecordCache::default()
            });
        }
    }

    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    pub fn new_accumulators(&self) -> Vec<Box<dyn Accumulator>> {
        self.functions.iter().map(|f| f.create()).collect()
    }

    /// The group of `key`: (slot, whether it is new).
    pub fn find_or_create(&mut self, key: u32, ts: i64) -> (u32, bool) {
        if let Some(s) = self.index.get(&key) {
            return (*s, false);
        }
        let group = Group {
            key,
            accs: self.new_accumulators(),
            ts,
            cached: false,
            stored: false,
            persisted: false,
        };
        let slot = self.insert(group);
        (slot, true)
    }

    fn insert(&mut self, group: Group) -> u32 {
        self.keys.retain(group.key);
        let at = group.key;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(group);
                s
            }
            None => {
                self.slots.push(Some(group));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(at, slot);
        slot
    }

    pub fn group(&self, slot: u32) -> &Group {
        self.slots[slot as usize].as_ref().expect("live group")
    }

    pub fn group_mut(&mut self, slot: u32) -> &mut Group {
        self.slots[slot as usize].as_mut().expect("live group")
    }

    /// Notes that group `slot` changed: written at the next commit; with the record cache
    /// on, its latest value goes downstream at the next flush. Returns whether the change
    /// was cached (the caller emits it otherwise).
    pub fn touched(&mut self, slot: u32) -> bool {
        let tracking = self.tracking;
        let g = self.slots[slot as usize].as_mut().expect("live group");
        if tracking && !g.stored {
            g.stored = true;
            self.stored.push(slot);
        }
        match &mut self.cache {
            Some(c) => {
                if !g.cached {
                    g.cached = true;
                    c.order.push(slot);
                }
                true
            }
            None => false,
        }
    }

    /// The current state of group `slot` as an update.
    pub fn output(&self, slot: u32) -> Output {
        let g = self.group(slot);
        Output {
            key: OutKey::Key(g.key),
            values: Some(g.values()),
            timestamp: g.ts,
            window: None,
        }
    }

    /// Whether the cache should be flushed now (full).
    pub fn cache_due(&self) -> bool {
        self.cache
            .as_ref()
            .is_some_and(|c| c.order.len() >= c.max_keys)
    }

    /// Empties the record cache: the latest update of every dirty group, in the order they
    /// first changed.
    pub fn drain_cache(&mut self) -> Vec<Output> {
        let Some(c) = &mut self.cache else {
            return Vec::new();
        };
        let mut order = std::mem::take(&mut c.order);
        let mut out = Vec::with_capacity(order.len());
        for &slot in &order {
            if let Some(g) = self.slots[slot as usize].as_mut() {
                if g.cached {
                    g.cached = false;
                    out.push(self.output(slot));
                }
            }
        }
        // The order list keeps its capacity for the next period.
        order.clear();
        if let Some(c) = &mut self.cache {
            c.order = order;
        }
        out
    }

    fn store_key(&self, g: &Group) -> Vec<u8> {
        let bytes = self.keys.bytes(g.key);
        let mut k = Vec::with_capacity(bytes.len() + 9);
        k.push(b'g');
        k.extend_from_slice(bytes);
        k
    }

    /// The store writes since the last call: deletes first, then the changed groups.
    pub fn take_changes(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let mut out: Vec<(Vec<u8>, Option<Vec<u8>>)> = std::mem::take(&mut self.deleted)
            .into_iter()
            .map(|k| (k, None))
            .collect();
        for slot in std::mem::take(&mut self.stored) {
            let Some(g) = self.slots[slot as usize].as_mut() else {
                continue;
            };
            if !g.stored {
                continue;
            }
            g.stored = false;
            g.persisted = true;
            let g = self.group(slot);
            let mut w = Writer::new(TAG_GROUP_ROWKEY);
            for a in &g.accs {
                w.bytes(&a.save());
            }
            w.i64(g.ts);
            out.push((self.store_key(g), Some(w.finish())));
        }
        out
    }

    /// Restores the groups of `store` (entries `g` + key).
    pub fn load(&mut self, store: &brook_state::Store) -> Result<()> {
        for (k, v) in store.prefix(b"g")? {
            let key = &k[1..];
            let mut r = group_entry(&v, self.keys.types())?;
            let mut accs = Vec::with_capacity(self.functions.len());
            for f in &self.functions {
                accs.push(f.load(r.bytes()?)?);
            }
            let ts = r.i64()?;
            let key = self.keys.intern(key);
            self.insert(Group {
                key,
                accs,
                ts,
                cached: false,
                stored: false,
                persisted: true,
            });
        }
        self.keys.collect();
        Ok(())
    }
}

// ---- outputs ---------------------------------------------------------------------------------

/// The group key of an emitted update: an interned key, or the key of an input row of the
/// batch being processed (taken from the input columns in one go).
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutKey {
    Key(u32),
    Input(usize),
}

/// An emitted update (`values` None: a delete).
#[derive(Debug)]
pub(crate) struct Output {
    pub key: OutKey,
    pub values: Option<Vec<ScalarValue>>,
    pub timestamp: i64,
    pub window: Option<Window>,
}

/// What output rows look like: the schema (key columns, then `n_aggs` aggregate columns,
/// then window bounds or the timestamp) and whether rows carry windows.
pub(crate) struct OutputShape<'a> {
    pub schema: &'a SchemaRef,
    pub n_aggs: usize,
    pub windowed: bool,
}

/// The updates as rows of `schema` (key columns, aggregate columns, then window bounds or
/// the timestamp); then frees the keys nobody holds any more ([`KeyTable::collect`]).
/// `input` is the batch whose input rows [`OutKey::Input`] points into (None: no output
/// does).
pub(crate) fn emit(
    shape: &OutputShape<'_>,
    keys: &mut KeyTable,
    outputs: Vec<Output>,
    partition: u32,
    input: Option<&super::aggregate::Evaluated>,
) -> Result<Rows> {
    let key_cols = input.map(|e| e.key_cols.as_slice()).unwrap_or(&[]);
    let key_rows = input.and_then(|e| e.key_rows.as_ref());
    let rows = emit_rows(shape, keys, outputs, partition, key_cols, key_rows)?;
    keys.collect();
    Ok(rows)
}

fn emit_rows(
    shape: &OutputShape<'_>,
    keys: &mut KeyTable,
    outputs: Vec<Output>,
    partition: u32,
    key_cols: &[ArrayRef],
    key_rows: Option<&KeyRows>,
) -> Result<Rows> {
    let OutputShape {
        schema,
        n_aggs,
        windowed,
    } = *shape;
    let n = outputs.len();
    let fields = schema.fields();
    let n_keys = keys.types().len();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    if n_keys > 0 {
        let all_input: Option<Vec<u32>> = outputs
            .iter()
            .map(|o| match o.key {
                OutKey::Input(r) => Some(r as u32),
                OutKey::Key(_) => None,
            })
            .collect();
        match all_input {
            Some(idx) if n > 0 => {
                let idx = arrow::array::UInt32Array::from(idx);
                for c in key_cols {
                    columns.push(arrow::compute::take(c.as_ref(), &idx, None)?);
                }
            }
            _ => {
                let list: Vec<OutKey> = outputs.iter().map(|o| o.key).collect();
                columns.extend(keys.arrays(&list, key_rows)?);
            }
        }
    }
    for (i, f) in fields.iter().enumerate().skip(n_keys) {
        let dt = f.data_type();
        let array: ArrayRef = if i < n_keys + n_aggs {
            let a = i - n_keys;
            if let Some(array) = primitive_column(&outputs, a, dt) {
                columns.push(array);
                continue;
            }
            let values: Vec<ScalarValue> = outputs
                .iter()
                .map(|o| match &o.values {
                    Some(v) => v[a].clone(),
                    None => ScalarValue::try_from(dt).unwrap_or(ScalarValue::Null),
                })
                .collect();
            if values.is_empty() {
                arrow::array::new_empty_array(dt)
            } else {
                scalars_to_array(values, dt)?
            }
        } else {
            let pick: fn(&Output) -> i64 = match f.name().as_str() {
                "WINDOWSTART" => |o| o.window.map(|w| w.start).unwrap_or(0),
                "WINDOWEND" => |o| o.window.map(|w| w.end).unwrap_or(0),
                _ => |o| o.timestamp,
            };
            std::sync::Arc::new(Int64Array::from_iter_values(outputs.iter().map(pick)))
        };
        columns.push(array);
    }
    Ok(Rows {
        batch: make_batch(schema, columns, n)?,
        timestamps: outputs.iter().map(|o| o.timestamp).collect(),
        deletes: outputs.iter().map(|o| o.values.is_none()).collect(),
        windows: windowed.then(|| {
            outputs
                .iter()
                .map(|o| o.window.unwrap_or(Window { start: 0, end: 0 }))
                .collect()
        }),
        partition,
    })
}

/// Aggregate column `a` of `outputs` built straight into an array, when `dt` is BIGINT, INT
/// or DOUBLE and every value is of it (deletes are nulls); None otherwise.
fn primitive_column(outputs: &[Output], a: usize, dt: &DataType) -> Option<ArrayRef> {
    fn build<T, F>(outputs: &[Output], a: usize, pick: F) -> Option<ArrayRef>
    where
        T: arrow::datatypes::ArrowPrimitiveType,
        F: Fn(&ScalarValue) -> Option<Option<T::Native>>,
    {
        let mut b = arrow::array::PrimitiveBuilder::<T>::with_capacity(outputs.len());
        for o in outputs {
            match &o.values {
                Some(v) => b.append_option(pick(v.get(a)?)?),
                None => b.append_null(),
            }
        }
        Some(std::sync::Arc::new(b.finish()))
    }
    use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
    match dt {
        DataType::Int64 => build::<Int64Type, _>(outputs, a, |v| match v {
            ScalarValue::Int64(x) => Some(*x),
            _ => None,
        }),
        DataType::Int32 => build::<Int32Type, _>(outputs, a, |v| match v {
            ScalarValue::Int32(x) => Some(*x),
            _ => None,
        }),
        DataType::Float64 => build::<Float64Type, _>(outputs, a, |v| match v {
            ScalarValue::Float64(x) => Some(*x),
            _ => None,
        }),
        _ => None,
    }
}

/// Builds an array of type `dt` from scalars (casting scalars of a near type).
pub(crate) fn scalars_to_array(values: Vec<ScalarValue>, dt: &DataType) -> Result<ArrayRef> {
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

/// The input rows' values of `cols` at `row`.
pub(crate) fn row_values(cols: &[ArrayRef], row: usize) -> Result<Vec<ScalarValue>> {
    cols.iter()
        .map(|c| ScalarValue::try_from_array(c, row).map_err(EngineError::from))
        .collect()
}

/// Each call's argument values at `row` (`cols` holds the calls' argument columns in order).
pub(crate) fn call_args(
    arg_counts: &[usize],
    cols: &[ArrayRef],
    row: usize,
) -> Result<Vec<Vec<ScalarValue>>> {
    let mut out = Vec::with_capacity(arg_counts.len());
    let mut at = 0;
    for n in arg_counts {
        out.push(if *n == 0 {
            Vec::new()
        } else {
            row_values(&cols[at..at + n], row)?
        });
        at += n;
    }
    Ok(out)
}

// ---- durable state ---------------------------------------------------------------------------
//
// A GROUP BY operator's store holds one entry per group (`g` + [window start] + key row:
// each accumulator's saved state and the result timestamp), per session key (`s`) and, for
// table input, per source key (`t`). Entries are written at commit for what changed since
// the last one; stream times and the source offsets go in the store's meta, committed
// atomically with the data.

/// The first format of a group entry (key values, then the accumulators).
const TAG_GROUP: u8 = 0xA1;
/// A group entry without the key values (they are in its store key).
pub(crate) const TAG_GROUP_ROWKEY: u8 = 0xA4;
const META_OFFSETS: &[u8] = b"offsets";
const META_STREAM_TIMES: &[u8] = b"stream_times";

pub(crate) fn corrupt(what: &str) -> EngineError {
    AggregateError::CorruptState(what.to_string()).into()
}

/// A group entry's value, positioned at its first saved state (either format).
pub(crate) fn group_entry<'a>(v: &'a [u8], key_types: &[DataType]) -> Result<Reader<'a>> {
    Ok(match v.first() {
        Some(&TAG_GROUP) => {
            // The first format also held the key's values (the store key has them).
            let mut r = Reader::new(v, TAG_GROUP)?;
            read_values(&mut r, key_types)?;
            r
        }
        _ => Reader::new(v, TAG_GROUP_ROWKEY)?,
    })
}

pub(crate) fn write_values(w: &mut Writer, values: &[ScalarValue], types: &[DataType]) {
    w.usize(values.len());
    for (v, t) in values.iter().zip(types) {
        write_value_or_null(w, v, t);
    }
}

pub(crate) fn read_values(r: &mut Reader, types: &[DataType]) -> Result<Vec<ScalarValue>> {
    let n = r.u64()? as usize;
    if n != types.len() {
        return Err(AggregateError::CorruptState(format!(
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

/// A GROUP BY operator's state store and the source offsets its next commit covers.
#[derive(Debug, Default)]
pub(crate) struct Durable {
    pub store: Option<brook_state::Store>,
    /// Whether the store's entries were read back (done at the first batch, once the
    /// argument types are known).
    pub loaded: bool,
    offsets: Vec<(u32, u64)>,
    /// A meta entry every commit writes besides stream times and offsets (the layout of
    /// the operator's entries, when it has one to record).
    pub layout: Option<(&'static [u8], Vec<u8>)>,
}

impl Durable {
    /// Opens the operator's store (named after the query and the operator's position);
    /// returns the source offsets its state was committed with.
    pub fn attach(
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
        self.store = Some(store);
        self.loaded = false;
        Ok(offsets)
    }

    pub fn note_offsets(&mut self, offsets: &[(u32, u64)]) {
        self.offsets = offsets.to_vec();
    }

    /// The stream times committed last (per source partition).
    pub fn stream_times(&self) -> Result<FastMap<u32, i64>> {
        let mut out = fast_map();
        if let Some(store) = &self.store {
            if let Some(m) = store.meta(META_STREAM_TIMES)? {
                out.extend(decode_offsets(&m));
            }
        }
        Ok(out)
    }

    /// Writes `changes` (in key order: sorted inserts into RocksDB's memtable) with the
    /// stream times and offsets, atomically.
    pub fn commit(
        &mut self,
        changes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
        stream_times: &FastMap<u32, i64>,
    ) -> Result<()> {
        let Some(store) = self.store.as_mut() else {
            return Ok(());
        };
        // A key deleted then written again in the same period keeps its last write.
        store.write_all(changes);
        let mut times: Vec<(u32, i64)> = stream_times.iter().map(|(p, t)| (*p, *t)).collect();
        times.sort();
        let offsets: Vec<(u32, i64)> = self.offsets.iter().map(|(p, o)| (*p, *o as i64)).collect();
        let times = encode_offsets(&times);
        let offsets = encode_offsets(&offsets);
        let mut meta: Vec<(&[u8], &[u8])> =
            vec![(META_STREAM_TIMES, &times), (META_OFFSETS, &offsets)];
        if let Some((k, v)) = &self.layout {
            meta.push((k, v));
        }
        store.commit(&meta)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::same_key;

    #[test]
    fn same_key_is_slice_equality_at_every_length() {
        let base: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            let copy = a.to_vec();
            assert!(same_key(a, &copy), "{n}");
            // One byte changed at each position, and one length off.
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 0x80;
                assert!(!same_key(a, &b), "{n} at {at}");
            }
            assert!(!same_key(a, &base[..(n + 1).min(base.len())]) || n == base.len());
        }
    }
}
