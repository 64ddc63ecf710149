//! Identifiers (source, column, field, function and type names) and resource names (topics,
//! schema subjects), with the ksqlDB case rules: unquoted names are upper-cased, back-quoted
//! (or double-quoted) names are kept exactly as written.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::span::Span;
use crate::keywords;

/// A name as the analyzer should see it.
///
/// `value` is the normalised name: upper-cased when written unquoted, verbatim (with doubled
/// quotes undone) when written back-quoted or double-quoted. `quoted` records how it was
/// written. Equality and hashing use `value` only, so `` `ID` `` and `id` are the same name.
#[derive(Debug, Clone, Default)]
pub struct Ident {
    pub value: String,
    pub quoted: bool,
    pub span: Span,
}

impl Ident {
    /// An unquoted name: it is upper-cased.
    pub fn new(name: impl AsRef<str>) -> Self {
        Ident {
            value: name.as_ref().to_uppercase(),
            quoted: false,
            span: Span::default(),
        }
    }

    /// A quoted name: kept as given.
    pub fn quoted(name: impl Into<String>) -> Self {
        Ident {
            value: name.into(),
            quoted: true,
            span: Span::default(),
        }
    }

    pub fn with_span(mut self, span: Span) -> Self {
        self.span = span;
        self
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl PartialEq for Ident {
    fn eq(&self, other: &Ident) -> bool {
        self.value == other.value
    }
}

impl Eq for Ident {}

impl Hash for Ident {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state)
    }
}

impl PartialEq<str> for Ident {
    fn eq(&self, other: &str) -> bool {
        self.value == other
    }
}

impl PartialEq<&str> for Ident {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

/// Whether `name` must be back-quoted to read back as the same identifier: it is not an
/// upper-case word of letters, digits, `_` and `@`, or it is a reserved keyword.
pub fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_');
    if !first_ok {
        return true;
    }
    if !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '@') {
        return true;
    }
    // ARRAY, MAP and STRUCT open constructors when followed by `[` or `(`.
    keywords::is_reserved(name) || matches!(name, "ARRAY" | "MAP" | "STRUCT")
}

/// Writes `name` as an identifier that reads back as `name`: bare if possible, back-quoted
/// (with back-quotes doubled) otherwise.
pub fn write_ident(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    if needs_quotes(name) {
        write!(f, "`{}`", name.replace('`', "``"))
    } else {
        f.write_str(name)
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_ident(f, &self.value)
    }
}

/// A name outside the catalog, such as a topic or a schema subject: `PRINT my_topic`,
/// `ASSERT TOPIC 'orders'`. Kept exactly as written (topic names are case-sensitive), whether
/// written as an identifier or as a string literal.
#[derive(Debug, Clone, Default)]
pub struct ResourceName {
    pub name: String,
    /// Written as a string literal (`'orders'`) rather than an identifier.
    pub is_string: bool,
    pub span: Span,
}

impl PartialEq for ResourceName {
    fn eq(&self, other: &ResourceName) -> bool {
        self.name == other.name
    }
}

impl Eq for ResourceName {}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = !self.is_string
            && self
                .name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
            && !keywords::is_reserved(&self.name.to_ascii_uppercase());
        if bare {
            f.write_str(&self.name)
        } else {
            super::expr::write_string_literal(f, &self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_rules() {
        assert_eq!(Ident::new("abc").to_string(), "ABC");
        assert_eq!(Ident::quoted("abc").to_string(), "`abc`");
        assert_eq!(Ident::quoted("A`B").to_string(), "`A``B`");
        assert_eq!(Ident::quoted("SELECT").to_string(), "`SELECT`");
        assert_eq!(Ident::quoted("KEY").to_string(), "KEY");
        assert_eq!(Ident::quoted("ID").to_string(), "ID");
        assert_eq!(Ident::new("x"), Ident::quoted("X"));
    }
}
