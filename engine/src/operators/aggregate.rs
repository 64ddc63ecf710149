//! aggregate.rs owns GROUP BY without a window, and [`build`], which picks the operator for
//! an aggregation: this one, or the window operators in tumbling_window.rs,
//! hopping_window.rs and session_window.rs. Groups, the record cache and the store live in
//! group_state.rs.
//!
//! - Streams: each row is added to its group's accumulators and the group's new value is
//!   emitted (or cached). Null rows and rows whose group key has a NULL are skipped.
//! - Tables: a row replaces the previous row of its source key, so the previous row is taken
//!   back (retracted) from its group first; a delete only retracts. When the old and new rows
//!   are in the same group one update is emitted, else one per group (old group first).
//! - Results carry the largest timestamp of the rows they fold in (Kafka Streams' rule).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::row::{RowConverter, SortField};
use brook_sql::analyzer::WindowType;
use brook_sql::plan::WindowSpec;
use datafusion::common::ScalarValue;
use datafusion::physical_plan::PhysicalExpr;

use super::group_state::{
    call_args, emit, fast_map, key_bytes, read_values, write_values, Durable, FastMap, GroupTable,
    KeyTable, OutKey, Output, OutputShape,
};
use super::{evaluate_or_null, Operator};
use crate::aggregate::codec::{Reader, Writer};
use crate::aggregate::AggregateFunction;
use crate::runtime::error::Result;
use crate::runtime::processing_log::ProcessingError;
use crate::runtime::rows::Rows;

/// Grace period when a window names none (ksqlDB's default).
pub const DEFAULT_GRACE_MS: i64 = 24 * 60 * 60 * 1000;

/// A window's grace period (ms): GRACE PERIOD, else 24 hours — or none for EMIT FINAL, whose
/// results come at window end unless a grace period is asked for (as ksqlDB's conformance
/// cases show).
pub(crate) fn grace_ms(spec: &WindowSpec) -> i64 {
    match (spec.grace_ms, spec.emit_final) {
        (Some(g), _) => g as i64,
        (None, true) => 0,
        (None, false) => DEFAULT_GRACE_MS,
    }
}

/// How long the groups of a time window of `size` ms are kept (ms): RETENTION, else size +
/// grace (the window store's retention in Kafka Streams, which EMIT FINAL results depend on).
pub(crate) fn time_window_retention_ms(spec: &WindowSpec, size: i64) -> i64 {
    spec.retention_ms
        .map_or(size + grace_ms(spec), |r| r as i64)
}

/// One aggregate call: its function and the expressions of its per-row arguments.
#[derive(Debug)]
pub struct AggregateCallPlan {
    pub function: AggregateFunction,
    pub args: Vec<Arc<dyn PhysicalExpr>>,
}

/// The operator for a GROUP BY: `table_key` (for table input) holds the input columns of
/// the source table's key. Windows over streams get their window's operator; an aggregation
/// over a table keeps no windows.
pub fn build(
    group_by: Vec<Arc<dyn PhysicalExpr>>,
    calls: Vec<AggregateCallPlan>,
    window: Option<WindowSpec>,
    schema: SchemaRef,
    table_key: Option<Vec<usize>>,
) -> Box<dyn Operator> {
    let input = AggregateInput::new(group_by, calls, &schema);
    match (window, table_key) {
        (Some(w), None) => match w.kind {
            WindowType::Tumbling => Box::new(super::tumbling_window::tumbling(input, w, schema)),
            WindowType::Hopping if super::hopping_slices::applies(&input, &w) => Box::new(
                super::hopping_slices::HoppingOperator::new(input, w, schema),
            ),
            WindowType::Hopping => Box::new(super::hopping_window::hopping(input, w, schema)),
            WindowType::Session => {
                Box::new(super::session_window::SessionWindows::new(input, w, schema))
            }
        },
        (window, table_key) => Box::new(Aggregate::new(input, window, schema, table_key)),
    }
}

/// What every GROUP BY operator evaluates per batch: the group key expressions, then the
/// calls' arguments.
#[derive(Debug, Clone)]
pub(crate) struct AggregateInput {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    pub n_keys: usize,
    /// How many argument columns each call takes.
    pub arg_counts: Vec<usize>,
    pub functions: Vec<AggregateFunction>,
    pub key_types: Vec<DataType>,
}

/// One batch's evaluated keys and arguments.
pub(crate) struct Evaluated {
    pub key_cols: Vec<ArrayRef>,
    pub key_rows: Option<arrow::row::Rows>,
    pub arg_cols: Vec<ArrayRef>,
    /// Whether some key column has a null (else no row's is looked at).
    pub any_null_key: bool,
}

impl Evaluated {
    pub fn null_key(&self, row: usize) -> bool {
        self.any_null_key && self.key_cols.iter().any(|c| c.is_null(row))
    }

