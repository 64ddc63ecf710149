//! Source positions: where in the statement text a node was written.
//!
//! Every statement, identifier and expression carries a [`Span`] so that the parser and the
//! analyzer can point a caret at the problem. Spans never take part in equality or hashing:
//! two nodes are equal when they say the same thing, wherever they were written. That is what
//! the analyzer wants when it matches a `GROUP BY` expression against a select item, and what
//! round-trip tests want when they compare `parse(print(parse(s)))` with `parse(s)`.

use std::fmt;
use std::hash::{Hash, Hasher};

/// A 1-based line and column (columns count characters, not bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub const fn new(line: u32, column: u32) -> Self {
        Position { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// The stretch of source a node came from: `start` is its first character, `end` is just past
/// its last one. Nodes built by code rather than parsed carry [`Span::default`] (line 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub start: Position,
    pub end: Position,
}

impl Span {
    pub const fn new(start: Position, end: Position) -> Self {
        Span { start, end }
    }

    /// Whether this span was made up by code (no source position).
    pub fn is_unknown(&self) -> bool {
        self.start.line == 0
    }

    /// The smallest span covering both.
    pub fn union(&self, other: &Span) -> Span {
        if self.is_unknown() {
            return *other;
        }
        if other.is_unknown() {
            return *self;
        }
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The text this span covers in `source` (the text it was parsed from), if it is in range.
    pub fn slice<'a>(&self, source: &'a str) -> Option<&'a str> {
        let start = byte_offset(source, self.start)?;
        let end = byte_offset(source, self.end)?;
        source.get(start..end)
    }
}

/// Byte offset of a 1-based line/column position in `source`.
pub fn byte_offset(source: &str, pos: Position) -> Option<usize> {
    if pos.line == 0 || pos.column == 0 {
        return None;
    }
    let mut offset = 0usize;
    // Only `\n` breaks a line, as in the tokenizer.
    for _ in 1..pos.line {
        offset += source[offset..].find('\n')? + 1;
    }
    let line = &source[offset..];
    let mut chars = line.char_indices();
    for _ in 1..pos.column {
        chars.next()?;
    }
    Some(offset + chars.next().map(|(i, _)| i).unwrap_or(line.len()))
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl Hash for Span {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_line_and_column() {
        let src = "ab\ncdé f\r\ng";
        let s = Span::new(Position::new(2, 1), Position::new(2, 4));
        assert_eq!(s.slice(src), Some("cdé"));
        let s = Span::new(Position::new(3, 1), Position::new(3, 2));
        assert_eq!(s.slice(src), Some("g"));
    }

    #[test]
    fn spans_never_differ() {
        let a = Span::new(Position::new(1, 1), Position::new(1, 2));
        assert_eq!(a, Span::default());
    }
}
