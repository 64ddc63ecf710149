//! Compiles the analyzer's typed expressions ([`TypedExpr`]) into DataFusion physical
//! expressions that evaluate them over the Arrow batches an operator receives, with ksqlDB's
//! semantics where they differ from DataFusion's.
//!
//! ```text
//! let layout = InputLayout::from_schema(&input_plan.schema);   // column → batch index
//! let expr = compile(&typed_expr, &layout, &registry)?;       // Arc<dyn PhysicalExpr>
//! let values = expr.evaluate(&batch)?;                         // batch has layout.arrow_schema()
//! ```
//!
//! Every compiled expression produces the Arrow type of the node's [`SqlType`]
//! ([`sql_to_arrow`]). Semantics (from ksqlDB's conformance files):
//!
//! - arithmetic: INT/BIGINT wrap on overflow, integer `/` or `%` by zero → NULL, DOUBLE per
//!   IEEE, DECIMAL with the analyzer's result precision/scale (division HALF_UP, by zero →
//!   NULL); `+` on strings concatenates ([`arith`]);
//! - comparisons give FALSE, never NULL, when an operand is NULL; BETWEEN, IN, LIKE (with
//!   ESCAPE) likewise; IS [NOT] DISTINCT FROM is null-safe ([`compare`]);
//! - CAST failures give NULL ([`cast`]);
//! - `s->f`, `arr[i]` (1-based, negative from the end, out of range → NULL), `map[k]`,
//!   ARRAY/MAP/STRUCT constructors ([`nested`]);
//! - function calls through [`FunctionRegistry::resolve`] (arguments cast as it says);
//!   TRANSFORM/FILTER/REDUCE bind their compiled lambda bodies with
//!   [`FunctionRegistry::lambda`].
//!
//! What is not supported yet fails to compile with [`ExprError::NotSupportedYet`] rather
//! than giving a wrong answer: `AT TIME ZONE`, array concatenation, comparisons of numbers
//! with strings (`ROWTIME > '2020-…'` where ROWTIME is BIGINT), CAST of
//! arrays/maps/structs/TIME to STRING and anything involving BYTES casts.

pub mod arith;
pub mod cast;
pub mod compare;
pub mod kernel;
pub mod magic_time;
pub mod nested;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use brook_sql::ast::{BinaryOp, Literal as AstLiteral};
use brook_sql::plan::{self, ColumnRef, TypedExpr, TypedExprKind};
use brook_sql::SqlType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CaseExpr, Column, IsNotNullExpr, IsNullExpr, Literal, NotExpr,
};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};

use crate::catalog::sql_to_arrow;
use crate::functions::lambda::Lambda;
use crate::functions::FunctionRegistry;
use kernel::KernelExpr;

/// Why an expression could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum ExprError {
    /// Valid ksqlDB that Brook cannot evaluate yet.
    #[error("not supported yet: {0}")]
    NotSupportedYet(String),
    /// A column reference the input layout does not have.
    #[error("unknown column {0}")]
    UnknownColumn(String),
    /// A lambda variable used outside its lambda.
    #[error("unknown lambda variable {0}")]
    UnknownVariable(String),
    /// A function call the registry cannot resolve.
    #[error("{0}")]
    Function(String),
    /// An expression the analyzer should not have produced here.
    #[error("invalid expression: {0}")]
    Invalid(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

type Result<T> = std::result::Result<T, ExprError>;
type PExpr = Arc<dyn PhysicalExpr>;

fn unsupported<T>(what: impl Into<String>) -> Result<T> {
    Err(ExprError::NotSupportedYet(what.into()))
}

/// Where each column of a plan node's input lives in the RecordBatch the operator receives.
#[derive(Debug, Clone)]
pub struct InputLayout {
    columns: Vec<ColumnRef>,
    schema: SchemaRef,
}

impl InputLayout {
    /// One batch column per schema column (key, value and pseudo-columns), in schema order.
    /// Arrow field names are `SOURCE.NAME` for qualified columns, `NAME` otherwise.
    pub fn from_schema(schema: &plan::Schema) -> Self {
        InputLayout::new(
            schema
                .columns
                .iter()
                .map(|c| (c.reference(), c.ty.clone()))
                .collect(),
        )
    }

    /// A layout from explicit columns, batch index = position.
    pub fn new(columns: Vec<(ColumnRef, SqlType)>) -> Self {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(r, t)| Field::new(r.to_string(), sql_to_arrow(t), true))
            .collect();
        InputLayout {
            columns: columns.into_iter().map(|(r, _)| r).collect(),
            schema: Arc::new(Schema::new(fields)),
        }
    }

    /// The schema batches given to the compiled expressions must have.
    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The batch column holding `r` (an exact match first, then as [`plan::Schema::find`]).
    pub fn index_of(&self, r: &ColumnRef) -> Option<usize> {
        self.columns.iter().position(|c| c == r).or_else(|| {
            self.columns
                .iter()
                .position(|c| c.name == r.name && (r.source.is_none() || c.source == r.source))
        })
    }
}

