//! The query runtime: an [`Engine`] over one data directory runs statements — DDL into a
//! catalog persisted through a command topic, persistent queries that read source topics
//! and write sink topics, INSERT VALUES, and transient SELECTs — and drives the queries.
//!
//! Files: `engine.rs` (the engine and statement dispatch), `commands.rs` (the command
//! topic), `query.rs` (a persistent query), `pipeline.rs` (plan → operators), `codec.rs`
//! (records ↔ rows), `insert.rs` (INSERT VALUES), `transient.rs` (SELECT), `materialized.rs` (a CTAS table's
//! rows in the state store), `pull.rs` (pull queries over them), `rows.rs`,
//! `processing_log.rs`, `error.rs`.

pub mod codec;
pub mod commands;
pub mod engine;
pub mod error;
pub mod insert;
pub mod materialized;
pub mod pipeline;
pub mod processing_log;
pub mod pull;
pub mod query;
pub mod rows;
pub mod transient;

pub use engine::{Engine, EngineOptions, StatementResult};
pub use error::EngineError;
pub use transient::QueryRows;
