//! COUNT and COUNT_DISTINCT.
//!
//! `COUNT(*)` counts rows, `COUNT(col)` the rows where `col` is not null; both start at 0
//! and are retractable. `COUNT_DISTINCT(col)` counts the distinct non-null values; ksqlDB
//! estimates it with a HyperLogLog sketch (about 1% error), Brook counts exactly by keeping
//! a stable 64-bit hash of each distinct value. Like ksqlDB's it is not retractable.

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::codec::{stable_hash, tag, value_key, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};
use crate::catalog::sql_to_arrow;
use brook_sql::SqlType;

/// `COUNT(*)`, `COUNT()`, `COUNT(col)`.
pub(crate) const COUNT: AggregateDef = AggregateDef {
    name: "COUNT",
    description: "Counts records by key.",
    variations: &[
        variation(
            "",
            "BIGINT",
            "Counts all records (COUNT(*)); the same as COUNT().",
        ),
        variation(
            "val ANY",
            "BIGINT",
            "Counts the records whose val is not NULL.",
        ),
    ],
    column_args: None,
    return_type: |args| match args {
        [] | [_] => Some(SqlType::BigInt),
        _ => None,
    },
    alternatives: &["", "val ANY"],
    build: build_count,
};

/// `COUNT_DISTINCT(col)`.
pub(crate) const COUNT_DISTINCT: AggregateDef = AggregateDef {
    name: "COUNT_DISTINCT",
    description: "Returns the number of distinct non-NULL values of a column, per key.",
    variations: &[variation(
        "val T",
        "BIGINT",
        "Counts the distinct values of a primitive column (Brook counts exactly; ksqlDB estimates with HyperLogLog).",
    )],
    column_args: None,
    return_type: |args| match args {
        [t] if t.is_primitive() => Some(SqlType::BigInt),
        _ => None,
    },
    alternatives: &["val T"],
    build: build_count_distinct,
};

fn build_count(b: &Build) -> Result<Kind, AggregateError> {
    if *b.return_type != SqlType::BigInt {
        return Err(b.bad_types());
    }
    Ok(match b.arg_types {
        [] => Kind::Count(CountMode::Rows),
        [_] => match b.lit(0) {
            None => Kind::Count(CountMode::NonNull),
            Some(v) if v.is_null() => Kind::Count(CountMode::Zero),
            Some(_) => Kind::Count(CountMode::Rows),
        },
        _ => return Err(b.bad_types()),
    })
}

fn build_count_distinct(b: &Build) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if *b.return_type == SqlType::BigInt && t.is_primitive() => {
            Ok(Kind::CountDistinct(Arc::new(sql_to_arrow(t))))
        }
        _ => Err(b.bad_types()),
    }
}

/// What a COUNT counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CountMode {
    /// `COUNT(*)`, `COUNT(1)`: every row.
    Rows,
    /// `COUNT(col)`: rows whose value is not null.
    NonNull,
    /// `COUNT(NULL)`: nothing.
    Zero,
}

/// A COUNT's saved state (also written by the count column, column.rs).
pub(crate) fn save_count(n: i64) -> Vec<u8> {
    let mut w = Writer::new(tag::COUNT);
    w.i64(n);
    w.finish()
}

/// A state written by [`save_count`].
pub(crate) fn load_count(bytes: &[u8]) -> Result<i64, AggregateError> {
    let mut r = Reader::new(bytes, tag::COUNT)?;
    let n = r.i64()?;
    r.finish()?;
    Ok(n)
}

#[derive(Debug)]
pub(crate) struct Count {
    mode: CountMode,
    columns: usize,
    n: i64,
}

impl Count {
    pub fn new(mode: CountMode, columns: usize) -> Self {
        Count {
            mode,
            columns,
            n: 0,
        }
    }

    pub fn load(mode: CountMode, columns: usize, bytes: &[u8]) -> Result<Self, AggregateError> {
        let n = load_count(bytes)?;
        Ok(Count { mode, columns, n })
    }

    #[inline]
    fn counts(&self, args: &[ScalarValue]) -> Result<bool, AggregateError> {
        Ok(match self.mode {
            // COUNT(*) counts rows whatever the runtime passes.
            CountMode::Rows => true,
            CountMode::Zero => false,
            CountMode::NonNull => {
                check_arity("COUNT", args, self.columns)?;
                !args[0].is_null()
            }
        })
    }
}

