//! Typing expressions: resolves column references against a scope, checks operand types
//! with ksqlDB's implicit widening (INT → BIGINT → DECIMAL → DOUBLE), resolves function
//! calls through the [`FunctionCatalog`], and produces [`TypedExpr`]s.

use crate::ast::{BinaryOp, Expr, ExprKind, Literal, Span, UnaryOp};
use crate::plan::types::MAX_DECIMAL_PRECISION;
use crate::plan::{Column, ColumnRef, ColumnRole, SqlType, TypedExpr, TypedExprKind};
use crate::suggest;

use super::catalog::{FunctionCatalog, FunctionKind};
use super::coerce;
use super::error::{err, AnalysisError, KsqlWording, Result};

/// The columns an expression may refer to, and which qualifiers name which sources.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub columns: Vec<Column>,
    /// `(qualifier, source name)`: aliases, and the source names themselves.
    pub qualifiers: Vec<(String, String)>,
}

impl Scope {
    /// The alias a qualifier stands for (an alias, or a source's own name).
    fn resolve_qualifier(&self, q: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(a, _)| a == q)
            .or_else(|| self.qualifiers.iter().find(|(_, n)| n == q))
            .map(|(a, _)| a.as_str())
    }
}

/// Names ksqlDB's messages give comparison operators.
fn op_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "EQUAL",
        BinaryOp::NotEq => "NOT_EQUAL",
        BinaryOp::Lt => "LESS_THAN",
        BinaryOp::LtEq => "LESS_THAN_OR_EQUAL",
        BinaryOp::Gt => "GREATER_THAN",
        BinaryOp::GtEq => "GREATER_THAN_OR_EQUAL",
        _ => op.as_str(),
    }
}

/// Types expressions of one clause against one scope.
pub(crate) struct ExprTyper<'a> {
    pub scope: &'a Scope,
    pub functions: &'a dyn FunctionCatalog,
    pub custom_types: &'a dyn Fn(&str) -> Option<SqlType>,
    /// The clause name ksqlDB puts in "X column 'c' cannot be resolved" (SELECT, WHERE...).
    pub clause: &'static str,
    /// Whether aggregate calls are allowed here.
    pub allow_aggregates: bool,
    pub allow_table_functions: bool,
    /// A pull query's WHERE over a table: its key columns, whose IN-list values must convert
    /// to the key's type (ksqlDB words that failure after the key column).
    pub pull_keys: Vec<(String, SqlType)>,
    lambda_vars: Vec<(String, SqlType)>,
    /// The aggregate call being typed (aggregates do not nest).
    outer_aggregate: Option<String>,
}

impl<'a> ExprTyper<'a> {
    pub fn new(
        scope: &'a Scope,
        functions: &'a dyn FunctionCatalog,
        custom_types: &'a dyn Fn(&str) -> Option<SqlType>,
        clause: &'static str,
    ) -> Self {
        ExprTyper {
            scope,
            functions,
            custom_types,
            clause,
            allow_aggregates: false,
            allow_table_functions: false,
            pull_keys: Vec::new(),
            lambda_vars: Vec::new(),
            outer_aggregate: None,
        }
    }

    /// An expression as ksqlDB shows it in messages: `null` in lower case, and in joins a
    /// qualified column `A.B` as the `A_B` it is called in the joined schema.
    fn show(&self, e: &Expr) -> String {
        let mut text = ksql_text(e);
        if self.scope.qualifiers.len() > 1 {
            for (q, _) in &self.scope.qualifiers {
                text = text.replace(&format!("{q}."), &format!("{q}_"));
            }
        }
        text
    }

    pub fn resolve_type(&self, t: &crate::ast::Type, span: Span) -> Result<SqlType> {
        SqlType::from_ast(t, self.custom_types)
            .map_err(|name| AnalysisError::new(span, format!("Can't find type '{name}'")))
    }

