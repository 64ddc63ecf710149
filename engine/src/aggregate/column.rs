//! column.rs owns accumulator columns: one aggregate call's state for many groups side by
//! side, a group being an index (the time-window operators' slabs,
//! operators/window_groups.rs). COUNT keeps a plain `Vec<i64>`: no allocation per group, no
//! `ScalarValue` per row, results appended straight to an Arrow builder. Other functions
//! keep one boxed [`Accumulator`] per group. Saved states are the accumulators' own
//! ([`Accumulator::save`]), so a store written through either reads back through either.

use arrow::array::{Array, ArrayBuilder, ArrayRef, Int64Builder};
use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;

use super::count::{load_count, save_count, CountMode};
use super::{Accumulator, AggregateError, AggregateFunction, Kind};

/// One call's states, one per group.
#[derive(Debug)]
pub(crate) enum AccColumn {
    Count {
        mode: CountMode,
        n: Vec<i64>,
    },
    Boxed {
        function: AggregateFunction,
        accs: Vec<Box<dyn Accumulator>>,
    },
}

/// Results of one call for a list of groups, built as they are appended.
#[derive(Debug)]
pub(crate) enum ColumnResults {
    Int64(Int64Builder),
    Scalars(Vec<ScalarValue>),
}

impl ColumnResults {
    pub fn push_scalar(&mut self, value: ScalarValue) -> Result<(), AggregateError> {
        match (self, value) {
            (ColumnResults::Int64(b), ScalarValue::Int64(v)) => b.append_option(v),
            (ColumnResults::Int64(_), v) => {
                return Err(AggregateError::InvalidArgument(format!(
                    "a {} result in a BIGINT column",
                    v.data_type()
                )))
            }
            (ColumnResults::Scalars(s), v) => s.push(v),
        }
        Ok(())
    }

    /// Room for `n` more results.
    pub fn reserve(&mut self, n: usize) {
        match self {
            // An Arrow builder cannot grow ahead; an empty one is remade at the size.
            ColumnResults::Int64(b) if b.is_empty() => *b = Int64Builder::with_capacity(n),
            ColumnResults::Int64(_) => {}
            ColumnResults::Scalars(s) => s.reserve(n),
        }
    }

    /// A missing result (a delete's).
    pub fn push_null(&mut self) {
        match self {
            ColumnResults::Int64(b) => b.append_null(),
            ColumnResults::Scalars(s) => s.push(ScalarValue::Null),
        }
    }

    /// The array, when the results were built as one; else the scalars, for the caller to
    /// turn into an array of its column's type.
    pub fn finish(self) -> Result<ArrayRef, Vec<ScalarValue>> {
        match self {
            ColumnResults::Int64(mut b) => Ok(std::sync::Arc::new(b.finish())),
            ColumnResults::Scalars(v) => Err(v),
        }
    }
}

impl AccColumn {
    /// An empty column for `function`'s states.
    pub fn new(function: &AggregateFunction) -> Self {
        match function.kind {
            Kind::Count(mode) => AccColumn::Count {
                mode,
                n: Vec::new(),
            },
            _ => AccColumn::Boxed {
                function: function.clone(),
                accs: Vec::new(),
            },
        }
    }

    /// An empty list of this column's results.
    pub fn results(&self, capacity: usize) -> ColumnResults {
        match self {
            AccColumn::Count { .. } => ColumnResults::Int64(Int64Builder::with_capacity(capacity)),
            AccColumn::Boxed { .. } => ColumnResults::Scalars(Vec::with_capacity(capacity)),
        }
    }

    /// Adds a fresh group (the function's initial state).
    pub fn push(&mut self) {
        match self {
            AccColumn::Count { n, .. } => n.push(0),
            AccColumn::Boxed { function, accs } => accs.push(function.create()),
        }
    }

    /// Replaces group `g`'s state with one saved by [`AccColumn::save`] (or by the
    /// function's [`Accumulator::save`]).
    pub fn replace_saved(&mut self, g: usize, bytes: &[u8]) -> Result<(), AggregateError> {
        match self {
            AccColumn::Count { n, .. } => n[g] = load_count(bytes)?,
            AccColumn::Boxed { function, accs } => accs[g] = function.load(bytes)?,
        }
        Ok(())
    }

