//! NULL handling: COALESCE, IFNULL and NULLIF, for values of any type.

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{is_not_null, nullif};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use super::array::rows_of;
use super::types::{Overload, ParamType as P};
use super::udf::{Call, Category, FunctionDef};

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![coalesce(), ifnull(), nullif_def()]
}

/// The first non-NULL of `args` per row (vectorised with `zip`).
fn first_non_null(args: &[ArrayRef]) -> Result<ArrayRef> {
    let mut acc = args[0].clone();
    for next in &args[1..] {
        if next.data_type() == &DataType::Null {
            continue;
        }
        if acc.data_type() == &DataType::Null {
            acc = next.clone();
            continue;
        }
        if acc.null_count() == 0 {
            break;
        }
        acc = zip(&is_not_null(&acc)?, &acc, next)?;
    }
    Ok(acc)
}

/// `COALESCE(a, b, ...)`: the first non-NULL argument, NULL if all are. Arguments share a
/// type (numbers widen to the widest); at least one is required.
pub fn coalesce() -> FunctionDef {
    FunctionDef::new(
        "COALESCE",
        Category::Nulls,
        "Returns the first non-NULL parameter, or NULL if all are NULL.",
        vec![Overload::new(&[("first", P::T), ("others", P::T)], P::T).variadic()],
        |c: &Call| first_non_null(c.args),
    )
}

/// `IFNULL(expression, altValue)`: `expression`, or `altValue` when it is NULL.
pub fn ifnull() -> FunctionDef {
    FunctionDef::new(
        "IFNULL",
        Category::Nulls,
        "Returns expression if it is not NULL, otherwise altValue.",
        vec![Overload::new(
            &[("expression", P::T), ("altValue", P::T)],
            P::T,
        )],
        |c: &Call| first_non_null(c.args),
    )
}

/// `NULLIF(expr1, expr2)`: NULL when `expr1` equals `expr2` (deep equality for ARRAY, MAP,
/// STRUCT), else `expr1`. A NULL `expr2` never equals.
pub fn nullif_def() -> FunctionDef {
    FunctionDef::new(
        "NULLIF",
        Category::Nulls,
        "Returns NULL if expr1 equals expr2, otherwise expr1.",
        vec![Overload::new(&[("expr1", P::T), ("expr2", P::T)], P::T)],
        |c: &Call| {
            let (a, b) = (&c.args[0], &c.args[1]);
            if a.data_type() == &DataType::Null || b.data_type() == &DataType::Null {
                return Ok(a.clone());
            }
            let (_, rows) = rows_of(a.data_type(), &[a, b])?;
            let eq: BooleanArray = (0..c.rows)
                .map(|i| Some(a.is_valid(i) && b.is_valid(i) && rows[0].row(i) == rows[1].row(i)))
                .collect();
            Ok(nullif(a.as_ref(), &eq)?)
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::functions::testutil::*;
    use std::sync::Arc;

    #[test]
    fn coalesce_ifnull_nullif() {
        // null.json "coalesce": COALESCE(COL0, COL1, COL0, COL1), COALESCE(COL2, 'x')
        let r = call(
            "COALESCE",
            vec![
                i(&[Some(1), None, Some(2)]),
                i(&[Some(2), None, Some(2)]),
                i(&[None, None, None]),
            ],
        )
        .unwrap();
        assert_eq!(out_i(&r), vec![Some(1), None, Some(2)]);
        let r = call("COALESCE", vec![s(&[Some("not null"), None]), s1("x", 2)]).unwrap();
        assert_eq!(out_s(&r), vec![Some("not null".into()), Some("x".into())]);
        let r = call("IFNULL", vec![i(&[None, Some(3)]), i1(10, 2)]).unwrap();
        assert_eq!(out_i(&r), vec![Some(10), Some(3)]);
        // Widening: INT and BIGINT give BIGINT.
        let r = call("IFNULL", vec![i(&[None]), l(&[Some(5_000_000_000)])]).unwrap();
        assert_eq!(out_l(&r), vec![Some(5_000_000_000)]);
        let r = call(
            "NULLIF",
            vec![
                s(&[Some("a"), Some("b"), None]),
                s(&[Some("a"), None, None]),
            ],
        )
        .unwrap();
        assert_eq!(out_s(&r), vec![None, Some("b".into()), None]);
        // null.json "coalesce - no params"
        let reg = crate::functions::FunctionRegistry::new();
        let e = reg.return_type("COALESCE", &[]).unwrap_err().to_string();
        assert!(
            e.contains("Function 'COALESCE' does not accept parameters ()"),
            "{e}"
        );
        let lists: arrow::array::ArrayRef =
            Arc::new(arrow::array::ListArray::from_iter_primitive::<
                arrow::datatypes::Int32Type,
                _,
                _,
            >(vec![None, Some(vec![Some(1)])]));
        let alt: arrow::array::ArrayRef = Arc::new(arrow::array::ListArray::from_iter_primitive::<
            arrow::datatypes::Int32Type,
            _,
            _,
        >(vec![
            Some(vec![Some(10), Some(20)]),
            Some(vec![Some(10), Some(20)]),
        ]));
        let r = call("IFNULL", vec![lists, alt]).unwrap();
        assert_eq!(render(&r), vec!["[10, 20]", "[1]"]);
    }
}
