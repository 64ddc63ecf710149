//! The query runtime: an [`Engine`] over one data directory runs statements — DDL into a
//! catalog persisted through a command topic, persistent queries that read source topics
//! and write sink topics, INSERT VALUES, and transient SELECTs — and drives the queries.
//!
//! Files: `engine.rs` (the engine and statement dispatch), `commands.rs` (the command
//! topic), `query.rs` (a persistent query), `pipeline.rs` (plan → operators), `codec.rs`
//! (records ↔ rows), `insert.rs` (INSERT VALUES), `transient.rs` (SELECT run to completion),
//! `materialized.rs` (a CTAS table's rows in the state store), `pull.rs` (pull queries over
//! them), `runner.rs` (each persistent query on its own thread, or stepped by the caller),
//! `push.rs` (live push queries), `print.rs` (PRINT), `connect.rs` (the connector statements, forwarded to Kafka Connect), `describe.rs` (DESCRIBE), `results.rs`
//! (typed SHOW/DESCRIBE/EXPLAIN results), `metrics.rs` (a query's rate and last error, for
//! monitoring), `rows.rs`,
//! `processing_log.rs`, `error.rs`.

pub mod assert_schema;
pub mod assert_topic;
pub mod codec;
pub mod commands;
pub mod connect;
pub mod describe;
pub mod engine;
pub mod error;
pub mod insert;
pub mod materialized;
pub mod metrics;
pub mod pipeline;
pub mod print;
pub mod processing_log;
pub mod properties;
pub mod pull;
pub mod push;
pub mod query;
pub mod results;
pub mod rows;
pub mod runner;
pub mod scalable_push;
pub mod transient;

pub use engine::{statement_writes, Engine, EngineOptions, StatementResult};
pub use error::EngineError;
pub use print::TopicPrinter;
pub use push::{PushChanges, PushQuery};
pub use query::ProcessingGuarantee;
pub use results::Listing;
pub use runner::{IdleWaiter, PartitionLag, QueryError, QueryInfo, QueryStatus};
pub use transient::QueryRows;
