//! URL functions: `URL_ENCODE_PARAM` / `URL_DECODE_PARAM` (the
//! `application/x-www-form-urlencoded` convention) and the `URL_EXTRACT_*` family, which
//! read one component of a URL parsed as `java.net.URI` parses it ([`uri`]).

mod encode;
mod extract;
pub mod uri;

use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        encode::url_encode_param(),
        encode::url_decode_param(),
        extract::fragment(),
        extract::host(),
        extract::parameter(),
        extract::path(),
        extract::port(),
        extract::protocol(),
        extract::query(),
    ]
}

#[cfg(test)]
mod tests;
