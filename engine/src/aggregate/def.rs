//! What every aggregate function declares beside its kernel: its ksqlDB name, the text
//! `DESCRIBE FUNCTION` prints (description, one line per signature), which arguments are
//! per-row columns, and its typing rule. Each function's file defines its [`AggregateDef`];
//! [`super::DEFINITIONS`] registers them all in one place, and the analyzer's catalog
//! (`crate::catalog`) reads them from there.

use brook_sql::SqlType;

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
