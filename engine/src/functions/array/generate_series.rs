//! GENERATE_SERIES: an array of numbers from start to end.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int32Builder, Int64Builder, ListBuilder};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use crate::functions::kernels::{i32s, i64s};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// The series start, start+step, ... up to and including `end`; None for a zero step or a
/// step pointing away from `end`.
fn series(start: i64, end: i64, step: Option<i64>) -> Option<Vec<i64>> {
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if step == 0 || (end > start && step < 0) || (end < start && step > 0) {
        return None;
    }
    let mut out = Vec::new();
    let mut v = start;
    while (step > 0 && v <= end) || (step < 0 && v >= end) {
        out.push(v);
        match v.checked_add(step) {
            Some(n) => v = n,
            None => break,
        }
    }
    Some(out)
}

/// `GENERATE_SERIES(start, end [, step])`: start, start+step, ... while not past `end`
/// (inclusive), for INT or BIGINT. The default step is 1, or -1 when `end` < `start`. NULL
/// when any argument is NULL, `step` is 0, or `step` points away from `end`.
pub fn def() -> FunctionDef {
    let mut overloads = Vec::new();
    for t in [P::Int, P::BigInt] {
        overloads.push(Overload::new(
            &[("start", t.clone()), ("end", t.clone())],
            P::array(t.clone()),
        ));
        overloads.push(Overload::new(
            &[
                ("start", t.clone()),
                ("end", t.clone()),
                ("step", t.clone()),
            ],
            P::array(t),
        ));
    }
    FunctionDef::new(
        "GENERATE_SERIES",
        Category::Array,
        "Returns an array of values from start to end (inclusive), by step (default 1, or -1 \
         counting down).",
        overloads,
        |c: &Call| -> Result<ArrayRef> {
            let get = |k: usize, i: usize| -> Option<i64> {
                let a = c.args.get(k)?;
                if a.is_null(i) {
                    return None;
                }
                Some(match a.data_type() {
                    DataType::Int32 => i32s(a).value(i) as i64,
                    _ => i64s(a).value(i),
                })
            };
            let int = c.args[0].data_type() == &DataType::Int32;
            let mut i32b = ListBuilder::new(Int32Builder::new());
            let mut i64b = ListBuilder::new(Int64Builder::new());
            for i in 0..c.rows {
                let has_step = c.args.len() == 3;
                let s = match (get(0, i), get(1, i), has_step.then(|| get(2, i))) {
                    (Some(a), Some(b), None) => series(a, b, None),
                    (Some(a), Some(b), Some(Some(st))) => series(a, b, Some(st)),
                    _ => None,
                };
                match (s, int) {
                    (Some(vals), true) => {
                        i32b.values()
                            .append_slice(&vals.iter().map(|v| *v as i32).collect::<Vec<_>>());
                        i32b.append(true);
                    }
                    (Some(vals), false) => {
                        i64b.values().append_slice(&vals);
                        i64b.append(true);
                    }
                    (None, true) => i32b.append_null(),
                    (None, false) => i64b.append_null(),
                }
            }
            Ok(if int {
                Arc::new(i32b.finish()) as ArrayRef
            } else {
                Arc::new(i64b.finish())
            })
        },
    )
}
