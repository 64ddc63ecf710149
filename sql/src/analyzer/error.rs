//! `AnalysisError`: a statement that parses but breaks a rule (an unknown source, a type
//! mismatch, a missing key column...), with where it was written and, for misspelt names,
//! the nearest existing one.

use crate::ast::Span;
use crate::error::{ParseError, ParseErrorKind};

/// An analysis error at a 1-based line and column (0 when the problem has no single place,
/// e.g. a property missing from `WITH`).
///
/// `message` is complete and uses ksqlDB's wording where ksqlDB's conformance files check
/// it; a `Did you mean 'X'?` is already appended when `suggestion` is set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.display())]
pub struct AnalysisError {
    pub line: u32,
    pub column: u32,
    pub message: String,
    pub suggestion: Option<String>,
    /// How ksqlDB words this error after our rendering (see [`KsqlWording`]).
    pub ksql: KsqlWording,
}

/// Where in ksqlDB's pipeline the same error would arise, which decides how ksqlDB words
/// it: the conformance files match those words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KsqlWording {
    /// `Line: L, Col: C: message` (a located `KsqlException`).
    #[default]
    Located,
    /// Building the AST (`Failed to prepare statement: message`, no position).
    Prepare,
    /// ksqlDB's `AstSanitizer` (`Exception while preparing statement: Line: L, Col: C:
    /// message`).
    Sanitize,
    /// Planning a persistent query: `message` already ends with `Statement: ...`, and
    /// nothing follows.
    Statement,
}

impl AnalysisError {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        AnalysisError {
            line: span.start.line,
            column: span.start.column,
            message: message.into(),
            suggestion: None,
            ksql: KsqlWording::Located,
        }
    }

    /// Adds `Did you mean 'X'?` for a likely typo.
    pub fn with_suggestion(mut self, suggestion: Option<&str>) -> Self {
        if let Some(s) = suggestion {
            self.message = format!("{} Did you mean '{s}'?", self.message);
            self.suggestion = Some(s.to_string());
        }
        self
    }

    /// Ends the message with `Statement: <text>`, as ksqlDB's `KsqlStatementException`
    /// does (`text` is the statement as ksqlDB's formatter prints it).
    pub fn with_statement(mut self, text: &str) -> Self {
        self.message = format!("{}\nStatement: {text}", self.message);
        self.ksql = KsqlWording::Statement;
        self
    }

    /// Says where in ksqlDB's pipeline this error arises (how ksqlDB words it).
    pub fn worded(mut self, wording: KsqlWording) -> Self {
        self.ksql = wording;
        self
    }

    /// Gives a position to an error that has none yet.
    pub fn at(mut self, span: Span) -> Self {
        if self.line == 0 {
            self.line = span.start.line;
            self.column = span.start.column;
        }
        self
    }

    fn display(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!("{}:{}: {}", self.line, self.column, self.message)
        }
    }

    /// `file:line:col: message`, then the source line and a caret, as parse errors render.
    pub fn render(&self, source: &str, file_name: &str) -> String {
        if self.line == 0 {
            return format!("{file_name}: {}", self.message);
        }
        let mut pe = ParseError::new(ParseErrorKind::Invalid, self.line, self.column, "");
        pe.message = self.message.clone();
        let mut out = pe.render_plain(source, file_name);
        // ksqlDB's wording, for tools that match it.
        let located = format!(
            "Line: {}, Col: {}: {}",
            self.line, self.column, self.message
        );
        match self.ksql {
            KsqlWording::Located => out.push_str(&format!("\n{located}")),
            KsqlWording::Prepare => {
                out.push_str(&format!("\nFailed to prepare statement: {}", self.message))
            }
            KsqlWording::Sanitize => {
                out.push_str(&format!("\nException while preparing statement: {located}"))
            }
            KsqlWording::Statement => {}
        }
        out
    }
}

pub(crate) type Result<T> = std::result::Result<T, AnalysisError>;

/// Shorthand: an error at `span`.
pub(crate) fn err<T>(span: Span, message: impl Into<String>) -> Result<T> {
    Err(AnalysisError::new(span, message))
}
