//! The state rules of [`Join`], one kind at a time, on a left input `L(K BIGINT KEY, V
//! STRING)` and a right input `R(K BIGINT KEY, W STRING)`.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use brook_sql::ast::JoinType;
use brook_sql::plan::{Column, ColumnRole, JoinKind, JoinWithin, Schema, SqlType};
use datafusion::physical_expr::expressions::Column as ColumnExpr;

use super::{Join, JoinSpec, Side};
use crate::runtime::pipeline::arrow_schema;
use crate::runtime::rows::Rows;

fn col(source: Option<&str>, name: &str, ty: SqlType, role: ColumnRole) -> Column {
    Column {
        source: source.map(str::to_string),
        name: name.into(),
        ty,
        role,
    }
}

fn side(alias: &str, value: &str) -> Schema {
    Schema::new(vec![
        col(Some(alias), "K", SqlType::BigInt, ColumnRole::Key),
        col(Some(alias), value, SqlType::String, ColumnRole::Value),
    ])
}

/// Left `L(K, V)` joined with right `R(K, W)`: for a foreign-key join the left's `V` is
/// a BIGINT pointing at the right's key.
fn join(kind: JoinKind, join_type: JoinType, within: Option<JoinWithin>) -> Join {
    let mut left = side("L", "V");
    if kind == JoinKind::ForeignKey {
        left.columns[1].ty = SqlType::BigInt;
    }
    let right = side("R", "W");
    let mut cols = vec![col(None, "K", SqlType::BigInt, ColumnRole::Key)];
    for c in left.columns.iter().chain(&right.columns) {
        let mut c = c.clone();
        c.role = ColumnRole::Value;
        cols.push(c);
    }
    cols.push(col(None, "ROWTIME", SqlType::BigInt, ColumnRole::Pseudo));
    let output = Schema::new(cols);
    let left_key = if kind == JoinKind::ForeignKey { 1 } else { 0 };
    Join::new(JoinSpec {
        kind,
        join_type,
        within,
        left_key: Arc::new(ColumnExpr::new("L.K", left_key)),
        right_key: Arc::new(ColumnExpr::new("R.K", 0)),
        left_arrow: arrow_schema(&left),
        right_arrow: arrow_schema(&right),
        output_arrow: arrow_schema(&output),
        left,
        right,
        output,
        window_end_in_key: false,
    })
    .expect("join")
}

/// One row `(k, v)` at `ts`; `v = None` is a delete (a tombstone or a null stream value).
fn row(j: &Join, s: Side, k: i64, v: Option<&str>, ts: i64) -> Rows {
    let fk = j.kind == JoinKind::ForeignKey && s == Side::Left;
    let schema = if s == Side::Left {
        j_left_arrow(j)
    } else {
        arrow_schema(&side("R", "W"))
    };
    let value: Arc<dyn Array> = if fk {
        Arc::new(Int64Array::from(vec![v.map(|v| v.parse::<i64>().unwrap())]))
    } else {
        Arc::new(StringArray::from(vec![v]))
    };
    Rows {
        batch: RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![k])), value])
            .unwrap(),
        timestamps: vec![ts],
        deletes: vec![v.is_none()],
        windows: None,
        partition: 0,
    }
}

fn j_left_arrow(j: &Join) -> arrow::datatypes::SchemaRef {
    let mut left = side("L", "V");
    if j.kind == JoinKind::ForeignKey {
        left.columns[1].ty = SqlType::BigInt;
    }
    arrow_schema(&left)
}

/// Output rows as `key: left-value/right-value @ts`, `key: DELETE @ts` for tombstones.
fn send(j: &mut Join, s: Side, k: i64, v: Option<&str>, ts: i64) -> Vec<String> {
    let input = row(j, s, k, v, ts);
    let mut errors = Vec::new();
    let out = j.process(s, input, &mut errors).expect("process");
    assert!(errors.is_empty(), "{errors:?}");
    let b = &out.batch;
    let text = |c: usize, i: usize| -> String {
        let a = b.column(c);
        if a.is_null(i) {
            return "_".into();
        }
        arrow::util::display::array_value_to_string(a, i).unwrap()
    };
    (0..out.len())
        .map(|i| {
            if out.deletes[i] {
                format!("{}: DELETE @{}", text(0, i), out.timestamps[i])
            } else {
                format!(
                    "{}: {}/{} @{}",
                    text(0, i),
                    text(2, i),
                    text(4, i),
                    out.timestamps[i]
                )
            }
        })
        .collect()
}