/// Compiles `expr` to evaluate over batches laid out as `input`.
pub fn compile(
    expr: &TypedExpr,
    input: &InputLayout,
    registry: &FunctionRegistry,
) -> Result<Arc<dyn PhysicalExpr>> {
    let scope = Scope {
        slots: input.columns.iter().cloned().map(Slot::Col).collect(),
        schema: input.schema.clone(),
        registry,
    };
    scope.compile(expr)
}

/// A name an expression can read: a column of the input or a lambda variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Col(ColumnRef),
    Var(String),
}

/// What the expression being compiled can see: the batch columns by slot.
struct Scope<'a> {
    slots: Vec<Slot>,
    schema: SchemaRef,
    registry: &'a FunctionRegistry,
}

fn lit(v: ScalarValue) -> PExpr {
    Arc::new(Literal::new(v))
}

fn kernel(
    name: &str,
    children: Vec<PExpr>,
    ty: DataType,
    f: impl Fn(&[ArrayRef], usize) -> datafusion::common::Result<ArrayRef> + Send + Sync + 'static,
) -> PExpr {
    KernelExpr::arc(name, children, ty, f)
}

fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let t = text.trim_start_matches('+');
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let v: i128 = format!("{int}{frac}").parse().ok()?;
    arith::rescale(v, frac.len() as i8, scale as i8)
}

