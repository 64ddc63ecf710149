//! SUM over INT, BIGINT, DOUBLE and DECIMAL, and SUM_LIST over arrays of INT, BIGINT and
//! DOUBLE.
//!
//! As in ksqlDB: the sum starts at 0 and ignores nulls; it keeps its argument's type, INT
//! and BIGINT wrapping around on overflow like Java's `int`/`long`; a DECIMAL sum that no
//! longer fits its precision fails with "Numeric field overflow". SUM_LIST adds the non-null
//! elements of each array. All are retractable (subtracting the row).

use std::any::Any;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int32Type, Int64Type};
use datafusion::common::ScalarValue;

use super::codec::{tag, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{as_decimal, as_f64, as_i32, as_i64, fmt_decimal, pow10};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};
use brook_sql::SqlType;

/// `SUM(col)`.
pub(crate) const SUM: AggregateDef = AggregateDef {
    name: "SUM",
    description: "Computes the sum of a column, per key; NULL values are ignored.",
    variations: &[
        variation(
            "val INT",
            "INT",
            "Sums an INT column (wrapping on overflow, as Java's int).",
        ),
        variation(
            "val BIGINT",
            "BIGINT",
            "Sums a BIGINT column (wrapping on overflow, as Java's long).",
        ),
        variation("val DOUBLE", "DOUBLE", "Sums a DOUBLE column."),
        variation(
            "val DECIMAL",
            "DECIMAL",
            "Sums a DECIMAL column; fails when the sum exceeds its precision.",
        ),
    ],
    column_args: None,
    return_type: |args| match args {
        [t] if t.is_numeric() => Some(t.clone()),
        [SqlType::Null] => Some(SqlType::Int),
        _ => None,
    },
    alternatives: &["val INT", "val BIGINT", "val DOUBLE", "val DECIMAL"],
    build: build_sum,
};

/// `SUM_LIST(array)`.
pub(crate) const SUM_LIST: AggregateDef = AggregateDef {
    name: "SUM_LIST",
    description: "Computes the sum of the non-NULL elements of an array column, per key.",
    variations: &[
        variation("val ARRAY<INT>", "INT", "Sums the elements of INT arrays."),
        variation(
            "val ARRAY<BIGINT>",
            "BIGINT",
            "Sums the elements of BIGINT arrays.",
        ),
        variation(
            "val ARRAY<DOUBLE>",
            "DOUBLE",
            "Sums the elements of DOUBLE arrays.",
        ),
    ],
    column_args: None,
    return_type: |args| match args {
        [SqlType::Array(e)] if matches!(**e, SqlType::Int | SqlType::BigInt | SqlType::Double) => {
            Some((**e).clone())
        }
        _ => None,
    },
    alternatives: &["val ARRAY<INT>", "val ARRAY<BIGINT>", "val ARRAY<DOUBLE>"],
    build: build_sum_list,
};

fn build_sum(b: &Build) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if t.is_numeric() || *t == SqlType::Null => Ok(match b.return_type {
            SqlType::Int => Kind::SumInt,
            SqlType::BigInt => Kind::SumBigInt,
            SqlType::Double => Kind::SumDouble,
            SqlType::Decimal { precision, scale } => Kind::SumDecimal {
                precision: *precision as u8,
                scale: *scale as i8,
            },
            _ => return Err(b.bad_types()),
        }),
        _ => Err(b.bad_types()),
    }
}

fn build_sum_list(b: &Build) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [SqlType::Array(e)] if **e == *b.return_type => Ok(Kind::SumList(match b.return_type {
            SqlType::Int => ListElem::Int,
            SqlType::BigInt => ListElem::BigInt,
            SqlType::Double => ListElem::Double,
            _ => return Err(b.bad_types()),
        })),
        _ => Err(b.bad_types()),
    }
}

macro_rules! simple_sum {
    ($name:ident, $t:ty, $tag:expr, $extract:expr, $add:expr, $sub:expr, $out:expr, $write:ident, $read:ident) => {
        #[derive(Debug, Default)]
        pub(crate) struct $name {
            sum: $t,
        }

        impl $name {
            pub fn load(bytes: &[u8]) -> Result<Self, AggregateError> {
                let mut r = Reader::new(bytes, $tag)?;
                let sum = r.$read()?;
                r.finish()?;
                Ok($name { sum })
            }
        }

        impl Accumulator for $name {
            #[inline]
            fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
                check_arity("SUM", args, 1)?;
                if let Some(v) = $extract(&args[0])? {
                    self.sum = $add(self.sum, v);
                }
                Ok(())
            }

            fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
                check_arity("SUM", args, 1)?;
                if let Some(v) = $extract(&args[0])? {
                    self.sum = $sub(self.sum, v);
                }
                Ok(())
            }

            #[inline]
            fn value(&self) -> ScalarValue {
                $out(self.sum)
            }

            fn save(&self) -> Vec<u8> {
                let mut w = Writer::new($tag);
                w.$write(self.sum.into());
                w.finish()
            }

            fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
                let o = same::<$name>("SUM", other)?;
                self.sum = $add(self.sum, o.sum);
                Ok(())
            }

            fn as_any(&self) -> &dyn Any {
                self
            }
        }
    };
}

