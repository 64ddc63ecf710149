//! ksqlDB's wording of syntax errors. ksqlDB parses with ANTLR, whose error strategy, when
//! one token does not fit, tries in order:
//!
//! 1. *single-token deletion*: if the token after the offending one is expected here, the
//!    offending token is extraneous: `extraneous input 'x' expecting {...}`;
//! 2. *single-token insertion*: if exactly one token is expected and, with it inserted, the
//!    offending token fits, that token is missing: `missing ')' at ','`;
//! 3. otherwise the input does not match: ksqlDB says `Expecting {...}`.
//!
//! [`explain`] decides between them the same way, by parsing again with the offending token
//! deleted or the expected token inserted and checking whether the parse gets past it.
//! Expected sets print as ANTLR prints them: one element bare, several in braces; literal
//! tokens quoted, token classes by name (`INTEGER_VALUE`, `IDENTIFIER`, ...).

use crate::ast::{Position, Span};
use crate::error::{ParseError, ParseErrorKind};

use super::lexer::{lex, Tok, Token};
use super::Parser;

/// ANTLR's name for one of the parser's "expected" descriptions (see `Expect::describe`).
fn antlr_name(expected: &str) -> String {
    match expected {
        "a whole number" => "INTEGER_VALUE".into(),
        "an identifier" | "a variable name" | "a property name" => "IDENTIFIER".into(),
        "a number" => "DECIMAL_VALUE".into(),
        "end of input" => "<EOF>".into(),
        "a topic name" | "a literal value" => "STRING".into(),
        other => other.to_string(),
    }
}

/// Whether an expected description names a grammar rule with several alternatives rather
/// than a token or token class.
fn is_rule(expected: &str) -> bool {
    matches!(
        expected,
        "a type"
            | "an expression"
            | "an identifier"
            | "a variable name"
            | "a property name"
            | "a literal value"
            | "a topic name"
    )
}

/// Rank of an expected token in ANTLR's set order (token type): literal tokens of the
/// parser rules first, then keywords, then token classes.
fn rank(name: &str) -> u8 {
    let inner = name.trim_matches('\'');
    if name.starts_with('\'') && !inner.chars().any(|c| c.is_ascii_alphabetic()) {
        0
    } else if name.starts_with('\'') {
        1
    } else {
        2
    }
}

