//! ksqlDB's aggregate functions (`COUNT`, `SUM`, `AVG`, `MIN`/`MAX`, `COLLECT_LIST`,
//! `LATEST_BY_OFFSET`, `TOPK`, `HISTOGRAM`, `STDDEV_SAMP`, `CORRELATION`, `ATTR`...) as
//! incremental per-group accumulators, with ksqlDB's semantics (null handling, initial
//! values, overflow, ordering, retraction over tables, session merges).
//!
//! This module owns the functions' *state*: [`AggregateFunction`] resolves a call (name,
//! argument types, literal init arguments, the analyzer's result type) and makes or loads
//! [`Accumulator`]s; an accumulator folds rows in ([`Accumulator::add`]), takes them back
//! ([`Accumulator::retract`], for aggregations over a TABLE), gives the current result as a
//! `ScalarValue` of exactly `catalog::sql_to_arrow(return_type)` ([`Accumulator::value`])
//! and serialises itself ([`Accumulator::save`], read back by [`AggregateFunction::load`]).
//! Grouping, windows, emission and the state store belong to the query runtime.
//!
//! ```
//! use brook_engine::aggregate::AggregateFunction;
//! use brook_sql::SqlType;
//! use datafusion::common::ScalarValue;
//! let sum = AggregateFunction::new("SUM", &[SqlType::Int], 1, vec![], &SqlType::Int).unwrap();
//! let mut acc = sum.create();
//! acc.add(&[ScalarValue::Int32(Some(5))]).unwrap();
//! acc.add(&[ScalarValue::Int32(None)]).unwrap();
//! acc.add(&[ScalarValue::Int32(Some(2))]).unwrap();
//! acc.retract(&[ScalarValue::Int32(Some(5))]).unwrap();
//! assert_eq!(acc.value(), ScalarValue::Int32(Some(2)));
//! let back = sum.load(&acc.save()).unwrap();
//! assert_eq!(back.value(), ScalarValue::Int32(Some(2)));
//! ```

mod attr;
mod avg;
pub(crate) mod codec;
mod collect;
pub(crate) mod column;
mod count;
pub mod def;
mod histogram;
mod minmax;
mod offset;
mod stats;
mod sum;
mod topk;
mod values;

#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef};
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use crate::catalog::sql_to_arrow;
use values::Prim;

pub use def::{AggregateDef, AggregateVariation};

/// Every aggregate function, registered in one place; each is defined beside its kernel.
pub static DEFINITIONS: &[AggregateDef] = &[
    avg::AVG,
    collect::COLLECT_LIST,
    collect::COLLECT_SET,
    count::COUNT,
    count::COUNT_DISTINCT,
    offset::EARLIEST_BY_OFFSET,
    histogram::HISTOGRAM,
    offset::LATEST_BY_OFFSET,
    minmax::MAX,
    minmax::MIN,
    stats::STDDEV_SAMP,
    stats::STDDEV_SAMPLE,
    sum::SUM,
    topk::TOPK,
    topk::TOPKDISTINCT,
    attr::ATTR,
    stats::CORRELATION,
    sum::SUM_LIST,
    stats::VARIANCE,
];

/// The aggregate function called `name` (any case).
pub fn definition(name: &str) -> Option<&'static AggregateDef> {
    DEFINITIONS
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// Why an aggregate call could not be resolved, a row not folded, or a state not loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AggregateError {
    /// No aggregate function has this name.
    #[error("Can't find any aggregate function with the name '{0}'")]
    UnknownFunction(String),
    /// Argument types, literal init arguments or a row's values that the function does not
    /// accept.
    #[error("{0}")]
    InvalidArgument(String),
    /// The function cannot take a row back (ksqlDB allows it over streams only).
    #[error("The aggregation function {0} cannot be applied to a table source, only to a stream source.")]
    NotRetractable(String),
    /// A result that does not fit its type (`SUM` of a DECIMAL beyond its precision); the
    /// message is ksqlDB's (`Numeric field overflow: ...`).
    #[error("{0}")]
    Overflow(String),
    /// Saved state that cannot be read back.
    #[error("Corrupt aggregate state: {0}")]
    CorruptState(String),
}

