//! Lambda functions: TRANSFORM, FILTER and REDUCE over arrays and maps.
//!
//! A lambda (`x => x * 2`, `(k, v) => v > 0`, `(s, x) => s + x`) is compiled by the planner
//! into a DataFusion [`PhysicalExpr`] over a schema whose first columns are the lambda's
//! parameters and whose remaining columns are any outer columns the body captures. Binding
//! the bodies to a [`LambdaFunction`] gives an ordinary [`ScalarUDF`], called with the
//! collection, (for REDUCE) the initial state, then the captured columns:
//!
//! ```text
//! TRANSFORM(arr, x => x + k)   ⇒   udf = Transform.bind([Lambda{schema: [x, k], body}])
//!                                  udf(arr, k)
//! ```
//!
//! Evaluation is vectorised: the elements of every row are evaluated in one batch (captured
//! columns repeated per element with `take`); REDUCE steps through element positions, each
//! step one batch over all rows still holding elements.
//!
//! Semantics as in ksqlDB: a NULL collection gives NULL; TRANSFORM keeps positions (and map
//! entries' order); FILTER keeps the elements whose predicate is true (NULL counts as false);
//! REDUCE folds left from the initial state, returning the state unchanged for an empty
//! collection and NULL for a NULL one. Lambda functions are not in the registry's `scalar`
//! table (they cannot run without a body): find them with
//! [`FunctionRegistry::lambda`](super::FunctionRegistry::lambda).

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, RecordBatch, StructArray, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Fields, SchemaRef};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;

use super::array::{build_list, list, span};
use super::error::FunctionError;
use super::map::entry_span;
use super::types::{list_of, map_entries_field, map_kv, Overload, ParamType as P};
use super::udf::Category;

/// A compiled lambda body.
#[derive(Clone, Debug)]
pub struct Lambda {
    /// The lambda's parameters first (`x`; `k, v`; `s, x`; `s, k, v`), then the captured
    /// outer columns in the order they are passed to the bound UDF.
    pub schema: SchemaRef,
    /// How many leading columns of `schema` are lambda parameters.
    pub params: usize,
    pub body: Arc<dyn PhysicalExpr>,
}

impl Lambda {
    /// The type the body produces.
    pub fn return_type(&self) -> Result<DataType> {
        self.body.data_type(&self.schema)
    }

    /// Evaluates the body over parameter columns and (already repeated) captured columns.
    fn eval(&self, params: Vec<ArrayRef>, captured: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let mut cols = params;
        cols.extend(captured.iter().cloned());
        let cols = cols
            .into_iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    Ok(cast(&c, f.data_type())?)
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            cols,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        self.body.evaluate(&batch)?.into_array(rows)
    }
}

/// TRANSFORM, FILTER or REDUCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LambdaFunction {
    Transform,
    Filter,
    Reduce,
}

impl LambdaFunction {
    pub const ALL: [LambdaFunction; 3] = [
        LambdaFunction::Transform,
        LambdaFunction::Filter,
        LambdaFunction::Reduce,
    ];

    pub fn from_name(name: &str) -> Option<LambdaFunction> {
        match name.to_ascii_uppercase().as_str() {
            "TRANSFORM" => Some(LambdaFunction::Transform),
            "FILTER" => Some(LambdaFunction::Filter),
            "REDUCE" => Some(LambdaFunction::Reduce),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            LambdaFunction::Transform => "TRANSFORM",
            LambdaFunction::Filter => "FILTER",
            LambdaFunction::Reduce => "REDUCE",
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            LambdaFunction::Transform => {
                "Applies a lambda to every element of an array, or to every key and value of a \
                 map, returning the transformed collection."
            }
            LambdaFunction::Filter => {
                "Keeps the elements of an array, or the entries of a map, for which a lambda \
                 returns true."
            }
            LambdaFunction::Reduce => {
                "Folds an array or map into a single value, starting from an initial state and \
                 applying a lambda to the state and each element."
            }
        }
    }

    pub fn category(&self) -> Category {
        Category::Lambda
    }

