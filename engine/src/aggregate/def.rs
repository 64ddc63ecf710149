//! What every aggregate function declares beside its kernel: its ksqlDB name, the text
//! `DESCRIBE FUNCTION` prints (description, one line per signature), which arguments are
//! per-row columns, and its typing rule. Each function's file defines its [`AggregateDef`];
//! [`super::DEFINITIONS`] registers them all in one place, and the analyzer's catalog
//! (`crate::catalog`) reads them from there.

use arrow::datatypes::DataType;
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use super::{invalid, values, AggregateError, Kind};

/// One signature as `DESCRIBE FUNCTION` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateVariation {
    /// The parameters: `val INT, k INT`.
    pub params: &'static str,
    /// The result type, or the rule that gives it (`ARRAY<T>`).
    pub returns: &'static str,
    pub description: &'static str,
}

/// An aggregate function as the catalog and `DESCRIBE FUNCTION` know it.
#[derive(Debug, Clone, Copy)]
pub struct AggregateDef {
    /// Upper case, as ksqlDB lists it.
    pub name: &'static str,
    pub description: &'static str,
    pub variations: &'static [AggregateVariation],
    /// How many leading arguments are per-row values, the rest being literals (`TOPK(x, 3)`:
    /// 1); None when every argument is a column.
    pub column_args: Option<usize>,
    /// The result type for these argument types, None when no signature accepts them.
    pub return_type: fn(&[SqlType]) -> Option<SqlType>,
    /// The signatures listed after "Valid alternatives are:" when none accepts a call.
    pub alternatives: &'static [&'static str],
    /// What the function's accumulators need for one resolved call
    /// ([`super::AggregateFunction::new`]).
    pub(crate) build: fn(&Build) -> Result<Kind, AggregateError>,
}

/// One call being resolved, as [`AggregateDef::build`] sees it.
pub(crate) struct Build<'a> {
    /// Upper case.
    pub name: &'a str,
    /// The types of all arguments, as written.
    pub arg_types: &'a [SqlType],
    /// How many leading arguments are per-row values.
    pub column_args: usize,
    /// Each argument's literal value (None for a column argument).
    pub literals: Vec<Option<&'a ScalarValue>>,
    /// The analyzer's result type, and its Arrow type.
    pub return_type: &'a SqlType,
    pub data_type: &'a DataType,
}

impl Build<'_> {
    /// Argument `i`'s literal value, None for a column argument.
    pub fn lit(&self, i: usize) -> Option<&ScalarValue> {
        self.literals.get(i).copied().flatten()
    }

    /// The error for argument or result types the function does not accept.
    pub fn bad_types(&self) -> AggregateError {
        invalid(format!(
            "Function '{}' does not accept parameters ({}) with result type {}",
            self.name,
            self.arg_types
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.return_type
        ))
    }

    /// The element field of an `ARRAY` result type.
    pub fn list_field(&self) -> Result<arrow::datatypes::FieldRef, AggregateError> {
        values::list_field(self.data_type)
            .cloned()
            .ok_or_else(|| self.bad_types())
    }
}

impl AggregateDef {
    /// The result type of a call, or ksqlDB's message naming the valid signatures.
    pub fn resolve(&self, args: &[SqlType]) -> Result<SqlType, String> {
        (self.return_type)(args).ok_or_else(|| signature_error(self.name, args, self.alternatives))
    }
}

/// `Function 'sum' does not accept parameters (STRING).` and the valid alternatives.
pub fn signature_error(name: &str, args: &[SqlType], valid: &[&str]) -> String {
    format!(
        "Function '{}' does not accept parameters ({}).\nValid alternatives are:\n{}",
        name.to_lowercase(),
        args.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        valid
            .iter()
            .map(|v| format!("{name}({v})"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// The types MIN, MAX and TOPK can order.
pub(crate) fn comparable(t: &SqlType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            SqlType::String
                | SqlType::Bytes
                | SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp
                | SqlType::Boolean
        )
}

/// Shorthand for a variation.
pub(crate) const fn variation(
    params: &'static str,
    returns: &'static str,
    description: &'static str,
) -> AggregateVariation {
    AggregateVariation {
        params,
        returns,
        description,
    }
}
