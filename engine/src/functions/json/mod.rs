//! JSON functions over STRING columns holding JSON text: EXTRACTJSONFIELD,
//! JSON_ARRAY_CONTAINS, IS_JSON_STRING, JSON_ARRAY_LENGTH, JSON_KEYS, JSON_RECORDS,
//! JSON_ITEMS, JSON_CONCAT and TO_JSON_STRING.
//!
//! Text is read as Jackson reads it in ksqlDB: the first JSON value counts and anything after
//! it is ignored; text that is not JSON gives NULL (or false for the predicates), never an
//! error. Objects keep their key order and numbers their original text.

mod extract;
mod functions;
mod to_json;
pub mod value;

use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        extract::def(),
        functions::json_array_contains(),
        functions::is_json_string(),
        functions::json_array_length(),
        functions::json_keys(),
        functions::json_records(),
        functions::json_items(),
        functions::json_concat(),
        to_json::def(),
    ]
}

#[cfg(test)]
mod tests;
