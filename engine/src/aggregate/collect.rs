//! COLLECT_LIST and COLLECT_SET: the values of a group, as an array in arrival order.
//!
//! As in ksqlDB: nulls are collected too (COLLECT_SET keeps one); values of any type
//! (arrays, maps, structs included); beyond `ksql.functions.collect_list.limit` /
//! `collect_set.limit` entries (unlimited by default) further values are ignored.
//! COLLECT_LIST is retractable (the last equal entry is removed, as ksqlDB's `undo`);
//! COLLECT_SET is not (ksqlDB allows it over streams only).

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::ScalarValue;

use super::codec::{read_value, tag, value_key, write_value_or_null, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{conform, list_scalar, typed_null};
use super::Kind;
use super::{check_arity, same, Accumulator, AggregateError};
use brook_sql::SqlType;

fn array_of_arg(args: &[SqlType]) -> Option<SqlType> {
    match args {
        [t] if *t != SqlType::Null => Some(SqlType::array(t.clone())),
        _ => None,
    }
}

/// `COLLECT_LIST(col)`.
pub(crate) const COLLECT_LIST: AggregateDef = AggregateDef {
    name: "COLLECT_LIST",
    description: "Gather all of the values from an input grouping into a single Array field. You may limit the size of the resultant Array to N entries, beyond which any further values will be silently ignored, by setting the ksql.functions.collect_list.limit configuration to N.",
    variations: &[variation("val T", "ARRAY<T>", "collect values of a field into a single Array")],
    column_args: None,
    return_type: array_of_arg,
    alternatives: &["val T"],
    build: build_collect_list,
};

/// `COLLECT_SET(col)`.
pub(crate) const COLLECT_SET: AggregateDef = AggregateDef {
    name: "COLLECT_SET",
    description: "Gather all of the distinct values from an input grouping into a single Array. You may limit the size of the resultant Array to N entries, beyond which any further values will be silently ignored, by setting the ksql.functions.collect_set.limit configuration to N.",
    variations: &[variation("val T", "ARRAY<T>", "collect distinct values of a field into a single Array")],
    column_args: None,
    return_type: array_of_arg,
    alternatives: &["val T"],
    build: build_collect_set,
};

fn build_collect(b: &Build, list: bool) -> Result<Kind, AggregateError> {
    match b.arg_types {
        [_] => {
            let spec = Arc::new(CollectSpec::new(b.list_field()?));
            Ok(if list {
                Kind::CollectList(spec)
            } else {
                Kind::CollectSet(spec)
            })
        }
        _ => Err(b.bad_types()),
    }
}

fn build_collect_list(b: &Build) -> Result<Kind, AggregateError> {
    build_collect(b, true)
}

fn build_collect_set(b: &Build) -> Result<Kind, AggregateError> {
    build_collect(b, false)
}

/// The element type and limit of a COLLECT_LIST / COLLECT_SET call.
#[derive(Debug, Clone)]
pub(crate) struct CollectSpec {
    /// The element field of the result `ARRAY<T>`.
    pub field: FieldRef,
    pub limit: usize,
}

impl CollectSpec {
    pub fn new(field: FieldRef) -> Self {
        CollectSpec {
            field,
            limit: usize::MAX,
        }
    }

    fn elem(&self) -> &DataType {
        self.field.data_type()
    }

    fn result(&self, items: &[ScalarValue]) -> ScalarValue {
        let dt = DataType::List(self.field.clone());
        list_scalar(&self.field, items.iter().cloned()).unwrap_or_else(|_| typed_null(&dt))
    }

    fn save(&self, t: u8, items: &[ScalarValue]) -> Vec<u8> {
        let mut w = Writer::new(t);
        w.usize(items.len());
        for v in items {
            write_value_or_null(&mut w, v, self.elem());
        }
        w.finish()
    }

    fn load(&self, t: u8, bytes: &[u8]) -> Result<Vec<ScalarValue>, AggregateError> {
        let mut r = Reader::new(bytes, t)?;
        let n = r.len()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(read_value(&mut r, self.elem())?);
        }
        r.finish()?;
        Ok(items)
    }
}

#[derive(Debug)]
pub(crate) struct CollectList {
    spec: Arc<CollectSpec>,
    items: Vec<ScalarValue>,
}

