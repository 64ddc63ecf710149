//! ATTR: the group's one value, or null when it has seen more than one distinct value.
//!
//! As ksqlDB's `Attr`: a count per distinct value (null counts as a value); the result is
//! the value when exactly one has a positive count. Retractable: a retraction lowers its
//! value's count (never below 0), so a table group whose rows come to agree again gets its
//! value back.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::codec::{read_value, tag, value_key, write_value_or_null, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{conform, typed_null};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};

/// `ATTR(col)`.
pub(crate) const ATTR: AggregateDef = AggregateDef {
    name: "ATTR",
    description: "Returns the value of a column if it is the same for every row of the group, NULL otherwise.",
    variations: &[variation("val T", "T", "The group's one value, or NULL when it has more than one distinct value.")],
    column_args: None,
    return_type: |args| match args {
        [t] => Some(t.clone()),
        _ => None,
    },
    alternatives: &["val T"],
    build: build_attr,
};

fn build_attr(b: &Build) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [t] if t == b.return_type => Ok(Kind::Attr(Arc::new(b.data_type.clone()))),
        _ => Err(b.bad_types()),
    }
}

#[derive(Debug, Clone)]
struct Entry {
    value: ScalarValue,
    /// The encoding of `value`, its identity.
    key: Vec<u8>,
    count: i32,
}

#[derive(Debug)]
pub(crate) struct Attr {
    dt: Arc<DataType>,
    /// Few entries: ATTR is meant for groups with one value.
    entries: Vec<Entry>,
}

impl Attr {
    pub fn new(dt: Arc<DataType>) -> Self {
        Attr {
            dt,
            entries: Vec::new(),
        }
    }

    pub fn load(dt: Arc<DataType>, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::ATTR)?;
        let n = r.len()?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let value = read_value(&mut r, &dt)?;
            let count = r.i32()?;
            let key = value_key(&value, &dt)?;
            entries.push(Entry { value, key, count });
        }
        r.finish()?;
        Ok(Attr { dt, entries })
    }

    fn update(&mut self, value: ScalarValue, delta: i32) -> Result<(), AggregateError> {
        let key = value_key(&value, &self.dt)?;
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => e.count = e.count.saturating_add(delta).max(0),
            None if delta > 0 => self.entries.push(Entry {
                value,
                key,
                count: delta,
            }),
            None => {}
        }
        Ok(())
    }
}

impl Accumulator for Attr {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("ATTR", args, 1)?;
        let v = conform(&args[0], &self.dt)?;
        self.update(v, 1)
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("ATTR", args, 1)?;
        let v = conform(&args[0], &self.dt)?;
        self.update(v, -1)
    }

    fn value(&self) -> ScalarValue {
        let mut live = self.entries.iter().filter(|e| e.count > 0);
        match (live.next(), live.next()) {
            (Some(e), None) => e.value.clone(),
            _ => typed_null(&self.dt),
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::ATTR);
        w.usize(self.entries.len());
        for e in &self.entries {
            write_value_or_null(&mut w, &e.value, &self.dt);
            w.i64(i64::from(e.count));
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Attr>("ATTR", other)?;
        for e in &o.entries {
            self.update(e.value.clone(), e.count)?;
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
    use brook_sql::SqlType;

    fn f(t: SqlType) -> AggregateFunction {
        AggregateFunction::new("ATTR", std::slice::from_ref(&t), 1, vec![], &t).unwrap()
    }

    fn s(v: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(v.into()))
    }

    const NULL: ScalarValue = ScalarValue::Utf8(None);

    fn run(rows: &[ScalarValue]) -> Vec<ScalarValue> {
        let func = f(SqlType::String);
        let mut a = func.create();
        rows.iter()
            .map(|r| {
                a.add(std::slice::from_ref(r)).unwrap();
                assert_eq!(func.load(&a.save()).unwrap().value(), a.value());
                a.value()
            })
            .collect()
    }

    // Expected values: attr.json.
    #[test]
    fn one_value_or_null() {
        assert_eq!(run(&[s("s"), s("s"), s("s")]), vec![s("s"), s("s"), s("s")]);
        assert_eq!(run(&[NULL, NULL, NULL]), vec![NULL, NULL, NULL]);
        assert_eq!(run(&[s("1"), s("2"), s("3")]), vec![s("1"), NULL, NULL]);
        assert_eq!(run(&[s("1"), NULL, s("1")]), vec![s("1"), NULL, NULL]);
        assert_eq!(run(&[NULL, s("2"), s("2")]), vec![NULL, NULL, NULL]);
    }

    #[test]
    fn table_attr_with_tombstones() {
        let func = f(SqlType::String);
        let mut a = func.create();
        let mut out = vec![];
        // k1 -> "1"; k2 -> "1"; k1 deleted; k2 deleted; k1 -> "2"; k2 -> "3"; k2 deleted.
        a.add(&[s("1")]).unwrap();
        out.push(a.value());
        a.add(&[s("1")]).unwrap();
        out.push(a.value());
        a.retract(&[s("1")]).unwrap();
        out.push(a.value());
        a.retract(&[s("1")]).unwrap();
        out.push(a.value());
        a.add(&[s("2")]).unwrap();
        out.push(a.value());
        a.add(&[s("3")]).unwrap();
        out.push(a.value());
        a.retract(&[s("3")]).unwrap();
        out.push(a.value());
        assert_eq!(
            out,
            vec![s("1"), s("1"), s("1"), NULL, s("2"), NULL, s("2")]
        );
        // Retracting what was never added changes nothing.
        a.retract(&[s("9")]).unwrap();
        assert_eq!(a.value(), s("2"));
    }

    #[test]
    fn attr_of_arrays_and_merge() {
        let t = SqlType::array(SqlType::Int);
        let func = f(t.clone());
        let dt = crate::catalog::sql_to_arrow(&t);
        let field = super::super::values::list_field(&dt).unwrap();
        let l = |v: &[i32]| {
            super::super::values::list_scalar(field, v.iter().map(|x| ScalarValue::Int32(Some(*x))))
                .unwrap()
        };
        let mut a = func.create();
        a.add(&[l(&[1, 2, 3])]).unwrap();
        a.add(&[l(&[1, 2, 3])]).unwrap();
        assert_eq!(a.value(), l(&[1, 2, 3]));
        let mut b = func.create();
        b.add(&[l(&[4])]).unwrap();
        a.merge(b.as_ref()).unwrap();
        assert_eq!(a.value(), typed_null(&dt));
        assert_eq!(func.load(&a.save()).unwrap().value(), typed_null(&dt));
    }
}