/// One group's running state of one aggregate call.
pub trait Accumulator: Send + std::fmt::Debug {
    /// Folds in one input row. `args` are the values of the call's column arguments
    /// (empty for COUNT(*)), already of the argument types given to `AggregateFunction::new`.
    fn add(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError>;
    /// Takes back a row added earlier (aggregations over a TABLE: the old row of an updated
    /// key is retracted, then the new one added). Err(NotRetractable) for functions ksqlDB
    /// cannot undo.
    fn retract(&mut self, args: &[ScalarValue]) -> Result<(), AggregateError>;
    /// The current result, as a ScalarValue whose DataType is exactly
    /// `brook_engine::catalog::sql_to_arrow(return_type)`. Null where ksqlDB returns null.
    fn value(&self) -> ScalarValue;
    /// Serialises the state (for the state store and its changelog). Compact binary; read
    /// back by [`AggregateFunction::load`] of the same function.
    fn save(&self) -> Vec<u8>;
    /// Folds `other`, the state of another group of the same [`AggregateFunction`], into
    /// this one: ksqlDB's `merge(this, other)`, used when session windows merge. Errors when
    /// `other` belongs to another function.
    fn merge(&mut self, other: &dyn Accumulator) -> Result<(), AggregateError>;
    /// For [`Accumulator::merge`]: the concrete accumulator.
    fn as_any(&self) -> &dyn Any;
}

/// A resolved aggregate call: which function, over which argument types, with which
/// literal init arguments.
#[derive(Debug, Clone)]
pub struct AggregateFunction {
    name: String,
    return_type: SqlType,
    data_type: DataType,
    /// How many values `add` and `retract` take.
    columns: usize,
    kind: Kind,
}

/// Each function with what its accumulators need, resolved once per call (made by its
/// [`AggregateDef::build`]).
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Count(count::CountMode),
    CountDistinct(Arc<DataType>),
    SumInt,
    SumBigInt,
    SumDouble,
    SumDecimal {
        precision: u8,
        scale: i8,
    },
    SumList(sum::ListElem),
    MinMax {
        max: bool,
        prim: Prim,
    },
    Avg(avg::AvgKind),
    CollectList(Arc<collect::CollectSpec>),
    CollectSet(Arc<collect::CollectSpec>),
    Offset(Arc<offset::OffsetSpec>),
    TopK(Arc<topk::TopKSpec>),
    Histogram(FieldRef),
    Stddev(stats::StdKind, stats::Num),
    Correlation,
    Attr(Arc<DataType>),
    /// Defined outside this module ([`AggregateFunction::external`]).
    External(Arc<dyn UdafFactory>),
}

/// An aggregate function defined outside this module (the conformance harness's test
/// UDAFs, `crate::catalog::test_functions::udaf`): what [`AggregateFunction`] needs to make,
/// load and undo its accumulators.
pub trait UdafFactory: Send + Sync + std::fmt::Debug {
    /// A fresh group's state.
    fn create(&self) -> Box<dyn Accumulator>;
    /// A state written by [`Accumulator::save`] of one of this factory's accumulators.
    fn load(&self, bytes: &[u8]) -> Result<Box<dyn Accumulator>, AggregateError>;
    /// Whether its accumulators can [`Accumulator::retract`] (a ksqlDB `TableUdaf`).
    fn supports_retract(&self) -> bool;
    /// Whether its state (ksqlDB's aggregate type) is a primitive type.
    fn intermediate_is_primitive(&self) -> bool;
}

fn invalid(msg: impl Into<String>) -> AggregateError {
    AggregateError::InvalidArgument(msg.into())
}

