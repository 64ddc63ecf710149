//! HISTOGRAM: a `MAP<STRING, BIGINT>` of each distinct string of a group to how many times
//! it occurs.
//!
//! As ksqlDB's `HistogramUdaf`: at most 1000 distinct strings (further new ones are
//! ignored, known ones still counted); retractable (a count that drops below 1 removes its
//! entry). Brook skips null strings (a map key cannot be null) and lists entries in key
//! order.

use std::any::Any;
use std::collections::BTreeMap;

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::ScalarValue;

use super::codec::{tag, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{map_scalar, typed_null, wrong_type};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};
use brook_sql::SqlType;

/// `HISTOGRAM(col)`.
pub(crate) const HISTOGRAM: AggregateDef = AggregateDef {
    name: "HISTOGRAM",
    description: "Returns a map of each distinct String from the input Stream or Table and how many times each occurs. This version limits the size of the resultant Map to 1000 entries. Any entries added beyond this limit will be ignored.",
    variations: &[variation("val VARCHAR", "MAP<VARCHAR, BIGINT>", "Build a value-to-count histogram of input Strings")],
    column_args: Some(1),
    return_type: |args| match args {
        [SqlType::String] => Some(SqlType::map(SqlType::String, SqlType::BigInt)),
        _ => None,
    },
    alternatives: &["val VARCHAR"],
    build: build_histogram,
};

fn build_histogram(b: &Build) -> Result<Kind, AggregateError> {
    match (b.arg_types, b.data_type) {
        ([SqlType::String], DataType::Map(entries, _)) => Ok(Kind::Histogram(entries.clone())),
        _ => Err(b.bad_types()),
    }
}

/// ksqlDB's limit on distinct entries.
const LIMIT: usize = 1000;

#[derive(Debug)]
pub(crate) struct Histogram {
    entries: FieldRef,
    counts: BTreeMap<String, i64>,
}

impl Histogram {
    pub fn new(entries: FieldRef) -> Self {
        Histogram {
            entries,
            counts: BTreeMap::new(),
        }
    }

    pub fn load(entries: FieldRef, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::HISTOGRAM)?;
        let n = r.len()?;
        let mut counts = BTreeMap::new();
        for _ in 0..n {
            let k = r.string()?;
            counts.insert(k, r.i64()?);
        }
        r.finish()?;
        Ok(Histogram { entries, counts })
    }

    fn bump(&mut self, k: &str, by: i64) {
        if let Some(c) = self.counts.get_mut(k) {
            *c += by;
        } else if self.counts.len() < LIMIT {
            self.counts.insert(k.to_owned(), by);
        }
    }
}

fn string_arg(v: &ScalarValue) -> Result<Option<&str>, AggregateError> {
    match v {
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            Ok(s.as_deref())
        }
        ScalarValue::Null => Ok(None),
        _ => Err(wrong_type("a STRING", v)),
    }
}

impl Accumulator for Histogram {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("HISTOGRAM", args, 1)?;
        if let Some(k) = string_arg(&args[0])? {
            self.bump(k, 1);
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("HISTOGRAM", args, 1)?;
        if let Some(k) = string_arg(&args[0])? {
            if let Some(c) = self.counts.get_mut(k) {
                *c -= 1;
                if *c < 1 {
                    self.counts.remove(k);
                }
            }
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        let keys = self
            .counts
            .keys()
            .map(|k| ScalarValue::Utf8(Some(k.clone())))
            .collect();
        let values = self
            .counts
            .values()
            .map(|c| ScalarValue::Int64(Some(*c)))
            .collect();
        map_scalar(&self.entries, keys, values)
            .unwrap_or_else(|_| typed_null(&DataType::Map(self.entries.clone(), false)))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::HISTOGRAM);
        w.usize(self.counts.len());
        for (k, c) in &self.counts {
            w.bytes(k.as_bytes());
            w.i64(*c);
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Histogram>("HISTOGRAM", other)?;
        for (k, c) in &o.counts {
            self.bump(k, *c);
        }
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
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    use brook_sql::SqlType;

    fn pairs(v: &ScalarValue) -> Vec<(String, i64)> {
        let ScalarValue::Map(m) = v else {
            panic!("not a map: {v:?}")
        };
        let row = m.value(0);
        let k = row.column(0).as_string::<i32>();
        let c = row.column(1).as_primitive::<Int64Type>();
        (0..row.len())
            .map(|i| (k.value(i).to_string(), c.value(i)))
            .collect()
    }

    fn f() -> AggregateFunction {
        AggregateFunction::new(
            "HISTOGRAM",
            &[SqlType::String],
            1,
            vec![],
            &SqlType::map(SqlType::String, SqlType::BigInt),
        )
        .unwrap()
    }

    #[test]
    fn counts_each_string() {
        let func = f();
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        let mut a = func.create();
        assert_eq!(pairs(&a.value()), vec![]);
        for v in [s("b"), s("a"), s("b"), ScalarValue::Utf8(None)] {
            a.add(&[v]).unwrap();
        }
        let v = a.value();
        assert_eq!(v.data_type(), *func.data_type());
        assert_eq!(pairs(&v), vec![("a".into(), 1), ("b".into(), 2)]);
        a.retract(&[s("a")]).unwrap();
        a.retract(&[s("zzz")]).unwrap();
        assert_eq!(pairs(&a.value()), vec![("b".into(), 2)]);
        let back = func.load(&a.save()).unwrap();
        assert_eq!(back.value(), a.value());
        assert!(func.supports_retract());
    }

    #[test]
    fn at_most_a_thousand_entries() {
        let func = f();
        let mut a = func.create();
        for i in 0..1005 {
            a.add(&[ScalarValue::Utf8(Some(format!("k{i:04}")))])
                .unwrap();
        }
        a.add(&[ScalarValue::Utf8(Some("k0000".into()))]).unwrap();
        let p = pairs(&a.value());
        assert_eq!(p.len(), 1000);
        assert_eq!(p[0], ("k0000".into(), 2));
        assert!(!p.iter().any(|(k, _)| k == "k1004"));
    }
}
