//! Expressions: literals, column references, operators, predicates, constructors, function
//! calls and lambdas. Printed back in ksqlDB style, with every binary operation in
//! parentheses so that the text reads back to the same tree without precedence rules.

use std::fmt;

use super::ident::{write_ident, Ident};
use super::span::Span;
use super::types::Type;
use super::window::TimeUnit;

/// An expression and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// An expression built by code, with no source position.
    pub fn unspanned(kind: ExprKind) -> Self {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    /// The direct sub-expressions, left to right.
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Literal(_)
            | ExprKind::Column { .. }
            | ExprKind::TimeUnit(_)
            | ExprKind::TypedLiteral { .. } => vec![],
            ExprKind::Dereference { base, .. } => vec![base],
            ExprKind::Subscript { base, index } => vec![base, index],
            ExprKind::Unary { expr, .. }
            | ExprKind::Not(expr)
            | ExprKind::IsNull { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::AtTimeZone { expr, .. } => vec![expr],
            ExprKind::Binary { left, right, .. } | ExprKind::IsDistinctFrom { left, right, .. } => {
                vec![left, right]
            }
            ExprKind::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            ExprKind::InList { expr, list, .. } => {
                std::iter::once(&**expr).chain(list.iter()).collect()
            }
            ExprKind::Like { expr, pattern, .. } => vec![expr, pattern],
            ExprKind::Case {
                operand,
                whens,
                else_result,
            } => {
                let mut v: Vec<&Expr> = operand.iter().map(|b| &**b).collect();
                for w in whens {
                    v.push(&w.condition);
                    v.push(&w.result);
                }
                v.extend(else_result.iter().map(|b| &**b));
                v
            }
            ExprKind::Array(items) => items.iter().collect(),
            ExprKind::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
            ExprKind::Struct(fields) => fields.iter().map(|(_, v)| v).collect(),
            ExprKind::Function { args, .. } => args.iter().collect(),
            ExprKind::Lambda { body, .. } => vec![body],
        }
    }

    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// `col` or `source.col`.
    Column {
        source: Option<Ident>,
        name: Ident,
    },
    /// Struct field access: `base->field`.
    Dereference {
        base: Box<Expr>,
        field: Ident,
    },
    /// `base[index]`: an array element (1-based, negative from the end) or a map value.
    Subscript {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `-x`, `+x`.
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    /// `NOT x`.
    Not(Box<Expr>),
    /// Arithmetic, `||` concatenation, comparison, `AND` and `OR`.
    Binary {
        left: Box<Expr>,
        op: BinaryOp,
        right: Box<Expr>,
    },
    /// `x [NOT] BETWEEN low AND high`.
    Between {
        expr: Box<Expr>,
        negated: bool,
        low: Box<Expr>,
        high: Box<Expr>,
    },
    /// `x [NOT] IN (a, b, ...)`.
    InList {
        expr: Box<Expr>,
        negated: bool,
        list: Vec<Expr>,
    },
    /// `x [NOT] LIKE pattern [ESCAPE 'c']`.
    Like {
        expr: Box<Expr>,
        negated: bool,
        pattern: Box<Expr>,
        escape: Option<String>,
    },
    /// `x IS [NOT] NULL`.
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `x IS [NOT] DISTINCT FROM y`.
    IsDistinctFrom {
        left: Box<Expr>,
        negated: bool,
        right: Box<Expr>,
    },
    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`: searched when `operand` is `None`.
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<WhenClause>,
        else_result: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`.
    Cast {
        expr: Box<Expr>,
        ty: Type,
    },
    /// `ARRAY[a, b, ...]`.
    Array(Vec<Expr>),
    /// `MAP(k := v, ...)`.
    Map(Vec<(Expr, Expr)>),
    /// `STRUCT(name := v, ...)`.
    Struct(Vec<(Ident, Expr)>),
    /// `name(args)`; `COUNT(*)` has `star` set and no arguments.
    Function {
        name: Ident,
        args: Vec<Expr>,
        star: bool,
    },
    /// `x => body` or `(x, y) => body`, as a function argument.
    Lambda {
        params: Vec<Ident>,
        body: Box<Expr>,
    },
    /// A time unit given as a function argument: `TIMESTAMPADD(MILLISECONDS, 5, ts)`.
    TimeUnit(TimeUnit),
    /// A typed string literal: `DATE '2021-01-01'`, `TIMESTAMP '...'`.
    TypedLiteral {
        type_name: Ident,
        value: String,
    },
    /// `x AT TIME ZONE 'zone'`.
    AtTimeZone {
        expr: Box<Expr>,
        zone: String,
    },
}

/// A `WHEN condition THEN result` arm.
#[derive(Debug, Clone, PartialEq)]
pub struct WhenClause {
    pub condition: Expr,
    pub result: Expr,
}