    /// The signatures `DESCRIBE FUNCTION` shows (lambdas written as `LAMBDA(params) => R`).
    pub fn overloads(&self) -> Vec<Overload> {
        match self {
            LambdaFunction::Transform => vec![
                Overload::new(&[("array", P::array(P::T))], P::array(P::U))
                    .describe("TRANSFORM(array, x => expr): expr of type U for every element"),
                Overload::new(&[("map", P::map(P::K, P::V))], P::map(P::K, P::V))
                    .describe("TRANSFORM(map, (k, v) => newKey, (k, v) => newValue)"),
            ],
            LambdaFunction::Filter => vec![
                Overload::new(&[("array", P::array(P::T))], P::array(P::T))
                    .describe("FILTER(array, x => BOOLEAN)"),
                Overload::new(&[("map", P::map(P::K, P::V))], P::map(P::K, P::V))
                    .describe("FILTER(map, (k, v) => BOOLEAN)"),
            ],
            LambdaFunction::Reduce => vec![
                Overload::new(&[("array", P::array(P::T)), ("initial", P::U)], P::U)
                    .describe("REDUCE(array, initial, (state, x) => newState)"),
                Overload::new(&[("map", P::map(P::K, P::V)), ("initial", P::U)], P::U)
                    .describe("REDUCE(map, initial, (state, k, v) => newState)"),
            ],
        }
    }

    /// How many non-lambda arguments come first (the collection; REDUCE's initial state).
    pub fn leading_args(&self) -> usize {
        match self {
            LambdaFunction::Reduce => 2,
            _ => 1,
        }
    }

    /// The parameter types of each lambda, given the leading argument types: what the
    /// planner needs to type-check and compile the bodies.
    pub fn lambda_param_types(
        &self,
        args: &[DataType],
    ) -> Result<Vec<Vec<DataType>>, FunctionError> {
        let bad = || FunctionError::NoMatchingSignature {
            name: self.name().into(),
            args: args.to_vec(),
            expected: self
                .overloads()
                .iter()
                .filter_map(|o| o.description.map(str::to_string))
                .collect(),
        };
        if args.len() != self.leading_args() {
            return Err(bad());
        }
        match (&args[0], self) {
            (DataType::List(f), LambdaFunction::Reduce) => {
                Ok(vec![vec![args[1].clone(), f.data_type().clone()]])
            }
            (DataType::List(f), _) => Ok(vec![vec![f.data_type().clone()]]),
            (DataType::Map(e, _), f) => {
                let (k, v) = map_kv(e.data_type()).ok_or_else(bad)?;
                Ok(match f {
                    LambdaFunction::Transform => vec![vec![k.clone(), v.clone()], vec![k, v]],
                    LambdaFunction::Filter => vec![vec![k, v]],
                    LambdaFunction::Reduce => vec![vec![args[1].clone(), k, v]],
                })
            }
            _ => Err(bad()),
        }
    }

    /// The result type, given the leading argument types and each lambda body's type.
    pub fn return_type(
        &self,
        args: &[DataType],
        bodies: &[DataType],
    ) -> Result<DataType, FunctionError> {
        let expected = self.lambda_param_types(args)?.len();
        if bodies.len() != expected {
            return Err(FunctionError::Evaluation(format!(
                "{} takes {expected} lambda(s), got {}",
                self.name(),
                bodies.len()
            )));
        }
        Ok(match (self, &args[0]) {
            (LambdaFunction::Transform, DataType::List(_)) => list_of(bodies[0].clone()),
            (LambdaFunction::Transform, _) => DataType::Map(
                map_entries_field(bodies[0].clone(), bodies[1].clone()),
                false,
            ),
            (LambdaFunction::Filter, t) => {
                if bodies[0] != DataType::Boolean && bodies[0] != DataType::Null {
                    return Err(FunctionError::Evaluation(
                        "FILTER's lambda must return a BOOLEAN".into(),
                    ));
                }
                t.clone()
            }
            (LambdaFunction::Reduce, _) => args[1].clone(),
        })
    }

