//! MIN and MAX over the comparable primitive types (numbers, DECIMAL, STRING, BYTES, DATE,
//! TIME, TIMESTAMP, BOOLEAN).
//!
//! As in ksqlDB: nulls are ignored and the result is null until a value arrives; ordering
//! is Java's (`Double.compareTo` puts NaN above everything and -0.0 below 0.0, strings by
//! UTF-16 units, BYTES as signed bytes). Not retractable: ksqlDB refuses MIN and MAX over a
//! table. The state is a plain typed field: folding in a number does not allocate, and a
//! string or bytes value reuses the stored buffer.

use std::any::Any;
use std::cmp::Ordering;

use datafusion::common::ScalarValue;

use super::codec::{corrupt, tag, Reader, Writer};
use super::def::{comparable, variation, AggregateDef, Build};
use super::values::{as_decimal, java_cmp_bytes, java_cmp_f64, java_cmp_str, wrong_type, Prim};
use super::Kind;
use super::{check_arity, invalid, same, Accumulator, AggregateError};
use brook_sql::SqlType;

fn same_comparable(args: &[SqlType]) -> Option<SqlType> {
    match args {
        [t] if comparable(t) => Some(t.clone()),
        _ => None,
    }
}

/// `MIN(col)`.
pub(crate) const MIN: AggregateDef = AggregateDef {
    name: "MIN",
    description: "Computes the minimum value of a column, per key; NULL values are ignored.",
    variations: &[variation(
        "val T",
        "T",
        "The least value of a numeric, STRING, BYTES, DATE, TIME, TIMESTAMP or BOOLEAN column.",
    )],
    column_args: None,
    return_type: same_comparable,
    alternatives: &["val T"],
    build: build_min,
};

/// `MAX(col)`.
pub(crate) const MAX: AggregateDef = AggregateDef {
    name: "MAX",
    description: "Computes the maximum value of a column, per key; NULL values are ignored.",
    variations: &[variation(
        "val T",
        "T",
        "The greatest value of a numeric, STRING, BYTES, DATE, TIME, TIMESTAMP or BOOLEAN column.",
    )],
    column_args: None,
    return_type: same_comparable,
    alternatives: &["val T"],
    build: build_max,
};

fn build_min_max(b: &Build, max: bool) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if t == b.return_type => Ok(Kind::MinMax {
            max,
            prim: Prim::of(t).ok_or_else(|| b.bad_types())?,
        }),
        _ => Err(b.bad_types()),
    }
}

fn build_min(b: &Build) -> Result<Kind, AggregateError> {
    build_min_max(b, false)
}

fn build_max(b: &Build) -> Result<Kind, AggregateError> {
    build_min_max(b, true)
}

#[derive(Debug, Clone, PartialEq)]
enum Best {
    Bool(Option<bool>),
    /// INT, DATE, TIME.
    I32(Option<i32>),
    /// BIGINT, TIMESTAMP.
    I64(Option<i64>),
    F64(Option<f64>),
    /// DECIMAL, unscaled at the declared scale.
    Dec(Option<i128>),
    Str(Option<String>),
    Bin(Option<Vec<u8>>),
}

#[derive(Debug)]
pub(crate) struct MinMax {
    max: bool,
    prim: Prim,
    best: Best,
}

/// Whether `new` replaces `cur` (strictly better; ties keep the first, as ksqlDB's
/// `Math.max`-style comparisons do for equal values).
#[inline]
fn better(max: bool, ord: Ordering) -> bool {
    if max {
        ord == Ordering::Greater
    } else {
        ord == Ordering::Less
    }
}

#[inline]
fn fold<T: Copy>(cur: &mut Option<T>, new: T, max: bool, cmp: impl Fn(&T, &T) -> Ordering) {
    match cur {
        Some(c) if !better(max, cmp(&new, c)) => {}
        _ => *cur = Some(new),
    }
}

impl MinMax {
    pub fn new(max: bool, prim: Prim) -> Self {
        let best = match prim {
            Prim::Boolean => Best::Bool(None),
            Prim::Int | Prim::Date | Prim::Time => Best::I32(None),
            Prim::BigInt | Prim::Timestamp => Best::I64(None),
            Prim::Double => Best::F64(None),
            Prim::Decimal(..) => Best::Dec(None),
            Prim::String => Best::Str(None),
            Prim::Bytes => Best::Bin(None),
        };
        MinMax { max, prim, best }
    }

    fn name(&self) -> &'static str {
        if self.max {
            "MAX"
        } else {
            "MIN"
        }
    }

    pub fn load(max: bool, prim: Prim, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut m = MinMax::new(max, prim);
        let mut r = Reader::new(bytes, tag::MIN_MAX)?;
        if r.bool()? != max {
            return Err(corrupt("a MIN state loaded as MAX or the reverse"));
        }
        if r.bool()? {
            match &mut m.best {
                Best::Bool(b) => *b = Some(r.bool()?),
                Best::I32(b) => *b = Some(r.i32()?),
                Best::I64(b) => *b = Some(r.i64()?),
                Best::F64(b) => *b = Some(r.f64()?),
                Best::Dec(b) => *b = Some(r.i128()?),
                Best::Str(b) => *b = Some(r.string()?),
                Best::Bin(b) => *b = Some(r.bytes()?.to_vec()),
            }
        }
        r.finish()?;
        Ok(m)
    }
}