    /// Whether input row `row` is folded into a group: not a delete, and no group-by column
    /// null (such a row is reported in `errors` and skipped, as ksqlDB does).
    pub fn groupable(&self, input: &Rows, row: usize, errors: &mut Vec<ProcessingError>) -> bool {
        if input.deletes[row] {
            return false;
        }
        if self.null_key(row) {
            errors.push(ProcessingError::row(
                "Group-by column with null value; row skipped".to_string(),
            ));
            return false;
        }
        true
    }

    pub fn key(&self, row: usize) -> &[u8] {
        key_bytes(self.key_rows.as_ref(), row)
    }

    /// The argument types of each call (to read saved rows back).
    pub fn arg_types(&self, arg_counts: &[usize]) -> Vec<Vec<DataType>> {
        let mut at = 0;
        arg_counts
            .iter()
            .map(|n| {
                let t = self.arg_cols[at..at + n]
                    .iter()
                    .map(|a| a.data_type().clone())
                    .collect();
                at += n;
                t
            })
            .collect()
    }
}

impl AggregateInput {
    pub fn new(
        group_by: Vec<Arc<dyn PhysicalExpr>>,
        calls: Vec<AggregateCallPlan>,
        schema: &SchemaRef,
    ) -> Self {
        let n_keys = group_by.len();
        let key_types = schema.fields()[..n_keys]
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        let mut exprs = group_by;
        let mut arg_counts = Vec::with_capacity(calls.len());
        let mut functions = Vec::with_capacity(calls.len());
        for c in calls {
            arg_counts.push(c.args.len());
            exprs.extend(c.args);
            functions.push(c.function);
        }
        AggregateInput {
            exprs,
            n_keys,
            arg_counts,
            functions,
            key_types,
        }
    }

    pub fn evaluate(
        &self,
        keys: &mut KeyTable,
        input: &Rows,
        errors: &mut Vec<ProcessingError>,
    ) -> Result<Evaluated> {
        let mut cols = evaluate_or_null(&self.exprs, input, errors)?;
        let arg_cols = cols.split_off(self.n_keys);
        let (key_cols, key_rows) = keys.convert(&cols)?;
        Ok(Evaluated {
            any_null_key: key_cols.iter().any(|c| c.null_count() > 0),
            key_cols,
            key_rows,
            arg_cols,
        })
    }

    pub fn args(&self, e: &Evaluated, row: usize) -> Result<Vec<Vec<ScalarValue>>> {
        call_args(&self.arg_counts, &e.arg_cols, row)
    }
}

/// A table row's contribution, kept to retract it when the row changes.
#[derive(Debug, Clone)]
struct TableRow {
    /// The row's group key (row format).
    group: Box<[u8]>,
    args: Vec<Vec<ScalarValue>>,
}

/// GROUP BY without a window (or over a table).
#[derive(Debug)]
pub struct Aggregate {
    input: AggregateInput,
    schema: SchemaRef,
    /// Set for an aggregation over a table with a WINDOW clause: rows carry an empty window.
    windowed_output: bool,
    /// Input columns that make up the source key (table input only).
    table_key: Option<Vec<usize>>,
    groups: GroupTable,
    table_rows: FastMap<Box<[u8]>, TableRow>,
    /// Source keys whose table row changed since the last commit.
    table_dirty: std::collections::BTreeSet<Box<[u8]>>,
    source_key_converter: Option<RowConverter>,
    durable: Durable,
    arg_types: Vec<Vec<DataType>>,
    /// The source partition of the last rows processed.
    last_partition: u32,
}

/// A source table row's entry (`t`): its group key, then each call's arguments.
const TAG_TABLE_ROW_ROWKEY: u8 = 0xA5;
/// The first format of that entry (with the group key's values as well).
const TAG_TABLE_ROW: u8 = 0xA2;

impl Aggregate {
    fn new(
        input: AggregateInput,
        window: Option<WindowSpec>,
        schema: SchemaRef,
        table_key: Option<Vec<usize>>,
    ) -> Self {
        let groups = GroupTable::new(input.key_types.clone(), input.functions.clone());
        Aggregate {
            input,
            schema,
            windowed_output: window.is_some(),
            table_key,
            groups,
            table_rows: fast_map(),
            table_dirty: Default::default(),
            source_key_converter: None,
            durable: Durable::default(),
            arg_types: Vec::new(),
            last_partition: 0,
        }
    }

    /// Reads the store back (once the argument types are known).
    fn load(&mut self, arg_types: Vec<Vec<DataType>>) -> Result<()> {
        self.arg_types = arg_types;
        self.durable.loaded = true;
        let Some(store) = &self.durable.store else {
            return Ok(());
        };
        self.groups.load(store)?;
        for (k, v) in store.prefix(b"t")? {
            let mut r = match v.first() {
                Some(&TAG_TABLE_ROW) => Reader::new(&v, TAG_TABLE_ROW)?,
                _ => Reader::new(&v, TAG_TABLE_ROW_ROWKEY)?,
            };
            let group: Box<[u8]> = r.bytes()?.into();
            if v.first() == Some(&TAG_TABLE_ROW) {
                read_values(&mut r, &self.input.key_types)?;
            }
            let mut args = Vec::new();
            for t in &self.arg_types {
                args.push(read_values(&mut r, t)?);
            }
            self.table_rows
                .insert(k[1..].into(), TableRow { group, args });
        }
        Ok(())
    }

