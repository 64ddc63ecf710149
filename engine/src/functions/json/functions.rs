//! JSON_ARRAY_CONTAINS, IS_JSON_STRING, JSON_ARRAY_LENGTH, JSON_KEYS, JSON_RECORDS,
//! JSON_ITEMS and JSON_CONCAT: questions about, and reshapings of, JSON text.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListBuilder, MapBuilder, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::Result;

use super::value::Json;
use crate::functions::kernels::{
    bools, f64s, i32s, i64s, map_to_bool, map_to_i32, map_to_string, strs,
};
use crate::functions::map::map_builder;
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn parsed(c: &Call, i: usize) -> Option<Json> {
    let a = strs(&c.args[0]);
    if a.is_null(i) {
        return None;
    }
    Json::parse_lenient(a.value(i))
}

/// `JSON_ARRAY_CONTAINS(json, value)`: whether the JSON array in `json` has an element
/// equal to `value` (a STRING matches JSON strings, INT/BIGINT integral numbers, DOUBLE any
/// number, BOOLEAN true/false). false when `json` is NULL, not JSON or not an array.
pub fn json_array_contains() -> FunctionDef {
    FunctionDef::new(
        "JSON_ARRAY_CONTAINS",
        Category::Json,
        "Returns true if the JSON array in a STRING contains the given value; false when \
         the input is NULL or not a JSON array.",
        [P::String, P::Int, P::BigInt, P::Double, P::Boolean]
            .into_iter()
            .map(|t| Overload::new(&[("jsonArray", P::String), ("value", t)], P::Boolean))
            .collect(),
        |c: &Call| {
            let needle = &c.args[1];
            map_to_bool(c.rows, |i| {
                let Some(Json::Array(items)) = parsed(c, i) else {
                    return Ok(Some(false));
                };
                let hit = |j: &Json| -> bool {
                    if needle.is_null(i) {
                        return matches!(j, Json::Null);
                    }
                    match (needle.data_type(), j) {
                        (DataType::Utf8, Json::String(s)) => s == strs(needle).value(i),
                        (DataType::Int32, Json::Number(n)) => {
                            n.parse::<i64>().ok() == Some(i32s(needle).value(i) as i64)
                        }
                        (DataType::Int64, Json::Number(n)) => {
                            n.parse::<i64>().ok() == Some(i64s(needle).value(i))
                        }
                        (DataType::Float64, Json::Number(n)) => {
                            n.parse::<f64>().ok() == Some(f64s(needle).value(i))
                        }
                        (DataType::Boolean, Json::Bool(b)) => *b == bools(needle).value(i),
                        _ => false,
                    }
                };
                Ok(Some(items.iter().any(hit)))
            })
        },
    )
}

/// `IS_JSON_STRING(str)`: whether `str` starts with a valid JSON value ('1', '[1, 2]',
/// '"abc"' yes; 'abc', '' no). NULL → false.
pub fn is_json_string() -> FunctionDef {
    FunctionDef::new(
        "IS_JSON_STRING",
        Category::Json,
        "Returns true if the STRING is valid JSON; false otherwise, including for NULL.",
        vec![Overload::new(&[("json", P::String)], P::Boolean)],
        |c: &Call| map_to_bool(c.rows, |i| Ok(Some(parsed(c, i).is_some()))),
    )
}

/// `JSON_ARRAY_LENGTH(json)`: the number of elements of the JSON array in `json`; NULL when
/// `json` is NULL, not JSON, or not an array.
pub fn json_array_length() -> FunctionDef {
    FunctionDef::new(
        "JSON_ARRAY_LENGTH",
        Category::Json,
        "Returns the number of elements in the JSON array held by a STRING; NULL if it is \
         not a JSON array.",
        vec![Overload::new(&[("json", P::String)], P::Int)],
        |c: &Call| {
            map_to_i32(c.rows, |i| match parsed(c, i) {
                Some(Json::Array(items)) => Ok(Some(items.len() as i32)),
                _ => Ok(None),
            })
        },
    )
}

