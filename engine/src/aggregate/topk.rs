//! TOPK and TOPKDISTINCT: the `k` greatest values of a group, greatest first.
//!
//! As in ksqlDB: nulls are skipped; values order by Java's `compareTo`; among equal values
//! the one that arrived first ranks first (ksqlDB replaces its last entry and re-sorts
//! stably); TOPKDISTINCT keeps each value once. TOPK's struct form `TOPK(x, c0, .., k)`
//! returns `ARRAY<STRUCT<SORT_COL, COL0, ..>>` ranked by `x`, each entry carrying the other
//! columns of its row. Neither is retractable (ksqlDB allows them over streams only).

use std::any::Any;
use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, FieldRef, Fields};
use datafusion::common::ScalarValue;

use super::codec::{read_value, tag, write_value_or_null, Reader, Writer};
use super::def::{comparable, variation, AggregateDef, Build};
use super::int_literal;
use super::values::Prim;
use super::values::{cmp_prim, conform, list_scalar, typed_null};
use super::Kind;
use super::{invalid, same, Accumulator, AggregateError};
use brook_sql::SqlType;

/// `TOPK(col, k)` and its struct form `TOPK(col, k, other...)`.
pub(crate) const TOPK: AggregateDef = AggregateDef {
    name: "TOPK",
    description: "Computes the top k values for a column, per key.",
    variations: &[
        variation("val T, k INT", "ARRAY<T>", "Calculates the top k values of a numeric, STRING, BYTES, DATE, TIME, TIMESTAMP or BOOLEAN column, per key."),
        variation("val T, k INT, other ANY...", "ARRAY<STRUCT<SORT_COL T, COL0 ANY, ...>>", "Calculates the top k values of a column, per key, each with the other columns of its row."),
    ],
    column_args: Some(1),
    return_type: |args| match args {
        [t, n] if n.is_integer() && comparable(t) => Some(SqlType::array(t.clone())),
        [t, n, rest @ ..] if n.is_integer() && comparable(t) => {
            let mut fields = vec![("SORT_COL".to_string(), t.clone())];
            for (i, r) in rest.iter().enumerate() {
                fields.push((format!("COL{i}"), r.clone()));
            }
            Some(SqlType::array(SqlType::Struct(fields)))
        }
        _ => None,
    },
    alternatives: &["val T, k INT"],
    build: build_topk,
};

/// `TOPKDISTINCT(col, k)`.
pub(crate) const TOPKDISTINCT: AggregateDef = AggregateDef {
    name: "TOPKDISTINCT",
    description: "Computes the top k distinct values for a column, per key.",
    variations: &[variation(
        "val T, k INT",
        "ARRAY<T>",
        "Calculates the top k distinct values of a numeric, STRING, BYTES, DATE, TIME, TIMESTAMP or BOOLEAN column, per key.",
    )],
    column_args: Some(1),
    return_type: |args| match args {
        [t, n] if n.is_integer() && comparable(t) => Some(SqlType::array(t.clone())),
        _ => None,
    },
    alternatives: &["val T, k INT"],
    build: build_topk_distinct,
};

fn build_topk_of(b: &Build, distinct: bool) -> Result<Kind, AggregateError> {
    let arg_types = b.arg_types;
    let [t, _, ..] = arg_types else {
        return Err(b.bad_types());
    };
    if b.column_args == 0 || b.column_args >= arg_types.len() {
        return Err(invalid(format!(
            "Function '{}' takes its sort column first and k as a literal",
            b.name
        )));
    }
    // Only the comparable primitive types rank.
    Prim::of(t).ok_or_else(|| b.bad_types())?;
    let k_pos = b.column_args;
    if !arg_types[k_pos].is_integer() {
        return Err(b.bad_types());
    }
    let k = int_literal(b.name, "k", b.lit(k_pos))?;
    if k < 1 {
        return Err(invalid(format!(
            "Function '{}' needs k of 1 or greater",
            b.name
        )));
    }
    let field = b.list_field()?;
    // The other columns: every argument but the first and k, in order, with the literal
    // ones fixed now.
    let extras: Vec<Option<ScalarValue>> = (1..arg_types.len())
        .filter(|i| *i != k_pos)
        .map(|i| b.lit(i).cloned())
        .collect();
    if distinct && !extras.is_empty() {
        return Err(b.bad_types());
    }
    Ok(Kind::TopK(Arc::new(TopKSpec::new(
        distinct,
        usize::try_from(k).map_err(|_| b.bad_types())?,
        field,
        extras,
    )?)))
}

