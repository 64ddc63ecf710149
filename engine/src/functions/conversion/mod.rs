//! Conversions between BYTES and other types: FROM_BYTES, TO_BYTES (text encodings) and
//! INT_FROM_BYTES, BIGINT_FROM_BYTES, DOUBLE_FROM_BYTES (binary numbers).

mod bytes;

use super::udf::FunctionDef;

pub(crate) fn functions() -> Vec<FunctionDef> {
    vec![
        bytes::from_bytes(),
        bytes::to_bytes(),
        bytes::int_from_bytes(),
        bytes::bigint_from_bytes(),
        bytes::double_from_bytes(),
    ]
}
