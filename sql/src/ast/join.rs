//! The `FROM` relation: a source with an optional alias, joined to further sources
//! (`[INNER | LEFT [OUTER] | RIGHT [OUTER] | FULL [OUTER]] JOIN ... [WITHIN ...] ON ...`).

use std::fmt;

use super::expr::Expr;
use super::ident::Ident;
use super::span::Span;
use super::window::Duration;

/// `FROM a [JOIN b ...]*`: the first source and the joins applied to it, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub source: AliasedSource,
    pub joins: Vec<Join>,
}

/// A source named in `FROM` or `JOIN`, with its optional alias (`FROM orders o`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AliasedSource {
    pub name: Ident,
    pub alias: Option<Ident>,
    pub span: Span,
}

impl AliasedSource {
    /// The name the rest of the query refers to it by: its alias, else its name.
    pub fn reference_name(&self) -> &Ident {
        self.alias.as_ref().unwrap_or(&self.name)
    }
}

/// One `JOIN` step.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    pub join_type: JoinType,
    pub source: AliasedSource,
    pub within: Option<JoinWindow>,
    pub on: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JoinType {
    Inner,
    Left,
    Right,
    Full,
}

impl JoinType {
    pub fn as_str(self) -> &'static str {
        match self {
            JoinType::Inner => "INNER JOIN",
            JoinType::Left => "LEFT OUTER JOIN",
            JoinType::Right => "RIGHT OUTER JOIN",
            JoinType::Full => "FULL OUTER JOIN",
        }
    }
}

/// `WITHIN n unit` or `WITHIN (before, after)`, with an optional `GRACE PERIOD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JoinWindow {
    pub size: JoinWindowSize,
    pub grace: Option<Duration>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JoinWindowSize {
    /// `WITHIN n unit`: the same span before and after.
    Symmetric(Duration),
    /// `WITHIN (before, after)`.
    BeforeAfter { before: Duration, after: Duration },
}

impl JoinWindow {
    /// How far back in time (ms) the other side may be.
    pub fn before_millis(&self) -> u64 {
        match &self.size {
            JoinWindowSize::Symmetric(d) => d.millis,
            JoinWindowSize::BeforeAfter { before, .. } => before.millis,
        }
    }

    /// How far ahead in time (ms) the other side may be.
    pub fn after_millis(&self) -> u64 {
        match &self.size {
            JoinWindowSize::Symmetric(d) => d.millis,
            JoinWindowSize::BeforeAfter { after, .. } => after.millis,
        }
    }
}

impl fmt::Display for AliasedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(a) = &self.alias {
            write!(f, " {a}")?;
        }
        Ok(())
    }
}

impl fmt::Display for JoinWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.size {
            JoinWindowSize::Symmetric(d) => write!(f, "WITHIN {d}")?,
            JoinWindowSize::BeforeAfter { before, after } => {
                write!(f, "WITHIN ({before}, {after})")?
            }
        }
        if let Some(g) = &self.grace {
            write!(f, " GRACE PERIOD {g}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.join_type.as_str(), self.source)?;
        if let Some(w) = &self.within {
            write!(f, " {w}")?;
        }
        write!(f, " ON {}", self.on)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        for j in &self.joins {
            write!(f, " {j}")?;
        }
        Ok(())
    }
}
