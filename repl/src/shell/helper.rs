//! helper.rs owns what the shell's line editor knows of SQL: tab completion of keywords,
//! stream and table names, column names, function names and topic names (from a
//! [`Vocabulary`] refreshed from the catalog after each statement), and highlighting of
//! keywords, strings, numbers and comments as they are typed.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use brook_engine::runtime::Engine;
use brook_engine::sql::keywords;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use super::lexer::{tokens, word_at, TokenKind};

/// The names completion offers, as of the last refresh.
#[derive(Debug, Default, Clone)]
pub struct Vocabulary {
    pub sources: BTreeSet<String>,
    pub columns: BTreeSet<String>,
    pub functions: BTreeSet<String>,
    pub topics: BTreeSet<String>,
}

impl Vocabulary {
    /// Reads the engine's catalog.
    pub fn of(engine: &Engine) -> Vocabulary {
        let cat = engine.catalog();
        let mut v = Vocabulary::default();
        for s in cat.sources.values() {
            v.sources.insert(s.name.clone());
            for c in &s.columns {
                v.columns.insert(c.name.clone());
            }
        }
        v.functions.extend(engine.function_names());
        v.topics.extend(engine.log().topics());
        v
    }
}

/// The line editor's helper.
pub struct ShellHelper {
    pub vocabulary: Arc<RwLock<Vocabulary>>,
    /// Highlight as typed (off with NO_COLOR).
    pub color: bool,
}

/// What kind of name the word before the cursor most likely is, from the keyword before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expecting {
    Source,
    Topic,
    Function,
    Anything,
}

fn expecting(line: &str, word_start: usize) -> Expecting {
    let before = &line[..word_start];
    if before.ends_with('(') || before.ends_with("FUNCTION ") {
        // `COUNT(` completes columns too; `DESCRIBE FUNCTION ` only functions.
        if before.trim_end().to_uppercase().ends_with("FUNCTION") {
            return Expecting::Function;
        }
    }
    let prev = tokens(before)
        .into_iter()
        .rev()
        .find(|t| t.kind == TokenKind::Word)
        .map(|t| before[t.start..t.end].to_uppercase());
    match prev.as_deref() {
        Some("FROM" | "JOIN" | "INTO" | "DESCRIBE" | "EXTENDED" | "TABLE" | "STREAM" | "DROP") => {
            Expecting::Source
        }
        Some("PRINT" | "TOPIC") => Expecting::Topic,
        _ => Expecting::Anything,
    }
}

/// `candidate` in the case the user types in: lower case if the typed prefix is.
fn in_typed_case(candidate: &str, typed: &str) -> String {
    let plain = candidate
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if plain && !typed.is_empty() && typed.chars().all(|c| !c.is_ascii_uppercase()) {
        candidate.to_ascii_lowercase()
    } else {
        candidate.to_string()
    }
}

impl ShellHelper {
    /// The completions of the word ending at `pos`, best first.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let (start, word) = word_at(line, pos);
        if word.is_empty() {
            return (start, Vec::new());
        }
        let upper = word.to_uppercase();
        let v = self.vocabulary.read().expect("vocabulary lock");
        let matching = |set: &mut dyn Iterator<Item = &str>| -> Vec<String> {
            set.filter(|c| c.to_uppercase().starts_with(&upper) && c.len() > word.len())
                .map(|c| in_typed_case(c, word))
                .collect()
        };
        let after_dot = line[..start].ends_with('.');
        let mut out: Vec<String> = Vec::new();
        let kw = || matching(&mut keywords::all_keywords());
        match expecting(line, start) {
            _ if after_dot => out.extend(matching(&mut v.columns.iter().map(String::as_str))),
            Expecting::Source => {
                out.extend(matching(&mut v.sources.iter().map(String::as_str)));
                out.extend(kw());
            }
            Expecting::Topic => out.extend(matching(&mut v.topics.iter().map(String::as_str))),
            Expecting::Function => {
                out.extend(matching(&mut v.functions.iter().map(String::as_str)))
            }
            Expecting::Anything => {
                out.extend(matching(&mut v.columns.iter().map(String::as_str)));
                out.extend(matching(&mut v.sources.iter().map(String::as_str)));
                out.extend(matching(&mut v.functions.iter().map(String::as_str)));
                out.extend(kw());
            }
        }
        let mut seen = BTreeSet::new();
        out.retain(|c| seen.insert(c.to_uppercase()));
        (start, out)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, names) = self.candidates(line, pos);
        Ok((
            start,
            names
                .into_iter()
                .map(|n| Pair {
                    display: n.clone(),
                    replacement: n,
                })
                .collect(),
        ))
    }
}

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[36m";
const COMMENT: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// `line` with ANSI colours around keywords, strings, numbers and comments.
pub fn highlight_sql(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    for t in tokens(line) {
        let text = &line[t.start..t.end];
        let colour = match t.kind {
            TokenKind::Word if keywords::is_keyword(&text.to_uppercase()) => Some(KEYWORD),
            TokenKind::String => Some(STRING),
            TokenKind::Number => Some(NUMBER),
            TokenKind::Comment => Some(COMMENT),
            _ => None,
        };
        match colour {
            Some(c) => {
                out.push_str(c);
                out.push_str(text);
                out.push_str(RESET);
            }
            None => out.push_str(text),
        }
    }
    out
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight_sql(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        let mut v = Vocabulary::default();
        v.sources.insert("CLICKS".into());
        v.sources.insert("CLICK_COUNTS".into());
        v.columns.insert("USER_ID".into());
        v.columns.insert("PAGE_ID".into());
        v.functions.insert("UCASE".into());
        v.topics.insert("clicks".into());
        ShellHelper {
            vocabulary: Arc::new(RwLock::new(v)),
            color: true,
        }
    }

    #[test]
    fn columns_complete_in_select_lists_and_predicates() {
        let h = helper();
        assert_eq!(
            h.candidates("SELECT USER_", 12),
            (7, vec!["USER_ID".into()])
        );
        let (_, c) = h.candidates("SELECT * FROM CLICKS WHERE pag", 30);
        assert_eq!(c, vec!["page_id".to_string()]);
    }

    #[test]
    fn sources_come_first_after_from_and_topics_after_print() {
        let h = helper();
        let (_, c) = h.candidates("SELECT * FROM CLI", 17);
        assert_eq!(c[..2], ["CLICKS".to_string(), "CLICK_COUNTS".to_string()]);
        let (_, c) = h.candidates("PRINT cl", 8);
        assert_eq!(c, vec!["clicks".to_string()]);
    }

    #[test]
    fn keywords_complete_in_the_case_typed() {
        let h = helper();
        let (_, c) = h.candidates("sel", 3);
        assert!(c.contains(&"select".to_string()), "{c:?}");
        let (_, c) = h.candidates("CREATE STR", 10);
        assert!(c.contains(&"STREAM".to_string()), "{c:?}");
    }

    #[test]
    fn highlighting_keeps_the_text_and_colours_keywords_and_strings() {
        let line = "SELECT 'a' FROM s -- x";
        let h = highlight_sql(line);
        assert!(h.contains("\x1b[1;34mSELECT\x1b[0m"));
        assert!(h.contains("\x1b[32m'a'\x1b[0m"));
        let plain: String = strip_ansi(&h);
        assert_eq!(plain, line);
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for d in chars.by_ref() {
                    if d == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