fn build_topk(b: &Build) -> Result<Kind, AggregateError> {
    build_topk_of(b, false)
}

fn build_topk_distinct(b: &Build) -> Result<Kind, AggregateError> {
    build_topk_of(b, true)
}

/// One TOPK / TOPKDISTINCT call.
#[derive(Debug)]
pub(crate) struct TopKSpec {
    distinct: bool,
    k: usize,
    /// The sort column's Arrow type.
    sort_type: DataType,
    /// The result's element field: the sort type, or the struct of the struct form.
    field: FieldRef,
    /// The struct form's fields (SORT_COL first), `None` for the plain form.
    fields: Option<Fields>,
    /// The other columns in order: `None` for one given per row, `Some` for a literal.
    extras: Vec<Option<ScalarValue>>,
    /// How many values a row has: the sort column and the non-literal other columns.
    columns: usize,
}

impl TopKSpec {
    pub fn new(
        distinct: bool,
        k: usize,
        field: FieldRef,
        extras: Vec<Option<ScalarValue>>,
    ) -> Result<Self, AggregateError> {
        let (sort_type, fields) = if extras.is_empty() {
            (field.data_type().clone(), None)
        } else {
            match field.data_type() {
                DataType::Struct(fs) if fs.len() == extras.len() + 1 => {
                    (fs[0].data_type().clone(), Some(fs.clone()))
                }
                other => {
                    return Err(invalid(format!(
                        "TOPK with {} other columns cannot return ARRAY<{other}>",
                        extras.len()
                    )))
                }
            }
        };
        // Literal other columns take their field's type now.
        let extras = match &fields {
            Some(fs) => extras
                .into_iter()
                .zip(fs.iter().skip(1))
                .map(|(e, f)| e.map(|v| conform(&v, f.data_type())).transpose())
                .collect::<Result<_, _>>()?,
            None => extras,
        };
        let columns = 1 + extras.iter().filter(|e| e.is_none()).count();
        Ok(TopKSpec {
            distinct,
            k,
            sort_type,
            field,
            fields,
            extras,
            columns,
        })
    }

