//! brook-engine: catalog, formats, Arrow operators, state and the query runtime.
//!
//! Execution is not built yet (see the engine issue); the crate exists so that the
//! dependency direction `repl → engine → {sql, log}` is fixed from the start.

pub use brook_log as log;
pub use brook_sql as sql;
