//! AVG: the sum divided by the count of non-null values, as a DOUBLE.
//!
//! As ksqlDB's `AverageUdaf`: the sum keeps the argument's type (an INT sum wraps like
//! Java's `int`, a BIGINT sum like `long`; DOUBLE and DECIMAL sum as doubles), nulls are
//! skipped, and an empty group averages to 0.0. Retractable.

use std::any::Any;

use datafusion::common::ScalarValue;

use super::codec::{tag, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{as_f64, as_i32, as_i64};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};
use brook_sql::SqlType;

/// `AVG(col)`.
pub(crate) const AVG: AggregateDef = AggregateDef {
    name: "AVG",
    description: "Returns the average value of the column computed as the sum divided by the count. Applicable only to numeric types.",
    variations: &[
        variation("val INT", "DOUBLE", "Compute average of column with type Integer."),
        variation("val BIGINT", "DOUBLE", "Compute average of column with type Long."),
        variation("val DOUBLE", "DOUBLE", "Compute average of column with type Double."),
        variation("val DECIMAL", "DOUBLE", "Compute average of column with type Decimal."),
    ],
    column_args: None,
    return_type: |args| match args {
        [t] if t.is_numeric() => Some(SqlType::Double),
        _ => None,
    },
    alternatives: &["val NUMERIC"],
    build: build_avg,
};

fn build_avg(b: &Build) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if *b.return_type == SqlType::Double => Ok(Kind::Avg(match t {
            SqlType::Int => AvgKind::Int,
            SqlType::BigInt => AvgKind::BigInt,
            SqlType::Double | SqlType::Decimal { .. } | SqlType::Null => AvgKind::Double,
            _ => return Err(b.bad_types()),
        })),
        _ => Err(b.bad_types()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AvgKind {
    Int,
    BigInt,
    /// DOUBLE, and DECIMAL widened to DOUBLE.
    Double,
}

#[derive(Debug, Clone, Copy)]
enum Sum {
    Int(i32),
    BigInt(i64),
    Double(f64),
}

#[derive(Debug)]
pub(crate) struct Avg {
    sum: Sum,
    count: i64,
}

impl Avg {
    pub fn new(k: AvgKind) -> Self {
        Avg {
            sum: match k {
                AvgKind::Int => Sum::Int(0),
                AvgKind::BigInt => Sum::BigInt(0),
                AvgKind::Double => Sum::Double(0.0),
            },
            count: 0,
        }
    }

    pub fn load(k: AvgKind, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::AVG)?;
        let sum = match k {
            AvgKind::Int => Sum::Int(r.i32()?),
            AvgKind::BigInt => Sum::BigInt(r.i64()?),
            AvgKind::Double => Sum::Double(r.f64()?),
        };
        let count = r.i64()?;
        r.finish()?;
        Ok(Avg { sum, count })
    }

    /// Adds (`sign` 1) or subtracts (-1) a row; nulls change nothing.
    #[inline]
    fn fold(&mut self, v: &ScalarValue, sign: i64) -> Result<(), AggregateError> {
        let present = match &mut self.sum {
            Sum::Int(s) => match as_i32(v)? {
                Some(x) if sign > 0 => {
                    *s = s.wrapping_add(x);
                    true
                }
                Some(x) => {
                    *s = s.wrapping_sub(x);
                    true
                }
                None => false,
            },
            Sum::BigInt(s) => match as_i64(v)? {
                Some(x) if sign > 0 => {
                    *s = s.wrapping_add(x);
                    true
                }
                Some(x) => {
                    *s = s.wrapping_sub(x);
                    true
                }
                None => false,
            },
            Sum::Double(s) => match as_f64(v)? {
                Some(x) if sign > 0 => {
                    *s += x;
                    true
                }
                Some(x) => {
                    *s -= x;
                    true
                }
                None => false,
            },
        };
        if present {
            self.count += sign;
        }
        Ok(())
    }
}

