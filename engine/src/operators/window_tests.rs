//! window_tests.rs: what the GROUP BY operators' unit tests share — a `COUNT(*) GROUP BY K`
//! over a stream of (K, ts) rows, run through an operator, its updates as tuples, and state
//! stores in a temporary directory.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use brook_sql::analyzer::WindowType;
use brook_sql::plan::WindowSpec;
use brook_sql::SqlType;
use datafusion::physical_expr::expressions::Column;

use super::aggregate::{AggregateCallPlan, AggregateInput};
use super::Operator;
use crate::aggregate::AggregateFunction;
use crate::runtime::rows::Rows;

/// The output schema: K, N (the count), WINDOWSTART, WINDOWEND.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("K", DataType::Utf8, true),
        Field::new("N", DataType::Int64, true),
        Field::new("WINDOWSTART", DataType::Int64, false),
        Field::new("WINDOWEND", DataType::Int64, false),
    ]))
}

/// `COUNT(*)` grouped by the input's column 0.
pub(crate) fn count_per_key() -> AggregateInput {
    let count = AggregateFunction::new("COUNT", &[], 0, vec![], &SqlType::BigInt).unwrap();
    AggregateInput::new(
        vec![Arc::new(Column::new("K", 0))],
        vec![AggregateCallPlan {
            function: count,
            args: vec![],
        }],
        &schema(),
    )
}

pub(crate) fn spec(
    kind: WindowType,
    size: u64,
    advance: Option<u64>,
    grace: Option<u64>,
) -> WindowSpec {
    WindowSpec {
        kind,
        size_ms: size,
        advance_ms: advance,
        retention_ms: None,
        grace_ms: grace,
        emit_final: false,
    }
}

/// `EMIT FINAL` on a window spec.
pub(crate) trait Final {
    fn final_(self) -> Self;
}

impl Final for WindowSpec {
    fn final_(mut self) -> Self {
        self.emit_final = true;
        self
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Run {
    /// Record cache on (flushed after the rows).
    pub cache: bool,
}

/// An update: key, count (None: a delete), window start, window end, timestamp.
pub(crate) type Update = (String, Option<i64>, i64, i64, i64);

pub(crate) fn run(mut op: Box<dyn Operator>, rows: &[(&str, i64)], how: Run) -> Vec<Update> {
    run_on(op.as_mut(), rows, how)
}

/// Feeds `rows` one per batch (then, with the cache, flushes) and collects the updates.
pub(crate) fn run_on(op: &mut dyn Operator, rows: &[(&str, i64)], how: Run) -> Vec<Update> {
    if how.cache {
        op.enable_record_cache(1000);
    }
    let input_schema = Arc::new(Schema::new(vec![Field::new("K", DataType::Utf8, true)]));
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (k, ts) in rows {
        let batch = RecordBatch::try_new(
            input_schema.clone(),
            vec![Arc::new(StringArray::from(vec![*k]))],
        )
        .unwrap();
        let rows = Rows {
            batch,
            timestamps: vec![*ts],
            deletes: vec![false],
            windows: None,
            partition: 0,
        };
        out.extend(updates(&op.process(rows, &mut errors).unwrap()));
    }
    for r in op.flush().unwrap() {
        out.extend(updates(&r));
    }
    assert!(errors.is_empty(), "{errors:?}");
    out
}

fn updates(rows: &Rows) -> Vec<Update> {
    let b = &rows.batch;
    let k = b.column(0).as_string::<i32>();
    let n = b.column(1).as_primitive::<Int64Type>();
    let w = rows.windows.as_ref().expect("windowed");
    (0..b.num_rows())
        .map(|i| {
            (
                k.value(i).to_string(),
                (!rows.deletes[i]).then(|| n.value(i)),
                w[i].start,
                w[i].end,
                rows.timestamps[i],
            )
        })
        .collect()
}

/// State stores (over their own log) in `dir`.
pub(crate) fn open_stores(dir: &std::path::Path) -> brook_state::StateStores {
    let log =
        Arc::new(brook_log::Log::open(dir.join("log"), brook_log::LogOptions::default()).unwrap());
    brook_state::StateStores::open(&dir.join("state"), log).unwrap()
}