    /// Folds row `row` of the call's argument columns `args` into group `g`. `scratch` holds
    /// the row's values for boxed accumulators (reused between rows).
    #[inline]
    pub fn add(
        &mut self,
        g: usize,
        args: &[ArrayRef],
        row: usize,
        scratch: &mut Vec<ScalarValue>,
    ) -> Result<(), AggregateError> {
        match self {
            AccColumn::Count { mode, n } => {
                let counts = match mode {
                    CountMode::Rows => true,
                    CountMode::Zero => false,
                    CountMode::NonNull => match args.first() {
                        Some(a) => !(a.is_null(row) || a.data_type() == &DataType::Null),
                        None => {
                            return Err(AggregateError::InvalidArgument(
                                "COUNT of a column without its column".into(),
                            ))
                        }
                    },
                };
                if counts {
                    n[g] += 1;
                }
                Ok(())
            }
            AccColumn::Boxed { accs, .. } => {
                scratch.clear();
                for a in args {
                    scratch.push(ScalarValue::try_from_array(a, row).map_err(|e| {
                        AggregateError::InvalidArgument(format!("reading an argument: {e}"))
                    })?);
                }
                accs[g].add(scratch)
            }
        }
    }

    /// Appends group `g`'s result to `out` (made by [`AccColumn::results`]).
    #[inline]
    pub fn push_result(&self, g: usize, out: &mut ColumnResults) -> Result<(), AggregateError> {
        match (self, out) {
            (AccColumn::Count { n, .. }, ColumnResults::Int64(b)) => {
                b.append_value(n[g]);
                Ok(())
            }
            (column, out) => out.push_scalar(column.value(g)),
        }
    }

    /// Group `g`'s result.
    pub fn value(&self, g: usize) -> ScalarValue {
        match self {
            AccColumn::Count { n, .. } => ScalarValue::Int64(Some(n[g])),
            AccColumn::Boxed { accs, .. } => accs[g].value(),
        }
    }

    /// Group `g`'s state, as its accumulator saves it.
    pub fn save(&self, g: usize) -> Vec<u8> {
        match self {
            AccColumn::Count { n, .. } => save_count(n[g]),
            AccColumn::Boxed { accs, .. } => accs[g].save(),
        }
    }

    /// Folds group `og` of `other` (a column of the same call) into group `g`.
    pub fn merge(&mut self, g: usize, other: &AccColumn, og: usize) -> Result<(), AggregateError> {
        match (self, other) {
            (AccColumn::Count { n, .. }, AccColumn::Count { n: o, .. }) => {
                n[g] += o[og];
                Ok(())
            }
            (AccColumn::Boxed { accs, .. }, AccColumn::Boxed { accs: o, .. }) => {
                accs[g].merge(o[og].as_ref())
            }
            _ => Err(AggregateError::InvalidArgument(
                "merging the states of two different aggregate calls".into(),
            )),
        }
    }

    /// Folds group `og` of this column into group `g` (`g` != `og`).
    pub fn merge_within(&mut self, g: usize, og: usize) -> Result<(), AggregateError> {
        match self {
            AccColumn::Count { n, .. } => {
                n[g] += n[og];
                Ok(())
            }
            AccColumn::Boxed { accs, .. } => {
                if g == og {
                    return Err(AggregateError::InvalidArgument(
                        "merging a state into itself".into(),
                    ));
                }
                let (into, from) = if g < og {
                    let (a, b) = accs.split_at_mut(og);
                    (&mut a[g], &b[0])
                } else {
                    let (a, b) = accs.split_at_mut(g);
                    (&mut b[0], &a[og])
                };
                into.merge(from.as_ref())
            }
        }
    }

    /// Folds one row's argument values into group `g` (states saved as rows by earlier
    /// versions are read back this way).
    pub fn add_values(&mut self, g: usize, args: &[ScalarValue]) -> Result<(), AggregateError> {
        match self {
            AccColumn::Count { mode, n } => {
                let counts = match mode {
                    CountMode::Rows => true,
                    CountMode::Zero => false,
                    CountMode::NonNull => args.first().is_some_and(|a| !a.is_null()),
                };
                if counts {
                    n[g] += 1;
                }
                Ok(())
            }
            AccColumn::Boxed { accs, .. } => accs[g].add(args),
        }
    }

    /// Drops every group's state, keeping the room they took (a window's slab reused for
    /// the next window).
    pub fn clear(&mut self) {
        match self {
            AccColumn::Count { n, .. } => n.clear(),
            AccColumn::Boxed { accs, .. } => accs.clear(),
        }
    }