/// `JSON_KEYS(json)`: the keys of the JSON object in `json`, in document order; NULL when
/// `json` is NULL, not JSON, or not an object.
pub fn json_keys() -> FunctionDef {
    FunctionDef::new(
        "JSON_KEYS",
        Category::Json,
        "Returns the keys of the JSON object held by a STRING as an array; NULL if it is not \
         a JSON object.",
        vec![Overload::new(&[("json", P::String)], P::array(P::String))],
        |c: &Call| {
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..c.rows {
                match parsed(c, i) {
                    Some(Json::Object(fields)) => {
                        for (k, _) in fields {
                            b.values().append_value(k);
                        }
                        b.append(true);
                    }
                    _ => b.append_null(),
                }
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// `JSON_RECORDS(json)`: the JSON object in `json` as a MAP<STRING, STRING> of key to value
/// text (strings unquoted, everything else as compact JSON); NULL when `json` is NULL, not
/// JSON, or not an object.
pub fn json_records() -> FunctionDef {
    FunctionDef::new(
        "JSON_RECORDS",
        Category::Json,
        "Returns the fields of the JSON object held by a STRING as a map of key to value \
         text; NULL if it is not a JSON object.",
        vec![Overload::new(
            &[("json", P::String)],
            P::map(P::String, P::String),
        )],
        |c: &Call| {
            let mut b: MapBuilder<StringBuilder, StringBuilder> =
                map_builder(StringBuilder::new(), StringBuilder::new());
            for i in 0..c.rows {
                match parsed(c, i) {
                    Some(Json::Object(fields)) => {
                        for (k, v) in fields {
                            b.keys().append_value(k);
                            b.values().append_value(v.to_text());
                        }
                        b.append(true)?;
                    }
                    _ => b.append(false)?,
                }
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// `JSON_ITEMS(json)`: the elements of the JSON array in `json`, each as compact JSON text;
/// NULL when `json` is NULL, not JSON, or not an array.
pub fn json_items() -> FunctionDef {
    FunctionDef::new(
        "JSON_ITEMS",
        Category::Json,
        "Returns the elements of the JSON array held by a STRING as an array of JSON \
         strings; NULL if it is not a JSON array.",
        vec![Overload::new(&[("json", P::String)], P::array(P::String))],
        |c: &Call| {
            let mut b = ListBuilder::new(StringBuilder::new());
            for i in 0..c.rows {
                match parsed(c, i) {
                    Some(Json::Array(items)) => {
                        for v in items {
                            b.values().append_value(v.to_compact());
                        }
                        b.append(true);
                    }
                    _ => b.append_null(),
                }
            }
            Ok(Arc::new(b.finish()) as ArrayRef)
        },
    )
}

/// `JSON_CONCAT(json1, json2, ...)`: merges JSON texts. When all are objects, a shallow
/// merge where later keys win; otherwise one array holding the elements of every array
/// argument and every other argument as an element. NULL when any argument is NULL or not
/// JSON. Output is compact JSON.
pub fn json_concat() -> FunctionDef {
    FunctionDef::new(
        "JSON_CONCAT",
        Category::Json,
        "Merges JSON objects (later keys win) or concatenates JSON arrays, appending \
         non-array values as elements; NULL if any input is NULL or not JSON.",
        vec![Overload::new(&[("json", P::String), ("others", P::String)], P::String).variadic()],
        |c: &Call| concat(c),
    )
}

fn concat(c: &Call) -> Result<ArrayRef> {
    map_to_string(c.rows, |i| {
        let mut docs = Vec::with_capacity(c.args.len());
        for a in c.args {
            if a.is_null(i) {
                return Ok(None);
            }
            match Json::parse_lenient(strs(a).value(i)) {
                Some(j) => docs.push(j),
                None => return Ok(None),
            }
        }
        if docs.iter().all(|d| matches!(d, Json::Object(_))) {
            let mut merged: Vec<(String, Json)> = Vec::new();
            for d in docs {
                let Json::Object(fields) = d else {
                    unreachable!("all objects")
                };
                for (k, v) in fields {
                    match merged.iter_mut().find(|(mk, _)| *mk == k) {
                        Some(slot) => slot.1 = v,
                        None => merged.push((k, v)),
                    }
                }
            }
            return Ok(Some(Json::Object(merged).to_compact()));
        }
        let mut items = Vec::new();
        for d in docs {
            match d {
                Json::Array(xs) => items.extend(xs),
                other => items.push(other),
            }
        }
        Ok(Some(Json::Array(items).to_compact()))
    })
}
