//! GREATEST and LEAST: the largest or smallest of their arguments, ignoring NULLs.

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::kernels::cmp::{gt, lt};
use arrow::compute::kernels::zip::zip;
use arrow::compute::{is_not_null, is_null, or};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use crate::functions::error::FunctionError;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

/// DECIMAL results: every argument widened to one DECIMAL (ksqlDB's `DecimalUtil::widen`
/// over the arguments): the largest integer part and the largest scale.
fn widest_decimal(args: &[DataType]) -> Result<DataType, FunctionError> {
    let mut int_digits = 0i16;
    let mut scale = 0i16;
    for a in args {
        if let DataType::Decimal128(p, s) = a {
            int_digits = int_digits.max(*p as i16 - *s as i16);
            scale = scale.max(*s as i16);
        }
    }
    Ok(DataType::Decimal128(
        (int_digits + scale).clamp(1, 38) as u8,
        scale as i8,
    ))
}

/// ksqlDB's `Greatest` / `Least` declare one variadic method per type, `(T val, T...
/// vals)`, and calls resolve among them as its `UdfIndex` does (so `GREATEST(int, bigint)`
/// is ambiguous: it could widen to BIGINT, DECIMAL or DOUBLE).
fn overloads() -> Vec<Overload> {
    let mut v: Vec<Overload> = [
        P::Int,
        P::BigInt,
        P::Double,
        P::String,
        P::Bytes,
        P::Date,
        P::Time,
        P::Timestamp,
    ]
    .into_iter()
    .map(|t| Overload::new(&[("val", t.clone()), ("vals", t.clone())], t).variadic())
    .collect();
    v.push(
        Overload::computed_from_typed(
            &[("val", P::Decimal), ("vals", P::Decimal)],
            widest_decimal,
            "DECIMAL (the widest of the arguments)",
        )
        .variadic(),
    );
    v
}

/// `GREATEST(a, b, ...)`: the largest non-NULL argument, NULL when all are NULL. Arguments
/// are all INT, BIGINT, DOUBLE, DECIMAL, STRING (by code point), BYTES (unsigned bytes),
/// DATE, TIME or TIMESTAMP (see [`overloads`] for how mixed types resolve).
pub fn greatest() -> FunctionDef {
    FunctionDef::new(
        "GREATEST",
        Category::Numeric,
        "Returns the highest non-NULL value among its arguments.",
        overloads(),
        |c: &Call| fold(c, true),
    )
    .resolved_as_ksql()
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
    .resolved_as_ksql()
}

/// Vectorised: per argument, take it where the running result is NULL or it is better.
fn fold(c: &Call, greatest: bool) -> Result<ArrayRef> {
    // DECIMAL arguments of different precisions compare at the result's type.
    let args = c
        .args
        .iter()
        .map(|a| {
            if a.data_type() != &DataType::Null && a.data_type() != c.return_type {
                Ok(arrow::compute::cast(a, c.return_type)?)
            } else {
                Ok(a.clone())
            }
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let mut acc = args[0].clone();
    for next in &args[1..] {
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
