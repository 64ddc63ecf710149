//! The statistical aggregates: STDDEV_SAMPLE, STDDEV_SAMP, VARIANCE and CORRELATION, all
//! returning DOUBLE and all retractable.
//!
//! The standard deviations follow ksqlDB's Youngs-Cramer updates operation for operation
//! (so results match to the last bit), including its integer arithmetic: the sum keeps the
//! argument's type (INT wraps as Java's `int`), and STDDEV_SAMP keeps its count in an
//! `int`. Fewer than two values give 0.0. ksqlDB's STDDEV_SAMP returns the sample
//! *variance* (a bug it keeps for compatibility, documented in its tests), STDDEV_SAMPLE
//! the standard deviation; Brook's VARIANCE is the sample variance computed as
//! STDDEV_SAMPLE. DECIMAL arguments are widened to DOUBLE.
//!
//! CORRELATION is Pearson's coefficient from running sums of x, y, x², y² and xy over the
//! rows where both are non-null; NaN until it is defined, as in ksqlDB.

use std::any::Any;

use datafusion::common::ScalarValue;

use super::codec::{corrupt, tag, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{as_f64, as_i32, as_i64};
use super::Kind;
use super::{check_arity, invalid, same, Accumulator, AggregateError};
use brook_sql::SqlType;

fn numeric_to_double(args: &[SqlType]) -> Option<SqlType> {
    match args {
        [t] if t.is_numeric() => Some(SqlType::Double),
        _ => None,
    }
}

/// `STDDEV_SAMP(col)`.
pub(crate) const STDDEV_SAMP: AggregateDef = AggregateDef {
    name: "STDDEV_SAMP",
    description: "Returns the sample standard deviation of the column. (As ksqlDB's, it returns the square of the standard deviation; use STDDEV_SAMPLE for the standard deviation.)",
    variations: &[variation("val NUMERIC", "DOUBLE", "Computes the sample variance of an INT, BIGINT, DOUBLE or DECIMAL column.")],
    column_args: None,
    return_type: numeric_to_double,
    alternatives: &["val NUMERIC"],
    build: build_stddev_samp,
};

/// `STDDEV_SAMPLE(col)`.
pub(crate) const STDDEV_SAMPLE: AggregateDef = AggregateDef {
    name: "STDDEV_SAMPLE",
    description: "Returns the sample standard deviation of the column.",
    variations: &[variation(
        "val NUMERIC",
        "DOUBLE",
        "Computes the sample standard deviation of an INT, BIGINT, DOUBLE or DECIMAL column.",
    )],
    column_args: None,
    return_type: numeric_to_double,
    alternatives: &["val NUMERIC"],
    build: build_stddev_sample,
};

/// `VARIANCE(col)`.
pub(crate) const VARIANCE: AggregateDef = AggregateDef {
    name: "VARIANCE",
    description: "Returns the sample variance of the column.",
    variations: &[variation(
        "val NUMERIC",
        "DOUBLE",
        "Computes the sample variance of an INT, BIGINT, DOUBLE or DECIMAL column.",
    )],
    column_args: None,
    return_type: numeric_to_double,
    alternatives: &["val NUMERIC"],
    build: build_variance,
};

/// `CORRELATION(x, y)`.
pub(crate) const CORRELATION: AggregateDef = AggregateDef {
    name: "CORRELATION",
    description: "Computes the Pearson correlation coefficient between two columns of data.",
    variations: &[variation(
        "x DOUBLE, y DOUBLE",
        "DOUBLE",
        "Computes the correlation of two numeric columns over the rows where both are not NULL.",
    )],
    column_args: None,
    return_type: |args| match args {
        [x, y] if x.is_numeric() && y.is_numeric() => Some(SqlType::Double),
        _ => None,
    },
    alternatives: &["x DOUBLE, y DOUBLE"],
    build: build_correlation,
};

fn build_stddev(b: &Build, kind: StdKind) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if *b.return_type == SqlType::Double => {
            let num = match t {
                SqlType::Int => Num::Int,
                SqlType::BigInt => Num::BigInt,
                SqlType::Double | SqlType::Decimal { .. } | SqlType::Null => Num::Double,
                _ => return Err(b.bad_types()),
            };
            Ok(Kind::Stddev(kind, num))
        }
        _ => Err(b.bad_types()),
    }
}

