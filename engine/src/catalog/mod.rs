//! The engine's side of the analyzer's catalog traits.
//!
//! [`EngineFunctions`] implements [`brook_sql::analyzer::FunctionCatalog`] over the engine's
//! [`FunctionRegistry`] (scalar functions) plus the aggregate functions' definitions
//! ([`crate::aggregate::DEFINITIONS`]) and the table functions' typing rules.
//! [`sql_to_arrow`] and [`arrow_to_sql`] are the one mapping between SQL types and Arrow
//! types (see [`crate::functions`]).
//!
//! ```
//! use brook_engine::catalog::EngineFunctions;
//! use brook_sql::analyzer::{FunctionCatalog, FunctionKind};
//! use brook_sql::SqlType;
//! let f = EngineFunctions::new();
//! assert_eq!(f.kind("COUNT"), Some(FunctionKind::Aggregate));
//! assert_eq!(f.return_type("COLLECT_LIST", &[SqlType::Int]).unwrap(), SqlType::array(SqlType::Int));
//! ```

mod aggregates;
pub mod test_functions;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use brook_sql::analyzer::{FunctionCatalog, FunctionKind};
use brook_sql::SqlType;

use crate::functions::{list_of, map_of, timestamp_type, FunctionRegistry};

pub use aggregates::{
    aggregate_names, aggregate_return_type, column_args as aggregate_column_args,
    describe as describe_aggregate_or_table, is_aggregate, table_function_return_type,
    TABLE_FUNCTIONS,
};

/// The Arrow type Brook uses for a SQL type. `SqlType::Null` (an untyped NULL literal) maps
/// to `DataType::Null`.
pub fn sql_to_arrow(t: &SqlType) -> DataType {
    match t {
        SqlType::Boolean => DataType::Boolean,
        SqlType::Int => DataType::Int32,
        SqlType::BigInt => DataType::Int64,
        SqlType::Double => DataType::Float64,
        SqlType::Decimal { precision, scale } => {
            DataType::Decimal128(*precision as u8, *scale as i8)
        }
        SqlType::String => DataType::Utf8,
        SqlType::Bytes => DataType::Binary,
        SqlType::Date => DataType::Date32,
        SqlType::Time => DataType::Time32(TimeUnit::Millisecond),
        SqlType::Timestamp => timestamp_type(),
        SqlType::Array(e) => list_of(sql_to_arrow(e)),
        SqlType::Map(k, v) => map_of(sql_to_arrow(k), sql_to_arrow(v)),
        SqlType::Struct(fields) => DataType::Struct(Fields::from(
            fields
                .iter()
                .map(|(n, t)| Field::new(n, sql_to_arrow(t), true))
                .collect::<Vec<_>>(),
        )),
        SqlType::Null => DataType::Null,
    }
}

