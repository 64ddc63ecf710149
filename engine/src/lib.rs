//! brook-engine: catalog, formats, Arrow operators, state and the query runtime.
//!
//! Query execution is not built yet (see the engine issue). What exists: the key and
//! value formats (`formats`) and ksqlDB's functions as DataFusion UDFs (`functions`).

pub mod catalog;
pub mod expr;
pub mod formats;
pub mod functions;

pub use brook_log as log;
pub use brook_sql as sql;