impl Accumulator for Count {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if self.counts(args)? {
            self.n += 1;
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if self.counts(args)? {
            self.n -= 1;
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.n))
    }

    fn save(&self) -> Vec<u8> {
        save_count(self.n)
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        self.n += same::<Count>("COUNT", other)?.n;
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[derive(Debug)]
pub(crate) struct CountDistinct {
    arg: Arc<DataType>,
    seen: HashSet<u64>,
}

impl CountDistinct {
    pub fn new(arg: Arc<DataType>) -> Self {
        CountDistinct {
            arg,
            seen: HashSet::new(),
        }
    }

    pub fn load(arg: Arc<DataType>, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::COUNT_DISTINCT)?;
        let n = r.len()?;
        let mut seen = HashSet::with_capacity(n);
        for _ in 0..n {
            seen.insert(r.u64()?);
        }
        r.finish()?;
        Ok(CountDistinct { arg, seen })
    }
}

impl Accumulator for CountDistinct {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("COUNT_DISTINCT", args, 1)?;
        let v = &args[0];
        if v.is_null() {
            return Ok(());
        }
        let v = super::values::conform(v, &self.arg)?;
        self.seen.insert(stable_hash(&value_key(&v, &self.arg)?));
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(AggregateError::NotRetractable("COUNT_DISTINCT".into()))
    }

    fn value(&self) -> ScalarValue {
        ScalarValue::Int64(Some(self.seen.len() as i64))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::COUNT_DISTINCT);
        // Sorted, so equal states save to equal bytes.
        let mut hashes: Vec<u64> = self.seen.iter().copied().collect();
        hashes.sort_unstable();
        w.usize(hashes.len());
        for h in hashes {
            w.u64(h);
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<CountDistinct>("COUNT_DISTINCT", other)?;
        self.seen.extend(o.seen.iter().copied());
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

    fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.into()))
    }

    #[test]
    fn count_star_counts_rows_and_count_col_skips_nulls() {
        let star = AggregateFunction::new("COUNT", &[], 0, vec![], &SqlType::BigInt).unwrap();
        let col = AggregateFunction::new("COUNT", &[SqlType::String], 1, vec![], &SqlType::BigInt)
            .unwrap();
        let mut a = star.create();
        let mut b = col.create();
        assert_eq!(a.value(), ScalarValue::Int64(Some(0)));
        for v in [s("a"), ScalarValue::Utf8(None), s("b"), ScalarValue::Null] {
            a.add(&[]).unwrap();
            b.add(std::slice::from_ref(&v)).unwrap();
        }
        assert_eq!(a.value(), ScalarValue::Int64(Some(4)));
        assert_eq!(b.value(), ScalarValue::Int64(Some(2)));
        // Retraction over a table: a null row takes nothing back.
        b.retract(&[ScalarValue::Utf8(None)]).unwrap();
        b.retract(&[s("a")]).unwrap();
        a.retract(&[]).unwrap();
        assert_eq!(a.value(), ScalarValue::Int64(Some(3)));
        assert_eq!(b.value(), ScalarValue::Int64(Some(1)));
        assert_eq!(col.load(&b.save()).unwrap().value(), b.value());
        assert!(b.add(&[]).is_err());
    }

    #[test]
    fn count_of_a_literal() {
        let one = AggregateFunction::new(
            "COUNT",
            &[SqlType::Int],
            0,
            vec![ScalarValue::Int32(Some(1))],
            &SqlType::BigInt,
        )
        .unwrap();
        let mut a = one.create();
        a.add(&[]).unwrap();
        a.add(&[]).unwrap();
        assert_eq!(a.value(), ScalarValue::Int64(Some(2)));
        // COUNT(1) with the literal evaluated per row (column_args 1) counts rows too.
        let per_row =
            AggregateFunction::new("COUNT", &[SqlType::Int], 1, vec![], &SqlType::BigInt).unwrap();
        let mut b = per_row.create();
        b.add(&[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(b.value(), ScalarValue::Int64(Some(1)));
    }

    #[test]
    fn count_distinct_as_in_count_distinct_json() {
        let f = AggregateFunction::new(
            "COUNT_DISTINCT",
            &[SqlType::String],
            1,
            vec![],
            &SqlType::BigInt,
        )
        .unwrap();
        let mut foo = f.create();
        let mut seen = vec![];
        for v in [
            s("one"),
            s("two"),
            s("one"),
            s("two"),
            ScalarValue::Utf8(None),
        ] {
            foo.add(&[v]).unwrap();
            seen.push(foo.value());
        }
        let i = |n| ScalarValue::Int64(Some(n));
        assert_eq!(seen, vec![i(1), i(2), i(2), i(2), i(2)]);
        assert!(matches!(
            foo.retract(&[s("one")]),
            Err(AggregateError::NotRetractable(_))
        ));
        let back = f.load(&foo.save()).unwrap();
        assert_eq!(back.value(), i(2));
        assert_eq!(back.save(), foo.save());
        let mut other = f.create();
        other.add(&[s("three")]).unwrap();
        other.add(&[s("one")]).unwrap();
        foo.merge(other.as_ref()).unwrap();
        assert_eq!(foo.value(), i(3));
        assert!(!f.supports_retract());
    }
}