simple_sum!(
    SumInt,
    i32,
    tag::SUM_INT,
    as_i32,
    i32::wrapping_add,
    i32::wrapping_sub,
    |s| ScalarValue::Int32(Some(s)),
    i64,
    i32
);
simple_sum!(
    SumBigInt,
    i64,
    tag::SUM_BIGINT,
    as_i64,
    i64::wrapping_add,
    i64::wrapping_sub,
    |s| ScalarValue::Int64(Some(s)),
    i64,
    i64
);
simple_sum!(
    SumDouble,
    f64,
    tag::SUM_DOUBLE,
    as_f64,
    |a: f64, b: f64| a + b,
    |a: f64, b: f64| a - b,
    |s| ScalarValue::Float64(Some(s)),
    f64,
    f64
);

/// SUM of a DECIMAL(p, s): the unscaled value at scale s, overflowing at 10^p.
#[derive(Debug)]
pub(crate) struct SumDecimal {
    precision: u8,
    scale: i8,
    /// 10^precision: the first unscaled value that does not fit.
    limit: i128,
    sum: i128,
}

impl SumDecimal {
    pub fn new(precision: u8, scale: i8) -> Self {
        SumDecimal {
            precision,
            scale,
            limit: pow10(u32::from(precision)).unwrap_or(i128::MAX),
            sum: 0,
        }
    }

    pub fn load(precision: u8, scale: i8, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::SUM_DECIMAL)?;
        let sum = r.i128()?;
        r.finish()?;
        Ok(SumDecimal {
            sum,
            ..SumDecimal::new(precision, scale)
        })
    }

    fn overflow(&self, got: String) -> AggregateError {
        AggregateError::Overflow(format!(
            "Numeric field overflow: A field with precision {} and scale {} must round to an absolute value less than 10^{}. Got {got}",
            self.precision,
            self.scale,
            i32::from(self.precision) - i32::from(self.scale)
        ))
    }

    /// Adds `v` (unscaled at this scale), failing if the result does not fit.
    fn add_unscaled(&mut self, v: i128) -> Result<(), AggregateError> {
        let sum = self
            .sum
            .checked_add(v)
            .ok_or_else(|| self.overflow("a value beyond 10^38".into()))?;
        if sum.unsigned_abs() >= self.limit.unsigned_abs() {
            return Err(self.overflow(fmt_decimal(sum, self.scale)));
        }
        self.sum = sum;
        Ok(())
    }
}

impl Accumulator for SumDecimal {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("SUM", args, 1)?;
        match as_decimal(&args[0], self.scale)? {
            Some(v) => self.add_unscaled(v),
            None => Ok(()),
        }
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("SUM", args, 1)?;
        if let Some(v) = as_decimal(&args[0], self.scale)? {
            // ksqlDB's undo does not check the precision.
            self.sum = self
                .sum
                .checked_sub(v)
                .ok_or_else(|| self.overflow("a value beyond 10^38".into()))?;
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        ScalarValue::Decimal128(Some(self.sum), self.precision, self.scale)
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::SUM_DECIMAL);
        w.i128(self.sum);
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<SumDecimal>("SUM", other)?;
        let v = o.sum;
        self.add_unscaled(v)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The element type of SUM_LIST's array (and its result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListElem {
    Int,
    BigInt,
    Double,
}

#[derive(Debug, Clone, Copy)]
enum ListSum {
    Int(i32),
    BigInt(i64),
    Double(f64),
}

#[derive(Debug)]
pub(crate) struct SumList {
    sum: ListSum,
}

impl SumList {
    pub fn new(e: ListElem) -> Self {
        SumList {
            sum: match e {
                ListElem::Int => ListSum::Int(0),
                ListElem::BigInt => ListSum::BigInt(0),
                ListElem::Double => ListSum::Double(0.0),
            },
        }
    }

