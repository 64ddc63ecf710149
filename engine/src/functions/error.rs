//! The one error type of `functions`: unknown names, calls that match no signature, and
//! failures while evaluating a function over a batch.

use arrow::datatypes::DataType;
use datafusion::common::DataFusionError;

/// Why a function could not be resolved or evaluated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum FunctionError {
    /// No function (nor alias) of that name is registered.
    #[error("Can't find any functions with the name '{0}'")]
    Unknown(String),
    /// The function exists but none of its signatures accepts these argument types.
    #[error(
        "Function '{name}' does not accept parameters ({}).\nValid alternatives are:\n{}",
        args.iter().map(super::types::sql_type_name).collect::<Vec<_>>().join(", "),
        expected.join("\n")
    )]
    NoMatchingSignature {
        name: String,
        args: Vec<DataType>,
        expected: Vec<String>,
    },
    /// More than one signature accepts these argument types equally well (ksqlDB's
    /// `UdfIndex` refuses to choose).
    #[error(
        "Function '{name}' cannot be resolved due to ambiguous method parameters ({}).\nUse CAST() to explicitly cast your parameters to one of the supported function calls.\nValid function calls are:\n{}",
        args.iter().map(super::types::sql_type_name).collect::<Vec<_>>().join(", "),
        expected.join("\n")
    )]
    Ambiguous {
        name: String,
        args: Vec<DataType>,
        expected: Vec<String>,
    },
    /// The arguments are well typed but a value made the call fail (ksqlDB throws a
    /// `KsqlFunctionException`: the record is skipped and sent to the processing log).
    #[error("{0}")]
    Evaluation(String),
}

impl From<FunctionError> for DataFusionError {
    fn from(e: FunctionError) -> Self {
        match e {
            FunctionError::Evaluation(m) => DataFusionError::Execution(m),
            other => DataFusionError::Plan(other.to_string()),
        }
    }
}

/// Shorthand for an evaluation error inside a kernel.
pub(crate) fn eval_err<T>(msg: impl Into<String>) -> datafusion::common::Result<T> {
    Err(DataFusionError::Execution(msg.into()))
}
