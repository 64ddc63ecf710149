//! Typed expressions: the analyzer's output for every expression. Each node carries its
//! [`SqlType`]; every column reference names the input column it reads.

use std::fmt;

use super::types::SqlType;
use crate::ast::expr::write_string_literal;
use crate::ast::{BinaryOp, Literal, Span, TimeUnit};

/// A reference to a column of the input of the plan node that evaluates the expression.
///
/// `source` is the alias (or name) of the `FROM`/`JOIN` source the column came from, or
/// `None` for columns a node computed (group keys, aggregate results, projections).
/// Look it up in the input schema with [`super::Schema::find`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnRef {
    pub source: Option<String>,
    pub name: String,
}

impl fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.source {
            write!(f, "{s}.")?;
        }
        f.write_str(&self.name)
    }
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedExpr {
    pub kind: TypedExprKind,
    pub ty: SqlType,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypedExprKind {
    Literal(Literal),
    /// `DATE '2021-01-01'` and friends: the text, to be parsed as `ty`.
    TypedLiteral(String),
    Column(ColumnRef),
    /// A lambda parameter inside a lambda body.
    LambdaVar(String),
    Dereference {
        base: Box<TypedExpr>,
        field: String,
    },
    /// Array element (1-based, negative from the end) or map value.
    Subscript {
        base: Box<TypedExpr>,
        index: Box<TypedExpr>,
    },
    Negate(Box<TypedExpr>),
    Not(Box<TypedExpr>),
    /// Operands are not cast: the evaluator widens numeric operands to the common type
    /// ([`SqlType::common`]) before arithmetic or comparison.
    Binary {
        left: Box<TypedExpr>,
        op: BinaryOp,
        right: Box<TypedExpr>,
    },
    Between {
        expr: Box<TypedExpr>,
        negated: bool,
        low: Box<TypedExpr>,
        high: Box<TypedExpr>,
    },
    InList {
        expr: Box<TypedExpr>,
        negated: bool,
        list: Vec<TypedExpr>,
    },
    Like {
        expr: Box<TypedExpr>,
        negated: bool,
        pattern: Box<TypedExpr>,
        escape: Option<String>,
    },
    IsNull {
        expr: Box<TypedExpr>,
        negated: bool,
    },
    IsDistinctFrom {
        left: Box<TypedExpr>,
        negated: bool,
        right: Box<TypedExpr>,
    },
    /// Searched CASE (a simple `CASE x WHEN v` is rewritten to `WHEN x = v`).
    Case {
        whens: Vec<(TypedExpr, TypedExpr)>,
        else_result: Option<Box<TypedExpr>>,
    },
    /// Conversion to `ty`.
    Cast(Box<TypedExpr>),
    Array(Vec<TypedExpr>),
    Map(Vec<(TypedExpr, TypedExpr)>),
    Struct(Vec<(String, TypedExpr)>),
    /// A scalar function call (name upper-cased, as registered).
    Function {
        name: String,
        args: Vec<TypedExpr>,
    },
    /// An aggregate call. Only appears in the analyzer's intermediate trees: plans carry
    /// aggregates in [`super::AggregateCall`]s and refer to their results by column.
    Aggregate {
        name: String,
        args: Vec<TypedExpr>,
    },
    /// A table function call (same remark as `Aggregate`, see [`super::TableFunctionCall`]).
    TableFunction {
        name: String,
        args: Vec<TypedExpr>,
    },
    /// A lambda argument; the parameter types are in `param_types`, `ty` is the body's type.
    Lambda {
        params: Vec<String>,
        param_types: Vec<SqlType>,
        body: Box<TypedExpr>,
    },
    TimeUnit(TimeUnit),
    AtTimeZone {
        expr: Box<TypedExpr>,
        zone: String,
    },
}

impl TypedExpr {
    pub fn new(kind: TypedExprKind, ty: SqlType, span: Span) -> Self {
        TypedExpr { kind, ty, span }
    }

    pub fn column(source: Option<String>, name: impl Into<String>, ty: SqlType) -> Self {
        TypedExpr::new(
            TypedExprKind::Column(ColumnRef {
                source,
                name: name.into(),
            }),
            ty,
            Span::default(),
        )
    }

    pub fn as_column(&self) -> Option<&ColumnRef> {
        match &self.kind {
            TypedExprKind::Column(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_null_literal(&self) -> bool {
        matches!(self.kind, TypedExprKind::Literal(Literal::Null))
    }

    pub fn is_literal(&self) -> bool {
        matches!(
            self.kind,
            TypedExprKind::Literal(_) | TypedExprKind::TypedLiteral(_)
        ) || matches!(&self.kind, TypedExprKind::Negate(e) if e.is_literal())
            || matches!(&self.kind, TypedExprKind::Cast(e) if e.is_literal())
    }

    /// The direct children.
    pub fn children(&self) -> Vec<&TypedExpr> {
        use TypedExprKind as K;
        match &self.kind {
            K::Literal(_)
            | K::TypedLiteral(_)
            | K::Column(_)
            | K::LambdaVar(_)
            | K::TimeUnit(_) => vec![],
            K::Dereference { base, .. } => vec![base],
            K::Subscript { base, index } => vec![base, index],
            K::Negate(e) | K::Not(e) | K::Cast(e) => vec![e],
            K::AtTimeZone { expr, .. } | K::IsNull { expr, .. } => vec![expr],
            K::Binary { left, right, .. } | K::IsDistinctFrom { left, right, .. } => {
                vec![left, right]
            }
            K::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            K::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            K::Like { expr, pattern, .. } => vec![expr, pattern],
            K::Case { whens, else_result } => {
                let mut v: Vec<&TypedExpr> = Vec::new();
                for (c, r) in whens {
                    v.push(c);
                    v.push(r);
                }
                if let Some(e) = else_result {
                    v.push(e);
                }
                v
            }
            K::Array(items) => items.iter().collect(),
            K::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            K::Struct(fields) => fields.iter().map(|(_, e)| e).collect(),
            K::Function { args, .. }
            | K::Aggregate { args, .. }
            | K::TableFunction { args, .. } => args.iter().collect(),
            K::Lambda { body, .. } => vec![body],
        }
    }

    /// Whether any node of the tree satisfies `pred`.
    pub fn any(&self, pred: &dyn Fn(&TypedExpr) -> bool) -> bool {
        pred(self) || self.children().into_iter().any(|c| c.any(pred))
    }

    /// Every column reference in the tree, in order.
    pub fn columns(&self) -> Vec<&ColumnRef> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a TypedExpr, out: &mut Vec<&'a ColumnRef>) {
            if let TypedExprKind::Column(c) = &e.kind {
                out.push(c);
            }
            for c in e.children() {
                walk(c, out);
            }
        }
        walk(self, &mut out);
        out
    }

    /// Rebuilds the tree bottom-up... top-down: `f` may replace a node (returning `Some`),
    /// otherwise its children are visited.
    pub fn transform(&self, f: &mut dyn FnMut(&TypedExpr) -> Option<TypedExpr>) -> TypedExpr {
        if let Some(r) = f(self) {
            return r;
        }
        use TypedExprKind as K;
        let mut t = |e: &TypedExpr| Box::new(e.transform(f));
        let kind = match &self.kind {
            K::Literal(_)
            | K::TypedLiteral(_)
            | K::Column(_)
            | K::LambdaVar(_)
            | K::TimeUnit(_) => self.kind.clone(),
            K::Dereference { base, field } => K::Dereference {
                base: t(base),
                field: field.clone(),
            },
            K::Subscript { base, index } => K::Subscript {
                base: t(base),
                index: t(index),
            },
            K::Negate(e) => K::Negate(t(e)),
            K::Not(e) => K::Not(t(e)),
            K::Cast(e) => K::Cast(t(e)),
            K::AtTimeZone { expr, zone } => K::AtTimeZone {
                expr: t(expr),
                zone: zone.clone(),
            },
            K::IsNull { expr, negated } => K::IsNull {
                expr: t(expr),
                negated: *negated,
            },
            K::Binary { left, op, right } => K::Binary {
                left: t(left),
                op: *op,
                right: t(right),
            },
            K::IsDistinctFrom {
                left,
                negated,
                right,
            } => K::IsDistinctFrom {
                left: t(left),
                negated: *negated,
                right: t(right),
            },
            K::Between {
                expr,
                negated,
                low,
                high,
            } => K::Between {
                expr: t(expr),
                negated: *negated,
                low: t(low),
                high: t(high),
            },
            K::InList {
                expr,
                negated,
                list,
            } => K::InList {
                expr: t(expr),
                negated: *negated,
                list: list.iter().map(|e| *t(e)).collect(),
            },
            K::Like {
                expr,
                negated,
                pattern,
                escape,
            } => K::Like {
                expr: t(expr),
                negated: *negated,
                pattern: t(pattern),
                escape: escape.clone(),
            },
            K::Case { whens, else_result } => K::Case {
                whens: whens.iter().map(|(c, r)| (*t(c), *t(r))).collect(),
                else_result: else_result.as_ref().map(|e| t(e)),
            },
            K::Array(items) => K::Array(items.iter().map(|e| *t(e)).collect()),
            K::Map(entries) => K::Map(entries.iter().map(|(k, v)| (*t(k), *t(v))).collect()),
            K::Struct(fields) => {
                K::Struct(fields.iter().map(|(n, e)| (n.clone(), *t(e))).collect())
            }
            K::Function { name, args } => K::Function {
                name: name.clone(),
                args: args.iter().map(|e| *t(e)).collect(),
            },
            K::Aggregate { name, args } => K::Aggregate {
                name: name.clone(),
                args: args.iter().map(|e| *t(e)).collect(),
            },
            K::TableFunction { name, args } => K::TableFunction {
                name: name.clone(),
                args: args.iter().map(|e| *t(e)).collect(),
            },
            K::Lambda {
                params,
                param_types,
                body,
            } => K::Lambda {
                params: params.clone(),
                param_types: param_types.clone(),
                body: t(body),
            },
        };
        TypedExpr::new(kind, self.ty.clone(), self.span)
    }
}

fn write_args(f: &mut fmt::Formatter<'_>, args: &[TypedExpr]) -> fmt::Result {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{a}")?;
    }
    Ok(())
}

/// Prints in ksqlDB's style (binary operations in parentheses, columns qualified when they
/// came from a named source in a join).
impl fmt::Display for TypedExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TypedExprKind as K;
        match &self.kind {
            K::Literal(Literal::Null) => f.write_str("null"),
            K::Literal(l) => write!(f, "{l}"),
            K::TypedLiteral(v) => {
                write!(f, "{} ", self.ty)?;
                write_string_literal(f, v)
            }
            K::Column(c) => write!(f, "{c}"),
            K::LambdaVar(v) => f.write_str(v),
            K::Dereference { base, field } => write!(f, "{base}->{field}"),
            K::Subscript { base, index } => write!(f, "{base}[{index}]"),
            K::Negate(e) => write!(f, "-{e}"),
            K::Not(e) => write!(f, "(NOT {e})"),
            K::Binary { left, op, right } => write!(f, "({left} {op} {right})"),
            K::Between {
                expr,
                negated,
                low,
                high,
            } => write!(
                f,
                "({expr} {}BETWEEN {low} AND {high})",
                if *negated { "NOT " } else { "" }
            ),
            K::InList {
                expr,
                negated,
                list,
            } => {
                write!(f, "({expr} {}IN (", if *negated { "NOT " } else { "" })?;
                write_args(f, list)?;
                f.write_str("))")
            }
            K::Like {
                expr,
                negated,
                pattern,
                escape,
            } => {
                write!(
                    f,
                    "({expr} {}LIKE {pattern}",
                    if *negated { "NOT " } else { "" }
                )?;
                if let Some(e) = escape {
                    f.write_str(" ESCAPE ")?;
                    write_string_literal(f, e)?;
                }
                f.write_str(")")
            }
            K::IsNull { expr, negated } => {
                write!(f, "({expr} IS {}NULL)", if *negated { "NOT " } else { "" })
            }
            K::IsDistinctFrom {
                left,
                negated,
                right,
            } => write!(
                f,
                "({left} IS {}DISTINCT FROM {right})",
                if *negated { "NOT " } else { "" }
            ),
            K::Case { whens, else_result } => {
                f.write_str("(CASE")?;
                for (c, r) in whens {
                    write!(f, " WHEN {c} THEN {r}")?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END)")
            }
            K::Cast(e) => write!(f, "CAST({e} AS {})", self.ty),
            K::Array(items) => {
                f.write_str("ARRAY[")?;
                write_args(f, items)?;
                f.write_str("]")
            }
            K::Map(entries) => {
                f.write_str("MAP(")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:={v}")?;
                }
                f.write_str(")")
            }
            K::Struct(fields) => {
                f.write_str("STRUCT(")?;
                for (i, (n, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}:={v}")?;
                }
                f.write_str(")")
            }
            K::Function { name, args }
            | K::Aggregate { name, args }
            | K::TableFunction { name, args } => {
                write!(f, "{name}(")?;
                write_args(f, args)?;
                f.write_str(")")
            }
            K::Lambda { params, body, .. } => {
                write!(f, "({}) => {body}", params.join(", "))
            }
            K::TimeUnit(u) => write!(f, "{u}"),
            K::AtTimeZone { expr, zone } => {
                write!(f, "({expr} AT TIME ZONE ")?;
                write_string_literal(f, zone)?;
                f.write_str(")")
            }
        }
    }
}
