//! The ksqlDB statement and expression grammar: a hand-written recursive-descent parser
//! (precedence climbing for expressions) over the tokens of [`lexer`].
//!
//! The parser tracks what it could have accepted at the current token, so that an error says
//! "expected one of ..., found ..." and can suggest the nearest keyword for a typo. Nesting is
//! capped at [`MAX_DEPTH`], so no input can exhaust the stack.

pub(crate) mod antlr;
pub(crate) mod expr;
pub(crate) mod lexer;
pub(crate) mod query;
pub(crate) mod statement;
pub(crate) mod types;

use crate::ast::{Ident, Position, Span, Statement};
use crate::error::{ParseError, ParseErrorKind};
use crate::keywords;
use crate::suggest::suggest;
use lexer::{Tok, Token};

/// How deep a parsed expression or type may be: nesting (parentheses, function calls,
/// constructors, `NOT`, unary minus) plus chains of operators (`a + b + c ...` is a tree as
/// deep as it is long). The parser itself grows its stack as needed, so this bounds the
/// trees it hands out: code that walks them recursively stays within a small stack.
pub const MAX_DEPTH: usize = 256;

/// Stack left before the parser moves to a new stack segment, and that segment's size.
const RED_ZONE: usize = 256 * 1024;
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// Something the parser would have accepted at a position, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A keyword, e.g. `SELECT`.
    Keyword(&'static str),
    /// A punctuation token, e.g. `;`.
    Symbol(&'static str),
    /// A kind of thing, e.g. "an identifier".
    Thing(&'static str),
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Expect::Keyword(k) => format!("'{k}'"),
            Expect::Symbol(s) => format!("'{s}'"),
            Expect::Thing(t) => t.to_string(),
        }
    }
}

/// Parser state over one token list.
pub(crate) struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    depth: usize,
    expected: Vec<Expect>,
    expected_pos: usize,
    /// How many of `expected` were noted inside grammar rules that have since completed at
    /// this position (see [`Parser::rule_done`]): ANTLR leaves them out of what it expects.
    expected_in_done_rules: usize,
    /// Index of the last word taken as an alias without `AS`: if the parse fails right
    /// after it, the "alias" was probably a misspelt keyword (`FROM t WHER x = 1`).
    pub(crate) implicit_alias_at: Option<usize>,
}

/// A saved position to backtrack to.
#[derive(Clone, Copy)]
pub(crate) struct Mark {
    pos: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    pub(crate) fn new(tokens: &'t [Token]) -> Self {
        debug_assert!(matches!(tokens.last(), Some(Token { tok: Tok::Eof, .. })));
        Parser {
            tokens,
            pos: 0,
            depth: 0,
            expected: Vec::new(),
            expected_pos: usize::MAX,
            expected_in_done_rules: 0,
            implicit_alias_at: None,
        }
    }

    // ----- looking at tokens -----

