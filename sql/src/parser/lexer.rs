//! Turns text into the tokens the parser reads, using sqlparser's tokenizer with a ksqlDB
//! dialect (back-quoted and double-quoted identifiers, identifiers that start with a digit
//! or contain `@`, `=>`, `->`, `:=`), then folding its tokens into a small set of our own:
//! `${name}` becomes one variable token and `>>` becomes two `>` (for `ARRAY<ARRAY<INT>>`).

use sqlparser::dialect::Dialect;
use sqlparser::tokenizer::{Token as SqlToken, TokenWithSpan, Tokenizer, Whitespace};

use crate::ast::{Position, Span};
use crate::error::{ParseError, ParseErrorKind};

/// The ksqlDB lexical rules, as far as sqlparser's tokenizer lets a dialect set them.
#[derive(Debug, Default)]
pub struct KsqlDialect;

impl Dialect for KsqlDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_' || ch == '@'
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`' || ch == '"'
    }

    /// `1ABC` is an identifier in ksqlDB (DIGIT_IDENTIFIER).
    fn supports_numeric_prefix(&self) -> bool {
        true
    }

    /// Keeps `$` from starting a dollar-quoted string, so `${name}` tokenizes as `$`, `{`,
    /// name, `}` and is folded into a variable token.
    fn supports_dollar_placeholder(&self) -> bool {
        true
    }
}

/// A token the parser reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word: keyword or identifier. `text` is as written (unescaped when quoted), `upper`
    /// is its upper-case form, `quoted` tells whether it was back- or double-quoted.
    Word {
        text: String,
        upper: String,
        quoted: bool,
    },
    Number(String),
    Str(String),
    /// `${name}`
    Variable(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Period,
    Semicolon,
    Eq,
    Neq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Concat,
    /// `->`
    Arrow,
    /// `=>`
    FatArrow,
    /// `:=`
    Assign,
    /// Anything else the tokenizer produced: never valid in ksqlDB.
    Other(String),
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word { text, quoted, .. } => {
                if *quoted {
                    format!("`{text}`")
                } else {
                    format!("'{text}'")
                }
            }
            Tok::Number(n) => format!("'{n}'"),
            Tok::Str(s) => {
                let mut s = s.replace('\'', "''");
                if s.chars().count() > 40 {
                    s = s.chars().take(37).collect::<String>() + "...";
                }
                format!("string '{s}'")
            }
            Tok::Variable(v) => format!("'${{{v}}}'"),
            Tok::Eof => "end of input".to_string(),
            Tok::Other(o) => format!("'{o}'"),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Period => ".",
            Tok::Semicolon => ";",
            Tok::Eq => "=",
            Tok::Neq => "<>",
            Tok::Lt => "<",
            Tok::LtEq => "<=",
            Tok::Gt => ">",
            Tok::GtEq => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Percent => "%",
            Tok::Concat => "||",
            Tok::Arrow => "->",
            Tok::FatArrow => "=>",
            Tok::Assign => ":=",
            _ => "?",
        }
    }
}

/// A token and its span.
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn pos(loc: sqlparser::tokenizer::Location, origin: Position) -> Position {
    let line = u32::try_from(loc.line).unwrap_or(u32::MAX);
    let column = u32::try_from(loc.column).unwrap_or(u32::MAX);
    if line <= 1 {
        Position::new(
            origin.line,
            column.saturating_add(origin.column.saturating_sub(1)),
        )
    } else {
        Position::new(line.saturating_add(origin.line - 1), column)
    }
}

fn span(s: sqlparser::tokenizer::Span, origin: Position) -> Span {
    Span::new(pos(s.start, origin), pos(s.end, origin))
}

/// Tokenizes `src`, whose first character sits at `origin` (1:1 for a whole script), and
/// ends the list with an [`Tok::Eof`] placed just after the last token.
pub fn lex(src: &str, origin: Position) -> Result<Vec<Token>, ParseError> {
    let dialect = KsqlDialect;
    let raw: Vec<TokenWithSpan> = Tokenizer::new(&dialect, src)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| {
            let p = pos(e.location, origin);
            let mut message = e.message;
            if message.starts_with("Unterminated string literal") {
                message = "unterminated string literal: a string opened here has no closing '"
                    .to_string();
            }
            ParseError::new(ParseErrorKind::Lexical, p.line, p.column, message)
        })?;

    let mut out: Vec<Token> = Vec::with_capacity(raw.len() + 1);
    let mut last_end = origin;
    let mut i = 0;
    while i < raw.len() {
        let t = &raw[i];
        let sp = span(t.span, origin);
        i += 1;
        let tok = match &t.token {
            SqlToken::Whitespace(Whitespace::Space | Whitespace::Tab | Whitespace::Newline)
            | SqlToken::Whitespace(_) => continue,
            SqlToken::EOF => continue,
            SqlToken::Word(w) => Tok::Word {
                upper: if w.quote_style.is_some() {
                    w.value.clone()
                } else {
                    w.value.to_ascii_uppercase()
                },
                text: w.value.clone(),
                quoted: w.quote_style.is_some(),
            },
            SqlToken::Number(n, long) => {
                if *long {
                    let text = format!("{n}L");
                    Tok::Word {
                        upper: text.to_ascii_uppercase(),
                        text,
                        quoted: false,
                    }
                } else {
                    Tok::Number(n.clone())
                }
            }
            SqlToken::SingleQuotedString(s) => Tok::Str(s.clone()),
            SqlToken::Placeholder(p) if p == "$" => {
                // `${name}`, written without spaces.
                match (raw.get(i), raw.get(i + 1), raw.get(i + 2)) {
                    (
                        Some(TokenWithSpan {
                            token: SqlToken::LBrace,
                            span: s1,
                        }),
                        Some(TokenWithSpan {
                            token: SqlToken::Word(w),
                            span: s2,
                        }),
                        Some(TokenWithSpan {
                            token: SqlToken::RBrace,
                            span: s3,
                        }),
                    ) if w.quote_style.is_none()
                        && s1.start == t.span.end
                        && s2.start == s1.end
                        && s3.start == s2.end =>
                    {
                        let end = pos(s3.end, origin);
                        i += 3;
                        out.push(Token {
                            tok: Tok::Variable(w.value.clone()),
                            span: Span::new(sp.start, end),
                        });
                        last_end = end;
                        continue;
                    }
                    _ => Tok::Other("$".to_string()),
                }
            }
            SqlToken::LParen => Tok::LParen,
            SqlToken::RParen => Tok::RParen,
            SqlToken::LBracket => Tok::LBracket,
            SqlToken::RBracket => Tok::RBracket,
            SqlToken::Comma => Tok::Comma,
            SqlToken::Period => Tok::Period,
            SqlToken::SemiColon => Tok::Semicolon,
            SqlToken::Eq => Tok::Eq,
            SqlToken::Neq => Tok::Neq,
            SqlToken::Lt => Tok::Lt,
            SqlToken::LtEq => Tok::LtEq,
            SqlToken::Gt => Tok::Gt,
            SqlToken::GtEq => Tok::GtEq,
            SqlToken::Plus => Tok::Plus,
            SqlToken::Minus => Tok::Minus,
            SqlToken::Mul => Tok::Star,
            SqlToken::Div => Tok::Slash,
            SqlToken::Mod => Tok::Percent,
            SqlToken::StringConcat => Tok::Concat,
            SqlToken::Arrow => Tok::Arrow,
            SqlToken::RArrow => Tok::FatArrow,
            SqlToken::Assignment => Tok::Assign,
            SqlToken::ShiftRight => {
                // `>>` closes two nested type brackets.
                let mid = Position::new(sp.start.line, sp.start.column + 1);
                out.push(Token {
                    tok: Tok::Gt,
                    span: Span::new(sp.start, mid),
                });
                out.push(Token {
                    tok: Tok::Gt,
                    span: Span::new(mid, sp.end),
                });
                last_end = sp.end;
                continue;
            }
            other => Tok::Other(other.to_string()),
        };
        last_end = sp.end;
        out.push(Token { tok, span: sp });
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(last_end, last_end),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, Position::new(1, 1))
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn ksql_tokens() {
        assert_eq!(
            toks("a->b => := >> ${v} `q``x` 'it''s'"),
            vec![
                Tok::Word {
                    text: "a".into(),
                    upper: "A".into(),
                    quoted: false
                },
                Tok::Arrow,
                Tok::Word {
                    text: "b".into(),
                    upper: "B".into(),
                    quoted: false
                },
                Tok::FatArrow,
                Tok::Assign,
                Tok::Gt,
                Tok::Gt,
                Tok::Variable("v".into()),
                Tok::Word {
                    text: "q`x".into(),
                    upper: "q`x".into(),
                    quoted: true
                },
                Tok::Str("it's".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn positions_are_one_based_and_offset() {
        let t = lex("x\n  yy", Position::new(3, 5)).unwrap();
        assert_eq!(t[0].span.start, Position::new(3, 5));
        assert_eq!(t[1].span.start, Position::new(4, 3));
        assert_eq!(t[1].span.end, Position::new(4, 5));
        assert_eq!(t[2].tok, Tok::Eof);
        assert_eq!(t[2].span.start, Position::new(4, 5));
    }

    #[test]
    fn numbers_and_digit_identifiers() {
        assert_eq!(toks("1.5e3")[0], Tok::Number("1.5e3".into()));
        assert_eq!(toks(".5")[0], Tok::Number(".5".into()));
        assert!(matches!(&toks("1abc")[0], Tok::Word { upper, .. } if upper == "1ABC"));
    }

    #[test]
    fn unterminated_string_is_a_lexical_error() {
        let e = lex("SELECT 'abc", Position::new(1, 1)).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Lexical);
        assert_eq!((e.line, e.column), (1, 8));
    }
}
