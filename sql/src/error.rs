//! `ParseError`: what went wrong, where (1-based line and column), and how to show it with
//! the offending source line and a caret.

use std::fmt::Write as _;

/// What kind of problem a [`ParseError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// The text could not be split into tokens (e.g. an unterminated string).
    Lexical,
    /// The tokens do not form a statement of the grammar.
    Syntax,
    /// The statement follows the grammar but breaks a rule the parser checks
    /// (e.g. `KEY` in a table, a duplicate property, a number out of range).
    Invalid,
    /// Expressions or types nest deeper than the parser allows.
    TooDeep,
    /// A `${name}` variable that is not defined.
    UndefinedVariable,
}

/// A parse error at a 1-based line and column.
///
/// `message` is complete ("expected 'SELECT', found 'SELCT'. Did you mean 'SELECT'?");
/// `expected`, `found` and `suggestion` give its parts for tools that want them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// What the parser could have accepted here.
    pub expected: Vec<String>,
    /// What it found instead.
    pub found: Option<String>,
    /// A nearby keyword for a likely typo.
    pub suggestion: Option<String>,
    /// For a grammar error, ksqlDB's (ANTLR's) wording of it: `missing ')' at ','`,
    /// `Expecting {',', ')'}`, `extraneous input 'x' expecting ...`.
    /// (Boxed, a thin pointer: parse errors travel in `Result`s and must stay small.)
    #[allow(clippy::box_collection)]
    pub antlr: Option<Box<String>>,
    /// Where in `expected` what ANTLR would expect starts: the entries before it come from
    /// optional clauses of grammar rules that had already completed.
    pub antlr_expected_from: u16,
    /// A rule ksqlDB checks while building its AST, worded `Failed to prepare statement:
    /// message` (e.g. `LIMIT 2.5`).
    pub prepare: bool,
}

impl ParseError {
    pub fn new(kind: ParseErrorKind, line: u32, column: u32, message: impl Into<String>) -> Self {
        ParseError {
            kind,
            line,
            column,
            message: message.into(),
            expected: Vec::new(),
            found: None,
            suggestion: None,
            antlr: None,
            antlr_expected_from: 0,
            prepare: false,
        }
    }

    /// `file:line:col: message`, then the source line and a caret under the problem.
    /// `source` is the text that was parsed (the whole script, so that line numbers match).
    /// Grammar errors say `Syntax Error:` first, as ksqlDB's do.
    ///
    /// ksqlDB's own wording follows on lines of its own (see [`ParseError::antlr`]).
    pub fn render(&self, source: &str, file_name: &str) -> String {
        let mut out = self.render_plain(source, file_name);
        out.push_str(&self.ksql_trailer(source));
        out
    }

    /// [`ParseError::render`] without ksqlDB's wording.
    pub fn render_plain(&self, source: &str, file_name: &str) -> String {
        let mut out = format!(
            "{}:{}:{}: {}{}",
            file_name,
            self.line,
            self.column,
            if self.kind == ParseErrorKind::Syntax {
                "Syntax Error: "
            } else {
                ""
            },
            self.message
        );
        if let Some(text) = source_line(source, self.line) {
            let text = text.trim_end_matches(['\r', '\n']);
            let mut caret = String::new();
            // Keep tabs so the caret lines up under the same tab stops.
            for c in text.chars().take(self.column.saturating_sub(1) as usize) {
                caret.push(if c == '\t' { '\t' } else { ' ' });
            }
            let _ = write!(out, "\n{text}\n{caret}^");
        }
        out
    }

    /// The error as ksqlDB words it, on lines of its own after the rendering:
    /// `line L:C: Syntax Error`, ANTLR's detail and `Statement: <statement>` for a grammar
    /// error; `Line: L, Col: C: message` for a rule the parser checks. (ksqlDB quotes all
    /// the text it was given; this quotes the statement of `source` the error is in.)
    fn ksql_trailer(&self, source: &str) -> String {
        match (&self.antlr, self.kind) {
            (Some(detail), _) => format!(
                "\nline {}:{}: Syntax Error\n{detail}\nStatement: {}",
                self.line,
                self.column,
                self.statement_in(source)
            ),
            (None, ParseErrorKind::Invalid) if self.prepare => {
                format!("\nFailed to prepare statement: {}", self.message)
            }
            (None, ParseErrorKind::Invalid) => format!(
                "\nLine: {}, Col: {}: {}",
                self.line, self.column, self.message
            ),
            _ => String::new(),
        }
    }
}

impl ParseError {
    /// The statement of `source` the error is in, with its `;` (all of `source` if it
    /// cannot be split).
    fn statement_in<'a>(&self, source: &'a str) -> std::borrow::Cow<'a, str> {
        let at = crate::ast::Position::new(self.line, self.column);
        let pieces = crate::script::split_statements(source).unwrap_or_default();
        match pieces.iter().rev().find(|p| p.start <= at) {
            Some(p) if p.terminated => format!("{};", p.text).into(),
            Some(p) => p.text.into(),
            None => source.into(),
        }
    }
}

/// Line `line` (1-based) of `source`; only `\n` breaks lines, as in the tokenizer.
fn source_line(source: &str, line: u32) -> Option<&str> {
    source.split('\n').nth(line.checked_sub(1)? as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let e = ParseError::new(ParseErrorKind::Syntax, 2, 8, "expected X");
        let r = e.render("SELECT 1;\n\tSELECT FORM x;", "a.sql");
        assert_eq!(
            r,
            "a.sql:2:8: Syntax Error: expected X\n\tSELECT FORM x;\n\t      ^"
        );
    }

    #[test]
    fn ksql_wording_quotes_the_failing_statement() {
        let sql = "CREATE STREAM a (x INT) WITH (kafka_topic='a', value_format='JSON');\nSELECT (x, y FROM a;";
        let e = crate::parse_statements(sql).unwrap_err();
        let r = e.render(sql, "s");
        // Only the statement the error is in, not the whole script.
        assert!(r.contains("\nline 2:"), "{r}");
        assert!(r.ends_with("\nStatement: SELECT (x, y FROM a;"), "{r}");
    }

    #[test]
    fn renders_without_source_line() {
        let e = ParseError::new(ParseErrorKind::Invalid, 9, 1, "boom");
        assert_eq!(e.render("x", "f"), "f:9:1: boom\nLine: 9, Col: 1: boom");
    }
}
