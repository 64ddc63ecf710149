//! lexer.rs owns the shell's light reading of what is typed: where words, strings and
//! comments are (for highlighting and completion) and whether the text typed so far ends
//! in a complete statement (a `;` outside strings and comments). It never fails: the SQL
//! parser judges the statement once it is complete.

/// A stretch of the input and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An identifier or keyword (letters, digits, `_`, `$`).
    Word,
    /// `'...'`, possibly unterminated.
    String,
    /// `"..."` or `` `...` ``: a quoted identifier.
    QuotedIdent,
    /// `-- ...` or `/* ... */`.
    Comment,
    Number,
    /// Anything else (operators, punctuation, spaces).
    Other,
}

/// One token: its kind and byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// Splits `text` into tokens covering all of it.
pub fn tokens(text: &str) -> Vec<Token> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let kind = if c == b'\'' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if i + 1 < b.len() && b[i + 1] == b'\'' {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            TokenKind::String
        } else if c == b'"' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                i += 1;
            }
            i = (i + 1).min(b.len());
            TokenKind::QuotedIdent
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            TokenKind::Comment
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
            TokenKind::Comment
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            TokenKind::Number
        } else if is_word_byte(c) {
            while i < b.len() && is_word_byte(b[i]) {
                i += 1;
            }
            TokenKind::Word
        } else {
            // One character (whole, for multi-byte UTF-8).
            i += text[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            TokenKind::Other
        };
        out.push(Token {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Letters (any script), digits, `_` and `$` make words.
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Whether `text` ends in a complete statement: its last token that is not space or a
/// comment is a `;`, and no string or quoted name is left open.
pub fn is_complete(text: &str) -> bool {
    let toks = tokens(text);
    for t in toks.iter().rev() {
        let s = &text[t.start..t.end];
        match t.kind {
            TokenKind::Comment => {
                // An unterminated block comment swallows the rest.
                if s.starts_with("/*") && (s.len() < 4 || !s.ends_with("*/")) {
                    return false;
                }
            }
            TokenKind::Other if s.trim().is_empty() => {}
            TokenKind::Other => return s == ";",
            TokenKind::String => return false,
            TokenKind::QuotedIdent => return false,
            _ => return false,
        }
    }
    false
}

/// The word being typed at byte `pos`: its start and text (empty at a word boundary).
pub fn word_at(line: &str, pos: usize) -> (usize, &str) {
    let b = line.as_bytes();
    let mut start = pos;
    while start > 0 && is_word_byte(b[start - 1]) {
        start -= 1;
    }
    // Step forward to a char boundary (is_word_byte counts UTF-8 continuation bytes).
    while !line.is_char_boundary(start) {
        start += 1;
    }
    (start, &line[start..pos])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_outside_strings_and_comments() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1;  -- done\n"));
        assert!(is_complete(
            "CREATE STREAM S (A INT)\n  WITH (KAFKA_TOPIC='s');"
        ));
        assert!(!is_complete("CREATE STREAM S (A INT)"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 'it''s;"));
        assert!(is_complete("SELECT 'it''s';"));
        assert!(!is_complete("SELECT 1; /* open"));
        assert!(!is_complete("SELECT `a;"));
        assert!(!is_complete(""));
    }

    #[test]
    fn tokens_cover_the_text_and_name_its_parts() {
        let text = "SELECT 'x', col1 -- c\nFROM \"S\";";
        let toks = tokens(text);
        assert_eq!(toks.first().unwrap().start, 0);
        assert_eq!(toks.last().unwrap().end, text.len());
        let kinds: Vec<(TokenKind, &str)> = toks
            .iter()
            .filter(|t| !(t.kind == TokenKind::Other && text[t.start..t.end].trim().is_empty()))
            .map(|t| (t.kind, &text[t.start..t.end]))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (TokenKind::Word, "SELECT"),
                (TokenKind::String, "'x'"),
                (TokenKind::Other, ","),
                (TokenKind::Word, "col1"),
                (TokenKind::Comment, "-- c"),
                (TokenKind::Word, "FROM"),
                (TokenKind::QuotedIdent, "\"S\""),
                (TokenKind::Other, ";"),
            ]
        );
    }

    #[test]
    fn the_word_under_the_cursor() {
        assert_eq!(word_at("SELECT us", 9), (7, "us"));
        assert_eq!(word_at("SELECT ", 7), (7, ""));
        assert_eq!(word_at("a.b", 3), (2, "b"));
    }
}
