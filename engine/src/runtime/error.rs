//! error.rs owns [`EngineError`]: everything a statement or a running query can fail with,
//! worded for the user (statement errors carry the parser's or analyzer's rendering).

use crate::expr::ExprError;
use crate::formats::FormatError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The statement text does not parse (rendered with position and caret).
    #[error("{0}")]
    Parse(String),
    /// The statement parses but is not valid against the catalog (rendered).
    #[error("{0}")]
    Analysis(String),
    /// Talking to Kafka Connect for a connector statement failed.
    #[error(transparent)]
    Connect(#[from] super::connect::ConnectError),
    /// Valid ksqlDB that Brook does not run yet.
    #[error("not supported yet: {0}")]
    NotSupportedYet(String),
    #[error("{0}")]
    Format(#[from] FormatError),
    #[error("{0}")]
    Expr(#[from] ExprError),
    #[error("log: {0}")]
    Log(#[from] brook_log::LogError),
    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("{0}")]
    Aggregate(#[from] crate::aggregate::AggregateError),
    #[error("state: {0}")]
    State(#[from] brook_state::StateError),
    /// A statement that is well-formed but cannot be carried out (ksqlDB's wording).
    #[error("{0}")]
    Statement(String),
    /// An `ASSERT TOPIC | SCHEMA` that did not hold within its timeout (ksqlDB answers it
    /// with HTTP 417).
    #[error("{0}")]
    AssertionFailed(String),
    /// A statement that would change a data directory opened read-only (a follower).
    #[error("this session is read-only: another Brook process has the data directory open for writing; run statements that change it (CREATE, INSERT, DROP, TERMINATE...) there")]
    ReadOnly,
    /// A running query stopped on an error while processing records (what Kafka Streams
    /// reports as a `StreamsException`, in its words).
    #[error("Exception caught in process. query={query}, {records}: {cause}")]
    Processing {
        query: String,
        /// The records being processed: `topic=T, partition=P, offsets=A..=B`.
        records: String,
        cause: Box<EngineError>,
    },
    /// The operating system refused a thread for a persistent query.
    #[error("cannot start a thread for query {query}: {cause}")]
    QueryThread {
        query: String,
        cause: std::io::Error,
    },
    /// The catalog's command topic holds something this version cannot read.
    #[error("command topic: {0}")]
    CommandTopic(String),
}

pub type Result<T> = std::result::Result<T, EngineError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_errors_read_as_kafka_streams_reports_them() {
        let e = EngineError::Processing {
            query: "CTAS_S2_0".into(),
            records: "topic=t, partition=0, offsets=3..=4".into(),
            cause: Box::new(EngineError::Statement("Numeric field overflow".into())),
        };
        assert_eq!(
            e.to_string(),
            "Exception caught in process. query=CTAS_S2_0, topic=t, partition=0, offsets=3..=4: Numeric field overflow"
        );
    }
}