    pub(crate) fn peek(&self) -> &'t Tok {
        &self.token_at(0).tok
    }

    pub(crate) fn peek_nth(&self, n: usize) -> &'t Tok {
        &self.token_at(n).tok
    }

    fn token_at(&self, n: usize) -> &'t Token {
        let i = (self.pos + n).min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    pub(crate) fn span(&self) -> Span {
        self.token_at(0).span
    }

    /// End of the last consumed token (the start of the first if none was consumed).
    pub(crate) fn prev_end(&self) -> Position {
        if self.pos == 0 {
            self.tokens[0].span.start
        } else {
            self.tokens[self.pos - 1].span.end
        }
    }

    /// A span from `start` to the end of the last consumed token.
    pub(crate) fn span_from(&self, start: Position) -> Span {
        Span::new(start, self.prev_end().max(start))
    }

    pub(crate) fn advance(&mut self) -> &'t Token {
        let t = self.token_at(0);
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            depth: self.depth,
        }
    }

    pub(crate) fn reset(&mut self, m: Mark) {
        self.pos = m.pos;
        self.depth = m.depth;
    }

    pub(crate) fn at_eof(&self) -> bool {
        matches!(self.peek(), Tok::Eof)
    }

    // ----- expectations -----

    pub(crate) fn expect_note(&mut self, e: Expect) {
        if self.expected_pos != self.pos {
            self.expected.clear();
            self.expected_pos = self.pos;
            self.expected_in_done_rules = 0;
        }
        if !self.expected.contains(&e) {
            self.expected.push(e);
        }
    }

    /// Marks the end of a grammar rule of ksqlDB's (ANTLR) grammar, such as one
    /// `tableElement`: what it looked for at the current token (optional clauses it did not
    /// find) is no longer what ANTLR would say it expects if the parse fails here.
    pub(crate) fn rule_done(&mut self) {
        if self.expected_pos == self.pos {
            self.expected_in_done_rules = self.expected.len();
        }
    }

    /// The upper-case text of the current token if it is an unquoted word.
    pub(crate) fn peek_word(&self) -> Option<&'t str> {
        word_upper(self.peek())
    }

    pub(crate) fn peek_word_nth(&self, n: usize) -> Option<&'t str> {
        word_upper(self.peek_nth(n))
    }

    /// Whether the current token is the keyword `kw` (noting it as expected if not).
    pub(crate) fn is_kw(&mut self, kw: &'static str) -> bool {
        if self.peek_word() == Some(kw) {
            true
        } else {
            self.expect_note(Expect::Keyword(kw));
            false
        }
    }

    pub(crate) fn eat_kw(&mut self, kw: &'static str) -> bool {
        if self.is_kw(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    /// Consumes the keyword `kw` if present, without noting it as expected (for optional
    /// operators, which would only clutter error messages).
    pub(crate) fn eat_kw_silent(&mut self, kw: &'static str) -> bool {
        if self.peek_word() == Some(kw) {
            self.advance();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: &'static str) -> Result<Span> {
        if self.is_kw(kw) {
            Ok(self.advance().span)
        } else {
            Err(self.unexpected())
        }
    }

    /// Consumes one of `kws` and returns it.
    pub(crate) fn expect_one_of(&mut self, kws: &[&'static str]) -> Result<&'static str> {
        for &kw in kws {
            if self.eat_kw(kw) {
                return Ok(kw);
            }
        }
        Err(self.unexpected())
    }

    pub(crate) fn is_tok(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            true
        } else {
            self.expect_note(Expect::Symbol(symbol_of(t)));
            false
        }
    }

    pub(crate) fn eat(&mut self, t: &Tok) -> bool {
        if self.is_tok(t) {
            self.advance();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, t: &Tok) -> Result<Span> {
        if self.is_tok(t) {
            Ok(self.advance().span)
        } else {
            Err(self.unexpected())
        }
    }

    // ----- errors -----

    /// "expected A, B or C, found X" at the current token, with a keyword suggestion when
    /// the token is a word close to one of the keywords expected.
    pub(crate) fn unexpected(&self) -> ParseError {
        if let Some(e) = self.misspelt_alias_error() {
            return e;
        }
        let tok = self.token_at(0);
        let expected: &[Expect] = if self.expected_pos == self.pos {
            &self.expected
        } else {
            &[]
        };
        let found = tok.tok.describe();
        let list: Vec<String> = expected.iter().map(|e| e.describe()).collect();
        let antlr_from =
            if self.expected_pos == self.pos && self.expected_in_done_rules < list.len() {
                self.expected_in_done_rules
            } else {
                0
            };
        let mut message = match list.len() {
            0 => format!("unexpected {found}"),
            1 => format!("expected {}, found {found}", list[0]),
            n => format!(
                "expected one of {} or {}, found {found}",
                list[..n - 1].join(", "),
                list[n - 1]
            ),
        };
        let mut kind = ParseErrorKind::Syntax;
        let mut suggestion = None;
        match &tok.tok {
            Tok::Word {
                text,
                quoted: false,
                ..
            } => {
                let kws = expected.iter().filter_map(|e| match e {
                    Expect::Keyword(k) => Some(*k),
                    _ => None,
                });
                if let Some(s) = suggest(text, kws) {
                    message.push_str(&format!(". Did you mean '{s}'?"));
                    suggestion = Some(s.to_string());
                } else if keywords::is_reserved(&text.to_ascii_uppercase())
                    && expected
                        .iter()
                        .any(|e| matches!(e, Expect::Thing(t) if t.contains("identifier")))
                {
                    message.push_str(&format!(
                        " ('{}' is a reserved word: write `{}` to use it as a name)",
                        text.to_ascii_uppercase(),
                        text
                    ));
                }
            }
            Tok::Variable(v) => {
                kind = ParseErrorKind::UndefinedVariable;
                message = format!(
                    "variable '${{{v}}}' was not substituted: DEFINE it first (or substitute variables before parsing)"
                );
            }
            _ => {}
        }
        ParseError {
            kind,
            line: tok.span.start.line,
            column: tok.span.start.column,
            message,
            expected: list,
            found: Some(found),
            suggestion,
            antlr: None,
            antlr_expected_from: antlr_from.min(u16::MAX as usize) as u16,
            prepare: false,
        }
    }

    /// If the token just before the current one was taken as an alias but is close to a
    /// keyword expected here, reports that word as the likely typo.
    fn misspelt_alias_error(&self) -> Option<ParseError> {
        let at = self.implicit_alias_at?;
        if at + 1 != self.pos || self.expected_pos != self.pos {
            return None;
        }
        let alias = &self.tokens[at];
        let Tok::Word {
            text,
            quoted: false,
            ..
        } = &alias.tok
        else {
            return None;
        };
        let kws = self.expected.iter().filter_map(|e| match e {
            Expect::Keyword(k) => Some(*k),
            _ => None,
        });
        let s = suggest(text, kws)?;
        if s.eq_ignore_ascii_case(text) {
            return None;
        }
        let list: Vec<String> = self.expected.iter().map(|e| e.describe()).collect();
        Some(ParseError {
            kind: ParseErrorKind::Syntax,
            line: alias.span.start.line,
            column: alias.span.start.column,
            message: format!("unexpected '{text}'. Did you mean '{s}'?"),
            expected: list,
            found: Some(format!("'{text}'")),
            suggestion: Some(s.to_string()),
            antlr: None,
            antlr_expected_from: 0,
            prepare: false,
        })
    }

    /// Notes `what` as expected here and returns the resulting error.
    pub(crate) fn expected(&mut self, what: &'static str) -> ParseError {
        self.expect_note(Expect::Thing(what));
        self.unexpected()
    }

    pub(crate) fn error_at(&self, span: Span, kind: ParseErrorKind, message: String) -> ParseError {
        ParseError::new(kind, span.start.line, span.start.column, message)
    }

    // ----- nesting -----

    /// Called each time a loop wraps the expression built so far in one more node
    /// (`a + b + c ...`, `x[1][2]...`): `wraps` is how many it has wrapped. Keeps the depth
    /// of the tree, not only of the parser's recursion, within [`MAX_DEPTH`] levels (so that
    /// printing, comparing and dropping it cannot exhaust the stack either).
    pub(crate) fn check_chain(&self, wraps: usize) -> Result<()> {
        if self.depth + wraps > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    /// Goes one level deeper, failing cleanly past [`MAX_DEPTH`]. Pair with [`Self::leave`]
    /// (an error abandons the parse, or a backtrack restores the depth with the position).
    pub(crate) fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.depth += 1;
        Ok(())
    }

    pub(crate) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Runs `f` with enough stack for another level of recursion.
    pub(crate) fn grow<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        stacker::maybe_grow(RED_ZONE, STACK_SEGMENT, || f(self))
    }

    #[inline(never)]
    fn too_deep(&self) -> ParseError {
        let sp = self.span();
        self.error_at(
            sp,
            ParseErrorKind::TooDeep,
            format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
        )
    }

    // ----- common pieces -----

    /// An identifier: a back-quoted or double-quoted name (kept as written), or an unquoted
    /// word that is not a reserved keyword (upper-cased).
    pub(crate) fn parse_ident(&mut self) -> Result<Ident> {
        match self.peek() {
            Tok::Word {
                text, quoted: true, ..
            } => {
                let sp = self.advance().span;
                Ok(Ident {
                    value: text.clone(),
                    quoted: true,
                    span: sp,
                })
            }
            Tok::Word {
                upper,
                quoted: false,
                ..
            } if !keywords::is_reserved(upper) => {
                let sp = self.advance().span;
                Ok(Ident {
                    value: upper.clone(),
                    quoted: false,
                    span: sp,
                })
            }
            _ => Err(self.expected("an identifier")),
        }
    }

    /// Whether the current token can start an identifier.
    pub(crate) fn at_ident(&self) -> bool {
        match self.peek() {
            Tok::Word { quoted: true, .. } => true,
            Tok::Word { upper, .. } => !keywords::is_reserved(upper),
            _ => false,
        }
    }

    /// A string literal's value.
    pub(crate) fn parse_string(&mut self, what: &'static str) -> Result<(String, Span)> {
        match self.peek() {
            Tok::Str(s) => {
                let sp = self.advance().span;
                Ok((s.clone(), sp))
            }
            _ => Err(self.expected(what)),
        }
    }

    /// A non-negative whole number (sizes, limits, intervals).
    pub(crate) fn parse_count(&mut self, what: &'static str) -> Result<(u64, Span)> {
        match self.peek() {
            Tok::Number(n) if n.bytes().all(|b| b.is_ascii_digit()) => {
                let sp = self.span();
                let v = n.parse::<u64>().map_err(|_| {
                    self.error_at(
                        sp,
                        ParseErrorKind::Invalid,
                        format!("number '{n}' is too large"),
                    )
                })?;
                self.advance();
                Ok((v, sp))
            }
            _ => Err(self.expected(what)),
        }
    }

    /// The row count after `LIMIT`. ksqlDB's grammar takes any number there and rejects a
    /// decimal one while building the statement.
    pub(crate) fn parse_limit(&mut self) -> Result<u64> {
        if let Tok::Number(n) = self.peek() {
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                let mut e = self.error_at(
                    self.span(),
                    ParseErrorKind::Invalid,
                    "Value must be integer for command: LIMIT".into(),
                );
                e.prepare = true;
                return Err(e);
            }
        }
        Ok(self.parse_count("a row count")?.0)
    }

    /// Statements until the end of input, each ended by `;` (the last one may omit it).
    pub(crate) fn parse_script(&mut self) -> Result<Vec<Statement>> {
        let mut out = Vec::new();
        loop {
            while self.eat(&Tok::Semicolon) {}
            if self.at_eof() {
                return Ok(out);
            }
            out.push(self.parse_statement()?);
            if !self.at_eof() && !self.eat(&Tok::Semicolon) {
                return Err(self.unexpected());
            }
        }
    }

    /// Exactly one statement, optionally followed by `;`.
    pub(crate) fn parse_single(&mut self) -> Result<Statement> {
        while self.eat(&Tok::Semicolon) {}
        let st = self.parse_statement()?;
        self.eat(&Tok::Semicolon);
        while self.eat(&Tok::Semicolon) {}
        if !self.at_eof() {
            self.expect_note(Expect::Thing("end of input"));
            let mut e = self.unexpected();
            e.message.push_str(" (only one statement was expected)");
            return Err(e);
        }
        Ok(st)
    }
}

fn word_upper(t: &Tok) -> Option<&str> {
    match t {
        Tok::Word {
            upper,
            quoted: false,
            ..
        } => Some(upper),
        _ => None,
    }
}

fn symbol_of(t: &Tok) -> &'static str {
    match t {
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Comma => ",",
        Tok::Period => ".",
        Tok::Semicolon => ";",
        Tok::Eq => "=",
        Tok::Lt => "<",
        Tok::Gt => ">",
        Tok::Star => "*",
        Tok::Arrow => "->",
        Tok::FatArrow => "=>",
        Tok::Assign => ":=",
        Tok::Minus => "-",
        _ => "?",
    }
}
