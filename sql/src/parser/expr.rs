//! Expressions, by precedence climbing. From loosest to tightest, as in ksqlDB's grammar:
//!
//! | level | operators |
//! |---|---|
//! | 1 | `OR` |
//! | 2 | `AND` |
//! | 3 | `NOT` (prefix) |
//! | 4 | predicates, at most one: `= <> != < <= > >=`, `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] LIKE`, `IS [NOT] NULL`, `IS [NOT] DISTINCT FROM` |
//! | 5 | `\|\|` |
//! | 6 | `+ -` |
//! | 7 | `* / %` |
//! | 8 | unary `- +` |
//! | 9 | `AT TIME ZONE` |
//! | 10 | postfix `[i]`, `->field` |
//!
//! Levels 5 and up form a *value expression*, which is what `GROUP BY`, `PARTITION BY`,
//! `VALUES`, and the operands of predicates take.

use super::lexer::Tok;
use super::types::TIME_UNITS;
use super::{Parser, Result};
use crate::ast::{
    BinaryOp, Expr, ExprKind, Ident, Literal, Position, TimeUnit, UnaryOp, WhenClause,
};
use crate::keywords;

const P_OR: u8 = 1;
const P_AND: u8 = 2;
const P_NOT: u8 = 3;
const P_CONCAT: u8 = 5;
const P_ADD: u8 = 6;
const P_MUL: u8 = 7;
const P_UNARY: u8 = 8;

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser<'_> {
    /// A full (boolean) expression.
    pub(crate) fn parse_expr(&mut self) -> Result<Expr> {
        self.enter()?;
        let r = self.grow(|p| p.parse_bool(0));
        self.leave();
        r
    }

    /// A value expression: no comparisons, predicates or boolean operators unless in
    /// parentheses.
    pub(crate) fn parse_value_expr(&mut self) -> Result<Expr> {
        self.enter()?;
        let r = self.grow(|p| p.parse_value(0));
        self.leave();
        r
    }

    // The functions on the recursive path below keep their own frames small (the bulky
    // work is in helpers that are not on the stack while a nested expression is parsed), so
    // that `MAX_DEPTH` levels fit in a small thread stack even in debug builds.

    fn parse_bool(&mut self, min: u8) -> Result<Expr> {
        let start = self.span().start;
        let mut left = if self.eat_kw_silent("NOT") {
            self.enter()?;
            let inner = self.grow(|p| p.parse_bool(P_NOT));
            self.leave();
            self.make_unary_not(inner?, start)
        } else {
            self.parse_predicated()?
        };
        let mut wraps = 0;
        loop {
            let op = if min <= P_AND && self.peek_word() == Some("AND") {
                BinaryOp::And
            } else if min <= P_OR && self.peek_word() == Some("OR") {
                BinaryOp::Or
            } else {
                return Ok(left);
            };
            wraps += 1;
            self.check_chain(wraps)?;
            self.advance();
            let next = if op == BinaryOp::And { P_NOT } else { P_AND };
            self.enter()?;
            let right = self.grow(|p| p.parse_bool(next));
            self.leave();
            left = self.make_binary(left, op, right?, start);
        }
    }

    #[inline(never)]
    fn make_unary_not(&self, inner: Expr, start: Position) -> Expr {
        Expr::new(ExprKind::Not(boxed(inner)), self.span_from(start))
    }

    #[inline(never)]
    fn make_binary(&self, left: Expr, op: BinaryOp, right: Expr, start: Position) -> Expr {
        Expr::new(
            ExprKind::Binary {
                left: boxed(left),
                op,
                right: boxed(right),
            },
            self.span_from(start),
        )
    }

    /// A value expression with at most one predicate applied to it.
    fn parse_predicated(&mut self) -> Result<Expr> {
        let start = self.span().start;
        let value = self.parse_value(0)?;
        let more = match self.peek() {
            Tok::Eq | Tok::Neq | Tok::Lt | Tok::LtEq | Tok::Gt | Tok::GtEq => true,
            _ => matches!(
                self.peek_word(),
                Some("NOT" | "BETWEEN" | "IN" | "LIKE" | "IS")
            ),
        };
        if more {
            self.parse_predicate(value, start)
        } else {
            Ok(value)
        }
    }

    /// The predicate applied to `value`, if any.
    #[inline(never)]
    fn parse_predicate(&mut self, value: Expr, start: Position) -> Result<Expr> {
        let cmp = match self.peek() {
            Tok::Eq => Some(BinaryOp::Eq),
            Tok::Neq => Some(BinaryOp::NotEq),
            Tok::Lt => Some(BinaryOp::Lt),
            Tok::LtEq => Some(BinaryOp::LtEq),
            Tok::Gt => Some(BinaryOp::Gt),
            Tok::GtEq => Some(BinaryOp::GtEq),
            _ => None,
        };
        if let Some(op) = cmp {
            self.advance();
            let right = self.parse_value_expr()?;
            return Ok(self.make_binary(value, op, right, start));
        }
        let negated = self.peek_word() == Some("NOT")
            && matches!(self.peek_word_nth(1), Some("BETWEEN" | "IN" | "LIKE"));
        if negated {
            self.advance();
        }
        let kind = if self.eat_kw_silent("BETWEEN") {
            let low = self.parse_value_expr()?;
            self.expect_kw("AND")?;
            let high = self.parse_value_expr()?;
            ExprKind::Between {
                expr: boxed(value),
                negated,
                low: boxed(low),
                high: boxed(high),
            }
        } else if self.eat_kw_silent("IN") {
            self.expect(&Tok::LParen)?;
            let mut list = vec![self.parse_expr()?];
            while self.eat(&Tok::Comma) {
                list.push(self.parse_expr()?);
            }
            self.expect(&Tok::RParen)?;
            ExprKind::InList {
                expr: boxed(value),
                negated,
                list,
            }
        } else if self.eat_kw_silent("LIKE") {
            let pattern = self.parse_value_expr()?;
            let escape = if self.eat_kw_silent("ESCAPE") {
                Some(self.parse_string("an escape character string")?.0)
            } else {
                None
            };
            ExprKind::Like {
                expr: boxed(value),
                negated,
                pattern: boxed(pattern),
                escape,
            }
        } else if !negated && self.eat_kw_silent("IS") {
            let negated = self.eat_kw("NOT");
            if self.eat_kw("NULL") {
                ExprKind::IsNull {
                    expr: boxed(value),
                    negated,
                }
            } else if self.eat_kw("DISTINCT") {
                self.expect_kw("FROM")?;
                let right = self.parse_value_expr()?;
                ExprKind::IsDistinctFrom {
                    left: boxed(value),
                    negated,
                    right: boxed(right),
                }
            } else {
                return Err(self.unexpected());
            }
        } else {
            return Ok(value);
        };
        Ok(Expr::new(kind, self.span_from(start)))
    }

    fn parse_value(&mut self, min: u8) -> Result<Expr> {
        let start = self.span().start;
        let mut left = match self.peek() {
            Tok::Minus | Tok::Plus => {
                let op = if self.peek() == &Tok::Minus {
                    UnaryOp::Minus
                } else {
                    UnaryOp::Plus
                };
                self.advance();
                self.enter()?;
                let operand = self.grow(|p| p.parse_value(P_UNARY));
                self.leave();
                self.make_unary(op, operand?, start)
            }
            _ => self.parse_postfix()?,
        };
        let mut wraps = 0;
        loop {
            let (op, prec) = match self.peek() {
                Tok::Star => (BinaryOp::Multiply, P_MUL),
                Tok::Slash => (BinaryOp::Divide, P_MUL),
                Tok::Percent => (BinaryOp::Modulus, P_MUL),
                Tok::Plus => (BinaryOp::Add, P_ADD),
                Tok::Minus => (BinaryOp::Subtract, P_ADD),
                Tok::Concat => (BinaryOp::Concat, P_CONCAT),
                _ if self.at_time_zone() => {
                    wraps += 1;
                    self.check_chain(wraps)?;
                    left = self.parse_at_time_zone(left, start)?;
                    continue;
                }
                _ => return Ok(left),
            };
            if prec < min {
                return Ok(left);
            }
            wraps += 1;
            self.check_chain(wraps)?;
            self.advance();
            self.enter()?;
            let right = self.grow(|p| p.parse_value(prec + 1));
            self.leave();
            left = self.make_binary(left, op, right?, start);
        }
    }

    #[inline(never)]
    fn make_unary(&self, op: UnaryOp, operand: Expr, start: Position) -> Expr {
        Expr::new(
            ExprKind::Unary {
                op,
                expr: boxed(operand),
            },
            self.span_from(start),
        )
    }

    fn at_time_zone(&self) -> bool {
        self.peek_word() == Some("AT")
            && self.peek_word_nth(1) == Some("TIME")
            && self.peek_word_nth(2) == Some("ZONE")
    }

    #[inline(never)]
    fn parse_at_time_zone(&mut self, left: Expr, start: Position) -> Result<Expr> {
        self.advance();
        self.advance();
        self.advance();
        let (zone, _) = self.parse_string("a time zone string")?;
        Ok(Expr::new(
            ExprKind::AtTimeZone {
                expr: boxed(left),
                zone,
            },
            self.span_from(start),
        ))
    }

    /// A primary expression followed by any number of `[index]` and `->field`. Stops before
    /// `->*`, which only a select item may end with.
    fn parse_postfix(&mut self) -> Result<Expr> {
        let start = self.span().start;
        let mut e = self.parse_primary()?;
        let mut wraps = 0;
        loop {
            match self.peek() {
                Tok::LBracket => {
                    wraps += 1;
                    self.check_chain(wraps)?;
                    self.advance();
                    let index = self.parse_value_expr()?;
                    self.expect(&Tok::RBracket)?;
                    e = self.make_subscript(e, index, start);
                }
                Tok::Arrow if self.peek_nth(1) != &Tok::Star => {
                    wraps += 1;
                    self.check_chain(wraps)?;
                    self.advance();
                    e = self.parse_dereference(e, start)?;
                }
                _ => return Ok(e),
            }
        }
    }

    #[inline(never)]
    fn make_subscript(&self, base: Expr, index: Expr, start: Position) -> Expr {
        Expr::new(
            ExprKind::Subscript {
                base: boxed(base),
                index: boxed(index),
            },
            self.span_from(start),
        )
    }

    #[inline(never)]
    fn parse_dereference(&mut self, base: Expr, start: Position) -> Result<Expr> {
        let field = self.parse_ident()?;
        Ok(Expr::new(
            ExprKind::Dereference {
                base: boxed(base),
                field,
            },
            self.span_from(start),
        ))
    }

    fn parse_primary(&mut self) -> Result<Expr> {
        let start = self.span().start;
        match self.peek() {
            Tok::LParen => {
                self.advance();
                let e = self.parse_expr()?;
                self.expect(&Tok::RParen)?;
                // Keep the inner node but widen its span over the parentheses.
                Ok(self.respan(e, start))
            }
            Tok::Word {
                upper,
                quoted: false,
                ..
            } if keywords::is_reserved(upper)
                || (upper == "ARRAY" && self.peek_nth(1) == &Tok::LBracket)
                || (matches!(upper.as_str(), "MAP" | "STRUCT")
                    && self.peek_nth(1) == &Tok::LParen) =>
            {
                self.parse_keyword_primary(start)
            }
            Tok::Word { .. } => self.parse_name_primary(start),
            _ => self.parse_literal_primary(),
        }
    }

    #[inline(never)]
    fn respan(&self, e: Expr, start: Position) -> Expr {
        Expr::new(e.kind, self.span_from(start))
    }

    #[inline(never)]
    fn parse_literal_primary(&mut self) -> Result<Expr> {
        match self.peek() {
            Tok::Number(_) => {
                let sp = self.span();
                let l = self.parse_number_literal(false)?;
                Ok(Expr::new(ExprKind::Literal(l), sp))
            }
            Tok::Str(s) => {
                let sp = self.advance().span;
                Ok(Expr::new(ExprKind::Literal(Literal::String(s.clone())), sp))
            }
            _ => Err(self.expected("an expression")),
        }
    }

    /// A column, qualified column, function call, or typed literal (`DATE '...'`).
    #[inline(never)]
    fn parse_name_primary(&mut self, start: Position) -> Result<Expr> {
        let name = self.parse_ident()?;
        match self.peek() {
            Tok::Str(s) => {
                self.advance();
                Ok(Expr::new(
                    ExprKind::TypedLiteral {
                        type_name: name,
                        value: s.clone(),
                    },
                    self.span_from(start),
                ))
            }
            Tok::LParen => self.parse_function_call(name, start),
            Tok::Period if self.peek_nth(1) != &Tok::Star => {
                self.advance();
                let col = self.parse_ident()?;
                Ok(Expr::new(
                    ExprKind::Column {
                        source: Some(name),
                        name: col,
                    },
                    self.span_from(start),
                ))
            }
            _ => Ok(Expr::new(
                ExprKind::Column { source: None, name },
                self.span_from(start),
            )),
        }
    }

    /// Primaries that start with a keyword: literals, `CASE`, `CAST`, constructors.
    #[inline(never)]
    fn parse_keyword_primary(&mut self, start: Position) -> Result<Expr> {
        let kw = self.peek_word().unwrap_or_default();
        let literal = match kw {
            "NULL" => Literal::Null,
            "TRUE" => Literal::Boolean(true),
            "FALSE" => Literal::Boolean(false),
            "CASE" => return self.parse_case(start),
            "CAST" => return self.parse_cast(start),
            "ARRAY" => return self.parse_array(start),
            "MAP" => return self.parse_map(start),
            "STRUCT" => return self.parse_struct(start),
            _ => return Err(self.expected("an expression")),
        };
        let sp = self.advance().span;
        Ok(Expr::new(ExprKind::Literal(literal), sp))
    }

    #[inline(never)]
    fn parse_case(&mut self, start: Position) -> Result<Expr> {
        self.advance();
        let operand = if self.peek_word() == Some("WHEN") {
            None
        } else {
            Some(boxed(self.parse_value_expr()?))
        };
        let mut whens = Vec::new();
        while self.eat_kw_silent("WHEN") {
            let condition = self.parse_expr()?;
            self.expect_kw("THEN")?;
            let result = self.parse_expr()?;
            whens.push(WhenClause { condition, result });
        }
        if whens.is_empty() {
            self.expect_kw("WHEN")?;
        }
        let else_result = if self.eat_kw_silent("ELSE") {
            Some(boxed(self.parse_expr()?))
        } else {
            None
        };
        self.expect_kw("END")?;
        Ok(Expr::new(
            ExprKind::Case {
                operand,
                whens,
                else_result,
            },
            self.span_from(start),
        ))
    }

    #[inline(never)]
    fn parse_cast(&mut self, start: Position) -> Result<Expr> {
        self.advance();
        self.expect(&Tok::LParen)?;
        let e = self.parse_expr()?;
        self.expect_kw("AS")?;
        let ty = self.parse_type()?;
        self.expect(&Tok::RParen)?;
        Ok(Expr::new(
            ExprKind::Cast { expr: boxed(e), ty },
            self.span_from(start),
        ))
    }

    #[inline(never)]
    fn parse_array(&mut self, start: Position) -> Result<Expr> {
        self.advance();
        self.expect(&Tok::LBracket)?;
        let mut items = Vec::new();
        if !self.eat(&Tok::RBracket) {
            loop {
                items.push(self.parse_expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RBracket)?;
        }
        Ok(Expr::new(ExprKind::Array(items), self.span_from(start)))
    }

    #[inline(never)]
    fn parse_map(&mut self, start: Position) -> Result<Expr> {
        self.advance();
        self.expect(&Tok::LParen)?;
        let mut entries = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                let k = self.parse_expr()?;
                self.expect(&Tok::Assign)?;
                let v = self.parse_expr()?;
                entries.push((k, v));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        Ok(Expr::new(ExprKind::Map(entries), self.span_from(start)))
    }

    #[inline(never)]
    fn parse_struct(&mut self, start: Position) -> Result<Expr> {
        self.advance();
        self.expect(&Tok::LParen)?;
        let mut fields = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                let name = self.parse_ident()?;
                self.expect(&Tok::Assign)?;
                let v = self.parse_expr()?;
                fields.push((name, v));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        Ok(Expr::new(ExprKind::Struct(fields), self.span_from(start)))
    }

    #[inline(never)]
    /// `name(*)` or `name(arg, ...)`; arguments may be expressions, time units, or lambdas.
    fn parse_function_call(&mut self, name: Ident, start: Position) -> Result<Expr> {
        self.expect(&Tok::LParen)?;
        let mut args = Vec::new();
        let mut star = false;
        if self.peek() == &Tok::Star && self.peek_nth(1) == &Tok::RParen {
            self.advance();
            self.advance();
            star = true;
        } else if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.parse_function_arg()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(&Tok::RParen)?;
        }
        Ok(Expr::new(
            ExprKind::Function { name, args, star },
            self.span_from(start),
        ))
    }

    fn parse_function_arg(&mut self) -> Result<Expr> {
        let start = self.span().start;
        // A time unit keyword that cannot be a column (the reserved ones).
        if let Some(w) = self.peek_word() {
            if TIME_UNITS.contains(&w)
                && keywords::is_reserved(w)
                && matches!(self.peek_nth(1), Tok::Comma | Tok::RParen)
            {
                self.advance();
                let unit = TimeUnit::from_keyword(w).expect("listed unit");
                return Ok(Expr::new(ExprKind::TimeUnit(unit), self.span_from(start)));
            }
        }
        if let Some(params) = self.try_lambda_params()? {
            let body = self.parse_expr()?;
            return Ok(Expr::new(
                ExprKind::Lambda {
                    params,
                    body: boxed(body),
                },
                self.span_from(start),
            ));
        }
        self.parse_expr()
    }

    /// If a lambda starts here (`x =>` or `(x, y) =>`), consumes its parameters and the arrow.
    fn try_lambda_params(&mut self) -> Result<Option<Vec<Ident>>> {
        if matches!(self.peek(), Tok::Word { .. }) && self.peek_nth(1) == &Tok::FatArrow {
            let id = self.parse_ident()?;
            self.advance();
            return Ok(Some(vec![id]));
        }
        if self.peek() != &Tok::LParen {
            return Ok(None);
        }
        // `( ident (, ident)* ) =>`
        let mut n = 1;
        loop {
            if !matches!(self.peek_nth(n), Tok::Word { .. }) {
                return Ok(None);
            }
            match self.peek_nth(n + 1) {
                Tok::Comma => n += 2,
                Tok::RParen => break,
                _ => return Ok(None),
            }
        }
        if self.peek_nth(n + 2) != &Tok::FatArrow {
            return Ok(None);
        }
        self.advance();
        let mut params = vec![self.parse_ident()?];
        while self.eat(&Tok::Comma) {
            params.push(self.parse_ident()?);
        }
        self.expect(&Tok::RParen)?;
        self.expect(&Tok::FatArrow)?;
        Ok(Some(params))
    }
}
