//! LATEST_BY_OFFSET and EARLIEST_BY_OFFSET, in their four forms: `(val)`,
//! `(val, ignoreNulls)` → the value; `(val, n)`, `(val, n, ignoreNulls)` → an array of the
//! last / first `n` values, oldest first. `ignoreNulls` defaults to true.
//!
//! As ksqlDB, each kept value carries a sequence number taken when it was added, which
//! decides which state is later when session windows merge. A fresh LATEST state holds a
//! null stamped at creation (so, not ignoring nulls, a new session's state wins a merge);
//! a fresh EARLIEST state holds nothing. Brook's sequence is one process-wide counter that
//! starts at the wall clock in nanoseconds and is raised past every loaded stamp, so stamps
//! keep increasing across restarts. Not retractable (ksqlDB allows these over streams only).

use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{SystemTime, UNIX_EPOCH};

use arrow::datatypes::{DataType, FieldRef};
use datafusion::common::ScalarValue;

use super::codec::{corrupt, read_value, tag, write_value_or_null, Reader, Writer};
use super::def::{variation, AggregateDef, Build};
use super::values::{conform, list_scalar, typed_null};
use super::Kind;
use super::{bool_literal, int_literal};
use super::{check_arity, invalid, same, Accumulator, AggregateError};
use crate::catalog::sql_to_arrow;
use brook_sql::SqlType;

fn by_offset_type(args: &[SqlType]) -> Option<SqlType> {
    use SqlType as T;
    match args {
        [t] | [t, T::Boolean] => Some(t.clone()),
        [t, n] | [t, n, T::Boolean] if n.is_integer() => Some(T::array(t.clone())),
        _ => None,
    }
}

const BY_OFFSET_ALTERNATIVES: &[&str] = &[
    "val T",
    "val T, ignoreNulls BOOLEAN",
    "val T, n INT",
    "val T, n INT, ignoreNulls BOOLEAN",
];

/// `LATEST_BY_OFFSET(col [, n] [, ignoreNulls])`.
pub(crate) const LATEST_BY_OFFSET: AggregateDef = AggregateDef {
    name: "LATEST_BY_OFFSET",
    description: "This function returns the most recent value for the column, computed by offset.",
    variations: &[
        variation("val T", "T", "return the latest value of a column"),
        variation(
            "val T, ignoreNulls BOOLEAN",
            "T",
            "return the latest value of a column",
        ),
        variation(
            "val T, latestN INT",
            "ARRAY<T>",
            "return the latest N values of a column",
        ),
        variation(
            "val T, latestN INT, ignoreNulls BOOLEAN",
            "ARRAY<T>",
            "return the latest N values of a column",
        ),
    ],
    column_args: Some(1),
    return_type: by_offset_type,
    alternatives: BY_OFFSET_ALTERNATIVES,
    build: build_latest,
};

/// `EARLIEST_BY_OFFSET(col [, n] [, ignoreNulls])`.
pub(crate) const EARLIEST_BY_OFFSET: AggregateDef = AggregateDef {
    name: "EARLIEST_BY_OFFSET",
    description: "This function returns the oldest value for the column, computed by offset.",
    variations: &[
        variation("val T", "T", "return the earliest value of a column"),
        variation(
            "val T, ignoreNulls BOOLEAN",
            "T",
            "return the earliest value of a column",
        ),
        variation(
            "val T, earliestN INT",
            "ARRAY<T>",
            "return the earliest N values of a column",
        ),
        variation(
            "val T, earliestN INT, ignoreNulls BOOLEAN",
            "ARRAY<T>",
            "return the earliest N values of a column",
        ),
    ],
    column_args: Some(1),
    return_type: by_offset_type,
    alternatives: BY_OFFSET_ALTERNATIVES,
    build: build_earliest,
};