fn within(before: u64, after: u64, grace: Option<u64>) -> Option<JoinWithin> {
    Some(JoinWithin {
        before_ms: before,
        after_ms: after,
        grace_ms: grace,
    })
}

#[test]
fn stream_stream_inner_matches_within_the_window_both_ways() {
    let mut j = join(
        JoinKind::StreamStream,
        JoinType::Inner,
        within(10, 10, None),
    );
    assert!(send(&mut j, Side::Left, 1, Some("a"), 100).is_empty());
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 105),
        vec!["1: a/x @105"]
    );
    // Out of the window of the left record.
    assert!(send(&mut j, Side::Right, 1, Some("y"), 111).is_empty());
    // Matches both right records, in time order, each at the later time.
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("b"), 108),
        vec!["1: b/x @108", "1: b/y @111"]
    );
    // Another key, and null values, never match.
    assert!(send(&mut j, Side::Left, 2, Some("c"), 108).is_empty());
    assert!(send(&mut j, Side::Left, 1, None, 108).is_empty());
}

#[test]
fn stream_stream_left_without_grace_emits_unmatched_at_once() {
    let mut j = join(JoinKind::StreamStream, JoinType::Left, within(10, 10, None));
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("a"), 100),
        vec!["1: a/_ @100"]
    );
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 105),
        vec!["1: a/x @105"]
    );
    // The right side is not kept: an unmatched right record emits nothing.
    assert!(send(&mut j, Side::Right, 2, Some("y"), 105).is_empty());
}

#[test]
fn stream_stream_left_with_grace_waits_for_the_window_to_close() {
    let mut j = join(
        JoinKind::StreamStream,
        JoinType::Left,
        within(10, 10, Some(5)),
    );
    assert!(send(&mut j, Side::Left, 1, Some("a"), 100).is_empty());
    assert!(send(&mut j, Side::Left, 2, Some("b"), 100).is_empty());
    // A match takes the left record out of the waiting ones.
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 110),
        vec!["1: a/x @110"]
    );
    // Stream time 115 is not past 100 + 10 + 5.
    assert!(send(&mut j, Side::Right, 9, Some("z"), 115).is_empty());
    // 116 is: the unmatched left record comes out at its own time.
    assert_eq!(
        send(&mut j, Side::Right, 9, Some("z"), 116),
        vec!["2: b/_ @100"]
    );
    // A record whose window is already closed emits at once.
    assert_eq!(
        send(&mut j, Side::Left, 3, Some("c"), 50),
        vec!["3: c/_ @50"]
    );
}

#[test]
fn stream_stream_late_records_do_not_see_expired_ones() {
    // Retention 10 + 10 + 5: the right store at 200 no longer shows records at 100.
    let mut j = join(
        JoinKind::StreamStream,
        JoinType::Inner,
        within(10, 10, Some(5)),
    );
    assert!(send(&mut j, Side::Right, 1, Some("x"), 100).is_empty());
    assert!(send(&mut j, Side::Right, 2, Some("y"), 200).is_empty());
    assert!(send(&mut j, Side::Left, 1, Some("a"), 100).is_empty());
}

#[test]
fn stream_stream_full_outer_with_grace_emits_right_before_left() {
    let mut j = join(
        JoinKind::StreamStream,
        JoinType::Full,
        within(10, 10, Some(0)),
    );
    assert!(send(&mut j, Side::Left, 1, Some("a"), 100).is_empty());
    assert!(send(&mut j, Side::Right, 2, Some("x"), 100).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 3, Some("c"), 200),
        vec!["2: _/x @100", "1: a/_ @100"]
    );
}

#[test]
fn stream_table_only_stream_records_emit() {
    let mut j = join(JoinKind::StreamTable, JoinType::Left, None);
    assert!(send(&mut j, Side::Right, 1, Some("x"), 100).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("a"), 50),
        vec!["1: a/x @50"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 2, Some("b"), 60),
        vec!["2: b/_ @60"]
    );
    assert!(send(&mut j, Side::Right, 1, None, 120).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("c"), 130),
        vec!["1: c/_ @130"]
    );

    let mut j = join(JoinKind::StreamTable, JoinType::Inner, None);
    assert!(send(&mut j, Side::Left, 1, Some("a"), 50).is_empty());
    assert!(send(&mut j, Side::Right, 1, Some("x"), 100).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("b"), 150),
        vec!["1: b/x @150"]
    );
}

