//! GREATEST and LEAST: the largest or smallest of their arguments, ignoring NULLs.

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::kernels::cmp::{gt, lt};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{is_not_null, is_null, or};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use crate::functions::error::FunctionError;
use crate::functions::types::{sql_type_name, Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn orderable(a: &[DataType]) -> Result<DataType, FunctionError> {
    let t = &a[0];
    match t {
        DataType::Int32
        | DataType::Int64
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Utf8
        | DataType::Binary
        | DataType::Date32
        | DataType::Time32(_)
        | DataType::Timestamp(..) => Ok(t.clone()),
        other => Err(FunctionError::Evaluation(format!(
            "cannot order values of type {}",
            sql_type_name(other)
        ))),
    }
}

fn overloads() -> Vec<Overload> {
    let mut v = vec![Overload::computed(
        &[("value", P::T), ("values", P::T)],
        orderable,
        "T (the widest argument type)",
    )
    .variadic()];
    // ksqlDB declares one method per type; for DATE, TIME and TIMESTAMP its implicit
    // STRING cast lets string literals stand among them (`GREATEST(d, '2022-06-14')`).
    for t in [P::Date, P::Time, P::Timestamp] {
        v.push(
            Overload::new(&[("value", t.clone()), ("values", t.clone())], t)
                .variadic()
                .needs_typed_arg(),
        );
    }
    v
}

/// `GREATEST(a, b, ...)`: the largest non-NULL argument, NULL when all are NULL. Arguments
/// are INT, BIGINT, DOUBLE, DECIMAL, STRING (by code point), BYTES (unsigned bytes), DATE,
/// TIME or TIMESTAMP, all widened to the widest numeric type among them; at least one
/// argument must be typed (not only NULL literals).
pub fn greatest() -> FunctionDef {
    FunctionDef::new(
        "GREATEST",
        Category::Numeric,
        "Returns the highest non-NULL value among its arguments.",
        overloads(),
        |c: &Call| fold(c, true),
    )
}

/// `LEAST(a, b, ...)`: the smallest non-NULL argument; otherwise as GREATEST.
pub fn least() -> FunctionDef {
    FunctionDef::new(
        "LEAST",
        Category::Numeric,
        "Returns the lowest non-NULL value among its arguments.",
        overloads(),
        |c: &Call| fold(c, false),
    )
}

/// Vectorised: per argument, take it where the running result is NULL or it is better.
fn fold(c: &Call, greatest: bool) -> Result<ArrayRef> {
    let mut acc = c.args[0].clone();
    for next in &c.args[1..] {
        if next.data_type() == &DataType::Null {
            continue;
        }
        if acc.data_type() == &DataType::Null {
            acc = next.clone();
            continue;
        }
        let better: BooleanArray = if greatest {
            gt(next, &acc)?
        } else {
            lt(next, &acc)?
        };
        // NULL comparisons count as false.
        let better = arrow::compute::and(&better, &is_not_null(next)?)?;
        let better = if better.null_count() > 0 {
            arrow::compute::prep_null_mask_filter(&better)
        } else {
            better
        };
        let take = or(&is_null(&acc)?, &better)?;
        acc = zip(&take, next, &acc)?;
    }
    if acc.data_type() == &DataType::Null {
        return datafusion::common::exec_err!("GREATEST/LEAST of only NULLs");
    }
    Ok(acc)
}
