//! Functions ksqlDB lists under OTHER: `AS_VALUE`, which copies a key column into the value.

mod as_value;

use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![as_value::def()]
}
