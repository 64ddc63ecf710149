//! `${name}` variable substitution (`DEFINE name = 'value'`), done on statement text before
//! parsing, as ksqlDB does.
//!
//! Rules: names are case-insensitive; a reference is replaced wherever it appears outside
//! comments and quoted identifiers — in a string literal too (`'${format}'`), where quotes in
//! the value are doubled so the literal stays well-formed; `$${name}` is an escape that
//! leaves `${name}` in the text; a reference to an undefined variable is an error.

use std::collections::HashMap;

use crate::ast::Position;
use crate::error::{ParseError, ParseErrorKind};

/// Replaces every `${name}` in `text` with the value of `name` in `vars` (looked up
/// case-insensitively). Errors name the line and column of an undefined variable.
pub fn substitute_variables(
    text: &str,
    vars: &HashMap<String, String>,
) -> Result<String, ParseError> {
    substitute_at(text, vars, Position::new(1, 1))
}

/// The value of `name`, matching case-insensitively.
pub fn lookup_variable<'v>(vars: &'v HashMap<String, String>, name: &str) -> Option<&'v str> {
    if let Some(v) = vars.get(name) {
        return Some(v);
    }
    vars.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Normal,
    Str,
    Quoted(u8),
    LineComment,
    BlockComment,
}

/// Like [`substitute_variables`], for text whose first character sits at `origin`.
pub(crate) fn substitute_at(
    text: &str,
    vars: &HashMap<String, String>,
    origin: Position,
) -> Result<String, ParseError> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut state = State::Normal;
    let mut copied = 0; // text[..copied] is already in `out`
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match state {
            State::Normal | State::Str => {
                if c == b'$' && b.get(i + 1) == Some(&b'$') && b.get(i + 2) == Some(&b'{') {
                    // `$${` is an escaped `${`.
                    out.push_str(&text[copied..i]);
                    copied = i + 1;
                    i += 3;
                    continue;
                }
                if c == b'$' && b.get(i + 1) == Some(&b'{') {
                    if let Some((name, end)) = variable_at(text, i) {
                        let Some(value) = lookup_variable(vars, name) else {
                            let p = position_of(text, i, origin);
                            return Err(ParseError::new(
                                ParseErrorKind::UndefinedVariable,
                                p.line,
                                p.column,
                                format!("variable '{name}' is not defined"),
                            ));
                        };
                        out.push_str(&text[copied..i]);
                        if state == State::Str {
                            out.push_str(&value.replace('\'', "''"));
                        } else {
                            out.push_str(value);
                        }
                        copied = end;
                        i = end;
                        continue;
                    }
                }
                if state == State::Str {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        state = State::Normal;
                    }
                } else {
                    match c {
                        b'\'' => state = State::Str,
                        b'`' | b'"' => state = State::Quoted(c),
                        b'-' if b.get(i + 1) == Some(&b'-') => state = State::LineComment,
                        b'/' if b.get(i + 1) == Some(&b'*') => {
                            state = State::BlockComment;
                            i += 1;
                        }
                        _ => {}
                    }
                }
            }
            State::Quoted(q) => {
                if c == q {
                    state = State::Normal;
                }
            }
            State::LineComment => {
                if c == b'\n' || c == b'\r' {
                    state = State::Normal;
                }
            }
            State::BlockComment => {
                if c == b'*' && b.get(i + 1) == Some(&b'/') {
                    state = State::Normal;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

/// If `${name}` starts at byte `i`, its name and the byte offset just past `}`.
fn variable_at(text: &str, i: usize) -> Option<(&str, usize)> {
    let rest = &text[i + 2..];
    let len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let name = &rest[..len];
    let ok = name
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && rest.as_bytes().get(len) == Some(&b'}');
    ok.then_some((name, i + 2 + len + 1))
}

/// The line and column of byte `at` in `text`, for text starting at `origin`.
fn position_of(text: &str, at: usize, origin: Position) -> Position {
    let before = &text[..at];
    let mut line = origin.line;
    let mut line_start = 0;
    let bytes = before.as_bytes();
    let mut j = 0;
    // Only `\n` breaks a line, as in the tokenizer.
    while j < bytes.len() {
        if bytes[j] == b'\n' {
            line += 1;
            line_start = j + 1;
        }
        j += 1;
    }
    let col = before[line_start..].chars().count() as u32 + 1;
    if line == origin.line {
        Position::new(line, col + origin.column - 1)
    } else {
        Position::new(line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_in_code_and_strings() {
        let v = vars(&[("format", "AVRO"), ("replicas", "3"), ("name", "it's")]);
        let out = substitute_variables(
            "WITH (value_format='${FORMAT}', replicas=${replicas}, x='${name}')",
            &v,
        )
        .unwrap();
        assert_eq!(out, "WITH (value_format='AVRO', replicas=3, x='it''s')");
    }

    #[test]
    fn escapes_comments_and_quoted_identifiers_are_left_alone() {
        let v = vars(&[("a", "1")]);
        assert_eq!(substitute_variables("$${a} ${a}", &v).unwrap(), "${a} 1");
        assert_eq!(
            substitute_variables("-- ${b}\n`${b}` ${a} /* ${b} */", &v).unwrap(),
            "-- ${b}\n`${b}` 1 /* ${b} */"
        );
    }

    #[test]
    fn undefined_variable_is_an_error_with_position() {
        let e = substitute_variables("SELECT\n  ${nope}", &HashMap::new()).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::UndefinedVariable);
        assert_eq!((e.line, e.column), (2, 3));
    }
}