fn build_by_offset(b: &Build, latest: bool) -> Result<Kind, AggregateError> {
    let [t, rest @ ..] = b.arg_types else {
        return Err(b.bad_types());
    };
    if b.column_args != 1 {
        return Err(invalid(format!(
            "Function '{}' takes one column and literal init arguments",
            b.name
        )));
    }
    let (n, ignore_nulls) = match rest {
        [] => (None, true),
        [SqlType::Boolean] => (None, bool_literal(b.name, b.lit(1))?),
        [n] if n.is_integer() => (Some(int_literal(b.name, "n", b.lit(1))?), true),
        [n, SqlType::Boolean] if n.is_integer() => (
            Some(int_literal(b.name, "n", b.lit(1))?),
            bool_literal(b.name, b.lit(2))?,
        ),
        _ => return Err(b.bad_types()),
    };
    let n = match n {
        None => None,
        Some(n) if n >= 1 => Some(usize::try_from(n).map_err(|_| b.bad_types())?),
        Some(_) => {
            return Err(invalid(if latest {
                "latestN must be 1 or greater"
            } else {
                "earliestN must be 1 or greater"
            }))
        }
    };
    let val_type = sql_to_arrow(t);
    let list = match n {
        Some(_) => Some(b.list_field()?),
        None if val_type == *b.data_type => None,
        None => return Err(b.bad_types()),
    };
    Ok(Kind::Offset(Arc::new(OffsetSpec {
        latest,
        n,
        ignore_nulls,
        val_type,
        list,
    })))
}

fn build_latest(b: &Build) -> Result<Kind, AggregateError> {
    build_by_offset(b, true)
}

fn build_earliest(b: &Build) -> Result<Kind, AggregateError> {
    build_by_offset(b, false)
}

static SEQUENCE: LazyLock<AtomicI64> = LazyLock::new(|| {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    AtomicI64::new(i64::try_from(now).unwrap_or(i64::MAX / 2))
});

fn next_seq() -> i64 {
    SEQUENCE.fetch_add(1, Ordering::Relaxed)
}

/// Keeps the counter above a loaded stamp.
fn saw_seq(seq: i64) {
    SEQUENCE.fetch_max(seq.saturating_add(1), Ordering::Relaxed);
}

/// One call's form.
#[derive(Debug, Clone)]
pub(crate) struct OffsetSpec {
    pub latest: bool,
    /// The array form's size.
    pub n: Option<usize>,
    pub ignore_nulls: bool,
    /// The argument's (and single form's result) type.
    pub val_type: DataType,
    /// The array form's element field.
    pub list: Option<FieldRef>,
}

impl OffsetSpec {
    fn name(&self) -> &'static str {
        if self.latest {
            "LATEST_BY_OFFSET"
        } else {
            "EARLIEST_BY_OFFSET"
        }
    }

    /// The row's value, or `None` when it is a null to ignore.
    fn take(&self, args: &[ScalarValue]) -> Result<Option<ScalarValue>, AggregateError> {
        check_arity(self.name(), args, 1)?;
        let v = &args[0];
        if v.is_null() && self.ignore_nulls {
            return Ok(None);
        }
        conform(v, &self.val_type).map(Some)
    }
}

pub(crate) fn create(spec: Arc<OffsetSpec>) -> Box<dyn Accumulator> {
    match (spec.n, spec.latest) {
        (Some(_), _) => Box::new(OffsetN {
            spec,
            items: VecDeque::new(),
        }),
        (None, true) => Box::new(Latest {
            seq: next_seq(),
            val: typed_null(&spec.val_type),
            spec,
        }),
        (None, false) => Box::new(Earliest { spec, first: None }),
    }
}

