//! brook-sql: the ksqlDB dialect — parser, AST, analyzer and logical plan.
