//! `SELECT` queries: the select list, `FROM`, `WINDOW`, `WHERE`, `GROUP BY`,
//! `PARTITION BY`, `HAVING`, `EMIT` and `LIMIT`.

use std::fmt;

use super::expr::Expr;
use super::ident::Ident;
use super::join::Relation;
use super::span::Span;
use super::window::WindowExpr;

/// A `SELECT` statement or the query of `CREATE ... AS SELECT` / `INSERT INTO ... SELECT`.
/// A push query has `emit` set; a pull query (a lookup against a table) does not.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub from: Relation,
    pub window: Option<WindowExpr>,
    pub where_clause: Option<Expr>,
    /// `GROUP BY a, b` or `GROUP BY (a, b)`; `GROUP BY ()` is an empty list.
    pub group_by: Option<Vec<Expr>>,
    pub partition_by: Option<Vec<Expr>>,
    pub having: Option<Expr>,
    pub emit: Option<Emit>,
    pub limit: Option<u64>,
    pub span: Span,
}

/// One item of the select list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `expr [[AS] alias]`
    Expr { expr: Expr, alias: Option<Ident> },
    /// `*`, or `source.*` when `source` is set.
    Wildcard { source: Option<Ident>, span: Span },
    /// `expr->*`: every field of a struct.
    StructAll { base: Expr, span: Span },
}

/// `EMIT CHANGES` or `EMIT FINAL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Emit {
    Changes,
    Final,
}

impl fmt::Display for SelectItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Expr { expr, alias } => {
                write!(f, "{expr}")?;
                if let Some(a) = alias {
                    write!(f, " AS {a}")?;
                }
                Ok(())
            }
            SelectItem::Wildcard { source: None, .. } => f.write_str("*"),
            SelectItem::Wildcard {
                source: Some(s), ..
            } => write!(f, "{s}.*"),
            SelectItem::StructAll { base, .. } => write!(f, "{base}->*"),
        }
    }
}

fn write_exprs(f: &mut fmt::Formatter<'_>, exprs: &[Expr]) -> fmt::Result {
    if exprs.is_empty() {
        return f.write_str("()");
    }
    for (i, e) in exprs.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SELECT ")?;
        for (i, item) in self.select.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item}")?;
        }
        write!(f, " FROM {}", self.from)?;
        if let Some(w) = &self.window {
            write!(f, " WINDOW {w}")?;
        }
        if let Some(w) = &self.where_clause {
            write!(f, " WHERE {w}")?;
        }
        if let Some(g) = &self.group_by {
            f.write_str(" GROUP BY ")?;
            write_exprs(f, g)?;
        }
        if let Some(p) = &self.partition_by {
            f.write_str(" PARTITION BY ")?;
            write_exprs(f, p)?;
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        match self.emit {
            Some(Emit::Changes) => f.write_str(" EMIT CHANGES")?,
            Some(Emit::Final) => f.write_str(" EMIT FINAL")?,
            None => {}
        }
        if let Some(l) = self.limit {
            write!(f, " LIMIT {l}")?;
        }
        Ok(())
    }
}