    pub fn load(e: ListElem, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::SUM_LIST)?;
        let sum = match e {
            ListElem::Int => ListSum::Int(r.i32()?),
            ListElem::BigInt => ListSum::BigInt(r.i64()?),
            ListElem::Double => ListSum::Double(r.f64()?),
        };
        r.finish()?;
        Ok(SumList { sum })
    }

    /// The sum of one row's array (ksqlDB's `sumList`: from 0, skipping null elements), or
    /// `None` for a null array.
    fn row_sum(&self, v: &ScalarValue) -> Result<Option<ListSum>, AggregateError> {
        let list = match v {
            ScalarValue::List(l) => l,
            ScalarValue::Null => return Ok(None),
            _ => return Err(super::values::wrong_type("an ARRAY", v)),
        };
        if list.is_empty() || list.is_null(0) {
            return Ok(None);
        }
        let items = list.value(0);
        let bad = || super::values::wrong_type("an ARRAY of the declared element type", v);
        Ok(Some(match self.sum {
            ListSum::Int(_) => ListSum::Int(
                items
                    .as_primitive_opt::<Int32Type>()
                    .ok_or_else(bad)?
                    .iter()
                    .flatten()
                    .fold(0i32, i32::wrapping_add),
            ),
            ListSum::BigInt(_) => ListSum::BigInt(
                items
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(bad)?
                    .iter()
                    .flatten()
                    .fold(0i64, i64::wrapping_add),
            ),
            ListSum::Double(_) => ListSum::Double(
                items
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(bad)?
                    .iter()
                    .flatten()
                    .fold(0.0, |a, b| a + b),
            ),
        }))
    }

    fn combine(&mut self, row: ListSum, negate: bool) {
        self.sum = match (self.sum, row) {
            (ListSum::Int(a), ListSum::Int(b)) if negate => ListSum::Int(a.wrapping_sub(b)),
            (ListSum::Int(a), ListSum::Int(b)) => ListSum::Int(a.wrapping_add(b)),
            (ListSum::BigInt(a), ListSum::BigInt(b)) if negate => {
                ListSum::BigInt(a.wrapping_sub(b))
            }
            (ListSum::BigInt(a), ListSum::BigInt(b)) => ListSum::BigInt(a.wrapping_add(b)),
            (ListSum::Double(a), ListSum::Double(b)) if negate => ListSum::Double(a - b),
            (ListSum::Double(a), ListSum::Double(b)) => ListSum::Double(a + b),
            (s, _) => s,
        }
    }
}