/// An integer literal init argument (`TOPK(x, 3)`, `LATEST_BY_OFFSET(x, 2)`).
fn int_literal(name: &str, what: &str, v: Option<&ScalarValue>) -> Result<i64, AggregateError> {
    match v.map(values::as_i64) {
        Some(Ok(Some(n))) => Ok(n),
        _ => Err(invalid(format!(
            "Function '{name}' expects a non-null integer literal for {what}, got {v:?}"
        ))),
    }
}

fn bool_literal(name: &str, v: Option<&ScalarValue>) -> Result<bool, AggregateError> {
    match v {
        Some(ScalarValue::Boolean(Some(b))) => Ok(*b),
        _ => Err(invalid(format!(
            "Function '{name}' expects a non-null BOOLEAN literal for ignoreNulls, got {v:?}"
        ))),
    }
}

impl AggregateFunction {
    /// `name` upper-case as the analyzer gives it (COUNT, SUM, ...). `arg_types`: the SqlTypes
    /// of ALL arguments as written; `column_args`: how many leading args are per-row values
    /// (the rest are literals, given in `literals` as ScalarValues in order, e.g. TOPK(x, 3)
    /// -> column_args=1, literals=[Int32(3)]); `return_type`: the analyzer's result type.
    ///
    /// `TOPK`'s struct form takes `k` as its first literal and the other columns in any
    /// other position: `TOPK(x, c0, c1, 3)` with `column_args` 3 and `literals` `[3]` (as
    /// ksqlDB writes it), or `TOPK(x, 3, 'a')` with `column_args` 1 and `literals`
    /// `[3, 'a']`; the struct's fields are the return type's.
    pub fn new(
        name: &str,
        arg_types: &[SqlType],
        column_args: usize,
        literals: Vec<ScalarValue>,
        return_type: &SqlType,
    ) -> Result<Self, AggregateError> {
        let upper = name.to_ascii_uppercase();
        if column_args > arg_types.len() || literals.len() != arg_types.len() - column_args {
            return Err(invalid(format!(
                "Function '{upper}' has {} arguments: {column_args} column arguments and {} literals do not add up",
                arg_types.len(),
                literals.len()
            )));
        }
        let data_type = sql_to_arrow(return_type);
        let def =
            definition(&upper).ok_or_else(|| AggregateError::UnknownFunction(upper.clone()))?;
        let build = def::Build {
            name: &upper,
            arg_types,
            column_args,
            // Each argument's literal value (None for a column argument).
            literals: (0..arg_types.len())
                .map(|i| i.checked_sub(column_args).and_then(|j| literals.get(j)))
                .collect(),
            return_type,
            data_type: &data_type,
        };
        let kind = (def.build)(&build)?;
        Ok(AggregateFunction {
            name: upper,
            return_type: return_type.clone(),
            data_type,
            columns: column_args,
            kind,
        })
    }

    /// A function defined outside this module: `columns` values per row, results of
    /// `return_type`, accumulators from `factory`.
    pub fn external(
        name: &str,
        return_type: &SqlType,
        columns: usize,
        factory: Arc<dyn UdafFactory>,
    ) -> Self {
        AggregateFunction {
            name: name.to_ascii_uppercase(),
            return_type: return_type.clone(),
            data_type: sql_to_arrow(return_type),
            columns,
            kind: Kind::External(factory),
        }
    }

    /// Applies a session property that changes the function: `ksql.functions.collect_list.limit`
    /// and `ksql.functions.collect_set.limit` (a negative limit means none). Other properties
    /// leave it unchanged. Affects accumulators created or loaded afterwards.
    pub fn with_property(mut self, name: &str, value: &str) -> Result<Self, AggregateError> {
        let applies = matches!(
            (&self.kind, name),
            (Kind::CollectList(_), "ksql.functions.collect_list.limit")
                | (Kind::CollectSet(_), "ksql.functions.collect_set.limit")
        );
        if applies {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{name} must be an integer, not '{value}'")))?;
            let limit = if n < 0 { usize::MAX } else { n as usize };
            if let Kind::CollectList(spec) | Kind::CollectSet(spec) = &mut self.kind {
                Arc::make_mut(spec).limit = limit;
            }
        }
        Ok(self)
    }