fn build_stddev_samp(b: &Build) -> Result<Kind, AggregateError> {
    build_stddev(b, StdKind::Samp)
}

fn build_stddev_sample(b: &Build) -> Result<Kind, AggregateError> {
    build_stddev(b, StdKind::Sample)
}

fn build_variance(b: &Build) -> Result<Kind, AggregateError> {
    build_stddev(b, StdKind::Variance)
}

fn build_correlation(b: &Build) -> Result<Kind, AggregateError> {
    let numeric = |t: &SqlType| t.is_numeric() || *t == SqlType::Null;
    match b.arg_types {
        [x, y] if *b.return_type == SqlType::Double && numeric(x) && numeric(y) => {
            Ok(Kind::Correlation)
        }
        _ => Err(b.bad_types()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdKind {
    /// ksqlDB's STDDEV_SAMP: `int` count, returns M2 / (n - 1).
    Samp,
    /// STDDEV_SAMPLE: `long` count, returns sqrt(M2 / (n - 1)).
    Sample,
    /// Sample variance: STDDEV_SAMPLE's arithmetic without the square root.
    Variance,
}

impl StdKind {
    fn name(self) -> &'static str {
        match self {
            StdKind::Samp => "STDDEV_SAMP",
            StdKind::Sample => "STDDEV_SAMPLE",
            StdKind::Variance => "VARIANCE",
        }
    }

    fn int_count(self) -> bool {
        self == StdKind::Samp
    }
}

/// The argument's numeric family, which the running sum keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    Int,
    BigInt,
    Double,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Sum {
    Int(i32),
    BigInt(i64),
    Double(f64),
}

#[derive(Debug, Clone, Copy)]
enum X {
    Int(i32),
    BigInt(i64),
    Double(f64),
}

#[derive(Debug)]
pub(crate) struct Stddev {
    kind: StdKind,
    count: i64,
    sum: Sum,
    m2: f64,
}

impl Stddev {
    pub fn new(kind: StdKind, num: Num) -> Self {
        Stddev {
            kind,
            count: 0,
            sum: match num {
                Num::Int => Sum::Int(0),
                Num::BigInt => Sum::BigInt(0),
                Num::Double => Sum::Double(0.0),
            },
            m2: 0.0,
        }
    }

    pub fn load(kind: StdKind, num: Num, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut s = Stddev::new(kind, num);
        let mut r = Reader::new(bytes, tag::STDDEV)?;
        s.count = r.i64()?;
        s.sum = match num {
            Num::Int => Sum::Int(r.i32()?),
            Num::BigInt => Sum::BigInt(r.i64()?),
            Num::Double => Sum::Double(r.f64()?),
        };
        s.m2 = r.f64()?;
        r.finish()?;
        if s.count < 0 {
            return Err(corrupt("negative count"));
        }
        Ok(s)
    }

    fn arg(&self, v: &ScalarValue) -> Result<Option<X>, AggregateError> {
        Ok(match self.sum {
            Sum::Int(_) => as_i32(v)?.map(X::Int),
            Sum::BigInt(_) => as_i64(v)?.map(X::BigInt),
            Sum::Double(_) => as_f64(v)?.map(X::Double),
        })
    }

    /// ksqlDB's `createDelta(aggregate, x)`: x·(n+1) − (sum + x), in the sum's type (and,
    /// for STDDEV_SAMP, with an `int` count).
    fn delta(&self, x: X) -> f64 {
        let n = self.count;
        match (self.sum, x) {
            (Sum::Int(s), X::Int(x)) if self.kind.int_count() => {
                x.wrapping_mul((n as i32).wrapping_add(1))
                    .wrapping_sub(s.wrapping_add(x)) as f64
            }
            (Sum::Int(s), X::Int(x)) => {
                (i64::from(x)
                    .wrapping_mul(n.wrapping_add(1))
                    .wrapping_sub(i64::from(s.wrapping_add(x)))) as f64
            }
            (Sum::BigInt(s), X::BigInt(x)) => {
                let n1 = if self.kind.int_count() {
                    i64::from((n as i32).wrapping_add(1))
                } else {
                    n.wrapping_add(1)
                };
                x.wrapping_mul(n1).wrapping_sub(s.wrapping_add(x)) as f64
            }
            (Sum::Double(s), X::Double(x)) => x * (n + 1) as f64 - (s + x),
            _ => f64::NAN,
        }
    }

    /// `a * b` in the count's type, as a double.
    fn count_product(&self, a: i64, b: i64) -> f64 {
        if self.kind.int_count() {
            (a as i32).wrapping_mul(b as i32) as f64
        } else {
            a.wrapping_mul(b) as f64
        }
    }

    fn add_to_sum(&mut self, x: X, sign: i64) {
        self.sum = match (self.sum, x) {
            (Sum::Int(s), X::Int(x)) if sign > 0 => Sum::Int(s.wrapping_add(x)),
            (Sum::Int(s), X::Int(x)) => Sum::Int(s.wrapping_sub(x)),
            (Sum::BigInt(s), X::BigInt(x)) if sign > 0 => Sum::BigInt(s.wrapping_add(x)),
            (Sum::BigInt(s), X::BigInt(x)) => Sum::BigInt(s.wrapping_sub(x)),
            (Sum::Double(s), X::Double(x)) if sign > 0 => Sum::Double(s + x),
            (Sum::Double(s), X::Double(x)) => Sum::Double(s - x),
            (s, _) => s,
        };
    }

    fn wrap_count(&self, n: i64) -> i64 {
        if self.kind.int_count() {
            i64::from(n as i32)
        } else {
            n
        }
    }
}

impl Accumulator for Stddev {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity(self.kind.name(), args, 1)?;
        let Some(x) = self.arg(&args[0])? else {
            return Ok(());
        };
        let new_count = self.wrap_count(self.count + 1);
        let new_m2 = if new_count - 1 > 0 {
            let d = self.delta(x);
            d * d / self.count_product(new_count, new_count - 1)
        } else {
            0.0
        };
        self.add_to_sum(x, 1);
        self.m2 += new_m2;
        self.count = new_count;
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity(self.kind.name(), args, 1)?;
        let Some(x) = self.arg(&args[0])? else {
            return Ok(());
        };
        let new_count = self.count - 1;
        let new_m2 = if new_count > 0 {
            let d = self.delta(x);
            d * d / self.count_product(new_count, new_count + 1)
        } else {
            0.0
        };
        self.add_to_sum(x, -1);
        self.m2 -= new_m2;
        self.count = new_count;
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        if self.count < 2 {
            return ScalarValue::Float64(Some(0.0));
        }
        let variance = self.m2 / (self.count as f64 - 1.0);
        ScalarValue::Float64(Some(match self.kind {
            StdKind::Sample => variance.sqrt(),
            StdKind::Samp | StdKind::Variance => variance,
        }))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::STDDEV);
        w.i64(self.count);
        match self.sum {
            Sum::Int(s) => w.i64(i64::from(s)),
            Sum::BigInt(s) => w.i64(s),
            Sum::Double(s) => w.f64(s),
        }
        w.f64(self.m2);
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Stddev>(self.kind.name(), other)?;
        if o.kind != self.kind
            || std::mem::discriminant(&o.sum) != std::mem::discriminant(&self.sum)
        {
            return Err(invalid(
                "cannot merge standard deviations of different calls",
            ));
        }
        let (c1, c2) = (self.count, o.count);
        let new_count = self.wrap_count(c1 + c2);
        let m2 = if c1 == 0 || c2 == 0 {
            self.m2 + o.m2
        } else {
            // ksqlDB's `mergeInner`: the difference of the means (integer division for
            // STDDEV_SAMP over integers).
            let inner = match (self.sum, o.sum) {
                (Sum::Int(a), Sum::Int(b)) if self.kind.int_count() => {
                    let mean = |s: i32, c: i64| s.checked_div(c as i32).unwrap_or(0);
                    mean(a, c1).wrapping_sub(mean(b, c2)) as f64
                }
                (Sum::BigInt(a), Sum::BigInt(b)) if self.kind.int_count() => {
                    let mean = |s: i64, c: i64| s.checked_div(c).unwrap_or(0);
                    mean(a, c1).wrapping_sub(mean(b, c2)) as f64
                }
                (Sum::Int(a), Sum::Int(b)) => f64::from(a) / c1 as f64 - f64::from(b) / c2 as f64,
                (Sum::BigInt(a), Sum::BigInt(b)) => a as f64 / c1 as f64 - b as f64 / c2 as f64,
                (Sum::Double(a), Sum::Double(b)) => a / c1 as f64 - b / c2 as f64,
                _ => f64::NAN,
            };
            self.m2 + o.m2 + self.count_product(c1, c2) * inner * inner / new_count as f64
        };
        let sum = match o.sum {
            Sum::Int(s) => X::Int(s),
            Sum::BigInt(s) => X::BigInt(s),
            Sum::Double(s) => X::Double(s),
        };
        self.add_to_sum(sum, 1);
        self.m2 = m2;
        self.count = new_count;
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[derive(Debug, Default)]
pub(crate) struct Correlation {
    x_sum: f64,
    y_sum: f64,
    x_squared_sum: f64,
    y_squared_sum: f64,
    xy_sum: f64,
    count: i64,
}

impl Correlation {
    pub fn load(bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::CORRELATION)?;
        let c = Correlation {
            x_sum: r.f64()?,
            y_sum: r.f64()?,
            x_squared_sum: r.f64()?,
            y_squared_sum: r.f64()?,
            xy_sum: r.f64()?,
            count: r.i64()?,
        };
        r.finish()?;
        Ok(c)
    }

    fn pair(args: &[ScalarValue]) -> Result<Option<(f64, f64)>, AggregateError> {
        check_arity("CORRELATION", args, 2)?;
        Ok(match (as_f64(&args[0])?, as_f64(&args[1])?) {
            (Some(x), Some(y)) => Some((x, y)),
            _ => None,
        })
    }
}

impl Accumulator for Correlation {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if let Some((x, y)) = Self::pair(args)? {
            self.x_sum += x;
            self.y_sum += y;
            self.x_squared_sum += x * x;
            self.y_squared_sum += y * y;
            self.xy_sum += x * y;
            self.count += 1;
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if let Some((x, y)) = Self::pair(args)? {
            self.x_sum -= x;
            self.y_sum -= y;
            self.x_squared_sum -= x * x;
            self.y_squared_sum -= y * y;
            self.xy_sum -= x * y;
            self.count -= 1;
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        let n = self.count as f64;
        let numerator = n * self.xy_sum - self.x_sum * self.y_sum;
        let denominator_x = n * self.x_squared_sum - self.x_sum * self.x_sum;
        let denominator_y = n * self.y_squared_sum - self.y_sum * self.y_sum;
        let denominator = (denominator_x * denominator_y).sqrt();
        ScalarValue::Float64(Some(numerator / denominator))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::CORRELATION);
        for v in [
            self.x_sum,
            self.y_sum,
            self.x_squared_sum,
            self.y_squared_sum,
            self.xy_sum,
        ] {
            w.f64(v);
        }
        w.i64(self.count);
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Correlation>("CORRELATION", other)?;
        self.x_sum += o.x_sum;
        self.y_sum += o.y_sum;
        self.x_squared_sum += o.x_squared_sum;
        self.y_squared_sum += o.y_squared_sum;
        self.xy_sum += o.xy_sum;
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

    fn f(name: &str, t: SqlType) -> AggregateFunction {
        AggregateFunction::new(name, &[t], 1, vec![], &SqlType::Double).unwrap()
    }

    fn run(f: &AggregateFunction, rows: &[ScalarValue]) -> Vec<f64> {
        let mut acc = f.create();
        let out = rows
            .iter()
            .map(|r| {
                acc.add(std::slice::from_ref(r)).unwrap();
                match acc.value() {
                    ScalarValue::Float64(Some(v)) => v,
                    v => panic!("{v:?}"),
                }
            })
            .collect();
        let back = f.load(&acc.save()).unwrap();
        assert_eq!(format!("{:?}", back.value()), format!("{:?}", acc.value()));
        out
    }

    fn ints(v: &[Option<i32>]) -> Vec<ScalarValue> {
        v.iter().map(|v| ScalarValue::Int32(*v)).collect()
    }

    fn longs(v: &[Option<i64>]) -> Vec<ScalarValue> {
        v.iter().map(|v| ScalarValue::Int64(*v)).collect()
    }

    fn doubles(v: &[Option<f64>]) -> Vec<ScalarValue> {
        v.iter().map(|v| ScalarValue::Float64(*v)).collect()
    }

    // Expected values: ksqlDB's standarddeviation.json.
    #[test]
    fn stddev_sample_matches_ksqldb() {
        let key0 = ints(&[Some(0), Some(10), Some(7), Some(6)]);
        assert_eq!(
            run(&f("STDDEV_SAMPLE", SqlType::Int), &key0),
            vec![
                0.0,
                7.0710678118654755,
                5.131601439446884,
                4.193248541803041
            ]
        );
        let key100 = longs(&[Some(500), Some(100), Some(0), Some(-6)]);
        assert_eq!(
            run(&f("STDDEV_SAMPLE", SqlType::BigInt), &key100),
            vec![0.0, 282.842712474619, 264.5751311064591, 239.32335169528832]
        );
        let key0 = longs(&[Some(2147483648), Some(100), Some(-2), None]);
        assert_eq!(
            run(&f("STDDEV_SAMPLE", SqlType::BigInt), &key0),
            vec![
                0.0,
                1.5185001792773468E9,
                1.2398502339629574E9,
                1.2398502339629574E9
            ]
        );
        let key100 = doubles(&[
            Some(9_223_372_036_854.775),
            Some(300.8),
            Some(-200000.6),
            Some(0.0),
        ]);
        assert_eq!(
            run(&f("STDDEV_SAMPLE", SqlType::Double), &key100),
            vec![
                0.0,
                6.521908912453693E12,
                5.32511638596254E12,
                4.611686051710689E12
            ]
        );
        let map = doubles(&[Some(10.0), Some(12.0), Some(13.0), Some(14.0), Some(16.0)]);
        assert_eq!(
            run(&f("STDDEV_SAMPLE", SqlType::Double), &map),
            vec![
                0.0,
                std::f64::consts::SQRT_2,
                1.5275252316519465,
                1.707825127659933,
                2.23606797749979
            ]
        );
    }

    #[test]
    fn stddev_samp_is_ksqldbs_variance() {
        let key0 = ints(&[Some(0), Some(10), Some(7), Some(6)]);
        assert_eq!(
            run(&f("STDDEV_SAMP", SqlType::Int), &key0),
            vec![0.0, 50.0, 26.333333333333332, 17.583333333333332]
        );
        let key100 = ints(&[Some(50), Some(10), Some(3), None]);
        assert_eq!(
            run(&f("STDDEV_SAMP", SqlType::Int), &key100),
            vec![0.0, 800.0, 643.0, 643.0]
        );
        let key0 = longs(&[Some(2147483648), Some(100), Some(-2)]);
        assert_eq!(
            run(&f("STDDEV_SAMP", SqlType::BigInt), &key0),
            vec![0.0, 2.3058427944653343e+18, 1.5372286026580004e+18]
        );
        let key0 = doubles(&[Some(-1.8), Some(2.3), Some(100.2)]);
        assert_eq!(
            run(&f("STDDEV_SAMP", SqlType::Double), &key0),
            vec![0.0, 8.405, 3334.2033333333347]
        );
        let key100 = doubles(&[
            Some(9_223_372_036_854.775),
            Some(300.8),
            Some(-200000.6),
            Some(0.0),
        ]);
        assert_eq!(
            run(&f("STDDEV_SAMP", SqlType::Double), &key100),
            vec![
                0.0,
                4.253529586234292e+25,
                2.835686452404674e+25,
                2.1267648239542927e+25
            ]
        );
        let map = doubles(&[Some(10.0), Some(12.0), Some(13.0), Some(14.0), Some(16.0)]);
        assert_eq!(
            run(&f("VARIANCE", SqlType::Double), &map),
            vec![0.0, 2.0, 2.333333333333333, 2.9166666666666665, 5.0]
        );
    }

    #[test]
    fn stddev_retracts() {
        let func = f("STDDEV_SAMPLE", SqlType::Double);
        let mut a = func.create();
        for v in [10.0, 12.0, 13.0] {
            a.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        a.retract(&[ScalarValue::Float64(Some(13.0))]).unwrap();
        a.retract(&[ScalarValue::Float64(None)]).unwrap();
        // Back to the state of {10, 12}, up to rounding.
        let ScalarValue::Float64(Some(v)) = a.value() else {
            panic!()
        };
        assert!((v - std::f64::consts::SQRT_2).abs() < 1e-12, "{v}");
        a.retract(&[ScalarValue::Float64(Some(12.0))]).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(0.0)));
        // Merging two halves gives the whole.
        let func = f("STDDEV_SAMPLE", SqlType::Double);
        let mut x = func.create();
        let mut y = func.create();
        for v in [10.0, 12.0] {
            x.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        for v in [13.0, 14.0, 16.0] {
            y.add(&[ScalarValue::Float64(Some(v))]).unwrap();
        }
        x.merge(y.as_ref()).unwrap();
        let ScalarValue::Float64(Some(v)) = x.value() else {
            panic!()
        };
        assert!((v - 2.23606797749979).abs() < 1e-12, "{v}");
    }

    fn corr(rows: &[(Option<f64>, Option<f64>)]) -> Vec<ScalarValue> {
        let func = AggregateFunction::new(
            "CORRELATION",
            &[SqlType::Double, SqlType::Double],
            2,
            vec![],
            &SqlType::Double,
        )
        .unwrap();
        let mut a = func.create();
        rows.iter()
            .map(|(x, y)| {
                a.add(&[ScalarValue::Float64(*x), ScalarValue::Float64(*y)])
                    .unwrap();
                let back = func.load(&a.save()).unwrap();
                assert_eq!(format!("{:?}", back.value()), format!("{:?}", a.value()));
                a.value()
            })
            .collect()
    }

    fn is_nan(v: &ScalarValue) -> bool {
        matches!(v, ScalarValue::Float64(Some(x)) if x.is_nan())
    }

    // Expected values: ksqlDB's correlation-udaf.json.
    #[test]
    fn correlation_matches_ksqldb() {
        let alice = corr(&[
            (Some(1.5), Some(8.0)),
            (Some(-1.0), Some(-2.0)),
            (Some(-4.5), Some(-1.0)),
            (None, Some(-6.0)),
        ]);
        assert!(is_nan(&alice[0]));
        assert_eq!(alice[1], ScalarValue::Float64(Some(1.0)));
        assert_eq!(alice[2], ScalarValue::Float64(Some(0.7580764521133173)));
        assert_eq!(alice[3], alice[2]);
        let bob = corr(&[
            (Some(-3.5), Some(-2.0)),
            (Some(13.1), None),
            (Some(3.0), Some(11.0)),
        ]);
        assert!(is_nan(&bob[0]) && is_nan(&bob[1]));
        assert_eq!(bob[2], ScalarValue::Float64(Some(1.0)));
    }

    #[test]
    fn correlation_over_a_table() {
        // "correlation udaf with table": alice(1.5, 8), bob(-3.5, -2), alice -> (-1, -2),
        // charlie(-4.5, -1).
        let func = AggregateFunction::new(
            "CORRELATION",
            &[SqlType::Double, SqlType::Double],
            2,
            vec![],
            &SqlType::Double,
        )
        .unwrap();
        let p = |x: f64, y: f64| [ScalarValue::Float64(Some(x)), ScalarValue::Float64(Some(y))];
        let mut a = func.create();
        a.add(&p(1.5, 8.0)).unwrap();
        a.add(&p(-3.5, -2.0)).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(1.0)));
        a.retract(&p(1.5, 8.0)).unwrap();
        assert!(is_nan(&a.value()));
        a.add(&p(-1.0, -2.0)).unwrap();
        assert!(is_nan(&a.value()));
        a.add(&p(-4.5, -1.0)).unwrap();
        assert_eq!(a.value(), ScalarValue::Float64(Some(-0.7205766921228921)));
        assert!(func.supports_retract());
    }
}