impl Accumulator for MinMax {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity(self.name(), args, 1)?;
        use ScalarValue as S;
        let v = &args[0];
        let max = self.max;
        match (&mut self.best, self.prim, v) {
            (_, _, v) if v.is_null() => {}
            (Best::Bool(c), _, S::Boolean(Some(x))) => fold(c, *x, max, bool::cmp),
            (Best::I32(c), Prim::Int, S::Int32(Some(x)))
            | (Best::I32(c), Prim::Date, S::Date32(Some(x)))
            | (Best::I32(c), Prim::Time, S::Time32Millisecond(Some(x))) => {
                fold(c, *x, max, i32::cmp)
            }
            (Best::I64(c), Prim::BigInt, S::Int64(Some(x)))
            | (Best::I64(c), Prim::Timestamp, S::TimestampMillisecond(Some(x), _)) => {
                fold(c, *x, max, i64::cmp)
            }
            (Best::F64(c), _, S::Float64(Some(x))) => fold(c, *x, max, |a, b| java_cmp_f64(*a, *b)),
            (Best::Dec(c), Prim::Decimal(_, scale), v) => {
                if let Some(x) = as_decimal(v, scale)? {
                    fold(c, x, max, i128::cmp)
                }
            }
            (Best::Str(c), _, S::Utf8(Some(x))) => match c {
                Some(cur) if !better(max, java_cmp_str(x, cur)) => {}
                Some(cur) => {
                    cur.clear();
                    cur.push_str(x);
                }
                None => *c = Some(x.clone()),
            },
            (Best::Bin(c), _, S::Binary(Some(x))) => match c {
                Some(cur) if !better(max, java_cmp_bytes(x, cur)) => {}
                Some(cur) => {
                    cur.clear();
                    cur.extend_from_slice(x);
                }
                None => *c = Some(x.clone()),
            },
            (_, _, v) => {
                // Another representation of the declared type (an INT for a BIGINT...).
                let dt = crate::catalog::sql_to_arrow(&prim_sql(self.prim));
                let c = v.cast_to(&dt).map_err(|_| wrong_type(&dt.to_string(), v))?;
                if c.is_null() || std::mem::discriminant(&c) == std::mem::discriminant(v) {
                    return Err(wrong_type(&dt.to_string(), v));
                }
                return self.add(&[c]);
            }
        }
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(AggregateError::NotRetractable(self.name().into()))
    }

    fn value(&self) -> ScalarValue {
        use ScalarValue as S;
        match (&self.best, self.prim) {
            (Best::Bool(b), _) => S::Boolean(*b),
            (Best::I32(b), Prim::Date) => S::Date32(*b),
            (Best::I32(b), Prim::Time) => S::Time32Millisecond(*b),
            (Best::I32(b), _) => S::Int32(*b),
            (Best::I64(b), Prim::Timestamp) => S::TimestampMillisecond(*b, None),
            (Best::I64(b), _) => S::Int64(*b),
            (Best::F64(b), _) => S::Float64(*b),
            (Best::Dec(b), Prim::Decimal(p, s)) => S::Decimal128(*b, p, s),
            (Best::Dec(b), _) => S::Decimal128(*b, 38, 0),
            (Best::Str(b), _) => S::Utf8(b.clone()),
            (Best::Bin(b), _) => S::Binary(b.clone()),
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::MIN_MAX);
        w.bool(self.max);
        match &self.best {
            Best::Bool(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.bool(*b)
                }
            }
            Best::I32(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.i64(i64::from(*b))
                }
            }
            Best::I64(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.i64(*b)
                }
            }
            Best::F64(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.f64(*b)
                }
            }
            Best::Dec(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.i128(*b)
                }
            }
            Best::Str(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.bytes(b.as_bytes())
                }
            }
            Best::Bin(b) => {
                w.bool(b.is_some());
                if let Some(b) = b {
                    w.bytes(b)
                }
            }
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<MinMax>(self.name(), other)?;
        if o.max != self.max || o.prim != self.prim {
            return Err(invalid("cannot merge MIN and MAX states of other types"));
        }
        let v = o.value();
        if v.is_null() {
            return Ok(());
        }
        self.add(&[v])
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn prim_sql(p: Prim) -> brook_sql::SqlType {
    use brook_sql::SqlType as T;
    match p {
        Prim::Boolean => T::Boolean,
        Prim::Int => T::Int,
        Prim::BigInt => T::BigInt,
        Prim::Double => T::Double,
        Prim::Decimal(p, s) => T::decimal(u32::from(p), s.max(0) as u32),
        Prim::String => T::String,
        Prim::Bytes => T::Bytes,
        Prim::Date => T::Date,
        Prim::Time => T::Time,
        Prim::Timestamp => T::Timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::super::AggregateFunction;
    use super::*;
    use brook_sql::SqlType;

    fn f(name: &str, t: SqlType) -> AggregateFunction {
        AggregateFunction::new(name, std::slice::from_ref(&t), 1, vec![], &t).unwrap()
    }

    fn run(f: &AggregateFunction, rows: &[ScalarValue]) -> Vec<ScalarValue> {
        let mut acc = f.create();
        let out = rows
            .iter()
            .map(|r| {
                acc.add(std::slice::from_ref(r)).unwrap();
                acc.value()
            })
            .collect();
        // Every state survives a save and load.
        let back = f.load(&acc.save()).unwrap();
        assert_eq!(back.value(), acc.value());
        out
    }

    #[test]
    fn max_integer_as_in_max_group_by_json() {
        let i = ScalarValue::Int32;
        assert_eq!(
            run(
                &f("MAX", SqlType::Int),
                &[
                    i(None),
                    i(Some(-2147483647)),
                    i(Some(5)),
                    i(None),
                    i(Some(2000)),
                    i(Some(100))
                ]
            ),
            vec![
                i(None),
                i(Some(-2147483647)),
                i(Some(5)),
                i(Some(5)),
                i(Some(2000)),
                i(Some(2000))
            ]
        );
    }

    #[test]
    fn min_of_strings_dates_timestamps() {
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        assert_eq!(
            run(
                &f("MIN", SqlType::String),
                &[s("B"), s("A"), ScalarValue::Utf8(None), s("C")]
            ),
            vec![s("B"), s("A"), s("A"), s("A")]
        );
        let d = |v| ScalarValue::Date32(Some(v));
        assert_eq!(
            run(&f("MAX", SqlType::Date), &[d(-100), d(5), d(1)]),
            vec![d(-100), d(5), d(5)]
        );
        let t = |v| ScalarValue::TimestampMillisecond(Some(v), None);
        assert_eq!(
            run(&f("MIN", SqlType::Timestamp), &[t(50), t(-1), t(0)]),
            vec![t(50), t(-1), t(-1)]
        );
        let tm = |v| ScalarValue::Time32Millisecond(Some(v));
        assert_eq!(
            run(&f("MAX", SqlType::Time), &[tm(10), tm(110), tm(6)]),
            vec![tm(10), tm(110), tm(110)]
        );
    }

    #[test]
    fn doubles_and_decimals_follow_java() {
        let d = |v| ScalarValue::Float64(Some(v));
        let out = run(&f("MAX", SqlType::Double), &[d(1.0), d(f64::NAN), d(2.0)]);
        assert!(matches!(out[2], ScalarValue::Float64(Some(x)) if x.is_nan()));
        let out = run(&f("MIN", SqlType::Double), &[d(0.0), d(-0.0)]);
        assert!(matches!(out[1], ScalarValue::Float64(Some(x)) if x.is_sign_negative()));
        let dec = |v| ScalarValue::Decimal128(Some(v), 4, 2);
        assert_eq!(
            run(
                &f("MAX", SqlType::decimal(4, 2)),
                &[dec(-1012), dec(0), dec(510), dec(-5)]
            ),
            vec![dec(-1012), dec(0), dec(510), dec(510)]
        );
    }

    #[test]
    fn bytes_compare_signed_and_booleans_work() {
        let b = |v: &[u8]| ScalarValue::Binary(Some(v.to_vec()));
        assert_eq!(
            run(
                &f("MAX", SqlType::Bytes),
                &[b(b"B"), b(b"A"), b(&[0x80]), b(b"G")]
            ),
            vec![b(b"B"), b(b"B"), b(b"B"), b(b"G")]
        );
        assert_eq!(
            run(&f("MIN", SqlType::Bytes), &[b(b"Q"), b(&[0x80])]),
            vec![b(b"Q"), b(&[0x80])]
        );
        let t = |v| ScalarValue::Boolean(Some(v));
        assert_eq!(
            run(&f("MIN", SqlType::Boolean), &[t(true), t(false), t(true)]),
            vec![t(true), t(false), t(false)]
        );
    }

    #[test]
    fn not_retractable_and_merges() {
        let m = f("MAX", SqlType::BigInt);
        let mut a = m.create();
        assert!(matches!(
            a.retract(&[ScalarValue::Int64(Some(1))]),
            Err(AggregateError::NotRetractable(_))
        ));
        assert!(!m.supports_retract());
        a.add(&[ScalarValue::Int64(Some(3))]).unwrap();
        // A narrower integer is accepted for a BIGINT.
        a.add(&[ScalarValue::Int32(Some(4))]).unwrap();
        let mut b = m.create();
        b.add(&[ScalarValue::Int64(Some(9))]).unwrap();
        a.merge(b.as_ref()).unwrap();
        assert_eq!(a.value(), ScalarValue::Int64(Some(9)));
        assert!(a.add(&[ScalarValue::Utf8(Some("x".into()))]).is_err());
        let min = f("MIN", SqlType::BigInt);
        assert!(min.load(&a.save()).is_err());
        let c = min.create();
        assert!(a.merge(c.as_ref()).is_err());
    }
}