    /// Binds compiled bodies: the UDF to call with (collection[, initial], captured...).
    pub fn bind(&self, lambdas: Vec<Lambda>) -> ScalarUDF {
        ScalarUDF::new_from_impl(LambdaUdf {
            kind: *self,
            lambdas,
            signature: Signature::variadic_any(Volatility::Immutable),
        })
    }
}

/// A lambda function with its bodies bound. Equal when the same bodies (by identity).
#[derive(Debug)]
pub struct LambdaUdf {
    kind: LambdaFunction,
    lambdas: Vec<Lambda>,
    signature: Signature,
}

impl PartialEq for LambdaUdf {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.lambdas.len() == other.lambdas.len()
            && self
                .lambdas
                .iter()
                .zip(&other.lambdas)
                .all(|(a, b)| Arc::ptr_eq(&a.body, &b.body))
    }
}
impl Eq for LambdaUdf {}
impl Hash for LambdaUdf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.lambdas.len().hash(state);
    }
}

impl ScalarUDFImpl for LambdaUdf {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let lead = self.kind.leading_args().min(arg_types.len());
        let bodies = self
            .lambdas
            .iter()
            .map(Lambda::return_type)
            .collect::<Result<Vec<_>>>()?;
        Ok(self.kind.return_type(&arg_types[..lead], &bodies)?)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let all_scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if all_scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let lead = self.kind.leading_args();
        if arrays.len() < lead {
            return exec_err!("{} needs {lead} leading argument(s)", self.kind.name());
        }
        let captured = &arrays[lead..];
        let out = match (self.kind, arrays[0].data_type()) {
            (LambdaFunction::Transform, DataType::List(_)) => {
                transform_array(&arrays[0], &self.lambdas[0], captured, rows)?
            }
            (LambdaFunction::Transform, DataType::Map(..)) => {
                transform_map(&arrays[0], &self.lambdas, captured, rows)?
            }
            (LambdaFunction::Filter, DataType::List(_)) => {
                filter_array(&arrays[0], &self.lambdas[0], captured, rows)?
            }
            (LambdaFunction::Filter, DataType::Map(..)) => {
                filter_map(&arrays[0], &self.lambdas[0], captured, rows)?
            }
            (LambdaFunction::Reduce, DataType::List(_) | DataType::Map(..)) => {
                reduce(&arrays[0], &arrays[1], &self.lambdas[0], captured, rows)?
            }
            (_, DataType::Null) => arrow::array::new_null_array(args.return_type(), rows),
            (k, t) => return exec_err!("{} cannot take {t}", k.name()),
        };
        if all_scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// The row of every element, for rows laid out contiguously.
fn parents(spans: impl Iterator<Item = std::ops::Range<usize>>) -> UInt32Array {
    let mut p = Vec::new();
    for (i, r) in spans.enumerate() {
        p.extend(std::iter::repeat_n(i as u32, r.len()));
    }
    UInt32Array::from(p)
}

/// Captured columns repeated once per element (`take` by parent row).
fn repeat(captured: &[ArrayRef], parent: &UInt32Array) -> Result<Vec<ArrayRef>> {
    captured
        .iter()
        .map(|c| Ok(take(c.as_ref(), parent, None)?))
        .collect()
}

/// The elements of a list's rows `0..rows`, contiguous, with their parent rows.
fn list_elements(a: &ArrayRef, rows: usize) -> (ArrayRef, UInt32Array, usize) {
    let l = list(a);
    let o = l.value_offsets();
    let (base, end) = (o[0] as usize, o[rows] as usize);
    let values = l.values().slice(base, end - base);
    let parent = parents((0..rows).map(|i| span(l, i)));
    (values, parent, base)
}

fn transform_array(
    a: &ArrayRef,
    f: &Lambda,
    captured: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let l = list(a);
    let (values, parent, _) = list_elements(a, rows);
    let out = f.eval(vec![values], &repeat(captured, &parent)?, parent.len())?;
    let field = Arc::new(Field::new_list_field(out.data_type().clone(), true));
    let o = l.value_offsets();
    let offsets: Vec<i32> = o[..=rows].iter().map(|x| x - o[0]).collect();
    Ok(Arc::new(arrow::array::ListArray::try_new(
        field,
        arrow::buffer::OffsetBuffer::new(offsets.into()),
        out,
        l.nulls().map(|n| n.slice(0, rows)),
    )?))
}

/// True where the predicate holds (NULL counts as false).
fn truthy(b: &ArrayRef) -> Result<Vec<bool>> {
    if b.data_type() == &DataType::Null {
        return Ok(vec![false; b.len()]);
    }
    let b = b.as_boolean();
    Ok((0..b.len()).map(|i| b.is_valid(i) && b.value(i)).collect())
}

fn filter_array(a: &ArrayRef, f: &Lambda, captured: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let l = list(a);
    let (values, parent, base) = list_elements(a, rows);
    let keep = truthy(&f.eval(
        vec![values.clone()],
        &repeat(captured, &parent)?,
        parent.len(),
    )?)?;
    build_list(&values, rows, |i| {
        if l.is_null(i) {
            return Ok(None);
        }
        Ok(Some(
            span(l, i)
                .map(|j| j - base)
                .filter(|&j| keep[j])
                .map(|j| j as u32)
                .collect(),
        ))
    })
}

/// The entries of a map's rows `0..rows`: keys, values, parents, base.
fn map_elements(m: &MapArray, rows: usize) -> (ArrayRef, ArrayRef, UInt32Array, usize) {
    let o = m.value_offsets();
    let (base, end) = (o[0] as usize, o[rows] as usize);
    let keys = m.keys().slice(base, end - base);
    let values = m.values().slice(base, end - base);
    let parent = parents((0..rows).map(|i| entry_span(m, i)));
    (keys, values, parent, base)
}

fn transform_map(
    a: &ArrayRef,
    fs: &[Lambda],
    captured: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let m = a.as_map();
    let (keys, values, parent, _) = map_elements(m, rows);
    let cap = repeat(captured, &parent)?;
    let n = parent.len();
    let new_keys = fs[0].eval(vec![keys.clone(), values.clone()], &cap, n)?;
    let new_values = fs[1].eval(vec![keys, values], &cap, n)?;
    let field = map_entries_field(new_keys.data_type().clone(), new_values.data_type().clone());
    let DataType::Struct(fields) = field.data_type().clone() else {
        unreachable!("entries is a struct")
    };
    // As ksqlDB (Java's `Collectors.toMap`), a row whose new keys repeat or whose new keys
    // or values include NULL fails and becomes NULL.
    let (_, key_rows) = super::array::rows_of(new_keys.data_type(), &[&new_keys])?;
    let o = m.value_offsets();
    let base = o[0] as usize;
    let valid: Vec<bool> = (0..rows)
        .map(|i| {
            if m.is_null(i) {
                return false;
            }
            let r = entry_span(m, i);
            let mut seen = std::collections::HashSet::new();
            r.clone().all(|j| {
                let j = j - base;
                new_keys.is_valid(j) && new_values.is_valid(j) && seen.insert(key_rows[0].row(j))
            })
        })
        .collect();
    let offsets: Vec<i32> = o[..=rows].iter().map(|x| x - o[0]).collect();
    // ksqlDB collects the new entries into a `HashMap`: string keys come out in its order.
    let (new_keys, new_values) = match new_keys.as_string_opt::<i32>() {
        Some(k) => {
            let mut ix: Vec<u32> = Vec::with_capacity(k.len());
            for w in offsets.windows(2) {
                let (a, b) = (w[0] as usize, w[1] as usize);
                let row: Vec<&str> = (a..b).map(|j| k.value(j)).collect();
                ix.extend(
                    super::map::java_hash_map_order(&row)
                        .into_iter()
                        .map(|p| (a + p) as u32),
                );
            }
            let ix = UInt32Array::from(ix);
            (
                take(new_keys.as_ref(), &ix, None)?,
                take(new_values.as_ref(), &ix, None)?,
            )
        }
        None => (new_keys, new_values),
    };
    Ok(Arc::new(MapArray::try_new(
        field,
        arrow::buffer::OffsetBuffer::new(offsets.into()),
        StructArray::try_new(fields, vec![new_keys, new_values], None)?,
        Some(arrow::buffer::NullBuffer::from(valid)),
        false,
    )?))
}

fn filter_map(a: &ArrayRef, f: &Lambda, captured: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let m = a.as_map();
    let (keys, values, parent, base) = map_elements(m, rows);
    let keep = truthy(&f.eval(
        vec![keys.clone(), values.clone()],
        &repeat(captured, &parent)?,
        parent.len(),
    )?)?;
    super::map::build_map(&keys, &values, rows, |i| {
        if m.is_null(i) {
            return Ok(None);
        }
        Ok(Some(
            entry_span(m, i)
                .map(|j| j - base)
                .filter(|&j| keep[j])
                .map(|j| (j as u32, j as u32))
                .collect(),
        ))
    })
}

/// Folds position by position: step k evaluates the body once over every row that has a
/// k-th element, then scatters the new states back.
fn reduce(
    a: &ArrayRef,
    initial: &ArrayRef,
    f: &Lambda,
    captured: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let state_type = initial.data_type().clone();
    let is_map = matches!(a.data_type(), DataType::Map(..));
    let (spans, nulls): (Vec<std::ops::Range<usize>>, Vec<bool>) = if is_map {
        let m = a.as_map();
        (
            (0..rows).map(|i| entry_span(m, i)).collect(),
            (0..rows).map(|i| m.is_null(i)).collect(),
        )
    } else {
        let l = list(a);
        (
            (0..rows).map(|i| span(l, i)).collect(),
            (0..rows).map(|i| l.is_null(i)).collect(),
        )
    };
    let max_len = spans.iter().map(|r| r.len()).max().unwrap_or(0);
    // The state per row, as indices into `pool` (states produced so far).
    let mut pool: Vec<ArrayRef> = vec![initial.slice(0, rows)];
    let mut current: Vec<(usize, usize)> = (0..rows).map(|i| (0, i)).collect();
    for k in 0..max_len {
        let active: Vec<u32> = (0..rows)
            .filter(|&i| !nulls[i] && spans[i].len() > k)
            .map(|i| i as u32)
            .collect();
        if active.is_empty() {
            break;
        }
        let active_ix = UInt32Array::from(active.clone());
        let elem_ix = UInt32Array::from(
            active
                .iter()
                .map(|&i| (spans[i as usize].start + k) as u32)
                .collect::<Vec<_>>(),
        );
        let state = gather(&pool, &current, &active)?;
        let mut params = vec![state];
        if is_map {
            let m = a.as_map();
            params.push(take(m.keys().as_ref(), &elem_ix, None)?);
            params.push(take(m.values().as_ref(), &elem_ix, None)?);
        } else {
            params.push(take(list(a).values().as_ref(), &elem_ix, None)?);
        }
        let cap = repeat(captured, &active_ix)?;
        let mut next = f.eval(params, &cap, active.len())?;
        if next.data_type() != &state_type {
            next = cast(&next, &state_type)?;
        }
        pool.push(next);
        let p = pool.len() - 1;
        for (j, &i) in active.iter().enumerate() {
            current[i as usize] = (p, j);
        }
    }
    // A NULL or empty collection leaves the initial state.
    let all: Vec<u32> = (0..rows as u32).collect();
    gather(&pool, &current, &all)
}

/// The states of `rows` (each `current[row]` = (pool array, index)), as one array.
fn gather(pool: &[ArrayRef], current: &[(usize, usize)], rows: &[u32]) -> Result<ArrayRef> {
    let refs: Vec<&dyn Array> = pool.iter().map(|a| a.as_ref()).collect();
    let ix: Vec<(usize, usize)> = rows.iter().map(|&r| current[r as usize]).collect();
    Ok(arrow::compute::interleave(&refs, &ix)?)
}

/// Helper for tests and planners: a schema of lambda parameters then captured columns.
pub fn lambda_schema(params: &[(&str, DataType)], captured: &[(&str, DataType)]) -> SchemaRef {
    let fields: Fields = params
        .iter()
        .chain(captured)
        .map(|(n, t)| Field::new(*n, t.clone(), true))
        .collect();
    Arc::new(arrow::datatypes::Schema::new(fields))
}

#[cfg(test)]
mod tests;
