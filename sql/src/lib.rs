//! brook-sql: the ksqlDB dialect — parser and AST (the analyzer and logical plan build on
//! these).
//!
//! ```
//! use brook_sql::{parse_statements, ast::StatementKind};
//! let sts = parse_statements(
//!     "CREATE STREAM s (id INT KEY, v STRING) WITH (kafka_topic='s', value_format='JSON');
//!      SELECT id, COUNT(*) FROM s WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY id EMIT CHANGES;",
//! ).unwrap();
//! assert!(matches!(sts[1].kind, StatementKind::Query(_)));
//! // Statements print back as SQL that parses to the same tree.
//! assert_eq!(parse_statements(&sts[1].to_string()).unwrap()[0], sts[1]);
//! ```

pub mod analyzer;
pub mod ast;
pub mod error;
pub mod format;
pub mod keywords;
mod parser;
pub mod plan;
pub mod script;
pub mod suggest;
pub mod variables;

pub use analyzer::{AnalysisError, AnalyzedStatement, Analyzer, Catalog, FunctionCatalog};
pub use ast::{Expr, Statement, StatementKind, Type};
pub use error::{ParseError, ParseErrorKind};
pub use parser::MAX_DEPTH;
pub use plan::{LogicalPlan, SqlType};
pub use script::{parse_script, parse_script_statement, split_statements, StatementText};
pub use suggest::suggest;
pub use variables::substitute_variables;

use ast::Position;
use parser::lexer::lex;
use parser::Parser;

/// Parses a script: statements separated by `;` (the last `;` may be omitted). Variables
/// are not substituted here (see [`parse_script`]); a `${name}` left in the text is an error.
pub fn parse_statements(sql: &str) -> Result<Vec<Statement>, ParseError> {
    let tokens = lex(sql, Position::new(1, 1))?;
    Parser::new(&tokens).parse_script().map_err(|mut e| {
        e.antlr = parser::antlr::explain(&tokens, &e, true);
        e
    })
}

/// Parses exactly one statement, with or without a trailing `;`.
pub fn parse_statement(sql: &str) -> Result<Statement, ParseError> {
    let tokens = lex(sql, Position::new(1, 1))?;
    Parser::new(&tokens).parse_single().map_err(|mut e| {
        e.antlr = parser::antlr::explain(&tokens, &e, false);
        e
    })
}

/// Parses one expression (e.g. for tests, or a `--where`-style option).
pub fn parse_expression(sql: &str) -> Result<Expr, ParseError> {
    let tokens = lex(sql, Position::new(1, 1))?;
    let mut p = Parser::new(&tokens);
    let e = p.parse_expr()?;
    if !p.at_eof() {
        return Err(p.expected("end of input"));
    }
    Ok(e)
}

/// Parses one type, such as `STRUCT<a INT, b ARRAY<STRING>>`.
pub fn parse_type(sql: &str) -> Result<Type, ParseError> {
    let tokens = lex(sql, Position::new(1, 1))?;
    let mut p = Parser::new(&tokens);
    let t = p.parse_type()?;
    if !p.at_eof() {
        return Err(p.expected("end of input"));
    }
    Ok(t)
}