/// A literal value. Integer literals are `Integer` when they fit an INT and `BigInt`
/// otherwise; `1.5` is a `Decimal` (kept as written, so its scale is known) and `1.5E3` a
/// `Double`, as in ksqlDB.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Boolean(bool),
    Integer(i32),
    BigInt(i64),
    /// The digits as written, e.g. `"1.20"` or `"-0.5"`.
    Decimal(String),
    Double(f64),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Minus,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulus,
    /// `||`
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Subtract => "-",
            BinaryOp::Multiply => "*",
            BinaryOp::Divide => "/",
            BinaryOp::Modulus => "%",
            BinaryOp::Concat => "||",
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Subtract
                | BinaryOp::Multiply
                | BinaryOp::Divide
                | BinaryOp::Modulus
        )
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `s` as a single-quoted SQL string, doubling embedded quotes.
pub fn write_string_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    write!(f, "'{}'", s.replace('\'', "''"))
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Boolean(true) => f.write_str("true"),
            Literal::Boolean(false) => f.write_str("false"),
            Literal::Integer(i) => write!(f, "{i}"),
            Literal::BigInt(i) => write!(f, "{i}"),
            Literal::Decimal(d) => f.write_str(d),
            // Always with an exponent, so that it reads back as a DOUBLE.
            Literal::Double(d) => write!(f, "{d:E}"),
            Literal::String(s) => write_string_literal(f, s),
        }
    }
}

fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Writes the base of `->` or `[...]`, in parentheses unless it binds at least as tightly.
fn write_postfix_base(f: &mut fmt::Formatter<'_>, base: &Expr) -> fmt::Result {
    let text = base.to_string();
    let wrap = matches!(
        base.kind,
        ExprKind::Unary { .. } | ExprKind::Lambda { .. } | ExprKind::TimeUnit(_)
    ) || text.starts_with(['-', '+']);
    if wrap {
        write!(f, "({text})")
    } else {
        f.write_str(&text)
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl fmt::Display for ExprKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExprKind::Literal(l) => write!(f, "{l}"),
            ExprKind::Column { source, name } => {
                if let Some(s) = source {
                    write!(f, "{s}.")?;
                }
                write!(f, "{name}")
            }
            ExprKind::Dereference { base, field } => {
                write_postfix_base(f, base)?;
                write!(f, "->{field}")
            }
            ExprKind::Subscript { base, index } => {
                write_postfix_base(f, base)?;
                write!(f, "[{index}]")
            }
            ExprKind::Unary { op, expr } => {
                let sign = match op {
                    UnaryOp::Minus => "-",
                    UnaryOp::Plus => "+",
                };
                let inner = expr.to_string();
                // `- -1` must not become the comment `--1`.
                if inner.starts_with(['-', '+']) {
                    write!(f, "{sign}({inner})")
                } else {
                    write!(f, "{sign}{inner}")
                }
            }
            ExprKind::Not(e) => write!(f, "(NOT {e})"),
            ExprKind::Binary { left, op, right } => write!(f, "({left} {op} {right})"),
            ExprKind::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({expr} {not}BETWEEN {low} AND {high})")
            }
            ExprKind::InList {
                expr,
                negated,
                list,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({expr} {not}IN (")?;
                write_list(f, list)?;
                f.write_str("))")
            }
            ExprKind::Like {
                expr,
                negated,
                pattern,
                escape,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({expr} {not}LIKE {pattern}")?;
                if let Some(e) = escape {
                    f.write_str(" ESCAPE ")?;
                    write_string_literal(f, e)?;
                }
                f.write_str(")")
            }
            ExprKind::IsNull { expr, negated } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({expr} IS {not}NULL)")
            }
            ExprKind::IsDistinctFrom {
                left,
                negated,
                right,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "({left} IS {not}DISTINCT FROM {right})")
            }
            ExprKind::Case {
                operand,
                whens,
                else_result,
            } => {
                f.write_str("(CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for w in whens {
                    write!(f, " WHEN {} THEN {}", w.condition, w.result)?;
                }
                if let Some(e) = else_result {
                    write!(f, " ELSE {e}")?;
                }
                f.write_str(" END)")
            }
            ExprKind::Cast { expr, ty } => write!(f, "CAST({expr} AS {ty})"),
            ExprKind::Array(items) => {
                f.write_str("ARRAY[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            ExprKind::Map(entries) => {
                f.write_str("MAP(")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}:={v}")?;
                }
                f.write_str(")")
            }
            ExprKind::Struct(fields) => {
                f.write_str("STRUCT(")?;
                for (i, (name, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}:={v}")?;
                }
                f.write_str(")")
            }
            ExprKind::Function { name, args, star } => {
                write!(f, "{name}(")?;
                if *star {
                    f.write_str("*")?;
                } else {
                    write_list(f, args)?;
                }
                f.write_str(")")
            }
            ExprKind::Lambda { params, body } => {
                f.write_str("(")?;
                write_list(f, params)?;
                write!(f, ") => {body}")
            }
            ExprKind::TimeUnit(u) => write!(f, "{u}"),
            ExprKind::TypedLiteral { type_name, value } => {
                write_ident(f, &type_name.value)?;
                f.write_str(" ")?;
                write_string_literal(f, value)
            }
            ExprKind::AtTimeZone { expr, zone } => {
                f.write_str("(")?;
                write_postfix_base(f, expr)?;
                f.write_str(" AT TIME ZONE ")?;
                write_string_literal(f, zone)?;
                f.write_str(")")
            }
        }
    }
}