pub(crate) fn load(
    spec: Arc<OffsetSpec>,
    bytes: &[u8],
) -> Result<Box<dyn Accumulator>, AggregateError> {
    Ok(match (spec.n, spec.latest) {
        (Some(n), _) => {
            let mut r = Reader::new(bytes, tag::OFFSET_N)?;
            if r.bool()? != spec.latest {
                return Err(corrupt("an EARLIEST state loaded as LATEST or the reverse"));
            }
            let count = r.len()?;
            let mut items = VecDeque::with_capacity(count.min(n));
            for _ in 0..count {
                let seq = r.i64()?;
                saw_seq(seq);
                items.push_back((seq, read_value(&mut r, &spec.val_type)?));
            }
            r.finish()?;
            while items.len() > n {
                if spec.latest {
                    items.pop_front();
                } else {
                    items.pop_back();
                }
            }
            Box::new(OffsetN { spec, items })
        }
        (None, true) => {
            let mut r = Reader::new(bytes, tag::LATEST)?;
            let seq = r.i64()?;
            saw_seq(seq);
            let val = read_value(&mut r, &spec.val_type)?;
            r.finish()?;
            Box::new(Latest { spec, seq, val })
        }
        (None, false) => {
            let mut r = Reader::new(bytes, tag::EARLIEST)?;
            let first = if r.bool()? {
                let seq = r.i64()?;
                saw_seq(seq);
                Some((seq, read_value(&mut r, &spec.val_type)?))
            } else {
                None
            };
            r.finish()?;
            Box::new(Earliest { spec, first })
        }
    })
}

fn not_retractable(spec: &OffsetSpec) -> AggregateError {
    AggregateError::NotRetractable(spec.name().into())
}

fn check_same_spec(a: &OffsetSpec, b: &OffsetSpec) -> Result<(), AggregateError> {
    if a.latest != b.latest || a.n != b.n || a.ignore_nulls != b.ignore_nulls {
        return Err(invalid(format!(
            "cannot merge {} states of different calls",
            a.name()
        )));
    }
    Ok(())
}

/// LATEST_BY_OFFSET(val [, ignoreNulls]).
#[derive(Debug)]
struct Latest {
    spec: Arc<OffsetSpec>,
    seq: i64,
    val: ScalarValue,
}