    fn resolve_column(
        &self,
        source: Option<&crate::ast::Ident>,
        name: &crate::ast::Ident,
        span: Span,
    ) -> Result<TypedExpr> {
        if source.is_none() {
            if let Some((_, t)) = self
                .lambda_vars
                .iter()
                .rev()
                .find(|(n, _)| *n == name.value)
            {
                return Ok(TypedExpr::new(
                    TypedExprKind::LambdaVar(name.value.clone()),
                    t.clone(),
                    span,
                ));
            }
        }
        let qualifier = match source {
            Some(q) => match self.scope.resolve_qualifier(&q.value) {
                Some(a) => Some(a.to_string()),
                None => {
                    let cands: Vec<&str> = self
                        .scope
                        .qualifiers
                        .iter()
                        .map(|(a, _)| a.as_str())
                        .collect();
                    return Err(AnalysisError::new(
                        q.span,
                        format!("'{}' is not a valid stream/table name or alias.", q.value),
                    )
                    .worded(KsqlWording::Prepare)
                    .with_suggestion(suggest(&q.value, cands)));
                }
            },
            None => None,
        };
        let matches: Vec<&Column> = self
            .scope
            .columns
            .iter()
            .filter(|c| {
                c.name == name.value
                    && match &qualifier {
                        Some(q) => c.source.as_deref() == Some(q.as_str()),
                        None => true,
                    }
            })
            .collect();
        let chosen = match matches.len() {
            0 => {
                let shown = match source {
                    Some(q) => format!("{}.{}", q.value, name.value),
                    None => name.value.clone(),
                };
                let cands: Vec<&str> = self
                    .scope
                    .columns
                    .iter()
                    .filter(|c| match &qualifier {
                        Some(q) => c.source.as_deref() == Some(q.as_str()),
                        None => true,
                    })
                    .map(|c| c.name.as_str())
                    .collect();
                return Err(AnalysisError::new(
                    span,
                    format!("{} column '{shown}' cannot be resolved.", self.clause),
                )
                .with_suggestion(suggest(&name.value, cands)));
            }
            1 => matches[0],
            _ => {
                // Pseudo-columns of a join: the join's own (unqualified) one.
                if let Some(c) = matches
                    .iter()
                    .find(|c| c.role == ColumnRole::Pseudo && c.source.is_none())
                {
                    c
                } else {
                    let opts: Vec<String> = matches
                        .iter()
                        .map(|c| format!("{}.{}", c.source.as_deref().unwrap_or(""), c.name))
                        .collect();
                    return Err(AnalysisError::new(
                        span,
                        format!(
                            "Column '{}' is ambiguous. Could be {}.",
                            name.value,
                            opts.join(" or ")
                        ),
                    )
                    .worded(KsqlWording::Sanitize));
                }
            }
        };
        Ok(TypedExpr::new(
            TypedExprKind::Column(ColumnRef {
                source: chosen.source.clone(),
                name: chosen.name.clone(),
            }),
            chosen.ty.clone(),
            span,
        ))
    }