    /// The function's name, upper case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether folding rows into several states and merging them gives exactly what folding
    /// the rows into one state gives, in any grouping and order: COUNT, and SUM, MIN and MAX
    /// of integers (whose sums wrap as Java's do). Hopping windows of such calls are computed
    /// from slices (operators/hopping_slices.rs).
    pub fn merge_is_exact(&self) -> bool {
        match self.name.as_str() {
            "COUNT" => true,
            "SUM" | "MIN" | "MAX" => matches!(self.return_type, SqlType::Int | SqlType::BigInt),
            _ => false,
        }
    }

    /// The result type given to [`AggregateFunction::new`].
    pub fn return_type(&self) -> &SqlType {
        &self.return_type
    }

    /// The Arrow type of every [`Accumulator::value`].
    pub fn data_type(&self) -> &DataType {
        &self.data_type
    }

    /// How many values [`Accumulator::add`] and [`Accumulator::retract`] take.
    pub fn column_count(&self) -> usize {
        self.columns
    }

    /// A fresh group's state (ksqlDB's initial value).
    pub fn create(&self) -> Box<dyn Accumulator> {
        let n = self.columns;
        match &self.kind {
            Kind::Count(mode) => Box::new(count::Count::new(*mode, n)),
            Kind::CountDistinct(dt) => Box::new(count::CountDistinct::new(dt.clone())),
            Kind::SumInt => Box::new(sum::SumInt::default()),
            Kind::SumBigInt => Box::new(sum::SumBigInt::default()),
            Kind::SumDouble => Box::new(sum::SumDouble::default()),
            Kind::SumDecimal { precision, scale } => {
                Box::new(sum::SumDecimal::new(*precision, *scale))
            }
            Kind::SumList(e) => Box::new(sum::SumList::new(*e)),
            Kind::MinMax { max, prim } => Box::new(minmax::MinMax::new(*max, *prim)),
            Kind::Avg(k) => Box::new(avg::Avg::new(*k)),
            Kind::CollectList(spec) => Box::new(collect::CollectList::new(spec.clone())),
            Kind::CollectSet(spec) => Box::new(collect::CollectSet::new(spec.clone())),
            Kind::Offset(spec) => offset::create(spec.clone()),
            Kind::TopK(spec) => Box::new(topk::TopK::new(spec.clone())),
            Kind::Histogram(entries) => Box::new(histogram::Histogram::new(entries.clone())),
            Kind::Stddev(k, num) => Box::new(stats::Stddev::new(*k, *num)),
            Kind::Correlation => Box::new(stats::Correlation::default()),
            Kind::Attr(dt) => Box::new(attr::Attr::new(dt.clone())),
            Kind::External(f) => f.create(),
        }
    }