/// An expected set as ANTLR's `IntervalSet.toString(vocabulary)` prints it.
fn expecting(expected: &[String]) -> String {
    let mut names: Vec<String> = Vec::new();
    for e in expected {
        let n = antlr_name(e);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.sort_by_key(|n| rank(n));
    if names.len() == 1 {
        names.remove(0)
    } else {
        format!("{{{}}}", names.join(", "))
    }
}

/// How ANTLR displays a token: its text in single quotes, `<EOF>` at the end.
fn display(t: &Token) -> String {
    match &t.tok {
        Tok::Eof => "<EOF>".into(),
        Tok::Word { text, .. } => format!("'{text}'"),
        Tok::Str(s) => format!("'''{}'''", s.replace('\'', "''")),
        other => other.describe(),
    }
}

/// Whether parsing `tokens` (one statement, or a script when `script`) gets past position
/// `at`: it succeeds, or fails after `at`.
fn gets_past(tokens: &[Token], at: Position, script: bool) -> bool {
    let mut p = Parser::new(tokens);
    let result = if script {
        p.parse_script().map(|_| ())
    } else {
        p.parse_single().map(|_| ())
    };
    match result {
        Ok(()) => true,
        Err(e) => Position::new(e.line, e.column) > at,
    }
}

/// The token an expected description stands for, if it is one literal token (`')'`,
/// `'KEY'`).
fn literal_token(expected: &str, at: Span) -> Option<Token> {
    let text = expected.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut toks = lex(text, at.start).ok()?;
    if toks.len() != 2 {
        return None;
    }
    let mut t = toks.remove(0);
    t.span = Span::new(at.start, at.start);
    Some(t)
}

/// ksqlDB's detail line for syntax error `e` of the statement (or, when `script`, the
/// script) `tokens` (what follows `Syntax Error` in its message), or `None` if `e` is not
/// a grammar error.
#[allow(clippy::box_collection)] // see `ParseError::antlr`
pub(crate) fn explain(tokens: &[Token], e: &ParseError, script: bool) -> Option<Box<String>> {
    explain_text(tokens, e, script).map(Box::new)
}

fn explain_text(tokens: &[Token], e: &ParseError, script: bool) -> Option<String> {
    if e.kind != ParseErrorKind::Syntax || e.expected.is_empty() {
        return None;
    }
    let at = Position::new(e.line, e.column);
    let i = tokens.iter().position(|t| t.span.start == at)?;
    let offending = &tokens[i];
    let from = (e.antlr_expected_from as usize).min(e.expected.len());
    let antlr_expected = &e.expected[from..];
    // 0. Where the parser was choosing how a grammar rule with several alternatives starts
    // (a type, an expression, an identifier...), ANTLR fails its prediction (no viable
    // alternative) rather than a token match, and ksqlDB words that differently.
    if antlr_expected.iter().any(|x| is_rule(x)) {
        return Some(format!(
            "Syntax error at or near {} at line {}:{}",
            display(offending),
            e.line,
            e.column
        ));
    }
    let set = expecting(antlr_expected);
    // 1. Single-token deletion: the next token is one that was expected.
    if let Some(next) = tokens.get(i + 1) {
        let next_fits = antlr_expected.iter().any(|x| *x == next.tok.describe())
            || (next.tok == Tok::Eof && antlr_expected.iter().any(|x| x == "end of input"));
        if offending.tok != Tok::Eof && next_fits {
            let mut without = tokens.to_vec();
            without.remove(i);
            if gets_past(&without, next.span.start, script) || next.tok == Tok::Eof {
                return Some(format!(
                    "extraneous input {} expecting {set}",
                    display(offending)
                ));
            }
        }
    }
    // 2. Single-token insertion: the one expected token, inserted, lets the parse go on.
    if let [only] = antlr_expected {
        if let Some(missing) = literal_token(only, offending.span) {
            let mut with = tokens.to_vec();
            with.insert(i, missing);
            if gets_past(&with, at, script) {
                return Some(format!("missing {set} at {}", display(offending)));
            }
        }
    }
    Some(format!("Expecting {set}"))
}

#[cfg(test)]
mod tests {
    use crate::parse_statement;

    fn detail(sql: &str) -> String {
        parse_statement(sql)
            .unwrap_err()
            .antlr
            .expect("a grammar error")
            .to_string()
    }

    #[test]
    fn missing_token() {
        assert_eq!(
            detail("SELECT f1 FROM t GROUP BY f3, (f2, f1) EMIT CHANGES;"),
            "missing ')' at ','"
        );
    }

    #[test]
    fn mismatched_input_lists_the_expected_set() {
        assert_eq!(
            detail(
                "CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='i', value_format='JSON');"
            ),
            "Expecting {'STRING', INTEGER_VALUE}"
        );
    }

    #[test]
    fn optional_clauses_of_a_completed_rule_are_not_expected() {
        // After `K VARCHAR(STRING)`, KEY / PRIMARY / HEADERS were optional in the finished
        // `tableElement`: ANTLR expects only what may follow it.
        let e = parse_statement(
            "CREATE STREAM INPUT (K VARCHAR(STRING) (KEY)) WITH (kafka_topic='i', value_format='JSON');",
        )
        .unwrap_err();
        assert!(e.message.contains("'KEY'"), "{}", e.message);
        assert_eq!(
            e.antlr.as_deref().map(String::as_str),
            Some("Expecting {',', ')'}")
        );
    }

    #[test]
    fn no_viable_alternative_where_a_rule_starts() {
        assert_eq!(
            detail("SELECT CAST(f0 AS NULL) FROM t EMIT CHANGES;"),
            "Syntax error at or near 'NULL' at line 1:19"
        );
    }

    #[test]
    fn extraneous_token() {
        assert_eq!(
            detail("SELECT * FROM t WHERE (a = 1)) EMIT CHANGES;"),
            "extraneous input ')' expecting {';', 'GROUP', 'PARTITION', 'HAVING', 'EMIT', 'LIMIT', <EOF>}"
        );
    }
}
