//! ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECT and ARRAY_UNION: arrays as sets, keeping
//! the order in which elements first appear.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef};
use arrow::compute::concat;
use datafusion::common::Result;

use super::{build_list, list, rows_of, span};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// `ARRAY_DISTINCT(array)`: the distinct elements in order of first appearance (one NULL
/// kept if present). NULL → NULL.
pub fn array_distinct() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_DISTINCT",
        Category::Array,
        "Returns an array of the distinct values of the input, in order of first appearance.",
        vec![Overload::new(&[("array", P::array(P::T))], P::array(P::T))],
        |c: &Call| {
            let l = list(&c.args[0]);
            let (_, rows) = rows_of(&l.value_type(), &[l.values()])?;
            build_list(l.values(), c.rows, |i| {
                if l.is_null(i) {
                    return Ok(None);
                }
                let mut seen = HashSet::new();
                Ok(Some(
                    span(l, i)
                        .filter(|&j| seen.insert(rows[0].row(j)))
                        .map(|j| j as u32)
                        .collect(),
                ))
            })
        },
    )
}

#[derive(Clone, Copy)]
enum Op {
    Except,
    Intersect,
    Union,
}

fn two_arrays(op: Op) -> fn(&Call) -> Result<ArrayRef> {
    match op {
        Op::Except => |c| run(c, Op::Except),
        Op::Intersect => |c| run(c, Op::Intersect),
        Op::Union => |c| run(c, Op::Union),
    }
}

fn run(c: &Call, op: Op) -> Result<ArrayRef> {
    let (a, b) = (list(&c.args[0]), list(&c.args[1]));
    // One element array holding both inputs' elements: a's first, then b's.
    let all = concat(&[a.values().as_ref(), b.values().as_ref()])?;
    let shift = a.values().len();
    let (_, rows) = rows_of(&a.value_type(), &[&all])?;
    let r = &rows[0];
    build_list(&all, c.rows, |i| {
        if a.is_null(i) || b.is_null(i) {
            return Ok(None);
        }
        let in_b: HashSet<_> = span(b, i).map(|j| r.row(j + shift)).collect();
        let mut seen = HashSet::new();
        let mut out: Vec<u32> = span(a, i)
            .filter(|&j| {
                let row = r.row(j);
                let keep = match op {
                    Op::Except => !in_b.contains(&row),
                    Op::Intersect => in_b.contains(&row),
                    Op::Union => true,
                };
                keep && seen.insert(row)
            })
            .map(|j| j as u32)
            .collect();
        if let Op::Union = op {
            out.extend(
                span(b, i)
                    .filter(|&j| seen.insert(r.row(j + shift)))
                    .map(|j| (j + shift) as u32),
            );
        }
        Ok(Some(out))
    })
}

fn overloads() -> Vec<Overload> {
    vec![Overload::new(
        &[("left", P::array(P::T)), ("right", P::array(P::T))],
        P::array(P::T),
    )]
}

/// `ARRAY_EXCEPT(left, right)`: the distinct elements of `left` not in `right`, in order.
/// NULL when either is NULL.
pub fn array_except() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_EXCEPT",
        Category::Array,
        "Returns the distinct elements of the first array that are not in the second.",
        overloads(),
        two_arrays(Op::Except),
    )
}

/// `ARRAY_INTERSECT(left, right)`: the distinct elements of `left` also in `right`, in
/// order. NULL when either is NULL.
pub fn array_intersect() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_INTERSECT",
        Category::Array,
        "Returns the distinct elements found in both arrays, in the order of the first.",
        overloads(),
        two_arrays(Op::Intersect),
    )
}

/// `ARRAY_UNION(left, right)`: the distinct elements of `left` then of `right`. NULL when
/// either is NULL.
pub fn array_union() -> FunctionDef {
    FunctionDef::new(
        "ARRAY_UNION",
        Category::Array,
        "Returns the distinct elements of both arrays, in order of first appearance.",
        overloads(),
        two_arrays(Op::Union),
    )
}