    pub fn type_expr(&mut self, e: &Expr) -> Result<TypedExpr> {
        use ExprKind as E;
        use TypedExprKind as K;
        let span = e.span;
        let mk = |kind, ty| Ok(TypedExpr::new(kind, ty, span));
        match &e.kind {
            E::Literal(l) => mk(K::Literal(l.clone()), literal_type(l)),
            E::Column { source, name } => self.resolve_column(source.as_ref(), name, span),
            E::Dereference { base, field } => {
                let b = self.type_expr(base)?;
                match &b.ty {
                    SqlType::Struct(fields) => {
                        let found = fields.iter().find(|(n, _)| *n == field.value).or_else(|| {
                            fields
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(&field.value))
                        });
                        match found {
                            Some((n, t)) => {
                                let (n, t) = (n.clone(), t.clone());
                                mk(
                                    K::Dereference {
                                        base: Box::new(b),
                                        field: n,
                                    },
                                    t,
                                )
                            }
                            None => Err(AnalysisError::new(
                                field.span,
                                format!("Could not find field '{}' in '{}'.", field.value, base),
                            )
                            .with_suggestion(suggest(
                                &field.value,
                                fields.iter().map(|(n, _)| n.as_str()),
                            ))),
                        }
                    }
                    SqlType::Null => mk(
                        K::Dereference {
                            base: Box::new(b),
                            field: field.value.clone(),
                        },
                        SqlType::Null,
                    ),
                    t => err(
                        span,
                        format!(
                            "Expected STRUCT type for dereference '{}->{}', got: {t}",
                            base, field.value
                        ),
                    ),
                }
            }
            E::Subscript { base, index } => {
                let b = self.type_expr(base)?;
                let i = self.type_expr(index)?;
                let ty = match &b.ty {
                    SqlType::Array(el) => {
                        if !i.ty.is_integer() && i.ty != SqlType::Null {
                            return err(
                                index.span,
                                format!("Array index must be an INTEGER, got: {}", i.ty),
                            );
                        }
                        (**el).clone()
                    }
                    SqlType::Map(_, v) => (**v).clone(),
                    t => {
                        return err(
                            span,
                            format!("Subscript expression must be an ARRAY or MAP, got: {t}"),
                        )
                    }
                };
                mk(
                    K::Subscript {
                        base: Box::new(b),
                        index: Box::new(i),
                    },
                    ty,
                )
            }
            E::Unary { op, expr } => {
                let inner = self.type_expr(expr)?;
                if !inner.ty.is_numeric() && inner.ty != SqlType::Null {
                    return err(
                        span,
                        format!("Unary operator not supported on type {}: {e}", inner.ty),
                    );
                }
                match op {
                    UnaryOp::Plus => Ok(inner),
                    UnaryOp::Minus => {
                        let ty = inner.ty.clone();
                        mk(K::Negate(Box::new(inner)), ty)
                    }
                }
            }
            E::Not(inner) => {
                let i = self.type_expr(inner)?;
                self.expect_boolean(&i, inner)?;
                mk(K::Not(Box::new(i)), SqlType::Boolean)
            }
            E::Binary { left, op, right } => {
                let l = self.type_expr(left)?;
                let r = self.type_expr(right)?;
                let ty = self.binary_type(e, left, *op, right, &l.ty, &r.ty)?;
                mk(
                    K::Binary {
                        left: Box::new(l),
                        op: *op,
                        right: Box::new(r),
                    },
                    ty,
                )
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let x = self.type_expr(expr)?;
                let lo = self.type_expr(low)?;
                let hi = self.type_expr(high)?;
                let time_column = matches!(&expr.kind, ExprKind::Column { name, .. }
                    if matches!(name.value.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"));
                for (b, be, op) in [
                    (&lo, low, "GREATER_THAN_OR_EQUAL"),
                    (&hi, high, "LESS_THAN_OR_EQUAL"),
                ] {
                    if !comparable(&x.ty, &b.ty, BinaryOp::GtEq)
                        && (!time_column || b.ty != SqlType::String)
                    {
                        return err(
                            span,
                            format!(
                                "Invalid expression: Cannot compare {} ({}) to {} ({}) with {op}.",
                                self.show(expr),
                                x.ty,
                                self.show(be),
                                b.ty
                            ),
                        );
                    }
                }
                mk(
                    K::Between {
                        expr: Box::new(x),
                        negated: *negated,
                        low: Box::new(lo),
                        high: Box::new(hi),
                    },
                    SqlType::Boolean,
                )
            }
            E::InList {
                expr,
                negated,
                list,
            } => {
                let x = self.type_expr(expr)?;
                let mut items = Vec::new();
                for it in list {
                    let t = self.type_expr(it)?;
                    let key = match &x.kind {
                        K::Column(c) => self.pull_keys.iter().find(|(n, _)| *n == c.name),
                        _ => None,
                    };
                    if let (Some((name, ty)), false) = (key, comparable(&x.ty, &t.ty, BinaryOp::Eq))
                    {
                        return err(
                            it.span,
                            format!(
                                "'{}' can not be converted to the type of the key column: {name} {ty} KEY",
                                match &it.kind {
                                    ExprKind::Literal(Literal::String(s)) => s.clone(),
                                    _ => it.to_string(),
                                }
                            ),
                        );
                    }
                    items.push(t);
                }
                // The items are brought to the common type of the value and the items, as
                // ksqlDB's InListEvaluator does before matching. The value itself stays as
                // written (a pull query's key lookup must still see its key column), and
                // numeric widening of it is left to evaluation.
                let texts: Vec<String> = std::iter::once(&**expr)
                    .chain(list)
                    .map(|e| self.show(e))
                    .collect();
                let all: Vec<TypedExpr> = std::iter::once(x.clone())
                    .chain(items.iter().cloned())
                    .collect();
                let items = match coerce::common_list_type(&all, &texts)? {
                    Some(common) => items
                        .into_iter()
                        .map(|t| coerce::convert_to(t, &common))
                        .collect(),
                    None => items,
                };
                mk(
                    K::InList {
                        expr: Box::new(x),
                        negated: *negated,
                        list: items,
                    },
                    SqlType::Boolean,
                )
            }
            E::Like {
                expr,
                negated,
                pattern,
                escape,
            } => {
                let x = self.type_expr(expr)?;
                let p = self.type_expr(pattern)?;
                if !matches!(x.ty, SqlType::String | SqlType::Null) {
                    return err(
                        expr.span,
                        format!(
                            "The column type for Like condition must be VARCHAR. The column type is {}",
                            x.ty
                        ),
                    );
                }
                if !matches!(p.ty, SqlType::String | SqlType::Null) {
                    return err(
                        pattern.span,
                        format!(
                            "Like condition must be between strings, got {pattern} ({})",
                            p.ty
                        ),
                    );
                }
                mk(
                    K::Like {
                        expr: Box::new(x),
                        negated: *negated,
                        pattern: Box::new(p),
                        escape: escape.clone(),
                    },
                    SqlType::Boolean,
                )
            }
            E::IsNull { expr, negated } => {
                let x = self.type_expr(expr)?;
                mk(
                    K::IsNull {
                        expr: Box::new(x),
                        negated: *negated,
                    },
                    SqlType::Boolean,
                )
            }
            E::IsDistinctFrom {
                left,
                negated,
                right,
            } => {
                let l = self.type_expr(left)?;
                let r = self.type_expr(right)?;
                if !comparable(&l.ty, &r.ty, BinaryOp::Eq) {
                    return err(
                        span,
                        format!(
                            "Cannot compare {left} ({}) to {right} ({}) with IS_DISTINCT_FROM.",
                            l.ty, r.ty
                        ),
                    );
                }
                mk(
                    K::IsDistinctFrom {
                        left: Box::new(l),
                        negated: *negated,
                        right: Box::new(r),
                    },
                    SqlType::Boolean,
                )
            }
            E::Case {
                operand,
                whens,
                else_result,
            } => {
                let op = operand.as_ref().map(|o| self.type_expr(o)).transpose()?;
                let mut typed_whens = Vec::new();
                let mut ty = SqlType::Null;
                for w in whens {
                    let c = self.type_expr(&w.condition)?;
                    let cond = match &op {
                        Some(o) => {
                            if !comparable(&o.ty, &c.ty, BinaryOp::Eq) {
                                return err(
                                    w.condition.span,
                                    format!(
                                        "Cannot compare {} ({}) to {} ({}) with EQUAL.",
                                        operand.as_ref().unwrap(),
                                        o.ty,
                                        w.condition,
                                        c.ty
                                    ),
                                );
                            }
                            TypedExpr::new(
                                K::Binary {
                                    left: Box::new(o.clone()),
                                    op: BinaryOp::Eq,
                                    right: Box::new(c),
                                },
                                SqlType::Boolean,
                                w.condition.span,
                            )
                        }
                        None => {
                            if !matches!(c.ty, SqlType::Boolean | SqlType::Null) {
                                return err(
                                    w.condition.span,
                                    "WHEN operand type should be boolean.".to_string()
                                        + &format!("\nType for '{}' is {}", w.condition, c.ty),
                                );
                            }
                            c
                        }
                    };
                    let r = self.type_expr(&w.result)?;
                    // ksqlDB does not widen CASE branches: every typed THEN must have the
                    // same type (NULL literals aside).
                    if r.ty != SqlType::Null {
                        if ty == SqlType::Null {
                            ty = r.ty.clone();
                        } else if r.ty != ty {
                            return err(
                                w.result.span,
                                format!(
                                    "Invalid Case expression. Type for all 'THEN' clauses should be the same.\nTHEN expression 'WHEN {} THEN {}' has type: {}.\nPrevious THEN expression(s) type: {ty}.",
                                    ksql_text(&w.condition),
                                    ksql_text(&w.result),
                                    r.ty
                                ),
                            );
                        }
                    }
                    typed_whens.push((cond, r));
                }
                let el = match else_result {
                    Some(x) => {
                        let t = self.type_expr(x)?;
                        if ty == SqlType::Null {
                            ty = t.ty.clone();
                        } else if t.ty != SqlType::Null && t.ty != ty {
                            return err(
                                x.span,
                                format!(
                                    "Invalid Case expression. Type for the default clause should be the same as for 'THEN' clauses.\nTHEN type: {ty}.\nDEFAULT type: {}.",
                                    t.ty
                                ),
                            );
                        }
                        Some(Box::new(t))
                    }
                    None => None,
                };
                if ty == SqlType::Null {
                    return err(
                        span,
                        "Invalid Case expression. All case branches have NULL type",
                    );
                }
                mk(
                    K::Case {
                        whens: typed_whens,
                        else_result: el,
                    },
                    ty,
                )
            }
            E::Cast { expr, ty } => {
                let x = self.type_expr(expr)?;
                let to = self.resolve_type(ty, span)?;
                if !castable(&x.ty, &to) {
                    return err(span, format!("Cast of {} to {to} is not supported", x.ty));
                }
                mk(K::Cast(Box::new(x)), to)
            }
            E::Array(items) => {
                if items.is_empty() {
                    return err(span, "Array constructor cannot be empty. Please supply at least one element (see https://github.com/confluentinc/ksql/issues/4239).");
                }
                let mut typed = Vec::new();
                for it in items {
                    typed.push(self.type_expr(it)?);
                }
                let ty = unify_elements(&typed, items)?;
                if ty == SqlType::Null {
                    return err(span, "Cannot construct an array with all NULL elements (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.");
                }
                let typed = typed
                    .into_iter()
                    .map(|t| coerce::convert_to(t, &ty))
                    .collect();
                mk(K::Array(typed), SqlType::array(ty))
            }
            E::Map(entries) => {
                if entries.is_empty() {
                    return err(span, "Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239).");
                }
                let mut typed = Vec::new();
                for (k, v) in entries {
                    let tk = self.type_expr(k)?;
                    let tv = self.type_expr(v)?;
                    typed.push((tk, tv));
                }
                let keys: Vec<TypedExpr> = typed.iter().map(|(k, _)| k.clone()).collect();
                let vals: Vec<TypedExpr> = typed.iter().map(|(_, v)| v.clone()).collect();
                let kexprs: Vec<Expr> = entries.iter().map(|(k, _)| k.clone()).collect();
                let vexprs: Vec<Expr> = entries.iter().map(|(_, v)| v.clone()).collect();
                let kt = unify_elements(&keys, &kexprs)?;
                let vt = unify_elements(&vals, &vexprs)?;
                if kt == SqlType::Null {
                    return err(span, "Cannot construct a map with all NULL keys (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL key to the desired type.");
                }
                if vt == SqlType::Null {
                    return err(span, "Cannot construct a map with all NULL values (see https://github.com/confluentinc/ksql/issues/4239). As a workaround, you may cast a NULL value to the desired type.");
                }
                let typed = typed
                    .into_iter()
                    .map(|(k, v)| (coerce::convert_to(k, &kt), coerce::convert_to(v, &vt)))
                    .collect();
                mk(K::Map(typed), SqlType::map(kt, vt))
            }
            E::Struct(fields) => {
                let mut typed = Vec::new();
                let mut tys = Vec::new();
                for (n, v) in fields {
                    if typed
                        .iter()
                        .any(|(m, _): &(String, TypedExpr)| *m == n.value)
                    {
                        return err(
                            n.span,
                            "Duplicate field names found in STRUCT: ".to_string() + &n.value,
                        );
                    }
                    let t = self.type_expr(v)?;
                    // A NULL field has no type of its own: ksqlDB makes it a STRING.
                    let ft = if t.ty == SqlType::Null {
                        SqlType::String
                    } else {
                        t.ty.clone()
                    };
                    tys.push((n.value.clone(), ft));
                    typed.push((n.value.clone(), t));
                }
                mk(K::Struct(typed), SqlType::Struct(tys))
            }
            E::Function { name, args, star } => self.type_call(e, name, args, *star),
            E::Lambda { .. } => err(span, "A lambda can only be a function argument."),
            E::TimeUnit(u) => mk(K::TimeUnit(*u), SqlType::String),
            E::TypedLiteral { type_name, value } => {
                let ty = match type_name.value.as_str() {
                    "DATE" => SqlType::Date,
                    "TIME" => SqlType::Time,
                    "TIMESTAMP" => SqlType::Timestamp,
                    other => {
                        return err(span, format!("Unsupported typed literal: {other}"));
                    }
                };
                mk(K::TypedLiteral(value.clone()), ty)
            }
            E::AtTimeZone { expr, zone } => {
                let x = self.type_expr(expr)?;
                let ty = x.ty.clone();
                mk(
                    K::AtTimeZone {
                        expr: Box::new(x),
                        zone: zone.clone(),
                    },
                    ty,
                )
            }
        }
    }

    fn expect_boolean(&self, t: &TypedExpr, e: &Expr) -> Result<()> {
        if matches!(t.ty, SqlType::Boolean | SqlType::Null) {
            Ok(())
        } else {
            err(
                e.span,
                format!(
                    "Type error in {} expression: Should evaluate to boolean but is {e} ({}) instead.",
                    self.clause, t.ty
                ),
            )
        }
    }

    fn binary_type(
        &self,
        e: &Expr,
        left: &Expr,
        op: BinaryOp,
        right: &Expr,
        l: &SqlType,
        r: &SqlType,
    ) -> Result<SqlType> {
        if op.is_comparison() {
            let is_null = |x: &Expr| matches!(x.kind, ExprKind::Literal(Literal::Null));
            if is_null(left) || is_null(right) {
                let side = |x: &Expr, t: &SqlType| {
                    if is_null(x) {
                        "NULL".to_string()
                    } else {
                        t.to_string()
                    }
                };
                return err(
                    e.span,
                    format!(
                        "Error in {} expression: Comparison with NULL not supported: {} {} {}\nUse 'IS NULL' or 'IS NOT NULL' instead.\nStatement: {}",
                        self.clause,
                        side(left, l),
                        op.as_str(),
                        side(right, r),
                        ksql_text(e)
                    ),
                );
            }
            let time_column = |x: &Expr| {
                matches!(&x.kind, ExprKind::Column { name, .. }
                    if matches!(name.value.as_str(), "ROWTIME" | "WINDOWSTART" | "WINDOWEND"))
            };
            let time_vs_string = (time_column(left) && *r == SqlType::String)
                || (time_column(right) && *l == SqlType::String);
            if !comparable(l, r, op) && !time_vs_string {
                return err(
                    e.span,
                    format!(
                        "Error in {} expression: Cannot compare {} ({l}) to {} ({r}) with {}.\nStatement: {}",
                        self.clause,
                        self.show(left),
                        self.show(right),
                        op_name(op),
                        self.show(e)
                    ),
                );
            }
            return Ok(SqlType::Boolean);
        }
        match op {
            BinaryOp::And | BinaryOp::Or => {
                for (t, x) in [(l, left), (r, right)] {
                    if !matches!(t, SqlType::Boolean | SqlType::Null) {
                        return err(
                            x.span,
                            format!(
                                "Type error in {} expression: Should evaluate to boolean but is {x} ({t})",
                                self.clause
                            ),
                        );
                    }
                }
                Ok(SqlType::Boolean)
            }
            BinaryOp::Concat => match (l, r) {
                (SqlType::String | SqlType::Null, SqlType::String | SqlType::Null) => {
                    Ok(SqlType::String)
                }
                (SqlType::Bytes | SqlType::Null, SqlType::Bytes | SqlType::Null) => Ok(SqlType::Bytes),
                (SqlType::Array(_), _) | (_, SqlType::Array(_)) => SqlType::common(l, r)
                    .ok_or_else(|| AnalysisError::new(e.span, format!("Cannot concatenate {l} and {r}"))),
                _ => err(e.span, format!("Error processing expression: {e}. Unsupported concatenation types. {l} {r}")),
            },
            _ if *l == SqlType::Null || *r == SqlType::Null => err(
                e.span,
                format!(
                    "Error processing expression: {}. Arithmetic on types {l} and {r} are not supported.",
                    ksql_text(e)
                ),
            ),
            _ => arithmetic_type(op, l, r).ok_or_else(|| {
                AnalysisError::new(
                    e.span,
                    format!(
                        "Error in {} expression: Error processing expression: {e}. Unsupported arithmetic types. {l} {r}",
                        self.clause
                    ),
                )
            }),
        }
    }

    fn type_call(
        &mut self,
        e: &Expr,
        name: &crate::ast::Ident,
        args: &[Expr],
        star: bool,
    ) -> Result<TypedExpr> {
        use TypedExprKind as K;
        let fname = name.value.to_ascii_uppercase();
        if args
            .iter()
            .any(|a| matches!(a.kind, ExprKind::Lambda { .. }))
        {
            return self.type_lambda_call(e, &fname, args);
        }
        let kind = match self.functions.kind(&fname) {
            Some(k) => k,
            // AS_VALUE(x) is x, copied into the value: the analyzer must know it to tell it
            // apart from the key column it copies, so it is built in here when the function
            // catalog does not define it.
            None if fname == "AS_VALUE" && args.len() == 1 && !star => {
                let arg = self.type_expr(&args[0])?;
                let ty = arg.ty.clone();
                return Ok(TypedExpr::new(
                    TypedExprKind::Function {
                        name: fname,
                        args: vec![arg],
                    },
                    ty,
                    e.span,
                ));
            }
            None => {
                let names = self.functions.names();
                return Err(AnalysisError::new(
                    name.span,
                    format!("Can't find any functions with the name '{}'", name.value),
                )
                .with_suggestion(suggest(&fname, names.iter().map(String::as_str))));
            }
        };
        if kind == FunctionKind::Aggregate {
            if let Some(outer) = &self.outer_aggregate {
                return err(
                    e.span,
                    format!("Aggregate functions can not be nested: {outer}"),
                );
            }
            if !self.allow_aggregates {
                return err(
                    e.span,
                    format!("{} does not support aggregate functions: {fname} is an aggregate function.", self.clause_for_agg_error()),
                );
            }
            self.outer_aggregate = Some(self.show(e));
        }
        if kind == FunctionKind::Table && !self.allow_table_functions {
            self.outer_aggregate = None;
            return err(
                e.span,
                format!("Table functions can only be used in the SELECT list: {e}"),
            );
        }
        let typed: Result<Vec<TypedExpr>> = args.iter().map(|a| self.type_expr(a)).collect();
        if kind == FunctionKind::Aggregate {
            self.outer_aggregate = None;
        }
        let typed = typed?;
        let _ = star;
        let arg_types: Vec<SqlType> = typed.iter().map(|t| t.ty.clone()).collect();
        let ty = self
            .functions
            .return_type(&fname, &arg_types)
            .map_err(|m| AnalysisError::new(e.span, m))?;
        if kind == FunctionKind::Aggregate {
            if let Some(n) = self.functions.aggregate_column_args(&fname) {
                for (i, a) in typed.iter().enumerate().skip(n) {
                    if !a.is_literal() {
                        return err(
                            a.span,
                            format!(
                                "Parameter {} passed to function {fname} must be a literal constant, but was expression: '{}'",
                                i + 1,
                                args[i]
                            ),
                        );
                    }
                }
            }
        }
        let kind = match kind {
            FunctionKind::Scalar => K::Function {
                name: fname,
                args: typed,
            },
            FunctionKind::Aggregate => K::Aggregate {
                name: fname,
                args: typed,
            },
            FunctionKind::Table => K::TableFunction {
                name: fname,
                args: typed,
            },
        };
        Ok(TypedExpr::new(kind, ty, e.span))
    }

    fn clause_for_agg_error(&self) -> &'static str {
        self.clause
    }