impl Accumulator for Latest {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if let Some(v) = self.spec.take(args)? {
            self.seq = next_seq();
            self.val = v;
        }
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(not_retractable(&self.spec))
    }

    fn value(&self) -> ScalarValue {
        self.val.clone()
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::LATEST);
        w.i64(self.seq);
        write_value_or_null(&mut w, &self.val, &self.spec.val_type);
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Latest>("LATEST_BY_OFFSET", other)?;
        check_same_spec(&self.spec, &o.spec)?;
        // ksqlDB keeps `this` when it compares >= `other`; ignoring nulls, a value beats a
        // null whatever their stamps.
        let other_wins = match (self.val.is_null(), o.val.is_null()) {
            (true, false) if self.spec.ignore_nulls => true,
            (false, true) if self.spec.ignore_nulls => false,
            (true, true) if self.spec.ignore_nulls => false,
            _ => self.seq < o.seq,
        };
        if other_wins {
            self.seq = o.seq;
            self.val = o.val.clone();
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// EARLIEST_BY_OFFSET(val [, ignoreNulls]).
#[derive(Debug)]
struct Earliest {
    spec: Arc<OffsetSpec>,
    first: Option<(i64, ScalarValue)>,
}

impl Accumulator for Earliest {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        if self.first.is_none() {
            if let Some(v) = self.spec.take(args)? {
                self.first = Some((next_seq(), v));
            }
        } else {
            check_arity(self.spec.name(), args, 1)?;
        }
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(not_retractable(&self.spec))
    }

    fn value(&self) -> ScalarValue {
        match &self.first {
            Some((_, v)) => v.clone(),
            None => typed_null(&self.spec.val_type),
        }
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::EARLIEST);
        match &self.first {
            Some((seq, v)) => {
                w.bool(true);
                w.i64(*seq);
                write_value_or_null(&mut w, v, &self.spec.val_type);
            }
            None => w.bool(false),
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<Earliest>("EARLIEST_BY_OFFSET", other)?;
        check_same_spec(&self.spec, &o.spec)?;
        match (&self.first, &o.first) {
            (_, None) => {}
            (Some((a, _)), Some((b, _))) if a < b => {}
            (_, Some(f)) => self.first = Some(f.clone()),
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The array forms: the last (LATEST) or first (EARLIEST) `n` values, oldest first.
#[derive(Debug)]
struct OffsetN {
    spec: Arc<OffsetSpec>,
    items: VecDeque<(i64, ScalarValue)>,
}

impl OffsetN {
    fn n(&self) -> usize {
        self.spec.n.unwrap_or(1)
    }
}

impl Accumulator for OffsetN {
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError> {
        let n = self.n();
        if !self.spec.latest && self.items.len() >= n {
            return check_arity(self.spec.name(), args, 1);
        }
        if let Some(v) = self.spec.take(args)? {
            self.items.push_back((next_seq(), v));
            if self.items.len() > n {
                self.items.pop_front();
            }
        }
        Ok(())
    }

    fn retract(&mut self, _args: &[ScalarValue]) -> Result<(), AggregateError> {
        Err(not_retractable(&self.spec))
    }

    fn value(&self) -> ScalarValue {
        let Some(field) = &self.spec.list else {
            return ScalarValue::Null;
        };
        list_scalar(field, self.items.iter().map(|(_, v)| v.clone()))
            .unwrap_or_else(|_| typed_null(&DataType::List(field.clone())))
    }

    fn save(&self) -> Vec<u8> {
        let mut w = Writer::new(tag::OFFSET_N);
        w.bool(self.spec.latest);
        w.usize(self.items.len());
        for (seq, v) in &self.items {
            w.i64(*seq);
            write_value_or_null(&mut w, v, &self.spec.val_type);
        }
        w.finish()
    }

    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError> {
        let o = same::<OffsetN>(self.spec.name(), other)?;
        check_same_spec(&self.spec, &o.spec)?;
        let mut all: Vec<(i64, ScalarValue)> = self.items.drain(..).collect();
        all.extend(o.items.iter().cloned());
        all.sort_by_key(|(seq, _)| *seq);
        let n = self.n();
        let skip = if self.spec.latest {
            all.len().saturating_sub(n)
        } else {
            0
        };
        self.items = all.into_iter().skip(skip).take(n).collect();
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

    fn f(name: &str, t: SqlType, lits: Vec<ScalarValue>) -> AggregateFunction {
        let mut types = vec![t.clone()];
        let mut ret = t;
        for l in &lits {
            match l {
                ScalarValue::Boolean(_) => types.push(SqlType::Boolean),
                _ => {
                    types.push(SqlType::Int);
                    ret = SqlType::array(ret);
                }
            }
        }
        AggregateFunction::new(name, &types, 1, lits, &ret).unwrap()
    }

    fn i(v: i32) -> ScalarValue {
        ScalarValue::Int32(Some(v))
    }

    const NULL: ScalarValue = ScalarValue::Int32(None);

    fn list(vals: &[ScalarValue]) -> ScalarValue {
        let dt = crate::catalog::sql_to_arrow(&SqlType::array(SqlType::Int));
        list_scalar(
            super::super::values::list_field(&dt).unwrap(),
            vals.to_vec(),
        )
        .unwrap()
    }

    fn run(f: &AggregateFunction, rows: &[ScalarValue]) -> Vec<ScalarValue> {
        let mut acc = f.create();
        let out = rows
            .iter()
            .map(|r| {
                acc.add(std::slice::from_ref(r)).unwrap();
                assert_eq!(acc.value().data_type(), *f.data_type());
                acc.value()
            })
            .collect();
        let back = f.load(&acc.save()).unwrap();
        assert_eq!(back.value(), acc.value());
        assert_eq!(back.save(), acc.save());
        out
    }

    const B: fn(bool) -> ScalarValue = |b| ScalarValue::Boolean(Some(b));

    #[test]
    fn latest_single_forms() {
        let rows = [i(12), NULL, i(13)];
        let ignoring = f("LATEST_BY_OFFSET", SqlType::Int, vec![]);
        assert_eq!(run(&ignoring, &rows), vec![i(12), i(12), i(13)]);
        let keeping = f("LATEST_BY_OFFSET", SqlType::Int, vec![B(false)]);
        assert_eq!(run(&keeping, &rows), vec![i(12), NULL, i(13)]);
        assert_eq!(run(&ignoring, &[NULL, NULL]), vec![NULL, NULL]);
        assert!(!ignoring.supports_retract());
    }

    #[test]
    fn latest_n_forms() {
        let rows = [i(12), NULL, i(13)];
        let ignoring = f("LATEST_BY_OFFSET", SqlType::Int, vec![i(2), B(true)]);
        assert_eq!(
            run(&ignoring, &rows),
            vec![list(&[i(12)]), list(&[i(12)]), list(&[i(12), i(13)])]
        );
        let keeping = f("LATEST_BY_OFFSET", SqlType::Int, vec![i(2), B(false)]);
        assert_eq!(
            run(&keeping, &rows),
            vec![list(&[i(12)]), list(&[i(12), NULL]), list(&[NULL, i(13)])]
        );
        let default = f("LATEST_BY_OFFSET", SqlType::Int, vec![i(2)]);
        assert_eq!(run(&default, &[NULL, NULL]), vec![list(&[]), list(&[])]);
    }

    #[test]
    fn earliest_forms() {
        let later = [i(12), NULL, i(13)];
        let first_null = [NULL, i(13)];
        let single = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![]);
        assert_eq!(run(&single, &later), vec![i(12), i(12), i(12)]);
        assert_eq!(run(&single, &first_null), vec![NULL, i(13)]);
        let keeping = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![B(false)]);
        assert_eq!(run(&keeping, &first_null), vec![NULL, NULL]);
        assert_eq!(run(&keeping, &later), vec![i(12), i(12), i(12)]);
        let n = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![i(2)]);
        assert_eq!(run(&n, &first_null), vec![list(&[]), list(&[i(13)])]);
        assert_eq!(
            run(&n, &later),
            vec![list(&[i(12)]), list(&[i(12)]), list(&[i(12), i(13)])]
        );
        let n_keeping = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![i(2), B(false)]);
        assert_eq!(
            run(&n_keeping, &later),
            vec![list(&[i(12)]), list(&[i(12), NULL]), list(&[i(12), NULL])]
        );
        assert_eq!(
            run(&n_keeping, &first_null),
            vec![list(&[NULL]), list(&[NULL, i(13)])]
        );
    }

    #[test]
    fn n_must_be_positive() {
        let e = AggregateFunction::new(
            "LATEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Int],
            1,
            vec![i(0)],
            &SqlType::array(SqlType::Int),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "latestN must be 1 or greater");
        assert!(AggregateFunction::new(
            "EARLIEST_BY_OFFSET",
            &[SqlType::Int, SqlType::Boolean],
            1,
            vec![ScalarValue::Boolean(None)],
            &SqlType::Int,
        )
        .is_err());
    }

    /// Replays Kafka Streams' session merge: a new record's state starts fresh, absorbs the
    /// overlapping sessions in order, then takes the record.
    fn session_merge(
        f: &AggregateFunction,
        sessions: &[&[ScalarValue]],
        row: ScalarValue,
    ) -> ScalarValue {
        let states: Vec<_> = sessions
            .iter()
            .map(|rows| {
                let mut a = f.create();
                for r in *rows {
                    a.add(std::slice::from_ref(r)).unwrap();
                }
                a
            })
            .collect();
        let mut agg = f.create();
        for s in &states {
            agg.merge(s.as_ref()).unwrap();
        }
        agg.add(&[row]).unwrap();
        agg.value()
    }

    #[test]
    fn merging_session_windows_as_in_the_offset_udaf_files() {
        let latest = f("LATEST_BY_OFFSET", SqlType::Int, vec![]);
        assert_eq!(session_merge(&latest, &[&[i(1)], &[i(3)]], i(2)), i(2));
        // With nulls ignored, the merged state is the latest non-null one.
        assert_eq!(session_merge(&latest, &[&[i(1)], &[NULL]], NULL), i(1));
        let keeping = f("LATEST_BY_OFFSET", SqlType::Int, vec![B(false)]);
        assert_eq!(session_merge(&keeping, &[&[i(1)], &[NULL]], i(2)), i(2));
        // Not ignoring nulls, the fresh state (a null stamped last) wins.
        assert_eq!(session_merge(&keeping, &[&[i(1)]], NULL), NULL);
        let n = f("LATEST_BY_OFFSET", SqlType::Int, vec![i(2), B(false)]);
        assert_eq!(
            session_merge(&n, &[&[i(1)], &[NULL]], i(2)),
            list(&[NULL, i(2)])
        );
        let n = f("LATEST_BY_OFFSET", SqlType::Int, vec![i(2), B(true)]);
        assert_eq!(
            session_merge(&n, &[&[i(1)], &[NULL]], i(2)),
            list(&[i(1), i(2)])
        );

        let earliest = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![]);
        assert_eq!(session_merge(&earliest, &[&[i(1)], &[i(3)]], i(2)), i(1));
        let ignoring = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![B(true)]);
        assert_eq!(session_merge(&ignoring, &[&[NULL], &[i(1)]], NULL), i(1));
        let keeping = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![B(false)]);
        assert_eq!(session_merge(&keeping, &[&[NULL], &[i(1)]], NULL), NULL);
        let n = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![i(2), B(false)]);
        assert_eq!(
            session_merge(&n, &[&[NULL], &[i(1)]], NULL),
            list(&[NULL, i(1)])
        );
        let n = f("EARLIEST_BY_OFFSET", SqlType::Int, vec![i(2), B(true)]);
        assert_eq!(session_merge(&n, &[&[NULL], &[i(1)]], NULL), list(&[i(1)]));
        assert!(latest.create().merge(earliest.create().as_ref()).is_err());
    }

    #[test]
    fn stamps_survive_a_restart() {
        let latest = f("LATEST_BY_OFFSET", SqlType::Int, vec![]);
        let mut old = latest.create();
        old.add(&[i(1)]).unwrap();
        let saved = old.save();
        let mut newer = latest.create();
        newer.add(&[i(2)]).unwrap();
        let loaded = latest.load(&saved).unwrap();
        // The state added later wins the merge either way round.
        newer.merge(loaded.as_ref()).unwrap();
        assert_eq!(newer.value(), i(2));
        let mut loaded = latest.load(&saved).unwrap();
        loaded.merge(newer.as_ref()).unwrap();
        assert_eq!(loaded.value(), i(2));
    }

    #[test]
    fn any_value_type() {
        let t = SqlType::Struct(vec![
            ("A".into(), SqlType::String),
            ("B".into(), SqlType::BigInt),
        ]);
        let func =
            AggregateFunction::new("LATEST_BY_OFFSET", std::slice::from_ref(&t), 1, vec![], &t)
                .unwrap();
        let dt = crate::catalog::sql_to_arrow(&t);
        let mut a = func.create();
        assert_eq!(a.value(), typed_null(&dt));
        let s = ScalarValue::Struct(Arc::new(
            arrow::array::StructArray::try_new(
                match &dt {
                    DataType::Struct(fs) => fs.clone(),
                    _ => unreachable!(),
                },
                vec![
                    ScalarValue::Utf8(Some("Early0".into())).to_array().unwrap(),
                    ScalarValue::Int64(Some(1)).to_array().unwrap(),
                ],
                None,
            )
            .unwrap(),
        ));
        a.add(std::slice::from_ref(&s)).unwrap();
        assert_eq!(a.value(), s);
        assert_eq!(func.load(&a.save()).unwrap().value(), s);
        let d = SqlType::decimal(3, 2);
        let func = AggregateFunction::new(
            "LATEST_BY_OFFSET",
            &[d.clone(), SqlType::Boolean],
            1,
            vec![B(true)],
            &d,
        )
        .unwrap();
        let mut b = func.create();
        b.add(&[ScalarValue::Decimal128(Some(340), 3, 2)]).unwrap();
        assert_eq!(b.value(), ScalarValue::Decimal128(Some(340), 3, 2));
    }
}