    fn name(&self) -> &'static str {
        if self.distinct {
            "TOPKDISTINCT"
        } else {
            "TOPK"
        }
    }

    fn extra_type(&self, i: usize) -> &DataType {
        match &self.fields {
            Some(fs) => fs[i + 1].data_type(),
            None => &DataType::Null,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    sort: ScalarValue,
    /// The other columns' values (struct form).
    others: Vec<ScalarValue>,
}

#[derive(Debug)]
pub(crate) struct TopK {
    spec: Arc<TopKSpec>,
    /// Greatest first, at most k.
    entries: Vec<Entry>,
}

impl TopK {
    pub fn new(spec: Arc<TopKSpec>) -> Self {
        TopK {
            entries: Vec::with_capacity(spec.k.min(16)),
            spec,
        }
    }

    pub fn load(spec: Arc<TopKSpec>, bytes: &[u8]) -> Result<Self, AggregateError> {
        let mut r = Reader::new(bytes, tag::TOPK)?;
        let n = r.len()?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let sort = read_value(&mut r, &spec.sort_type)?;
            let others = (0..spec.extras.len())
                .map(|i| read_value(&mut r, spec.extra_type(i)))
                .collect::<Result<_, _>>()?;
            entries.push(Entry { sort, others });
        }
        r.finish()?;
        entries.truncate(spec.k);
        Ok(TopK { spec, entries })
    }

    /// Ranks `e` in: after every entry it does not exceed.
    fn insert(&mut self, e: Entry) {
        let k = self.spec.k;
        if self.entries.len() == k {
            match self.entries.last() {
                Some(last) if cmp_prim(&e.sort, &last.sort) != Ordering::Greater => return,
                _ => {}
            }
        }
        if self.spec.distinct
            && self
                .entries
                .iter()
                .any(|x| cmp_prim(&x.sort, &e.sort) == Ordering::Equal)
        {
            return;
        }
        let at = self
            .entries
            .iter()
            .position(|x| cmp_prim(&x.sort, &e.sort) == Ordering::Less)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, e);
        self.entries.truncate(k);
    }

    fn build(&self) -> Result<ScalarValue, AggregateError> {
        let sorts = self.entries.iter().map(|e| e.sort.clone());
        let Some(fields) = &self.spec.fields else {
            return list_scalar(&self.spec.field, sorts);
        };
        let n = self.entries.len();
        let column = |f: &FieldRef, vals: Vec<ScalarValue>| -> Result<ArrayRef, AggregateError> {
            if vals.is_empty() {
                Ok(arrow::array::new_empty_array(f.data_type()))
            } else {
                ScalarValue::iter_to_array(vals)
                    .map_err(|e| invalid(format!("cannot build the TOPK result: {e}")))
            }
        };
        let mut cols = vec![column(&fields[0], sorts.collect())?];
        for (i, f) in fields.iter().enumerate().skip(1) {
            cols.push(column(
                f,
                self.entries
                    .iter()
                    .map(|e| e.others[i - 1].clone())
                    .collect(),
            )?);
        }
        let structs = StructArray::try_new(fields.clone(), cols, None)
            .map_err(|e| invalid(format!("cannot build the TOPK result: {e}")))?;
        let list = ListArray::try_new(
            self.spec.field.clone(),
            OffsetBuffer::from_lengths([n]),
            Arc::new(structs),
            None,
        )
        .map_err(|e| invalid(format!("cannot build the TOPK result: {e}")))?;
        Ok(ScalarValue::List(Arc::new(list)))
    }
}