    /// TRANSFORM, FILTER and REDUCE: the lambda parameters take their types from the
    /// collection (and REDUCE's initial state), which a plain signature cannot express.
    fn type_lambda_call(&mut self, e: &Expr, fname: &str, args: &[Expr]) -> Result<TypedExpr> {
        let mut typed = Vec::new();
        let first = match args.first() {
            Some(a) if !matches!(a.kind, ExprKind::Lambda { .. }) => self.type_expr(a)?,
            _ => {
                return err(
                    e.span,
                    format!("Function '{fname}' does not accept parameters"),
                )
            }
        };
        let coll = first.ty.clone();
        typed.push(first);
        let (elem, key_val) = match &coll {
            SqlType::Array(t) => (Some((**t).clone()), None),
            SqlType::Map(k, v) => (None, Some(((**k).clone(), (**v).clone()))),
            _ => (None, None),
        };
        let bad = || {
            AnalysisError::new(
                e.span,
                format!(
                    "Function '{}' does not accept parameters ({}).",
                    fname.to_lowercase(),
                    args.iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        let ty = match (fname, elem, key_val) {
            ("TRANSFORM", Some(t), _) if args.len() == 2 => {
                let body = self.type_lambda(&args[1], &[t])?;
                let out = SqlType::array(body.ty.clone());
                typed.push(body);
                out
            }
            ("TRANSFORM", _, Some((k, v))) if args.len() == 3 => {
                let kb = self.type_lambda(&args[1], &[k.clone(), v.clone()])?;
                let vb = self.type_lambda(&args[2], &[k, v])?;
                let out = SqlType::map(kb.ty.clone(), vb.ty.clone());
                typed.push(kb);
                typed.push(vb);
                out
            }
            ("FILTER", Some(t), _) if args.len() == 2 => {
                let body = self.type_lambda(&args[1], &[t])?;
                typed.push(body);
                coll.clone()
            }
            ("FILTER", _, Some((k, v))) if args.len() == 2 => {
                let body = self.type_lambda(&args[1], &[k, v])?;
                typed.push(body);
                coll.clone()
            }
            ("REDUCE", elem, kv) if args.len() == 3 => {
                let init = self.type_expr(&args[1])?;
                let s = init.ty.clone();
                typed.push(init);
                let params = match (elem, kv) {
                    (Some(t), _) => vec![s.clone(), t],
                    (_, Some((k, v))) => vec![s.clone(), k, v],
                    _ => return Err(bad()),
                };
                let body = self.type_lambda(&args[2], &params)?;
                let out = if body.ty.can_widen_to(&s) {
                    s
                } else {
                    body.ty.clone()
                };
                typed.push(body);
                out
            }
            _ => return Err(bad()),
        };
        Ok(TypedExpr::new(
            TypedExprKind::Function {
                name: fname.to_string(),
                args: typed,
            },
            ty,
            e.span,
        ))
    }

    fn type_lambda(&mut self, e: &Expr, param_types: &[SqlType]) -> Result<TypedExpr> {
        let ExprKind::Lambda { params, body } = &e.kind else {
            return err(e.span, format!("Expected a lambda, got {e}"));
        };
        if params.len() != param_types.len() {
            return err(
                e.span,
                format!(
                    "Was expecting {} arguments to lambda function, got {}",
                    param_types.len(),
                    params.len()
                ),
            );
        }
        let n = self.lambda_vars.len();
        for (p, t) in params.iter().zip(param_types) {
            self.lambda_vars.push((p.value.clone(), t.clone()));
        }
        let b = self.type_expr(body);
        self.lambda_vars.truncate(n);
        let b = b?;
        let ty = b.ty.clone();
        Ok(TypedExpr::new(
            TypedExprKind::Lambda {
                params: params.iter().map(|p| p.value.clone()).collect(),
                param_types: param_types.to_vec(),
                body: Box::new(b),
            },
            ty,
            e.span,
        ))
    }
}

/// The type of a literal: INT if it fits, BIGINT otherwise, DECIMAL with the precision and
/// scale as written, DOUBLE for exponent notation.
pub(crate) fn literal_type(l: &Literal) -> SqlType {
    match l {
        Literal::Null => SqlType::Null,
        Literal::Boolean(_) => SqlType::Boolean,
        Literal::Integer(_) => SqlType::Int,
        Literal::BigInt(_) => SqlType::BigInt,
        Literal::Double(_) => SqlType::Double,
        Literal::String(_) => SqlType::String,
        Literal::Decimal(d) => {
            let digits = d.trim_start_matches(['-', '+']);
            let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
            let int = int.trim_start_matches('0');
            let scale = frac.len() as u32;
            let mut precision = int.len() as u32 + scale;
            if int.is_empty() {
                // 0.05: BigDecimal's precision counts from the first non-zero digit.
                precision = frac.trim_start_matches('0').len() as u32;
            }
            let precision = precision.max(scale).max(1);
            SqlType::decimal(precision.min(MAX_DECIMAL_PRECISION), scale)
        }
    }
}

/// Whether two operand types may be compared with `op`.
pub(crate) fn comparable(l: &SqlType, r: &SqlType, op: BinaryOp) -> bool {
    use SqlType as T;
    match (l, r) {
        (T::Null, _) | (_, T::Null) => true,
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (T::String, T::String) | (T::Bytes, T::Bytes) => true,
        (T::Boolean, T::Boolean) => matches!(op, BinaryOp::Eq | BinaryOp::NotEq),
        (a, T::String) | (T::String, a) if a.is_temporal() => true,
        (T::Timestamp | T::Date, T::Timestamp | T::Date) => true,
        (T::Time, T::Time) => true,
        (T::Array(_), T::Array(_)) | (T::Map(..), T::Map(..)) | (T::Struct(_), T::Struct(_)) => {
            matches!(op, BinaryOp::Eq | BinaryOp::NotEq) && SqlType::common(l, r).is_some()
        }
        _ => false,
    }
}

/// The result type of arithmetic, with ksqlDB's DECIMAL precision rules.
pub(crate) fn arithmetic_type(op: BinaryOp, l: &SqlType, r: &SqlType) -> Option<SqlType> {
    use SqlType as T;
    match (l, r) {
        (T::Null, T::Null) => return Some(T::Null),
        (T::Null, t) | (t, T::Null) if t.is_numeric() || *t == T::String => return Some(t.clone()),
        (T::String, T::String) if op == BinaryOp::Add => return Some(T::String),
        _ => {}
    }
    if !l.is_numeric() || !r.is_numeric() {
        return None;
    }
    if *l == T::Double || *r == T::Double {
        return Some(T::Double);
    }
    if matches!(l, T::Decimal { .. }) || matches!(r, T::Decimal { .. }) {
        let (p1, s1) = l.as_decimal()?;
        let (p2, s2) = r.as_decimal()?;
        let (p, s) = match op {
            BinaryOp::Add | BinaryOp::Subtract => {
                let s = s1.max(s2);
                (s + (p1 - s1).max(p2 - s2) + 1, s)
            }
            BinaryOp::Multiply => (p1 + p2 + 1, s1 + s2),
            BinaryOp::Divide => {
                let s = 6.max(s1 + p2 + 1);
                (p1 - s1 + s2 + s, s)
            }
            BinaryOp::Modulus => (((p1 - s1).min(p2 - s2)) + s1.max(s2), s1.max(s2)),
            _ => return None,
        };
        let p = p.clamp(1, MAX_DECIMAL_PRECISION);
        return Some(T::decimal(p, s.min(p)));
    }
    if *l == T::BigInt || *r == T::BigInt {
        Some(T::BigInt)
    } else {
        Some(T::Int)
    }
}

/// Whether `CAST(from AS to)` is supported.
pub(crate) fn castable(from: &SqlType, to: &SqlType) -> bool {
    use SqlType as T;
    if from == to || *from == T::Null {
        return true;
    }
    match (from, to) {
        (a, b) if a.is_numeric() && b.is_numeric() => true,
        (a, T::String) if a.is_primitive() => true,
        (T::String, b) if b.is_primitive() => true,
        (a, T::Boolean) if a.is_numeric() => false,
        (T::Timestamp, T::Date | T::Time) | (T::Date, T::Timestamp) => true,
        (T::Array(a), T::Array(b)) => castable(a, b),
        (T::Map(ak, av), T::Map(bk, bv)) => castable(ak, bk) && castable(av, bv),
        (T::Struct(a), T::Struct(b)) => b.iter().all(|(n, t)| {
            a.iter()
                .find(|(m, _)| m == n)
                .is_none_or(|(_, s)| castable(s, t))
        }),
        (T::Array(_) | T::Map(..) | T::Struct(_), T::String) => true,
        _ => false,
    }
}

/// The element type of an ARRAY or MAP constructor: the common type of the elements in
/// order, literals read laxly (`'2e1'` in a list of numbers, `10` as a STRING key), as
/// ksqlDB's `CoercionUtil.coerceUserList` does (see [`coerce::common_list_type`]).
fn unify_elements(items: &[TypedExpr], exprs: &[Expr]) -> Result<SqlType> {
    let texts: Vec<String> = exprs.iter().map(ksql_text).collect();
    Ok(coerce::common_list_type(items, &texts)?.unwrap_or(SqlType::Null))
}

/// An expression as ksqlDB prints it in messages (`null` in lower case).
pub(crate) fn ksql_text(e: &Expr) -> String {
    let text = e.to_string();
    let chars: Vec<char> = text.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '`';
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            in_str = !in_str;
        }
        let starts_word = i == 0 || !is_word(chars[i - 1]);
        let null_here = chars[i..].starts_with(&['N', 'U', 'L', 'L'])
            && chars.get(i + 4).is_none_or(|a| !is_word(*a));
        if !in_str && starts_word && null_here {
            out.push_str("null");
            i += 4;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}