/// The SQL type of an Arrow type, if Brook has one for it.
pub fn arrow_to_sql(t: &DataType) -> Option<SqlType> {
    Some(match t {
        DataType::Null => SqlType::Null,
        DataType::Boolean => SqlType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 => SqlType::Int,
        DataType::Int64 => SqlType::BigInt,
        DataType::Float32 | DataType::Float64 => SqlType::Double,
        DataType::Decimal128(p, s) => SqlType::decimal(*p as u32, (*s).max(0) as u32),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SqlType::String,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SqlType::Bytes,
        DataType::Date32 | DataType::Date64 => SqlType::Date,
        DataType::Time32(_) | DataType::Time64(_) => SqlType::Time,
        DataType::Timestamp(..) => SqlType::Timestamp,
        DataType::List(f) | DataType::LargeList(f) => SqlType::array(arrow_to_sql(f.data_type())?),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => SqlType::map(
                arrow_to_sql(kv[0].data_type())?,
                arrow_to_sql(kv[1].data_type())?,
            ),
            _ => return None,
        },
        DataType::Struct(fs) => SqlType::Struct(
            fs.iter()
                .map(|f| Some((f.name().clone(), arrow_to_sql(f.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// Brook's functions as the analyzer sees them: scalar functions from the registry,
/// aggregate and table functions typed by [`aggregates`].
#[derive(Clone, Debug)]
pub struct EngineFunctions {
    registry: Arc<FunctionRegistry>,
    /// Also resolve the functions of ksqlDB's test harness ([`test_functions`]).
    conformance_test_functions: bool,
}

impl Default for EngineFunctions {
    fn default() -> Self {
        Self::new()
    }
}

impl EngineFunctions {
    /// Every built-in function.
    pub fn new() -> Self {
        EngineFunctions {
            registry: Arc::new(FunctionRegistry::new()),
            conformance_test_functions: false,
        }
    }

    pub fn with_registry(registry: Arc<FunctionRegistry>) -> Self {
        EngineFunctions {
            registry,
            conformance_test_functions: false,
        }
    }

    /// **For conformance tests only**: every built-in function plus the signatures of the
    /// UDFs, UDTFs and UDAFs that ksqlDB's functional-test harness loads from its own test
    /// sources (`TEST_UDF`, `TEST_UDTF`, `TEST_UDAF`, `BAD_UDF`, `VAR_ARG`...; see
    /// [`test_functions`]). They are not Brook functions and must not be offered to users.
    pub fn with_conformance_test_functions() -> Self {
        EngineFunctions {
            registry: Arc::new(FunctionRegistry::new().with_conformance_test_functions()),
            conformance_test_functions: true,
        }
    }

    fn test_function(&self, up: &str) -> Option<FunctionKind> {
        if self.conformance_test_functions {
            test_functions::kind(up)
        } else {
            None
        }
    }

    pub fn registry(&self) -> &FunctionRegistry {
        &self.registry
    }

    /// Adds (or replaces) a scalar function (an embedding program's own).
    pub fn register(&mut self, def: crate::functions::FunctionDef) {
        Arc::make_mut(&mut self.registry).register(def);
    }
}

impl FunctionCatalog for EngineFunctions {
    fn kind(&self, name: &str) -> Option<FunctionKind> {
        let up = name.to_ascii_uppercase();
        if let Some(k) = self.test_function(&up) {
            Some(k)
        } else if is_aggregate(&up) {
            Some(FunctionKind::Aggregate)
        } else if TABLE_FUNCTIONS.contains(&up.as_str()) {
            Some(FunctionKind::Table)
        } else if self.registry.contains(&up) {
            Some(FunctionKind::Scalar)
        } else {
            None
        }
    }

    fn return_type(&self, name: &str, args: &[SqlType]) -> Result<SqlType, String> {
        let up = name.to_ascii_uppercase();
        if self.test_function(&up).is_some() {
            return test_functions::return_type(&up, args);
        }
        if is_aggregate(&up) {
            return aggregate_return_type(&up, args);
        }
        if TABLE_FUNCTIONS.contains(&up.as_str()) {
            return table_function_return_type(&up, args);
        }
        let arrow: Vec<DataType> = args.iter().map(sql_to_arrow).collect();
        let t = self
            .registry
            .return_type(&up, &arrow)
            .map_err(|e| ksql_function_message(&up, args, e.to_string()))?;
        arrow_to_sql(&t).ok_or_else(|| format!("Function '{up}' returns an unsupported type: {t}"))
    }

    fn names(&self) -> Vec<String> {
        let mut v = self.registry.names();
        v.extend(aggregate_names().map(str::to_string));
        v.extend(TABLE_FUNCTIONS.iter().map(|s| s.to_string()));
        if self.conformance_test_functions {
            v.extend(test_functions::NAMES.iter().map(|(n, _)| n.to_string()));
        }
        v.sort();
        v.dedup();
        v
    }

    fn aggregate_column_args(&self, name: &str) -> Option<usize> {
        let up = name.to_ascii_uppercase();
        if self.test_function(&up).is_some() {
            return test_functions::column_args(&up);
        }
        aggregates::column_args(&up)
    }
}

/// ksqlDB names its built-in functions in lower case in messages (`Function 'greatest' does
/// not accept parameters (...)`), except the few it declares in upper case.
/// The argument list is printed with ksqlDB's type names (`STRING`, not the registry's
/// `VARCHAR`).
fn ksql_function_message(name: &str, args: &[SqlType], message: String) -> String {
    const MARKS: [&str; 2] = [
        " does not accept parameters (",
        " cannot be resolved due to ambiguous method parameters (",
    ];
    let found = MARKS
        .iter()
        .find_map(|m| message.find(m).map(|start| start + m.len()));
    let message = match found {
        Some(after) => match message[after..].find(").") {
            Some(len) => format!(
                "{}{}{}",
                &message[..after],
                args.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                &message[after + len..]
            ),
            None => message,
        },
        None => message,
    };
    if matches!(name, "COALESCE") {
        return message;
    }
    message.replace(
        &format!("Function '{name}'"),
        &format!("Function '{}'", name.to_lowercase()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_through_arrow() {
        let types = [
            SqlType::Boolean,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::decimal(10, 2),
            SqlType::String,
            SqlType::Bytes,
            SqlType::Date,
            SqlType::Time,
            SqlType::Timestamp,
            SqlType::array(SqlType::String),
            SqlType::map(SqlType::String, SqlType::array(SqlType::Int)),
            SqlType::Struct(vec![
                ("A".into(), SqlType::Int),
                ("b".into(), SqlType::Bytes),
            ]),
        ];
        for t in types {
            assert_eq!(arrow_to_sql(&sql_to_arrow(&t)), Some(t.clone()), "{t}");
        }
    }

    #[test]
    fn scalar_calls_resolve_through_the_registry() {
        let f = EngineFunctions::new();
        assert_eq!(f.kind("UCASE"), Some(FunctionKind::Scalar));
        assert_eq!(
            f.return_type("UCASE", &[SqlType::String]).unwrap(),
            SqlType::String
        );
        assert!(f.return_type("LEN", &[SqlType::Boolean]).is_err());
        assert_eq!(f.kind("NOPE"), None);
    }
}
