//! `SELECT` queries: select items, `FROM` with aliases and joins, `WINDOW`, `WHERE`,
//! `GROUP BY`, `PARTITION BY`, `HAVING`, `EMIT`, `LIMIT`.

use super::lexer::Tok;
use super::{Parser, Result};
use crate::ast::{
    AliasedSource, Emit, Expr, Join, JoinType, JoinWindow, JoinWindowSize, Query, Relation,
    SelectItem, WindowExpr, WindowKind,
};
use crate::error::ParseErrorKind;

impl Parser<'_> {
    /// `SELECT ... FROM ... [WINDOW ...] [WHERE ...] [GROUP BY ...] [PARTITION BY ...]
    /// [HAVING ...] [EMIT CHANGES | FINAL] [LIMIT n]`
    pub(crate) fn parse_query(&mut self) -> Result<Query> {
        let start = self.span().start;
        self.expect_kw("SELECT")?;
        let mut select = vec![self.parse_select_item()?];
        while self.eat(&Tok::Comma) {
            select.push(self.parse_select_item()?);
        }
        self.expect_kw("FROM")?;
        let from = self.parse_relation()?;
        let window = if self.eat_kw("WINDOW") {
            Some(self.parse_window()?)
        } else {
            None
        };
        let where_clause = if self.eat_kw("WHERE") {
            Some(self.parse_expr()?)
        } else {
            None
        };
        let group_by = if self.is_kw("GROUP") {
            self.advance();
            self.expect_kw("BY")?;
            Some(self.parse_by_list()?)
        } else {
            None
        };
        let partition_by = if self.is_kw("PARTITION") {
            self.advance();
            self.expect_kw("BY")?;
            Some(self.parse_by_list()?)
        } else {
            None
        };
        let having = if self.eat_kw("HAVING") {
            Some(self.parse_expr()?)
        } else {
            None
        };
        let emit = if self.eat_kw("EMIT") {
            match self.expect_one_of(&["CHANGES", "FINAL"])? {
                "CHANGES" => Some(Emit::Changes),
                _ => Some(Emit::Final),
            }
        } else {
            None
        };
        let limit = if self.eat_kw("LIMIT") {
            if emit.is_none()
                && matches!(self.peek(), Tok::Minus)
                && matches!(self.peek_nth(1), Tok::Number(_))
            {
                return Err(self.error_at(
                    self.span(),
                    ParseErrorKind::Invalid,
                    "Pull queries don't support negative integers in the LIMIT clause. See https://cnfl.io/queries for more info.".into(),
                ));
            }
            Some(self.parse_limit()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            window,
            where_clause,
            group_by,
            partition_by,
            having,
            emit,
            limit,
            span: self.span_from(start),
        })
    }

    fn parse_select_item(&mut self) -> Result<SelectItem> {
        let start = self.span().start;
        if self.peek() == &Tok::Star {
            self.advance();
            return Ok(SelectItem::Wildcard {
                source: None,
                span: self.span_from(start),
            });
        }
        if matches!(self.peek(), Tok::Word { .. })
            && self.peek_nth(1) == &Tok::Period
            && self.peek_nth(2) == &Tok::Star
        {
            let source = self.parse_ident()?;
            self.advance();
            self.advance();
            return Ok(SelectItem::Wildcard {
                source: Some(source),
                span: self.span_from(start),
            });
        }
        let expr = self.parse_expr()?;
        if self.peek() == &Tok::Arrow && self.peek_nth(1) == &Tok::Star {
            self.advance();
            self.advance();
            return Ok(SelectItem::StructAll {
                base: expr,
                span: self.span_from(start),
            });
        }
        let alias = self.parse_alias()?;
        Ok(SelectItem::Expr { expr, alias })
    }

    /// `[AS] alias`. Without `AS`, a word is not taken as an alias where it starts the next
    /// clause (`PARTITION BY`, `EMIT CHANGES`).
    fn parse_alias(&mut self) -> Result<Option<crate::ast::Ident>> {
        if self.eat_kw("AS") {
            return Ok(Some(self.parse_ident()?));
        }
        if !self.at_ident() {
            return Ok(None);
        }
        let clause_start = match (self.peek_word(), self.peek_word_nth(1)) {
            (Some("PARTITION"), Some("BY")) => true,
            // `EMIT CHANGE` is a misspelt `EMIT CHANGES`, not an alias followed by junk.
            (Some("EMIT"), Some(w)) => crate::suggest::suggest(w, ["CHANGES", "FINAL"]).is_some(),
            _ => false,
        };
        if clause_start {
            return Ok(None);
        }
        self.implicit_alias_at = Some(self.pos);
        Ok(Some(self.parse_ident()?))
    }

    fn parse_aliased_source(&mut self) -> Result<AliasedSource> {
        let start = self.span().start;
        let name = self.parse_ident()?;
        let alias = self.parse_alias()?;
        Ok(AliasedSource {
            name,
            alias,
            span: self.span_from(start),
        })
    }

    fn parse_relation(&mut self) -> Result<Relation> {
        let source = self.parse_aliased_source()?;
        let mut joins = Vec::new();
        while let Some(join_type) = self.parse_join_type()? {
            let start = self.span().start;
            let source = self.parse_aliased_source()?;
            let within = if self.eat_kw("WITHIN") {
                Some(self.parse_join_window()?)
            } else {
                None
            };
            self.expect_kw("ON")?;
            let on = self.parse_expr()?;
            joins.push(Join {
                join_type,
                source,
                within,
                on,
                span: self.span_from(start),
            });
        }
        Ok(Relation { source, joins })
    }

    /// `[INNER] JOIN`, `LEFT [OUTER] JOIN`, `RIGHT [OUTER] JOIN`, `FULL [OUTER] JOIN`.
    fn parse_join_type(&mut self) -> Result<Option<JoinType>> {
        let t = if self.eat_kw("JOIN") {
            return Ok(Some(JoinType::Inner));
        } else if self.eat_kw("INNER") {
            JoinType::Inner
        } else if self.eat_kw("LEFT") {
            JoinType::Left
        } else if self.eat_kw("RIGHT") {
            JoinType::Right
        } else if self.eat_kw("FULL") {
            JoinType::Full
        } else {
            return Ok(None);
        };
        if t != JoinType::Inner {
            self.eat_kw("OUTER");
        }
        self.expect_kw("JOIN")?;
        Ok(Some(t))
    }

    /// After `WITHIN`: `n unit` or `(before, after)`, then `[GRACE PERIOD n unit]`.
    fn parse_join_window(&mut self) -> Result<JoinWindow> {
        let start = self.span().start;
        let size = if self.eat(&Tok::LParen) {
            let before = self.parse_duration()?;
            self.expect(&Tok::Comma)?;
            let after = self.parse_duration()?;
            self.expect(&Tok::RParen)?;
            JoinWindowSize::BeforeAfter { before, after }
        } else {
            JoinWindowSize::Symmetric(self.parse_duration()?)
        };
        let grace = if self.is_kw("GRACE") {
            self.advance();
            self.expect_kw("PERIOD")?;
            Some(self.parse_duration()?)
        } else {
            None
        };
        Ok(JoinWindow {
            size,
            grace,
            span: self.span_from(start),
        })
    }

    /// After `WINDOW`: `[name] TUMBLING (...) | HOPPING (...) | SESSION (...)`.
    fn parse_window(&mut self) -> Result<WindowExpr> {
        let start = self.span().start;
        const KINDS: [&str; 3] = ["TUMBLING", "HOPPING", "SESSION"];
        let name = match (self.peek_word(), self.peek_word_nth(1)) {
            (Some(w), Some(next)) if !KINDS.contains(&w) && KINDS.contains(&next) => {
                Some(self.parse_ident()?)
            }
            _ => None,
        };
        let kind_kw = self.expect_one_of(&KINDS)?;
        self.expect(&Tok::LParen)?;
        let kind = match kind_kw {
            "TUMBLING" => {
                self.expect_kw("SIZE")?;
                WindowKind::Tumbling {
                    size: self.parse_duration()?,
                }
            }
            "HOPPING" => {
                self.expect_kw("SIZE")?;
                let size = self.parse_duration()?;
                self.expect(&Tok::Comma)?;
                self.expect_kw("ADVANCE")?;
                self.expect_kw("BY")?;
                let advance = self.parse_duration()?;
                WindowKind::Hopping { size, advance }
            }
            _ => WindowKind::Session {
                gap: self.parse_duration()?,
            },
        };
        let mut retention = None;
        let mut grace = None;
        while self.eat(&Tok::Comma) {
            if retention.is_none() && grace.is_none() && self.eat_kw("RETENTION") {
                retention = Some(self.parse_duration()?);
            } else if grace.is_none() && self.is_kw("GRACE") {
                self.advance();
                self.expect_kw("PERIOD")?;
                grace = Some(self.parse_duration()?);
            } else {
                return Err(self.unexpected());
            }
        }
        self.expect(&Tok::RParen)?;
        Ok(WindowExpr {
            name,
            kind,
            retention,
            grace,
            span: self.span_from(start),
        })
    }

    /// The list after `GROUP BY` / `PARTITION BY`: `a, b` or `(a, b)` or `()`. A list in
    /// parentheses is tried first; if the clause goes on after it, the text is re-read as
    /// expressions (`(a + 1) * 2`).
    fn parse_by_list(&mut self) -> Result<Vec<Expr>> {
        if self.peek() == &Tok::LParen {
            let mark = self.mark();
            if let Ok(list) = self.parse_paren_value_list() {
                let ends = matches!(self.peek(), Tok::Semicolon | Tok::Eof | Tok::RParen)
                    || matches!(
                        self.peek_word(),
                        Some("PARTITION" | "HAVING" | "EMIT" | "LIMIT")
                    );
                if ends {
                    return Ok(list);
                }
            }
            self.reset(mark);
        }
        let mut out = vec![self.parse_value_expr()?];
        while self.eat(&Tok::Comma) {
            out.push(self.parse_value_expr()?);
        }
        Ok(out)
    }

    /// `( [value, ...] )`
    pub(crate) fn parse_paren_value_list(&mut self) -> Result<Vec<Expr>> {
        self.expect(&Tok::LParen)?;
        let mut out = Vec::new();
        if self.eat(&Tok::RParen) {
            return Ok(out);
        }
        loop {
            out.push(self.parse_value_expr()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen)?;
        Ok(out)
    }
}