impl Accumulator for SumList {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("SUM_LIST", args, 1)?;
        if let Some(row) = self.row_sum(&args[0])? {
            self.combine(row, false);
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("SUM_LIST", args, 1)?;
        if let Some(row) = self.row_sum(&args[0])? {
            self.combine(row, true);
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        match self.sum {
            ListSum::Int(s) => ScalarValue::Int32(Some(s)),
            ListSum::BigInt(s) => ScalarValue::Int64(Some(s)),
            ListSum::Double(s) => ScalarValue::Float64(Some(s)),
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::SUM_LIST);
        match self.sum {
            ListSum::Int(s) => w.i64(i64::from(s)),
            ListSum::BigInt(s) => w.i64(s),
            ListSum::Double(s) => w.f64(s),
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<SumList>("SUM_LIST", other)?.sum;
        self.combine(o, false);
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::super::AggregateFunction;
    use super::*;
    use brook_sql::SqlType;

    fn run(f: &AggregateFunction, rows: &[ScalarValue]) -> Vec<ScalarValue> {
        let mut acc = f.create();
        rows.iter()
            .map(|r| {
                acc.add(std::slice::from_ref(r)).unwrap();
                acc.value()
            })
            .collect()
    }

    fn sum(t: SqlType) -> AggregateFunction {
        AggregateFunction::new("SUM", std::slice::from_ref(&t), 1, vec![], &t).unwrap()
    }

    #[test]
    fn int_sum_starts_at_zero_ignores_nulls_and_wraps() {
        let f = sum(SqlType::Int);
        let i = |v| ScalarValue::Int32(v);
        assert_eq!(f.create().value(), i(Some(0)));
        assert_eq!(
            run(&f, &[i(None), i(Some(100)), i(Some(i32::MAX))]),
            vec![i(Some(0)), i(Some(100)), i(Some(i32::MIN + 99))]
        );
    }

    #[test]
    fn bigint_and_double_sums() {
        let f = sum(SqlType::BigInt);
        let l = |v| ScalarValue::Int64(Some(v));
        assert_eq!(
            run(&f, &[l(2147483648), l(100)]),
            vec![l(2147483648), l(2147483748)]
        );
        let f = sum(SqlType::Double);
        let d = |v| ScalarValue::Float64(Some(v));
        assert_eq!(run(&f, &[d(500.9), d(300.8)]), vec![d(500.9), d(801.7)]);
    }

    #[test]
    fn table_sum_retracts_and_null_rows_leave_zero() {
        // sum.json "sum int left join of table": 0, then 5 replaces null, then 20, then null.
        let f = sum(SqlType::Int);
        let mut a = f.create();
        let i = |v| ScalarValue::Int32(v);
        a.add(&[i(None)]).unwrap();
        assert_eq!(a.value(), i(Some(0)));
        a.retract(&[i(None)]).unwrap();
        a.add(&[i(Some(5))]).unwrap();
        assert_eq!(a.value(), i(Some(5)));
        a.retract(&[i(Some(5))]).unwrap();
        a.add(&[i(Some(20))]).unwrap();
        a.retract(&[i(Some(20))]).unwrap();
        a.add(&[i(None)]).unwrap();
        assert_eq!(a.value(), i(Some(0)));
    }

    #[test]
    fn decimal_sum_keeps_its_type_and_overflows_like_ksqldb() {
        let t = SqlType::decimal(4, 1);
        let f = sum(t);
        let d = |v| ScalarValue::Decimal128(Some(v), 4, 1);
        let mut a = f.create();
        assert_eq!(a.value(), d(0));
        for v in [5009, 3008] {
            a.add(&[d(v)]).unwrap();
        }
        assert_eq!(a.value(), d(8017));
        let e = a.add(&[d(4008)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Numeric field overflow: A field with precision 4 and scale 1 must round to an absolute value less than 10^3. Got 1202.5"
        );
        // The failed row left the sum as it was.
        assert_eq!(a.value(), d(8017));
        // A DECIMAL(6,2) sum of the same values fits ("should not overflow with cast").
        let f = sum(SqlType::decimal(6, 2));
        let mut b = f.create();
        for v in [5009, 3008, 4008] {
            b.add(&[ScalarValue::Decimal128(Some(v), 4, 1)]).unwrap();
        }
        assert_eq!(b.value(), ScalarValue::Decimal128(Some(120250), 6, 2));
        b.retract(&[ScalarValue::Decimal128(Some(5009), 4, 1)])
            .unwrap();
        assert_eq!(b.value(), ScalarValue::Decimal128(Some(70160), 6, 2));
        assert_eq!(f.load(&b.save()).unwrap().value(), b.value());
    }

    #[test]
    fn sum_of_null_literal_type_is_int_zero() {
        let f = AggregateFunction::new("SUM", &[SqlType::Null], 1, vec![], &SqlType::Int).unwrap();
        let mut a = f.create();
        a.add(&[ScalarValue::Null]).unwrap();
        assert_eq!(a.value(), ScalarValue::Int32(Some(0)));
    }

    fn list(t: &SqlType, vals: &[ScalarValue]) -> ScalarValue {
        let dt = crate::catalog::sql_to_arrow(&SqlType::array(t.clone()));
        super::super::values::list_scalar(
            super::super::values::list_field(&dt).unwrap(),
            vals.to_vec(),
        )
        .unwrap()
    }

    #[test]
    fn sum_list_as_in_sum_json() {
        let t = SqlType::Double;
        let f = AggregateFunction::new("SUM_LIST", &[SqlType::array(t.clone())], 1, vec![], &t)
            .unwrap();
        let d = |v| ScalarValue::Float64(Some(v));
        let rows = [
            list(&t, &[d(1.0), d(1.0)]),
            list(&t, &[d(2.0), d(2.0)]),
            list(&t, &[d(922337203685.0), d(1.0)]),
            list(&t, &[d(1.0), d(1.0), ScalarValue::Float64(None)]),
        ];
        assert_eq!(
            run(&f, &rows),
            vec![d(2.0), d(6.0), d(922337203692.0), d(922337203694.0)]
        );
        let t = SqlType::Int;
        let f = AggregateFunction::new("SUM_LIST", &[SqlType::array(t.clone())], 1, vec![], &t)
            .unwrap();
        let i = |v| ScalarValue::Int32(Some(v));
        let mut a = f.create();
        a.add(&[list(&t, &[i(100), i(100), ScalarValue::Int32(None)])])
            .unwrap();
        a.add(&[ScalarValue::List(Arc::new(
            arrow::array::ListArray::new_null(
                super::super::values::list_field(&crate::catalog::sql_to_arrow(&SqlType::array(
                    t.clone(),
                )))
                .unwrap()
                .clone(),
                1,
            ),
        ))])
        .unwrap();
        assert_eq!(a.value(), i(200));
        a.retract(&[list(&t, &[i(50)])]).unwrap();
        assert_eq!(a.value(), i(150));
        assert_eq!(f.load(&a.save()).unwrap().value(), i(150));
    }

    use std::sync::Arc;
}