#[test]
fn table_table_inner_emits_from_both_sides_and_deletes() {
    let mut j = join(JoinKind::TableTable, JoinType::Inner, None);
    assert!(send(&mut j, Side::Left, 1, Some("a"), 100).is_empty());
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 90),
        vec!["1: a/x @100"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("b"), 110),
        vec!["1: b/x @110"]
    );
    assert_eq!(
        send(&mut j, Side::Right, 1, None, 120),
        vec!["1: DELETE @120"]
    );
    assert!(send(&mut j, Side::Left, 1, None, 130).is_empty());
}

#[test]
fn table_table_left_keeps_the_left_row() {
    let mut j = join(JoinKind::TableTable, JoinType::Left, None);
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("a"), 100),
        vec!["1: a/_ @100"]
    );
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 110),
        vec!["1: a/x @110"]
    );
    // The right row going re-emits the left one alone.
    assert_eq!(send(&mut j, Side::Right, 1, None, 120), vec!["1: a/_ @120"]);
    assert_eq!(
        send(&mut j, Side::Left, 1, None, 130),
        vec!["1: DELETE @130"]
    );
    // A right row without a left one emits nothing; deleting an absent key neither.
    assert!(send(&mut j, Side::Right, 2, Some("y"), 140).is_empty());
    assert!(send(&mut j, Side::Left, 3, None, 150).is_empty());
}

#[test]
fn table_table_full_outer_keeps_either_side() {
    let mut j = join(JoinKind::TableTable, JoinType::Full, None);
    assert_eq!(
        send(&mut j, Side::Right, 1, Some("x"), 100),
        vec!["1: _/x @100"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("a"), 110),
        vec!["1: a/x @110"]
    );
    assert_eq!(send(&mut j, Side::Left, 1, None, 120), vec!["1: _/x @120"]);
    assert_eq!(
        send(&mut j, Side::Right, 1, None, 130),
        vec!["1: DELETE @130"]
    );
}

#[test]
fn foreign_key_inner_reemits_every_left_row_of_a_right_key() {
    let mut j = join(JoinKind::ForeignKey, JoinType::Inner, None);
    assert!(send(&mut j, Side::Right, 0, Some("x"), 0).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("0"), 10),
        vec!["1: 0/x @10"]
    );
    assert!(send(&mut j, Side::Left, 2, Some("100"), 13).is_empty());
    assert_eq!(
        send(&mut j, Side::Right, 0, Some("y"), 15),
        vec!["1: 0/y @15"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 10, Some("0"), 16),
        vec!["10: 0/y @16"]
    );
    assert_eq!(
        send(&mut j, Side::Right, 0, None, 17),
        vec!["1: DELETE @17", "10: DELETE @17"]
    );
    assert_eq!(send(&mut j, Side::Left, 1, None, 18), vec!["1: DELETE @18"]);
    // Moving a left row to a key without a right row takes back its result.
    assert!(send(&mut j, Side::Right, 5, Some("z"), 19).is_empty());
    assert_eq!(
        send(&mut j, Side::Left, 3, Some("5"), 20),
        vec!["3: 5/z @20"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 3, Some("6"), 21),
        vec!["3: DELETE @21"]
    );
    assert!(send(&mut j, Side::Right, 5, Some("w"), 22).is_empty());
}

#[test]
fn foreign_key_left_keeps_left_rows() {
    let mut j = join(JoinKind::ForeignKey, JoinType::Left, None);
    assert_eq!(send(&mut j, Side::Left, 1, Some("0"), 0), vec!["1: 0/_ @0"]);
    assert_eq!(
        send(&mut j, Side::Right, 0, Some("x"), 10),
        vec!["1: 0/x @10"]
    );
    assert_eq!(
        send(&mut j, Side::Left, 1, Some("0"), 11),
        vec!["1: 0/x @11"]
    );
    assert_eq!(send(&mut j, Side::Right, 0, None, 17), vec!["1: 0/_ @17"]);
    assert_eq!(send(&mut j, Side::Left, 1, None, 18), vec!["1: DELETE @18"]);
}