impl CollectList {
    pub fn new(spec: Arc<CollectSpec>) -> Self {
        CollectList {
            spec,
            items: Vec::new(),
        }
    }

    pub fn load(spec: Arc<CollectSpec>, bytes: &[u8]) -> Result<Self, AggregateError> {
        let items = spec.load(tag::COLLECT_LIST, bytes)?;
        Ok(CollectList { spec, items })
    }
}

impl Accumulator for CollectList {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("COLLECT_LIST", args, 1)?;
        let v = conform(&args[0], self.spec.elem())?;
        if self.items.len() < self.spec.limit {
            self.items.push(v);
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("COLLECT_LIST", args, 1)?;
        let v = conform(&args[0], self.spec.elem())?;
        // Not found: it was beyond the limit and never collected.
        if let Some(i) = self.items.iter().rposition(|x| *x == v) {
            self.items.remove(i);
        }
        Ok(())
    }

    fn value(&self) -> ScalarValue {
        self.spec.result(&self.items)
    }

    fn save(&self) -> Vec<u8> {
        self.spec.save(tag::COLLECT_LIST, &self.items)
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<CollectList>("COLLECT_LIST", other)?;
        let room = self.spec.limit.saturating_sub(self.items.len());
        self.items.extend(o.items.iter().take(room).cloned());
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[derive(Debug)]
pub(crate) struct CollectSet {
    spec: Arc<CollectSpec>,
    items: Vec<ScalarValue>,
    /// The encodings of `items`, for membership.
    keys: HashSet<Vec<u8>>,
}

impl CollectSet {
    pub fn new(spec: Arc<CollectSpec>) -> Self {
        CollectSet {
            spec,
            items: Vec::new(),
            keys: HashSet::new(),
        }
    }

    pub fn load(spec: Arc<CollectSpec>, bytes: &[u8]) -> Result<Self, AggregateError> {
        let items = spec.load(tag::COLLECT_SET, bytes)?;
        let keys = items
            .iter()
            .map(|v| value_key(v, spec.elem()))
            .collect::<Result<_, _>>()?;
        Ok(CollectSet { spec, items, keys })
    }

    fn insert(&mut self, v: ScalarValue) -> Result<(), AggregateError> {
        if self.items.len() >= self.spec.limit {
            return Ok(());
        }
        let key = value_key(&v, self.spec.elem())?;
        if self.keys.insert(key) {
            self.items.push(v);
        }
        Ok(())
    }
}

impl Accumulator for CollectSet {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        check_arity("COLLECT_SET", args, 1)?;
        let v = conform(&args[0], self.spec.elem())?;
        self.insert(v)
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(AggregateError::NotRetractable("COLLECT_SET".into()))
    }

    fn value(&self) -> ScalarValue {
        self.spec.result(&self.items)
    }

    fn save(&self) -> Vec<u8> {
        self.spec.save(tag::COLLECT_SET, &self.items)
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<CollectSet>("COLLECT_SET", other)?;
        for v in &o.items {
            self.insert(v.clone())?;
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

    fn f(name: &str, t: SqlType) -> AggregateFunction {
        AggregateFunction::new(
            name,
            std::slice::from_ref(&t),
            1,
            vec![],
            &SqlType::array(t.clone()),
        )
        .unwrap()
    }

    fn items(v: &ScalarValue) -> Vec<ScalarValue> {
        let ScalarValue::List(l) = v else {
            panic!("not a list: {v:?}")
        };
        let a = l.value(0);
        (0..a.len())
            .map(|i| ScalarValue::try_from_array(&a, i).unwrap())
            .collect()
    }

    #[test]
    fn collect_list_keeps_order_duplicates_and_nulls() {
        let func = f("COLLECT_LIST", SqlType::String);
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        let mut a = func.create();
        assert_eq!(items(&a.value()), vec![]);
        assert_eq!(a.value().data_type(), *func.data_type());
        for v in [s("baz"), s("baz"), s("foo"), ScalarValue::Utf8(None)] {
            a.add(&[v]).unwrap();
        }
        assert_eq!(
            items(&a.value()),
            vec![s("baz"), s("baz"), s("foo"), ScalarValue::Utf8(None)]
        );
        let back = func.load(&a.save()).unwrap();
        assert_eq!(back.value(), a.value());
        // Table: the old value of a key comes out.
        a.retract(&[s("baz")]).unwrap();
        a.retract(&[s("nothing")]).unwrap();
        assert_eq!(
            items(&a.value()),
            vec![s("baz"), s("foo"), ScalarValue::Utf8(None)]
        );
    }

    #[test]
    fn collect_list_limit_property() {
        let func = f("COLLECT_LIST", SqlType::Int)
            .with_property("ksql.functions.collect_list.limit", "1")
            .unwrap();
        let mut a = func.create();
        a.add(&[ScalarValue::Int32(Some(0))]).unwrap();
        a.add(&[ScalarValue::Int32(Some(100))]).unwrap();
        assert_eq!(items(&a.value()), vec![ScalarValue::Int32(Some(0))]);
        // Retracting a value that never got in changes nothing.
        a.retract(&[ScalarValue::Int32(Some(100))]).unwrap();
        assert_eq!(items(&a.value()), vec![ScalarValue::Int32(Some(0))]);
        assert!(f("COLLECT_LIST", SqlType::Int)
            .with_property("ksql.functions.collect_list.limit", "x")
            .is_err());
        // The set's property does not apply to the list.
        let func = f("COLLECT_LIST", SqlType::Int)
            .with_property("ksql.functions.collect_set.limit", "1")
            .unwrap();
        let mut b = func.create();
        b.add(&[ScalarValue::Int32(Some(0))]).unwrap();
        b.add(&[ScalarValue::Int32(Some(1))]).unwrap();
        assert_eq!(items(&b.value()).len(), 2);
    }

    #[test]
    fn collect_list_of_nested_values() {
        let t = SqlType::array(SqlType::Int);
        let func = f("COLLECT_LIST", t.clone());
        let dt = crate::catalog::sql_to_arrow(&t);
        let field = super::super::values::list_field(&dt).unwrap();
        let l1 = list_scalar(
            field,
            vec![ScalarValue::Int32(Some(0)), ScalarValue::Int32(None)],
        )
        .unwrap();
        let mut a = func.create();
        a.add(std::slice::from_ref(&l1)).unwrap();
        a.add(&[ScalarValue::Null]).unwrap();
        let v = a.value();
        assert_eq!(v.data_type(), *func.data_type());
        assert_eq!(items(&v), vec![l1.clone(), typed_null(&dt)]);
        assert_eq!(func.load(&a.save()).unwrap().value(), v);
    }

    #[test]
    fn collect_set_is_distinct_and_not_retractable() {
        let func = f("COLLECT_SET", SqlType::Boolean);
        let b = |v| ScalarValue::Boolean(Some(v));
        let mut a = func.create();
        for v in [
            b(true),
            b(false),
            b(true),
            ScalarValue::Boolean(None),
            ScalarValue::Null,
        ] {
            a.add(&[v]).unwrap();
        }
        assert_eq!(
            items(&a.value()),
            vec![b(true), b(false), ScalarValue::Boolean(None)]
        );
        assert!(matches!(
            a.retract(&[b(true)]),
            Err(AggregateError::NotRetractable(_))
        ));
        let mut back = func.load(&a.save()).unwrap();
        assert_eq!(back.value(), a.value());
        back.add(&[b(false)]).unwrap();
        assert_eq!(items(&back.value()).len(), 3);
        let func = f("COLLECT_SET", SqlType::Int)
            .with_property("ksql.functions.collect_set.limit", "2")
            .unwrap();
        let mut c = func.create();
        for v in [1, 1, 2, 3] {
            c.add(&[ScalarValue::Int32(Some(v))]).unwrap();
        }
        assert_eq!(
            items(&c.value()),
            vec![ScalarValue::Int32(Some(1)), ScalarValue::Int32(Some(2))]
        );
    }

    #[test]
    fn merging_sessions_appends_up_to_the_limit() {
        let func = f("COLLECT_LIST", SqlType::Int)
            .with_property("ksql.functions.collect_list.limit", "3")
            .unwrap();
        let i = |v| ScalarValue::Int32(Some(v));
        let mut a = func.create();
        a.add(&[i(1)]).unwrap();
        a.add(&[i(2)]).unwrap();
        let mut b = func.create();
        b.add(&[i(3)]).unwrap();
        b.add(&[i(4)]).unwrap();
        a.merge(b.as_ref()).unwrap();
        assert_eq!(items(&a.value()), vec![i(1), i(2), i(3)]);
    }
}