impl Accumulator for Avg {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("AVG", args, 1)?;
        self.fold(&args[0], 1)
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("AVG", args, 1)?;
        self.fold(&args[0], -1)
    }

    fn value(&self) -> ScalarValue {
        if self.count == 0 {
            return ScalarValue::Float64(Some(0.0));
        }
        let sum = match self.sum {
            Sum::Int(s) => f64::from(s),
            Sum::BigInt(s) => s as f64,
            Sum::Double(s) => s,
        };
        ScalarValue::Float64(Some(sum / self.count as f64))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::AVG);
        match self.sum {
            Sum::Int(s) => w.i64(i64::from(s)),
            Sum::BigInt(s) => w.i64(s),
            Sum::Double(s) => w.f64(s),
        }
        w.i64(self.count);
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Avg>("AVG", other)?;
        self.sum = match (self.sum, o.sum) {
            (Sum::Int(a), Sum::Int(b)) => Sum::Int(a.wrapping_add(b)),
            (Sum::BigInt(a), Sum::BigInt(b)) => Sum::BigInt(a.wrapping_add(b)),
            (Sum::Double(a), Sum::Double(b)) => Sum::Double(a + b),
            _ => {
                return Err(AggregateError::InvalidArgument(
                    "cannot merge AVG states over other types".into(),
                ))
            }
        };
        self.count += o.count;
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

    fn avg(t: SqlType) -> AggregateFunction {
        AggregateFunction::new("AVG", &[t], 1, vec![], &SqlType::Double).unwrap()
    }

    fn d(v: f64) -> ScalarValue {
        ScalarValue::Float64(Some(v))
    }

    #[test]
    fn average_long_as_in_average_udaf_json() {
        let f = avg(SqlType::BigInt);
        let mut alice = f.create();
        let mut out = vec![];
        for v in [Some(-1), Some(9223372036854775807), Some(1), None] {
            alice.add(&[ScalarValue::Int64(v)]).unwrap();
            out.push(alice.value());
        }
        assert_eq!(
            out,
            vec![
                d(-1.0),
                d(4.611686018427388e18),
                d(3.0744573456182584e18),
                d(3.0744573456182584e18)
            ]
        );
        assert_eq!(f.load(&alice.save()).unwrap().value(), alice.value());
    }

    #[test]
    fn average_int_and_double() {
        let f = avg(SqlType::Int);
        let mut a = f.create();
        assert_eq!(a.value(), d(0.0));
        for v in [1, 2, 2] {
            a.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        assert_eq!(a.value(), d(1.6666666666666667));
        let f = avg(SqlType::Double);
        let mut b = f.create();
        for v in [2.3, -200000.6, 0.0] {
            b.add(&[d(v)]).unwrap();
        }
        assert_eq!(b.value(), d(-66666.1));
        // DECIMAL averages as DOUBLE.
        let f = avg(SqlType::decimal(4, 1));
        let mut c = f.create();
        c.add(&[ScalarValue::Decimal128(Some(15), 4, 1)]).unwrap();
        c.add(&[ScalarValue::Decimal128(Some(25), 4, 1)]).unwrap();
        assert_eq!(c.value(), d(2.0));
    }

    #[test]
    fn average_over_a_table_retracts() {
        // average-udaf.json "average udaf with table": 1, 2; alice -> null; alice -> 4.
        let f = avg(SqlType::Int);
        let mut a = f.create();
        let i = ScalarValue::Int32;
        a.add(&[i(Some(1))]).unwrap();
        assert_eq!(a.value(), d(1.0));
        a.add(&[i(Some(2))]).unwrap();
        assert_eq!(a.value(), d(1.5));
        a.retract(&[i(Some(1))]).unwrap();
        a.add(&[i(None)]).unwrap();
        assert_eq!(a.value(), d(2.0));
        a.retract(&[i(None)]).unwrap();
        a.add(&[i(Some(4))]).unwrap();
        assert_eq!(a.value(), d(3.0));
        let mut b = f.create();
        b.add(&[i(Some(9))]).unwrap();
        a.merge(b.as_ref()).unwrap();
        assert_eq!(a.value(), d(5.0));
    }
}