    /// Reads a state written by [`Accumulator::save`] of an accumulator of this function.
    pub fn load(&self, bytes: &[u8]) -> Result<Box<dyn Accumulator>, AggregateError> {
        let n = self.columns;
        Ok(match &self.kind {
            Kind::Count(mode) => Box::new(count::Count::load(*mode, n, bytes)?),
            Kind::CountDistinct(dt) => Box::new(count::CountDistinct::load(dt.clone(), bytes)?),
            Kind::SumInt => Box::new(sum::SumInt::load(bytes)?),
            Kind::SumBigInt => Box::new(sum::SumBigInt::load(bytes)?),
            Kind::SumDouble => Box::new(sum::SumDouble::load(bytes)?),
            Kind::SumDecimal { precision, scale } => {
                Box::new(sum::SumDecimal::load(*precision, *scale, bytes)?)
            }
            Kind::SumList(e) => Box::new(sum::SumList::load(*e, bytes)?),
            Kind::MinMax { max, prim } => Box::new(minmax::MinMax::load(*max, *prim, bytes)?),
            Kind::Avg(k) => Box::new(avg::Avg::load(*k, bytes)?),
            Kind::CollectList(spec) => Box::new(collect::CollectList::load(spec.clone(), bytes)?),
            Kind::CollectSet(spec) => Box::new(collect::CollectSet::load(spec.clone(), bytes)?),
            Kind::Offset(spec) => offset::load(spec.clone(), bytes)?,
            Kind::TopK(spec) => Box::new(topk::TopK::load(spec.clone(), bytes)?),
            Kind::Histogram(entries) => {
                Box::new(histogram::Histogram::load(entries.clone(), bytes)?)
            }
            Kind::Stddev(k, num) => Box::new(stats::Stddev::load(*k, *num, bytes)?),
            Kind::Correlation => Box::new(stats::Correlation::load(bytes)?),
            Kind::Attr(dt) => Box::new(attr::Attr::load(dt.clone(), bytes)?),
            Kind::External(f) => f.load(bytes)?,
        })
    }

    /// Whether ksqlDB's intermediate (aggregate) type of this function is a primitive
    /// type: it is not for the functions whose state is a STRUCT (AVG, STDDEV, VARIANCE,
    /// CORRELATION, ATTR, LATEST/EARLIEST_BY_OFFSET), a list (COLLECT_LIST/SET, TOPK,
    /// COUNT_DISTINCT, LATEST/EARLIEST_BY_OFFSET of n) or a map (HISTOGRAM). A value
    /// format that holds only primitives (DELIMITED, KAFKA) cannot store their state.
    pub fn intermediate_is_primitive(&self) -> bool {
        match &self.kind {
            Kind::External(f) => f.intermediate_is_primitive(),
            Kind::Count(_)
            | Kind::SumInt
            | Kind::SumBigInt
            | Kind::SumDouble
            | Kind::SumDecimal { .. }
            | Kind::SumList(_)
            | Kind::MinMax { .. } => true,
            Kind::CountDistinct(_)
            | Kind::Avg(_)
            | Kind::CollectList(_)
            | Kind::CollectSet(_)
            | Kind::Offset(_)
            | Kind::TopK(_)
            | Kind::Histogram(_)
            | Kind::Stddev(..)
            | Kind::Correlation
            | Kind::Attr(_) => false,
        }
    }

    /// Whether [`Accumulator::retract`] works: the functions ksqlDB allows over a TABLE
    /// (COUNT, SUM, SUM_LIST, AVG, COLLECT_LIST, HISTOGRAM, STDDEV_SAMP, STDDEV_SAMPLE,
    /// VARIANCE, CORRELATION, ATTR).
    pub fn supports_retract(&self) -> bool {
        if let Kind::External(f) = &self.kind {
            return f.supports_retract();
        }
        !matches!(
            self.kind,
            Kind::CountDistinct(_)
                | Kind::MinMax { .. }
                | Kind::CollectSet(_)
                | Kind::Offset(_)
                | Kind::TopK(_)
        )
    }
}

/// Checks that a row has the expected number of values.
#[inline]
pub(crate) fn check_arity(
    name: &str,
    args: &[ScalarValue],
    n: usize,
) -> Result<(), AggregateError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name} takes {n} values per row, got {}",
            args.len()
        )))
    }
}

/// The `other` of [`Accumulator::merge`] as the same accumulator type.
pub(crate) fn same<'a, T: 'static>(
    name: &str,
    other: &'a dyn Accumulator,
) -> Result<&'a T, AggregateError> {
    other.as_any().downcast_ref::<T>().ok_or_else(|| {
        invalid(format!(
            "cannot merge {other:?} into a {name} accumulator of another function"
        ))
    })
}