    /// Sets group `g` back to the initial state.
    pub fn reset(&mut self, g: usize) {
        match self {
            AccColumn::Count { n, .. } => n[g] = 0,
            AccColumn::Boxed { function, accs } => accs[g] = function.create(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array};
    use brook_sql::SqlType;

    use super::*;

    fn function(name: &str, args: &[SqlType], ret: SqlType) -> AggregateFunction {
        AggregateFunction::new(name, args, args.len(), vec![], &ret).unwrap()
    }

    /// Folds `values` into groups by `groups` through a column and through boxed
    /// accumulators; returns both results per group.
    fn both(
        f: &AggregateFunction,
        values: &[Option<i32>],
        groups: &[usize],
    ) -> (Vec<ScalarValue>, Vec<ScalarValue>) {
        let n_groups = groups.iter().max().map_or(0, |g| g + 1);
        let mut column = AccColumn::new(f);
        let mut accs: Vec<_> = (0..n_groups).map(|_| f.create()).collect();
        for _ in 0..n_groups {
            column.push();
        }
        let args: Vec<ArrayRef> = if f.column_count() == 0 {
            Vec::new()
        } else {
            vec![Arc::new(Int32Array::from(values.to_vec()))]
        };
        let mut scratch = Vec::new();
        for (row, g) in groups.iter().enumerate() {
            column.add(*g, &args, row, &mut scratch).unwrap();
            let a: Vec<ScalarValue> = args
                .iter()
                .map(|c| ScalarValue::try_from_array(c, row).unwrap())
                .collect();
            accs[*g].add(&a).unwrap();
        }
        let got = (0..n_groups).map(|g| column.value(g)).collect();
        let want = accs.iter().map(|a| a.value()).collect();
        (got, want)
    }

    #[test]
    fn a_count_column_counts_what_count_accumulators_count() {
        let values = [Some(1), None, Some(3), None, Some(5)];
        let groups = [0, 1, 0, 0, 1];
        for f in [
            function("COUNT", &[], SqlType::BigInt),
            function("COUNT", &[SqlType::Int], SqlType::BigInt),
        ] {
            assert!(matches!(AccColumn::new(&f), AccColumn::Count { .. }));
            let (got, want) = both(&f, &values, &groups);
            assert_eq!(got, want, "{}", f.name());
        }
    }

    #[test]
    fn other_functions_keep_boxed_accumulators() {
        let f = function("SUM", &[SqlType::Int], SqlType::Int);
        assert!(matches!(AccColumn::new(&f), AccColumn::Boxed { .. }));
        let (got, want) = both(&f, &[Some(1), Some(2), None, Some(4)], &[1, 0, 1, 1]);
        assert_eq!(got, want);
        // Merging within the column, either way round.
        let mut column = AccColumn::new(&f);
        for v in [5, 7, 11] {
            column.push();
            let g = column_len(&column) - 1;
            column
                .add_values(g, &[ScalarValue::Int32(Some(v))])
                .unwrap();
        }
        column.merge_within(0, 2).unwrap();
        column.merge_within(2, 1).unwrap();
        assert_eq!(column.value(0), ScalarValue::Int32(Some(16)));
        assert_eq!(column.value(2), ScalarValue::Int32(Some(18)));
        assert!(column.merge_within(1, 1).is_err());
    }

    fn column_len(c: &AccColumn) -> usize {
        match c {
            AccColumn::Count { n, .. } => n.len(),
            AccColumn::Boxed { accs, .. } => accs.len(),
        }
    }

    #[test]
    fn states_save_merge_and_read_back_as_the_accumulators_do() {
        let f = function("COUNT", &[], SqlType::BigInt);
        let mut column = AccColumn::new(&f);
        column.push();
        column.push();
        let mut scratch = Vec::new();
        for g in [0, 0, 1] {
            column.add(g, &[], 0, &mut scratch).unwrap();
        }
        let mut acc = f.create();
        acc.add(&[]).unwrap();
        acc.add(&[]).unwrap();
        assert_eq!(column.save(0), acc.save());
        let mut other = AccColumn::new(&f);
        other.push();
        other.replace_saved(0, &column.save(0)).unwrap();
        other.merge(0, &column, 1).unwrap();
        assert_eq!(other.value(0), ScalarValue::Int64(Some(3)));
        other.reset(0);
        assert_eq!(other.value(0), ScalarValue::Int64(Some(0)));
        other.add_values(0, &[]).unwrap();
        other.push();
        other.add_values(1, &[]).unwrap();
        other.merge_within(1, 0).unwrap();
        assert_eq!(other.value(1), ScalarValue::Int64(Some(2)));
        assert!(other.replace_saved(0, b"junk").is_err());

        let mut results = column.results(2);
        column.push_result(1, &mut results).unwrap();
        column.push_result(0, &mut results).unwrap();
        let array = results.finish().unwrap();
        let array = array.as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(array, &Int64Array::from(vec![1, 2]));
    }
}