    /// Adds (or retracts) `args` to the group of key `bytes`; its update.
    fn update(
        &mut self,
        bytes: &[u8],
        key: OutKey,
        args: &[Vec<ScalarValue>],
        retract: bool,
        ts: i64,
    ) -> Result<Output> {
        let id = self.groups.keys.intern(bytes);
        let (slot, _) = self.groups.find_or_create(id, ts);
        let g = self.groups.group_mut(slot);
        g.apply(args, retract, ts)?;
        let out = Output {
            key,
            values: Some(g.values()),
            timestamp: g.ts,
            window: None,
        };
        self.groups.touched(slot);
        Ok(out)
    }

    fn process_table(
        &mut self,
        input: &Rows,
        e: &Evaluated,
        idx: &[usize],
        outputs: &mut Vec<Output>,
    ) -> Result<()> {
        let sk: Vec<ArrayRef> = idx.iter().map(|i| input.batch.column(*i).clone()).collect();
        if self.source_key_converter.is_none() {
            let fields = sk
                .iter()
                .map(|c| SortField::new(c.data_type().clone()))
                .collect();
            self.source_key_converter = Some(RowConverter::new(fields)?);
        }
        let source_keys = self
            .source_key_converter
            .as_ref()
            .expect("set above")
            .convert_columns(&sk)?;
        for row in 0..input.len() {
            let ts = input.timestamps[row];
            let delete = input.deletes[row];
            let null_key = e.null_key(row);
            let gk = e.key(row);
            let sk: Box<[u8]> = source_keys.row(row).as_ref().into();
            if self.durable.store.is_some() {
                self.table_dirty.insert(sk.clone());
            }
            // Retract the previous row of this source key, then add.
            let old = self.table_rows.remove(&sk);
            let same_group = old.as_ref().is_some_and(|o| *o.group == *gk) && !delete && !null_key;
            if let Some(o) = &old {
                let id = self.groups.keys.intern(&o.group);
                let out = self.update(&o.group, OutKey::Key(id), &o.args, true, ts)?;
                if !same_group {
                    outputs.push(out);
                }
            }
            if delete || null_key {
                continue;
            }
            let args = self.input.args(e, row)?;
            let out = self.update(gk, OutKey::Input(row), &args, false, ts)?;
            outputs.push(out);
            self.table_rows.insert(
                sk,
                TableRow {
                    group: gk.into(),
                    args,
                },
            );
        }
        Ok(())
    }

    fn process_stream(
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
            let args = self.input.args(e, row)?;
            let id = self.groups.keys.intern(e.key(row));
            let (slot, _) = self.groups.find_or_create(id, ts);
            let g = self.groups.group_mut(slot);
            g.apply(&args, false, ts)?;
            if !self.groups.touched(slot) {
                let g = self.groups.group(slot);
                outputs.push(Output {
                    key: OutKey::Input(row),
                    values: Some(g.values()),
                    timestamp: g.ts,
                    window: None,
                });
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
                windowed: self.windowed_output,
            },
            &mut self.groups.keys,
            outputs,
            partition,
            e,
        )
    }
}

impl Operator for Aggregate {
    fn commit(&mut self) -> Result<()> {
        if self.durable.store.is_none() {
            return Ok(());
        }
        let mut changes = self.groups.take_changes();
        for sk in std::mem::take(&mut self.table_dirty) {
            let mut k = Vec::with_capacity(sk.len() + 1);
            k.push(b't');
            k.extend_from_slice(&sk);
            let v = self.table_rows.get(&sk).map(|t| {
                let mut w = Writer::new(TAG_TABLE_ROW_ROWKEY);
                w.bytes(&t.group);
                for (a, ty) in t.args.iter().zip(&self.arg_types) {
                    write_values(&mut w, a, ty);
                }
                w.finish()
            });
            changes.push((k, v));
        }
        self.durable.commit(changes, &fast_map())
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
            self.load(e.arg_types(&self.input.arg_counts))?;
        }
        let mut outputs = Vec::new();
        match self.table_key.clone() {
            Some(idx) => self.process_table(&input, &e, &idx, &mut outputs)?,
            None => self.process_stream(&input, &e, errors, &mut outputs)?,
        }
        self.last_partition = input.partition;
        if self.groups.cache_due() {
            outputs.extend(self.groups.drain_cache());
        }
        self.emit(outputs, input.partition, Some(&e))
    }

    fn enable_record_cache(&mut self, max_keys: usize) {
        if self.table_key.is_none() {
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
