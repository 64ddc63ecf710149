//! ksqlDB's scalar functions as DataFusion user-defined functions, with one registry that
//! documents them.
//!
//! Every function is a [`FunctionDef`] (its ksqlDB name, aliases, description, typed
//! overloads and a vectorised kernel over Arrow arrays) run by [`udf::KsqlScalarUdf`], a
//! DataFusion `ScalarUDFImpl`. [`FunctionRegistry`] holds them all; `SHOW FUNCTIONS` and
//! `DESCRIBE FUNCTION` read their text from the same definitions the kernels run with.
//!
//! Families live one per module, one function (or a small tight group) per file:
//! `string`, `math`, `datetime`, `json`, `array`, `map`, `lambda`, `conversion`, `nulls`,
//! `url`, `other`.
//!
//! # Types
//!
//! SQL types map to Arrow as follows everywhere in Brook:
//!
//! | ksqlDB         | Arrow                                                     |
//! |----------------|-----------------------------------------------------------|
//! | BOOLEAN        | `Boolean`                                                 |
//! | INT            | `Int32`                                                   |
//! | BIGINT         | `Int64`                                                   |
//! | DOUBLE         | `Float64`                                                 |
//! | DECIMAL(p, s)  | `Decimal128(p, s)`                                        |
//! | STRING         | `Utf8`                                                    |
//! | BYTES          | `Binary`                                                  |
//! | DATE           | `Date32` (days since the epoch)                           |
//! | TIME           | `Time32(Millisecond)`                                     |
//! | TIMESTAMP      | `Timestamp(Millisecond, None)` (ms since the epoch, UTC)  |
//! | ARRAY<T>       | `List` of a nullable field `item`                         |
//! | MAP<K, V>      | `Map` of struct `entries` { `key` (non-null), `value` }   |
//! | STRUCT<...>    | `Struct`                                                  |
//!
//! # Resolution
//!
//! A call picks the overload needing the fewest implicit widenings, INT → BIGINT → DECIMAL
//! → DOUBLE, exact matches first; a NULL literal (`DataType::Null`) matches any parameter.
//! Type variables (`ARRAY<T>`, `T`) bind to the widest of the arguments they meet.
//! [`FunctionRegistry::return_type`] runs that resolution without executing anything.
//!
//! # Errors
//!
//! ksqlDB functions mostly answer bad input with NULL; the few that throw in ksqlDB (an
//! invalid date pattern, a malformed regex) return a DataFusion execution error here, and
//! the engine skips the record and writes it to the processing log.
//!
//! # Lambdas
//!
//! `TRANSFORM`, `FILTER` and `REDUCE` take a lambda: see [`lambda`] for how the planner binds
//! a lambda body (a `PhysicalExpr` over the lambda's parameters) into a UDF instance.

pub mod array;
pub mod conversion;
pub mod datetime;
pub mod error;
pub mod json;
pub(crate) mod kernels;
pub mod lambda;
pub mod map;
pub mod math;
pub mod nulls;
pub mod other;
pub mod registry;
pub mod string;
pub mod types;
pub mod udf;
pub mod url;

#[cfg(test)]
pub(crate) mod testutil;

pub use error::FunctionError;
pub use registry::{FunctionInfo, FunctionRegistry, ResolvedCall, Variation};
pub use types::{list_of, map_of, sql_type_name, timestamp_type, Overload, ParamType, ReturnRule};
pub use udf::{Call, Category, FunctionDef, KsqlScalarUdf};

/// Every built-in definition, in no particular order.
pub(crate) fn all_functions() -> Vec<FunctionDef> {
    let mut v = Vec::new();
    v.extend(string::functions());
    v.extend(math::functions());
    v.extend(datetime::functions());
    v.extend(json::functions());
    v.extend(array::functions());
    v.extend(map::functions());
    v.extend(conversion::functions());
    v.extend(nulls::functions());
    v.extend(url::functions());
    v.extend(other::functions());
    v
}
