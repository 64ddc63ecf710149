//! brook-engine: catalog, formats, Arrow operators, state and the query runtime.
//!
//! `runtime` runs statements over a data directory (see [`runtime::Engine`]); `operators`
//! are the steps of a running query; `formats` map records to Arrow columns; `functions`
//! are ksqlDB's scalar functions as DataFusion UDFs; `expr` compiles typed expressions.

pub mod aggregate;
pub mod catalog;
pub mod conformance;
pub mod expr;
pub mod formats;
pub mod functions;
pub mod java_text;
pub mod operators;
pub mod runtime;

pub use brook_log as log;
pub use brook_sql as sql;
