//! The ksqlDB keyword tables: which words are reserved (cannot be used as unquoted
//! identifiers), which start a statement, and the full list used for typo suggestions.
//!
//! Reserved words follow ksqlDB's grammar: every keyword is reserved except those in its
//! `nonReserved` rule (SHOW, TABLES, KEY, SESSION, ...), which remain usable as names.

/// Keywords that cannot be used as unquoted identifiers (they must be back-quoted).
pub const RESERVED: &[&str] = &[
    "ADVANCE",
    "ALL",
    "AND",
    "AS",
    "AT",
    "BEGINNING",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CATALOG",
    "CONNECTOR",
    "CONNECTORS",
    "CREATE",
    "DAYS",
    "DECIMAL",
    "DELETE",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "EXPORT",
    "EXTENDED",
    "FALSE",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "HOPPING",
    "HOURS",
    "IN",
    "INNER",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LIST",
    "LOAD",
    "MATERIALIZED",
    "MILLISECOND",
    "MILLISECONDS",
    "MINUTES",
    "MONTHS",
    "NAMESPACE",
    "NOT",
    "NULL",
    "ON",
    "OR",
    "OUTER",
    "PRINT",
    "PROPERTIES",
    "QUERIES",
    "QUERY",
    "RENAME",
    "RETENTION",
    "RIGHT",
    "RUN",
    "SAMPLE",
    "SCRIPT",
    "SECONDS",
    "SELECT",
    "SIZE",
    "STREAM",
    "STREAMS",
    "TABLE",
    "TERMINATE",
    "THEN",
    "TO",
    "TOPIC",
    "TOPICS",
    "TRUE",
    "TUMBLING",
    "UNSET",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "WITHIN",
    "YEARS",
];

/// Keywords that may also be used as plain identifiers.
pub const NON_RESERVED: &[&str] = &[
    "ADD",
    "ALTER",
    "ANALYZE",
    "ARRAY",
    "ASSERT",
    "CHANGES",
    "COLUMN",
    "COLUMNS",
    "DATE",
    "DAY",
    "DEFINE",
    "EMIT",
    "ESCAPE",
    "EXPLAIN",
    "FINAL",
    "FUNCTION",
    "FUNCTIONS",
    "GRACE",
    "HEADER",
    "HEADERS",
    "HOUR",
    "ID",
    "IF",
    "INTEGER",
    "INTERVAL",
    "KEY",
    "MAP",
    "MINUTE",
    "MONTH",
    "PARTITION",
    "PARTITIONS",
    "PAUSE",
    "PERIOD",
    "PLUGINS",
    "PRIMARY",
    "REPLACE",
    "RESET",
    "RESUME",
    "SCHEMA",
    "SECOND",
    "SESSION",
    "SET",
    "SHOW",
    "SINK",
    "SOURCE",
    "STRING",
    "STRUCT",
    "SUBJECT",
    "SYSTEM",
    "TABLES",
    "TIME",
    "TIMEOUT",
    "TIMESTAMP",
    "TYPE",
    "TYPES",
    "UNDEFINE",
    "VARIABLES",
    "YEAR",
    "ZONE",
];

/// Words that can open a statement.
pub const STATEMENT_START: &[&str] = &[
    "ALTER",
    "ASSERT",
    "CREATE",
    "DEFINE",
    "DESCRIBE",
    "DROP",
    "EXPLAIN",
    "INSERT",
    "LIST",
    "PAUSE",
    "PRINT",
    "RESUME",
    "RUN",
    "SELECT",
    "SET",
    "SHOW",
    "TERMINATE",
    "UNDEFINE",
    "UNSET",
];

/// Whether `upper` (an upper-cased, unquoted word) is a reserved keyword.
pub fn is_reserved(upper: &str) -> bool {
    RESERVED.binary_search(&upper).is_ok()
}

/// Whether `upper` is any ksqlDB keyword, reserved or not.
pub fn is_keyword(upper: &str) -> bool {
    is_reserved(upper) || NON_RESERVED.binary_search(&upper).is_ok()
}

/// Every keyword, for suggestions.
pub fn all_keywords() -> impl Iterator<Item = &'static str> {
    RESERVED.iter().chain(NON_RESERVED.iter()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(NON_RESERVED.windows(2).all(|w| w[0] < w[1]));
        assert!(RESERVED.iter().all(|r| !NON_RESERVED.contains(r)));
    }
}