impl Scope<'_> {
    fn index(&self, slot: &Slot) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s == slot)
            .or_else(|| match slot {
                Slot::Col(r) => self.slots.iter().position(|s| {
                    matches!(s, Slot::Col(c)
                    if c.name == r.name && (r.source.is_none() || c.source == r.source))
                }),
                Slot::Var(_) => None,
            })
    }

    fn dt(&self, e: &PExpr) -> Result<DataType> {
        Ok(e.data_type(&self.schema)?)
    }

    /// `e` converted to `to` with ksqlDB's CAST (a no-op when already of that type).
    fn cast_to(&self, e: PExpr, to: &DataType) -> Result<PExpr> {
        let from = self.dt(&e)?;
        if from == *to {
            return Ok(e);
        }
        if let Err(what) = cast::supported(&from, to) {
            return unsupported(what);
        }
        if let Some(l) = e.downcast_ref::<Literal>() {
            if l.value().is_null() {
                return Ok(lit(ScalarValue::try_from(to)?));
            }
        }
        let to = to.clone();
        Ok(kernel("CAST", vec![e], to.clone(), move |a, _| {
            cast::cast(&a[0], &to)
        }))
    }

    /// Compiles `e`, making sure the result has the Arrow type of `e.ty`.
    fn compile(&self, e: &TypedExpr) -> Result<PExpr> {
        let c = self.compile_node(e)?;
        if e.ty == SqlType::Null {
            return Ok(c);
        }
        self.cast_to(c, &sql_to_arrow(&e.ty))
    }

    /// Compiles `e` and converts it to `ty`.
    fn compile_as(&self, e: &TypedExpr, ty: &DataType) -> Result<PExpr> {
        let c = self.compile(e)?;
        self.cast_to(c, ty)
    }

    fn compile_node(&self, e: &TypedExpr) -> Result<PExpr> {
        use TypedExprKind as K;
        match &e.kind {
            K::Literal(l) => self.literal(l, &e.ty),
            K::TypedLiteral(text) => {
                let to = sql_to_arrow(&e.ty);
                let a: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![text.as_str()]));
                if let Err(w) = cast::supported(&DataType::Utf8, &to) {
                    return unsupported(w);
                }
                let v = cast::cast(&a, &to)?;
                if v.is_null(0) {
                    return Err(ExprError::Invalid(format!("bad {} literal '{text}'", e.ty)));
                }
                Ok(lit(ScalarValue::try_from_array(&v, 0)?))
            }
            K::Column(r) => {
                let i = self
                    .index(&Slot::Col(r.clone()))
                    .ok_or_else(|| ExprError::UnknownColumn(r.to_string()))?;
                Ok(Arc::new(Column::new(self.schema.field(i).name(), i)))
            }
            K::LambdaVar(v) => {
                let i = self
                    .index(&Slot::Var(v.clone()))
                    .ok_or_else(|| ExprError::UnknownVariable(v.clone()))?;
                Ok(Arc::new(Column::new(self.schema.field(i).name(), i)))
            }
            K::Dereference { base, field } => {
                let b = self.compile(base)?;
                let DataType::Struct(fs) = self.dt(&b)? else {
                    return Err(ExprError::Invalid(format!("{base} is not a struct")));
                };
                let f = fs
                    .iter()
                    .find(|f| f.name() == field)
                    .or_else(|| fs.iter().find(|f| f.name().eq_ignore_ascii_case(field)))
                    .ok_or_else(|| ExprError::Invalid(format!("no field {field} in {base}")))?;
                let name = f.name().clone();
                Ok(kernel(
                    &format!("FIELD_{name}"),
                    vec![b],
                    f.data_type().clone(),
                    move |a, _| nested::field(&a[0], &name),
                ))
            }
            K::Subscript { base, index } => {
                let b = self.compile(base)?;
                match self.dt(&b)? {
                    DataType::List(f) => {
                        let i = self.compile_as(index, &DataType::Int64)?;
                        Ok(kernel(
                            "ARRAY_ELEMENT",
                            vec![b, i],
                            f.data_type().clone(),
                            |a, _| nested::array_element(&a[0], &a[1]),
                        ))
                    }
                    DataType::Map(entries, _) => {
                        let DataType::Struct(kv) = entries.data_type() else {
                            return Err(ExprError::Invalid("malformed map type".into()));
                        };
                        let k = self.compile_as(index, kv[0].data_type())?;
                        Ok(kernel(
                            "MAP_VALUE",
                            vec![b, k],
                            kv[1].data_type().clone(),
                            |a, _| nested::map_value(&a[0], &a[1]),
                        ))
                    }
                    t => Err(ExprError::Invalid(format!("cannot subscript {t}"))),
                }
            }
            K::Negate(x) => {
                let c = self.compile(x)?;
                let t = self.dt(&c)?;
                Ok(kernel("NEGATE", vec![c], t, |a, _| arith::negate(&a[0])))
            }
            K::Not(x) => {
                let c = self.compile_as(x, &DataType::Boolean)?;
                Ok(Arc::new(NotExpr::new(c)))
            }
            K::Binary { left, op, right } => self.binary(e, left, *op, right),
            K::Between {
                expr,
                negated,
                low,
                high,
            } => {
                if let Some(r) = magic_time::rewrite(&[expr, low, high]) {
                    let again = TypedExpr::new(
                        K::Between {
                            expr: Box::new(r[0].clone()),
                            negated: *negated,
                            low: Box::new(r[1].clone()),
                            high: Box::new(r[2].clone()),
                        },
                        e.ty.clone(),
                        e.span,
                    );
                    return self.compile(&again);
                }
                let t = self.common(&[expr, low, high])?;
                let args = vec![
                    self.compile_as(expr, &t)?,
                    self.compile_as(low, &t)?,
                    self.compile_as(high, &t)?,
                ];
                let neg = *negated;
                Ok(kernel("BETWEEN", args, DataType::Boolean, move |a, _| {
                    compare::between(&a[0], &a[1], &a[2], neg)
                }))
            }
            K::InList {
                expr,
                negated,
                list,
            } => {
                let all: Vec<&TypedExpr> = std::iter::once(&**expr).chain(list).collect();
                let t = self.common(&all)?;
                let args = all
                    .iter()
                    .map(|x| self.compile_as(x, &t))
                    .collect::<Result<Vec<_>>>()?;
                let neg = *negated;
                Ok(kernel("IN", args, DataType::Boolean, move |a, _| {
                    compare::in_list(a, neg)
                }))
            }
            K::Like {
                expr,
                negated,
                pattern,
                escape,
            } => {
                let x = self.compile_as(expr, &DataType::Utf8)?;
                let p = self.compile_as(pattern, &DataType::Utf8)?;
                let esc = match escape.as_deref() {
                    None => None,
                    Some(s) if s.chars().count() == 1 => s.chars().next(),
                    Some(s) => {
                        return Err(ExprError::Invalid(format!(
                            "ESCAPE must be one character, got '{s}'"
                        )))
                    }
                };
                let neg = *negated;
                Ok(kernel(
                    "LIKE",
                    vec![x, p],
                    DataType::Boolean,
                    move |a, _| compare::like(&a[0], &a[1], esc, neg),
                ))
            }
            K::IsNull { expr, negated } => {
                let c = self.compile(expr)?;
                Ok(if *negated {
                    Arc::new(IsNotNullExpr::new(c))
                } else {
                    Arc::new(IsNullExpr::new(c))
                })
            }
            K::IsDistinctFrom {
                left,
                negated,
                right,
            } => {
                let t = self.common(&[left, right])?;
                let args = vec![self.compile_as(left, &t)?, self.compile_as(right, &t)?];
                let neg = *negated;
                Ok(kernel(
                    "IS_DISTINCT",
                    args,
                    DataType::Boolean,
                    move |a, _| compare::distinct(&a[0], &a[1], neg),
                ))
            }
            K::Case { whens, else_result } => {
                if e.ty == SqlType::Null {
                    return Ok(lit(ScalarValue::Null));
                }
                let t = sql_to_arrow(&e.ty);
                let whens = whens
                    .iter()
                    .map(|(c, r)| {
                        Ok((
                            self.compile_as(c, &DataType::Boolean)?,
                            self.compile_as(r, &t)?,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let els = match else_result {
                    Some(x) => Some(self.compile_as(x, &t)?),
                    None => None,
                };
                if whens.is_empty() {
                    return Ok(els.unwrap_or_else(|| {
                        lit(ScalarValue::try_from(&t).unwrap_or(ScalarValue::Null))
                    }));
                }
                Ok(Arc::new(CaseExpr::try_new(None, whens, els)?))
            }
            K::Cast(x) => {
                let c = self.compile(x)?;
                self.cast_to(c, &sql_to_arrow(&e.ty))
            }
            K::Array(items) => {
                let t = sql_to_arrow(&e.ty);
                let DataType::List(f) = &t else {
                    return Err(ExprError::Invalid(format!("ARRAY of type {}", e.ty)));
                };
                let args = items
                    .iter()
                    .map(|x| self.compile_as(x, f.data_type()))
                    .collect::<Result<Vec<_>>>()?;
                let ty = t.clone();
                Ok(kernel("ARRAY", args, t, move |a, rows| {
                    nested::make_list(a, rows, &ty)
                }))
            }
            K::Map(entries) => {
                let t = sql_to_arrow(&e.ty);
                let DataType::Map(f, _) = &t else {
                    return Err(ExprError::Invalid(format!("MAP of type {}", e.ty)));
                };
                let DataType::Struct(kv) = f.data_type() else {
                    return Err(ExprError::Invalid("malformed map type".into()));
                };
                let mut args = Vec::new();
                for (k, v) in entries {
                    args.push(self.compile_as(k, kv[0].data_type())?);
                    args.push(self.compile_as(v, kv[1].data_type())?);
                }
                let ty = t.clone();
                Ok(kernel("MAP", args, t, move |a, rows| {
                    nested::make_map(a, rows, &ty)
                }))
            }
            K::Struct(fields) => {
                let t = sql_to_arrow(&e.ty);
                let DataType::Struct(fs) = &t else {
                    return Err(ExprError::Invalid(format!("STRUCT of type {}", e.ty)));
                };
                // The type may name more fields than the constructor gives (INSERT VALUES
                // types it as its column): the missing ones are null.
                let positional = fields.len() == fs.len();
                let mut args = Vec::with_capacity(fs.len());
                for (i, f) in fs.iter().enumerate() {
                    let given = fields
                        .iter()
                        .find(|(n, _)| n == f.name())
                        .or_else(|| {
                            fields
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(f.name()))
                        })
                        .or_else(|| positional.then(|| &fields[i]));
                    args.push(match given {
                        Some((_, x)) => self.compile_as(x, f.data_type())?,
                        None => lit(ScalarValue::try_from(f.data_type())?),
                    });
                }
                let fs: Fields = fs.clone();
                Ok(kernel("STRUCT", args, t, move |a, rows| {
                    nested::make_struct(&fs, a, rows)
                }))
            }
            K::Function { name, args } => self.function(name, args),
            K::Aggregate { name, .. } => Err(ExprError::Invalid(format!(
                "aggregate {name} outside an Aggregate node"
            ))),
            K::TableFunction { name, .. } => Err(ExprError::Invalid(format!(
                "table function {name} outside a FlatMap node"
            ))),
            K::Lambda { .. } => Err(ExprError::Invalid(format!(
                "lambda {e} outside TRANSFORM, FILTER or REDUCE"
            ))),
            K::TimeUnit(u) => Ok(lit(ScalarValue::Utf8(Some(u.to_string())))),
            K::AtTimeZone { .. } => unsupported("AT TIME ZONE"),
        }
    }

    fn literal(&self, l: &AstLiteral, ty: &SqlType) -> Result<PExpr> {
        let v = match l {
            AstLiteral::Null => match ty {
                SqlType::Null => ScalarValue::Null,
                t => ScalarValue::try_from(&sql_to_arrow(t))?,
            },
            AstLiteral::Boolean(b) => ScalarValue::Boolean(Some(*b)),
            AstLiteral::Integer(i) => ScalarValue::Int32(Some(*i)),
            AstLiteral::BigInt(i) => ScalarValue::Int64(Some(*i)),
            AstLiteral::Double(d) => ScalarValue::Float64(Some(*d)),
            AstLiteral::String(s) => ScalarValue::Utf8(Some(s.clone())),
            AstLiteral::Decimal(text) => {
                let SqlType::Decimal { precision, scale } = ty else {
                    return Err(ExprError::Invalid(format!("decimal literal typed {ty}")));
                };
                let v = parse_decimal(text, *scale)
                    .ok_or_else(|| ExprError::Invalid(format!("bad decimal literal {text}")))?;
                ScalarValue::Decimal128(Some(v), *precision as u8, *scale as i8)
            }
        };
        Ok(lit(v))
    }

    /// The Arrow type operands of a comparison are converted to.
    fn common(&self, items: &[&TypedExpr]) -> Result<DataType> {
        let mut t = SqlType::Null;
        for x in items {
            t = match (SqlType::common(&t, &x.ty), &t, &x.ty) {
                (Some(c), _, _) => c,
                (None, a, SqlType::String) | (None, SqlType::String, a) if a.is_temporal() => {
                    a.clone()
                }
                (None, SqlType::Timestamp | SqlType::Date, SqlType::Timestamp | SqlType::Date) => {
                    SqlType::Timestamp
                }
                _ => return unsupported(format!("comparing {t} with {}", x.ty)),
            };
        }
        if t == SqlType::Null {
            // NULL compared with NULL: any type will do.
            return Ok(DataType::Boolean);
        }
        Ok(sql_to_arrow(&t))
    }

    fn binary(
        &self,
        e: &TypedExpr,
        left: &TypedExpr,
        op: BinaryOp,
        right: &TypedExpr,
    ) -> Result<PExpr> {
        use BinaryOp as B;
        match op {
            B::And | B::Or => {
                let l = self.compile_as(left, &DataType::Boolean)?;
                let r = self.compile_as(right, &DataType::Boolean)?;
                let o = if op == B::And {
                    Operator::And
                } else {
                    Operator::Or
                };
                Ok(Arc::new(BinaryExpr::new(l, o, r)))
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                if let Some(r) = magic_time::rewrite(&[left, right]) {
                    return self.binary(e, &r[0], op, &r[1]);
                }
                let t = self.common(&[left, right])?;
                let args = vec![self.compile_as(left, &t)?, self.compile_as(right, &t)?];
                Ok(kernel(op.as_str(), args, DataType::Boolean, move |a, _| {
                    compare::compare(op, &a[0], &a[1])
                }))
            }
            B::Concat => match &e.ty {
                SqlType::String | SqlType::Bytes => self.concat(e, left, right),
                SqlType::Null => Ok(lit(ScalarValue::Null)),
                t => unsupported(format!("|| on {t}")),
            },
            B::Add | B::Subtract | B::Multiply | B::Divide | B::Modulus => match &e.ty {
                SqlType::Null => Ok(lit(ScalarValue::Null)),
                SqlType::String if op == B::Add => self.concat(e, left, right),
                SqlType::Int | SqlType::BigInt | SqlType::Double => {
                    let t = sql_to_arrow(&e.ty);
                    let args = vec![self.compile_as(left, &t)?, self.compile_as(right, &t)?];
                    Ok(kernel(op.as_str(), args, t, move |a, _| {
                        arith::numeric(op, &a[0], &a[1])
                    }))
                }
                SqlType::Decimal { precision, scale } => {
                    let dec = |x: &TypedExpr| -> Result<PExpr> {
                        let (p, s) = x.ty.as_decimal().unwrap_or((38, 0));
                        self.compile_as(x, &DataType::Decimal128(p as u8, s as i8))
                    };
                    let args = vec![dec(left)?, dec(right)?];
                    let (p, s) = (*precision as u8, *scale as i8);
                    Ok(kernel(
                        op.as_str(),
                        args,
                        DataType::Decimal128(p, s),
                        move |a, _| arith::decimal(op, &a[0], &a[1], p, s),
                    ))
                }
                t => unsupported(format!("arithmetic producing {t}")),
            },
        }
    }

    fn concat(&self, e: &TypedExpr, left: &TypedExpr, right: &TypedExpr) -> Result<PExpr> {
        let t = sql_to_arrow(&e.ty);
        let args = vec![self.compile_as(left, &t)?, self.compile_as(right, &t)?];
        Ok(kernel("CONCAT", args, t, |a, _| {
            arith::concat(&a[0], &a[1])
        }))
    }

    fn function(&self, name: &str, args: &[TypedExpr]) -> Result<PExpr> {
        if let Some(lf) = self.registry.lambda(name) {
            if args
                .iter()
                .any(|a| matches!(a.kind, TypedExprKind::Lambda { .. }))
            {
                return self.lambda_call(lf, name, args);
            }
        }
        if name.eq_ignore_ascii_case("AS_VALUE")
            && args.len() == 1
            && self.registry.scalar(name).is_none()
        {
            return self.compile(&args[0]);
        }
        let compiled = args
            .iter()
            .map(|a| self.compile(a))
            .collect::<Result<Vec<_>>>()?;
        let types = compiled
            .iter()
            .map(|c| self.dt(c))
            .collect::<Result<Vec<_>>>()?;
        if self.registry.conformance_test_functions() {
            let arg_types: Vec<SqlType> = args.iter().map(|a| a.ty.clone()).collect();
            let up = name.to_ascii_uppercase();
            if let Some(found) = crate::catalog::test_functions::scalar::instance(&up, &arg_types) {
                let (udf, params, ret) = found.map_err(ExprError::Function)?;
                let compiled = compiled
                    .into_iter()
                    .zip(&params)
                    .map(|(c, p)| match p {
                        Some(t) => self.cast_to(c, &sql_to_arrow(t)),
                        None => Ok(c),
                    })
                    .collect::<Result<Vec<_>>>()?;
                return Ok(Arc::new(ScalarFunctionExpr::new(
                    name,
                    udf,
                    compiled,
                    Arc::new(Field::new(name, sql_to_arrow(&ret), true)),
                    Arc::new(ConfigOptions::default()),
                )));
            }
        }
        let call = self.registry.resolve(name, &types).map_err(|err| {
            if self.registry.scalar(name).is_none() {
                ExprError::NotSupportedYet(format!("function {name}"))
            } else {
                ExprError::Function(err.to_string())
            }
        })?;
        let compiled = compiled
            .into_iter()
            .zip(&call.arg_types)
            .map(|(c, t)| self.cast_to(c, t))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ScalarFunctionExpr::new(
            name,
            call.udf,
            compiled,
            Arc::new(Field::new(name, call.return_type, true)),
            Arc::new(ConfigOptions::default()),
        )))
    }

    /// TRANSFORM / FILTER / REDUCE: each lambda body compiles over a schema of its parameters
    /// then every outer column or variable the bodies read (captured, passed as extra
    /// arguments).
    fn lambda_call(
        &self,
        lf: crate::functions::lambda::LambdaFunction,
        name: &str,
        args: &[TypedExpr],
    ) -> Result<PExpr> {
        let lead = lf.leading_args();
        if args.len() <= lead {
            return Err(ExprError::Invalid(format!("{name} without a lambda")));
        }
        let mut call_args = args[..lead]
            .iter()
            .map(|a| self.compile(a))
            .collect::<Result<Vec<_>>>()?;
        let mut captured: Vec<Slot> = Vec::new();
        for a in &args[lead..] {
            let TypedExprKind::Lambda { params, body, .. } = &a.kind else {
                return Err(ExprError::Invalid(format!(
                    "{name}: expected a lambda, got {a}"
                )));
            };
            free_slots(body, params, &mut captured);
        }
        let captured_exprs = captured
            .iter()
            .map(|s| {
                let i = self.index(s).ok_or_else(|| match s {
                    Slot::Col(r) => ExprError::UnknownColumn(r.to_string()),
                    Slot::Var(v) => ExprError::UnknownVariable(v.clone()),
                })?;
                Ok(Arc::new(Column::new(self.schema.field(i).name(), i)) as PExpr)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut lambdas = Vec::new();
        for a in &args[lead..] {
            let TypedExprKind::Lambda {
                params,
                param_types,
                body,
            } = &a.kind
            else {
                unreachable!("checked above");
            };
            let mut fields: Vec<Field> = params
                .iter()
                .zip(param_types)
                .map(|(p, t)| Field::new(p, sql_to_arrow(t), true))
                .collect();
            let mut slots: Vec<Slot> = params.iter().cloned().map(Slot::Var).collect();
            for (s, c) in captured.iter().zip(&captured_exprs) {
                fields.push(Field::new(
                    format!("captured_{}", fields.len()),
                    self.dt(c)?,
                    true,
                ));
                slots.push(s.clone());
            }
            let schema = Arc::new(Schema::new(fields));
            let inner = Scope {
                slots,
                schema: schema.clone(),
                registry: self.registry,
            };
            let body = inner.compile(body)?;
            lambdas.push(Lambda {
                schema,
                params: params.len(),
                body,
            });
        }
        call_args.extend(captured_exprs);
        let udf = Arc::new(lf.bind(lambdas));
        let types = call_args
            .iter()
            .map(|c| self.dt(c))
            .collect::<Result<Vec<_>>>()?;
        let ret = udf.return_type(&types)?;
        Ok(Arc::new(ScalarFunctionExpr::new(
            name,
            udf,
            call_args,
            Arc::new(Field::new(name, ret, true)),
            Arc::new(ConfigOptions::default()),
        )))
    }
}

/// Columns and lambda variables `e` reads that `bound` does not bind, appended to `out`
/// once each, in order of appearance.
fn free_slots(e: &TypedExpr, bound: &[String], out: &mut Vec<Slot>) {
    let slot = match &e.kind {
        TypedExprKind::Column(c) => Some(Slot::Col(c.clone())),
        TypedExprKind::LambdaVar(v) if !bound.contains(v) => Some(Slot::Var(v.clone())),
        TypedExprKind::Lambda { params, body, .. } => {
            let mut inner = bound.to_vec();
            inner.extend(params.iter().cloned());
            free_slots(body, &inner, out);
            return;
        }
        _ => None,
    };
    if let Some(s) = slot {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    for c in e.children() {
        free_slots(c, bound, out);
    }
}
