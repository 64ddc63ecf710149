//! URL_EXTRACT_FRAGMENT, _HOST, _PARAMETER, _PATH, _PORT, _PROTOCOL and _QUERY: one
//! component of a URL read with `java.net.URI`'s getters ([`super::uri`]). NULL in, NULL
//! out; a component the URL lacks is NULL; text that is not a URI at all is an error
//! (`URL input has invalid syntax: ...`), as ksqlDB's `UrlParser` throws.

use std::sync::Arc;

use arrow::array::{Array, Int32Array};
use datafusion::common::Result;

use super::uri::Uri;
use crate::functions::error::eval_err;
use crate::functions::kernels::{map_to_string, strs};
use crate::functions::types::{Overload, ParamType as P};
use crate::functions::udf::{Call, Category, FunctionDef};

fn parse(url: &str) -> Result<Uri> {
    match Uri::parse(url) {
        Ok(u) => Ok(u),
        Err(e) => eval_err(format!("URL input has invalid syntax: {url} ({e})")),
    }
}

/// A one-argument extractor returning a STRING component.
fn component(
    name: &'static str,
    description: &'static str,
    kernel: fn(&Call) -> Result<arrow::array::ArrayRef>,
) -> FunctionDef {
    FunctionDef::new(
        name,
        Category::Url,
        description,
        vec![Overload::new(&[("input", P::String)], P::String)],
        kernel,
    )
}

fn each(c: &Call, get: fn(Uri) -> Option<String>) -> Result<arrow::array::ArrayRef> {
    let a = strs(&c.args[0]);
    map_to_string(c.rows, |i| {
        if a.is_null(i) {
            return Ok(None);
        }
        Ok(get(parse(a.value(i))?))
    })
}

/// `URL_EXTRACT_FRAGMENT(input)`: the decoded fragment, `""` after a bare `#`.
pub fn fragment() -> FunctionDef {
    component(
        "URL_EXTRACT_FRAGMENT",
        "Extracts the fragment of an application/x-www-form-urlencoded String input",
        |c| each(c, |u| u.fragment()),
    )
}

/// `URL_EXTRACT_HOST(input)`: the host of a server authority, as written (IPv6 in brackets).
pub fn host() -> FunctionDef {
    component(
        "URL_EXTRACT_HOST",
        "Extracts the Host Name of an application/x-www-form-urlencoded String input",
        |c| each(c, |u| u.host),
    )
}

/// `URL_EXTRACT_PATH(input)`: the decoded path, with its leading `/`; `""` when empty.
pub fn path() -> FunctionDef {
    component(
        "URL_EXTRACT_PATH",
        "Extracts the path of an application/x-www-form-urlencoded encoded String input",
        |c| each(c, |u| u.path()),
    )
}

/// `URL_EXTRACT_PROTOCOL(input)`: the scheme, as written.
pub fn protocol() -> FunctionDef {
    component(
        "URL_EXTRACT_PROTOCOL",
        "Extracts the Scheme Component (protocol) of an application/x-www-form-urlencoded encoded String input",
        |c| each(c, |u| u.scheme),
    )
}

/// `URL_EXTRACT_QUERY(input)`: the decoded query string, `""` after a bare `?`.
pub fn query() -> FunctionDef {
    component(
        "URL_EXTRACT_QUERY",
        "Extracts the query parameters of an application/x-www-form-urlencoded encoded String input, if it exists.",
        |c| each(c, |u| u.query()),
    )
}

/// `URL_EXTRACT_PORT(input)`: the explicit port as an INT, NULL without one.
pub fn port() -> FunctionDef {
    FunctionDef::new(
        "URL_EXTRACT_PORT",
        Category::Url,
        "Extracts the port from an application/x-www-form-urlencoded encoded String. If there is no port or the string is invalid, this will return null.",
        vec![Overload::new(&[("input", P::String)], P::Int)],
        |c: &Call| {
            let a = strs(&c.args[0]);
            let out = (0..c.rows)
                .map(|i| {
                    if a.is_null(i) {
                        return Ok(None);
                    }
                    Ok(parse(a.value(i))?.port)
                })
                .collect::<Result<Int32Array>>()?;
            Ok(Arc::new(out))
        },
    )
}

/// `URL_EXTRACT_PARAMETER(input, paramToFind)`: the value of the first `name=value` pair of
/// the decoded query whose name is `paramToFind`; `""` for a bare `name`; NULL when the URL
/// has no query or no such parameter.
pub fn parameter() -> FunctionDef {
    FunctionDef::new(
        "URL_EXTRACT_PARAMETER",
        Category::Url,
        "Extracts a parameter with a specified name encoded inside an application/x-www-form-urlencoded String.",
        vec![Overload::new(
            &[("input", P::String), ("paramToFind", P::String)],
            P::String,
        )],
        |c: &Call| {
            let (url, key) = (strs(&c.args[0]), strs(&c.args[1]));
            map_to_string(c.rows, |i| {
                if url.is_null(i) {
                    return Ok(None);
                }
                let Some(query) = parse(url.value(i))?.query() else {
                    return Ok(None);
                };
                if key.is_null(i) {
                    return Ok(None);
                }
                Ok(find_param(&query, key.value(i)))
            })
        },
    )
}

pub(super) fn find_param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|param| match param.split_once('=') {
            None if param == key => Some(String::new()),
            Some((k, v)) if k == key => Some(v.to_string()),
            _ => None,
        })
}
