//! Scripts: splitting text into statements at top-level `;`, and parsing a script while
//! applying `DEFINE` / `UNDEFINE` and `${name}` substitution statement by statement.

use std::collections::HashMap;

use crate::ast::{Position, Statement, StatementKind};
use crate::error::ParseError;
use crate::parser::lexer::{lex, Tok};
use crate::parser::Parser;
use crate::variables::substitute_at;

/// One statement's text within a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText<'a> {
    /// From the statement's first token to its last, without the `;` (comments before the
    /// statement are not included).
    pub text: &'a str,
    /// Where `text` starts in the script.
    pub start: Position,
    /// Byte offset of `text` in the script.
    pub offset: usize,
    /// Whether a `;` ended it (an interactive shell waits for more input if not).
    pub terminated: bool,
}

/// Splits a script into statements at `;` outside strings, quoted identifiers and comments.
/// Empty statements are dropped. Fails only on text that cannot be tokenized (such as an
/// unterminated string).
pub fn split_statements(script: &str) -> Result<Vec<StatementText<'_>>, ParseError> {
    let tokens = lex(script, Position::new(1, 1))?;
    let index = LineIndex::new(script);
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    for (i, t) in tokens.iter().enumerate() {
        match t.tok {
            Tok::Semicolon | Tok::Eof => {
                if let Some(f) = first.take() {
                    let start = tokens[f].span.start;
                    let end = tokens[i - 1].span.end;
                    let (a, b) = (index.offset(start), index.offset(end));
                    out.push(StatementText {
                        text: &script[a..b],
                        start,
                        offset: a,
                        terminated: t.tok == Tok::Semicolon,
                    });
                }
            }
            _ => {
                if first.is_none() {
                    first = Some(i);
                }
            }
        }
    }
    Ok(out)
}

/// Parses a script statement by statement, substituting `${name}` references from `vars`
/// before parsing each one and applying its `DEFINE` and `UNDEFINE` statements to `vars` as
/// it goes, so later statements see earlier definitions.
///
/// Error positions are in script coordinates. In a statement where a substitution changed
/// the text, positions after the substitution on the same line refer to the substituted
/// text.
pub fn parse_script(
    script: &str,
    vars: &mut HashMap<String, String>,
) -> Result<Vec<Statement>, ParseError> {
    let mut out = Vec::new();
    for piece in split_statements(script)? {
        out.push(parse_script_statement(&piece, vars)?);
    }
    Ok(out)
}

/// Parses one statement of a script (from [`split_statements`]) with error positions in
/// script coordinates: substitutes `${name}` from `vars` first, then applies the
/// statement's own `DEFINE` / `UNDEFINE` to `vars`. Callers that report every bad statement
/// of a script (rather than stopping at the first) call this once per piece.
pub fn parse_script_statement(
    piece: &StatementText<'_>,
    vars: &mut HashMap<String, String>,
) -> Result<Statement, ParseError> {
    let text = substitute_at(piece.text, vars, piece.start)?;
    let tokens = lex(&text, piece.start)?;
    let st = Parser::new(&tokens).parse_single().map_err(|mut e| {
        e.antlr = crate::parser::antlr::explain(&tokens, &e, false);
        e
    })?;
    match &st.kind {
        StatementKind::Define { name, value } => {
            vars.retain(|k, _| !k.eq_ignore_ascii_case(name));
            vars.insert(name.clone(), value.clone());
        }
        StatementKind::Undefine { name } => {
            vars.retain(|k, _| !k.eq_ignore_ascii_case(name));
        }
        _ => {}
    }
    Ok(st)
}

/// Maps 1-based line/column positions to byte offsets.
struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let b = text.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        // Only `\n` breaks a line, as in the tokenizer (a `\r` is a character of its line).
        while i < b.len() {
            if b[i] == b'\n' {
                line_starts.push(i + 1);
            }
            i += 1;
        }
        LineIndex { text, line_starts }
    }

    fn offset(&self, p: Position) -> usize {
        let line = (p.line.max(1) as usize - 1).min(self.line_starts.len() - 1);
        let start = self.line_starts[line];
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(p.column.max(1) as usize - 1)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons() {
        let s = "SELECT ';' FROM a; -- c;\n /* ; */ SHOW STREAMS ;;\nLIST TOPICS";
        let parts = split_statements(s).unwrap();
        let texts: Vec<_> = parts.iter().map(|p| p.text).collect();
        assert_eq!(
            texts,
            vec!["SELECT ';' FROM a", "SHOW STREAMS", "LIST TOPICS"]
        );
        assert_eq!(parts[1].start, Position::new(2, 10));
        assert!(parts[1].terminated);
        assert!(!parts[2].terminated);
    }

    #[test]
    fn script_defines_then_substitutes() {
        let mut vars = HashMap::new();
        let sts = parse_script(
            "DEFINE t = 'orders'; DEFINE n = 'S1';\nCREATE STREAM ${n} (A INT) WITH (kafka_topic='${T}', value_format='JSON');",
            &mut vars,
        )
        .unwrap();
        assert_eq!(sts.len(), 3);
        let StatementKind::CreateSource(c) = &sts[2].kind else {
            panic!("not a create: {:?}", sts[2])
        };
        assert_eq!(c.name.value, "S1");
        assert_eq!(c.properties.get_str("KAFKA_TOPIC"), Some("orders"));
        assert_eq!(sts[2].span.start, Position::new(2, 1));
    }

    #[test]
    fn script_errors_are_in_script_coordinates() {
        let mut vars = HashMap::new();
        let e = parse_script("SHOW STREAMS;\n  SELEC * FROM x;", &mut vars).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("Did you mean 'SELECT'"), "{}", e.message);
    }
}