impl Accumulator for TopK {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        let spec = &self.spec;
        if args.len() != spec.columns {
            return Err(invalid(format!(
                "{} takes {} values per row, got {}",
                spec.name(),
                spec.columns,
                args.len()
            )));
        }
        if args[0].is_null() {
            return Ok(());
        }
        let sort = conform(&args[0], &spec.sort_type)?;
        let mut given = args[1..].iter();
        let mut others = Vec::with_capacity(spec.extras.len());
        for (i, e) in spec.extras.iter().enumerate() {
            others.push(match e {
                Some(lit) => lit.clone(),
                None => conform(
                    given.next().unwrap_or(&ScalarValue::Null),
                    spec.extra_type(i),
                )?,
            });
        }
        self.insert(Entry { sort, others });
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(AggregateError::NotRetractable(self.spec.name().into()))
    }

    fn value(&self) -> ScalarValue {
        self.build()
            .unwrap_or_else(|_| typed_null(&DataType::List(self.spec.field.clone())))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::TOPK);
        w.usize(self.entries.len());
        for e in &self.entries {
            write_value_or_null(&mut w, &e.sort, &self.spec.sort_type);
            for (i, v) in e.others.iter().enumerate() {
                write_value_or_null(&mut w, v, self.spec.extra_type(i));
            }
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<TopK>(self.spec.name(), other)?;
        if o.spec.k != self.spec.k || o.spec.distinct != self.spec.distinct {
            return Err(invalid("cannot merge TOPK states of different calls"));
        }
        // ksqlDB's merge: walk both rankings, taking `this` entry on ties.
        let (a, b) = (std::mem::take(&mut self.entries), &o.entries);
        let (mut i, mut j) = (0, 0);
        while self.entries.len() < self.spec.k {
            let take_a = match (a.get(i), b.get(j)) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(x), Some(y)) => match cmp_prim(&x.sort, &y.sort) {
                    Ordering::Greater => true,
                    Ordering::Less => false,
                    Ordering::Equal if self.spec.distinct => {
                        j += 1;
                        true
                    }
                    Ordering::Equal => true,
                },
            };
            if take_a {
                self.entries.push(a[i].clone());
                i += 1;
            } else {
                self.entries.push(b[j].clone());
                j += 1;
            }
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

    fn topk(name: &str, t: SqlType, k: i32) -> AggregateFunction {
        AggregateFunction::new(
            name,
            &[t.clone(), SqlType::Int],
            1,
            vec![ScalarValue::Int32(Some(k))],
            &SqlType::array(t),
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

    fn run(f: &AggregateFunction, rows: &[ScalarValue]) -> Vec<Vec<ScalarValue>> {
        let mut acc = f.create();
        let out = rows
            .iter()
            .map(|r| {
                acc.add(std::slice::from_ref(r)).unwrap();
                assert_eq!(acc.value().data_type(), *f.data_type());
                items(&acc.value())
            })
            .collect();
        assert_eq!(f.load(&acc.save()).unwrap().value(), acc.value());
        out
    }

    #[test]
    fn topk_keeps_duplicates_greatest_first() {
        let i = |v| ScalarValue::Int32(Some(v));
        let out = run(
            &topk("TOPK", SqlType::Int, 3),
            &[i(0), i(100), i(99), i(7), i(100), ScalarValue::Int32(None)],
        );
        assert_eq!(out[3], vec![i(100), i(99), i(7)]);
        assert_eq!(out[4], vec![i(100), i(100), i(99)]);
        assert_eq!(out[5], out[4]);
    }

    #[test]
    fn topkdistinct_as_in_topk_distinct_json() {
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        let out = run(
            &topk("TOPKDISTINCT", SqlType::String, 3),
            &[s("a"), s("b"), s("c"), s("b"), s("d")],
        );
        assert_eq!(
            out,
            vec![
                vec![s("a")],
                vec![s("b"), s("a")],
                vec![s("c"), s("b"), s("a")],
                vec![s("c"), s("b"), s("a")],
                vec![s("d"), s("c"), s("b")],
            ]
        );
        let d = |v| ScalarValue::Decimal128(Some(v), 2, 1);
        let out = run(
            &topk("TOPKDISTINCT", SqlType::decimal(2, 1), 3),
            &[
                d(98),
                d(89),
                ScalarValue::Decimal128(None, 2, 1),
                d(78),
                d(65),
                d(99),
            ],
        );
        assert_eq!(out[5], vec![d(99), d(98), d(89)]);
        let b = |v: &[u8]| ScalarValue::Binary(Some(v.to_vec()));
        let out = run(
            &topk("TOPKDISTINCT", SqlType::Bytes, 3),
            &[b(b"B"), b(b"F"), b(b"G"), b(b"A"), b(b"F")],
        );
        assert_eq!(out[4], vec![b(b"G"), b(b"F"), b(b"B")]);
    }

    #[test]
    fn topk_tumbling_doubles() {
        let d = |v| ScalarValue::Float64(Some(v));
        let out = run(
            &topk("TOPK", SqlType::Double, 2),
            &[d(0.0), d(100.0), d(10.0)],
        );
        assert_eq!(out[2], vec![d(100.0), d(10.0)]);
    }

    fn entry(v: &ScalarValue) -> (ScalarValue, ScalarValue) {
        let ScalarValue::Struct(s) = v else {
            panic!("not a struct: {v:?}")
        };
        (
            ScalarValue::try_from_array(s.column(0), 0).unwrap(),
            ScalarValue::try_from_array(s.column(1), 0).unwrap(),
        )
    }

    #[test]
    fn topk_struct_form_carries_other_columns() {
        // topk(value, name, 3) as ksqlDB writes it: k last, `name` a column.
        let ret = SqlType::array(SqlType::Struct(vec![
            ("SORT_COL".into(), SqlType::Int),
            ("COL0".into(), SqlType::String),
        ]));
        let f = AggregateFunction::new(
            "TOPK",
            &[SqlType::Int, SqlType::String, SqlType::Int],
            2,
            vec![ScalarValue::Int32(Some(3))],
            &ret,
        )
        .unwrap();
        assert_eq!(f.column_count(), 2);
        let i = |v| ScalarValue::Int32(Some(v));
        let s = |v: &str| ScalarValue::Utf8(Some(v.into()));
        let mut acc = f.create();
        for (v, n) in [
            (0, "zero"),
            (100, "one"),
            (99, "two"),
            (7, "three"),
            (100, "four"),
        ] {
            acc.add(&[i(v), s(n)]).unwrap();
        }
        let v = acc.value();
        assert_eq!(v.data_type(), *f.data_type());
        let got: Vec<_> = items(&v).iter().map(entry).collect();
        assert_eq!(
            got,
            vec![(i(100), s("one")), (i(100), s("four")), (i(99), s("two"))]
        );
        assert_eq!(f.load(&acc.save()).unwrap().value(), v);
        // The analyzer's form: TOPK(x, 3, 'lit') with the other column a literal.
        let f = AggregateFunction::new(
            "TOPK",
            &[SqlType::Int, SqlType::Int, SqlType::String],
            1,
            vec![ScalarValue::Int32(Some(2)), s("k")],
            &ret,
        )
        .unwrap();
        let mut acc = f.create();
        acc.add(&[i(5)]).unwrap();
        acc.add(&[i(6)]).unwrap();
        let got: Vec<_> = items(&acc.value()).iter().map(entry).collect();
        assert_eq!(got, vec![(i(6), s("k")), (i(5), s("k"))]);
    }

    #[test]
    fn k_must_be_a_positive_literal_and_no_retraction() {
        assert!(AggregateFunction::new(
            "TOPK",
            &[SqlType::Int, SqlType::Int],
            1,
            vec![ScalarValue::Int32(Some(0))],
            &SqlType::array(SqlType::Int),
        )
        .is_err());
        assert!(AggregateFunction::new(
            "TOPK",
            &[SqlType::Int, SqlType::Int],
            2,
            vec![],
            &SqlType::array(SqlType::Int),
        )
        .is_err());
        let f = topk("TOPK", SqlType::BigInt, 2);
        assert!(!f.supports_retract());
        assert!(f.create().retract(&[ScalarValue::Int64(Some(1))]).is_err());
    }

    #[test]
    fn merge_walks_both_rankings() {
        let f = topk("TOPKDISTINCT", SqlType::BigInt, 3);
        let l = |v| ScalarValue::Int64(Some(v));
        let mut a = f.create();
        let mut b = f.create();
        for v in [10, 5, 1] {
            a.add(&[l(v)]).unwrap();
        }
        for v in [7, 5] {
            b.add(&[l(v)]).unwrap();
        }
        a.merge(b.as_ref()).unwrap();
        assert_eq!(items(&a.value()), vec![l(10), l(7), l(5)]);
        let f = topk("TOPK", SqlType::BigInt, 3);
        let mut a = f.create();
        let mut b = f.create();
        a.add(&[l(5)]).unwrap();
        b.add(&[l(5)]).unwrap();
        b.add(&[l(9)]).unwrap();
        a.merge(b.as_ref()).unwrap();
        assert_eq!(items(&a.value()), vec![l(9), l(5), l(5)]);
    }
}
