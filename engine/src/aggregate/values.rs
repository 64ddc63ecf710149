//! Value helpers shared by the accumulators: the primitive SQL types the comparing functions
//! work on ([`Prim`]), Java's orderings (`compareTo` of Double, String, ByteBuffer), bringing
//! an argument to its declared Arrow type ([`conform`]), reading numbers out of
//! `ScalarValue`s, and building the List/Map results without panicking.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{new_empty_array, Array, ArrayRef, ListArray, MapArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, FieldRef, TimeUnit};
use brook_sql::SqlType;
use datafusion::common::ScalarValue;

use super::AggregateError;

/// The primitive SQL types that MIN, MAX, TOPK and TOPKDISTINCT order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    Boolean,
    Int,
    BigInt,
    Double,
    /// Precision and scale.
    Decimal(u8, i8),
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
}

impl Prim {
    pub(crate) fn of(t: &SqlType) -> Option<Prim> {
        Some(match t {
            SqlType::Boolean => Prim::Boolean,
            SqlType::Int => Prim::Int,
            SqlType::BigInt => Prim::BigInt,
            SqlType::Double => Prim::Double,
            SqlType::Decimal { precision, scale } => Prim::Decimal(*precision as u8, *scale as i8),
            SqlType::String => Prim::String,
            SqlType::Bytes => Prim::Bytes,
            SqlType::Date => Prim::Date,
            SqlType::Time => Prim::Time,
            SqlType::Timestamp => Prim::Timestamp,
            _ => return None,
        })
    }
}

/// A typed null of `dt` (`ScalarValue::Null` only for `DataType::Null`).
pub(crate) fn typed_null(dt: &DataType) -> ScalarValue {
    ScalarValue::try_new_null(dt).unwrap_or(ScalarValue::Null)
}

/// Whether `v` already has exactly the Arrow type `dt` (checked without allocating).
pub(crate) fn fits(v: &ScalarValue, dt: &DataType) -> bool {
    use ScalarValue as S;
    match (v, dt) {
        (S::Boolean(_), DataType::Boolean)
        | (S::Int32(_), DataType::Int32)
        | (S::Int64(_), DataType::Int64)
        | (S::Float64(_), DataType::Float64)
        | (S::Utf8(_), DataType::Utf8)
        | (S::Binary(_), DataType::Binary)
        | (S::Date32(_), DataType::Date32)
        | (S::Time32Millisecond(_), DataType::Time32(TimeUnit::Millisecond)) => true,
        (S::Decimal128(_, p, s), DataType::Decimal128(p2, s2)) => p == p2 && s == s2,
        (S::TimestampMillisecond(_, tz), DataType::Timestamp(TimeUnit::Millisecond, tz2)) => {
            tz == tz2
        }
        (S::List(a), _) => a.data_type() == dt,
        (S::Struct(a), _) => a.data_type() == dt,
        (S::Map(a), _) => a.data_type() == dt,
        (S::Null, DataType::Null) => true,
        _ => false,
    }
}

/// `v` as a value of exactly `dt`: nulls become typed nulls, other types are cast (a
/// DECIMAL of another scale, an INT where a BIGINT is declared, a list with another field
/// name...). An impossible cast is an `InvalidArgument`.
pub(crate) fn conform(v: &ScalarValue, dt: &DataType) -> Result<ScalarValue, AggregateError> {
    if v.is_null() {
        return Ok(typed_null(dt));
    }
    if fits(v, dt) {
        return Ok(v.clone());
    }
    v.cast_to(dt).map_err(|e| {
        AggregateError::InvalidArgument(format!(
            "expected a value of type {dt}, got {}: {e}",
            v.data_type()
        ))
    })
}

pub(crate) fn wrong_type(expected: &str, v: &ScalarValue) -> AggregateError {
    AggregateError::InvalidArgument(format!(
        "expected {expected} argument, got {}",
        v.data_type()
    ))
}

/// An integer argument (INT or BIGINT, or narrower) as i64; `None` for null.
pub(crate) fn as_i64(v: &ScalarValue) -> Result<Option<i64>, AggregateError> {
    use ScalarValue as S;
    Ok(match v {
        S::Int64(x) => *x,
        S::Int32(x) => x.map(i64::from),
        S::Int16(x) => x.map(i64::from),
        S::Int8(x) => x.map(i64::from),
        S::Null => None,
        _ => return Err(wrong_type("an integer", v)),
    })
}

/// An INT argument; `None` for null.
pub(crate) fn as_i32(v: &ScalarValue) -> Result<Option<i32>, AggregateError> {
    use ScalarValue as S;
    Ok(match v {
        S::Int32(x) => *x,
        S::Int16(x) => x.map(i32::from),
        S::Int8(x) => x.map(i32::from),
        S::Null => None,
        _ => return Err(wrong_type("an INT", v)),
    })
}

/// Any numeric argument as a double (Java's widening of INT, BIGINT and DECIMAL to DOUBLE);
/// `None` for null.
pub(crate) fn as_f64(v: &ScalarValue) -> Result<Option<f64>, AggregateError> {
    use ScalarValue as S;
    Ok(match v {
        S::Float64(x) => *x,
        S::Float32(x) => x.map(f64::from),
        S::Int64(x) => x.map(|x| x as f64),
        S::Int32(x) => x.map(f64::from),
        S::Int16(x) => x.map(f64::from),
        S::Int8(x) => x.map(f64::from),
        S::Decimal128(x, _, s) => x.map(|x| decimal_to_f64(x, *s)),
        S::Null => None,
        _ => return Err(wrong_type("a numeric", v)),
    })
}

/// A DECIMAL's unscaled value rescaled to `scale` (rounding half up when digits are
/// dropped, as BigDecimal does); integers count as scale 0. `None` for null.
pub(crate) fn as_decimal(v: &ScalarValue, scale: i8) -> Result<Option<i128>, AggregateError> {
    use ScalarValue as S;
    let (x, s) = match v {
        S::Decimal128(x, _, s) => (*x, *s),
        S::Int64(x) => (x.map(i128::from), 0),
        S::Int32(x) => (x.map(i128::from), 0),
        S::Null => (None, 0),
        _ => return Err(wrong_type("a DECIMAL", v)),
    };
    match x {
        None => Ok(None),
        Some(x) => rescale(x, s, scale).map(Some),
    }
}

pub(crate) fn rescale(x: i128, from: i8, to: i8) -> Result<i128, AggregateError> {
    let overflow = || AggregateError::Overflow(format!("Numeric field overflow rescaling {x}"));
    match from.cmp(&to) {
        Ordering::Equal => Ok(x),
        Ordering::Less => {
            let f = pow10((to - from) as u32).ok_or_else(overflow)?;
            x.checked_mul(f).ok_or_else(overflow)
        }
        Ordering::Greater => {
            let f = pow10((from - to) as u32).ok_or_else(overflow)?;
            let q = x / f;
            let r = x % f;
            // Half up, away from zero.
            Ok(if r.unsigned_abs() * 2 >= f.unsigned_abs() {
                q + x.signum()
            } else {
                q
            })
        }
    }
}

pub(crate) fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

pub(crate) fn decimal_to_f64(x: i128, scale: i8) -> f64 {
    // Through the decimal string, so that 0.1 becomes the double nearest to 0.1 (as
    // BigDecimal.doubleValue does), not 1 / 10.0 with its own rounding error.
    fmt_decimal(x, scale).parse::<f64>().unwrap_or(f64::NAN)
}

/// The plain string of a decimal (`1202.5`, `-0.07`), as BigDecimal.toPlainString.
pub(crate) fn fmt_decimal(x: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = x.to_string();
        if x != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let scale = scale as usize;
    let digits = x.unsigned_abs().to_string();
    let digits = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = digits.split_at(digits.len() - scale);
    format!("{}{int}.{frac}", if x < 0 { "-" } else { "" })
}

/// Java's `Double.compareTo`: -0.0 < 0.0, and NaN equal to itself and above everything.
pub(crate) fn java_cmp_f64(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

/// Java's `String.compareTo`: by UTF-16 code units (differs from Rust's code point order
/// only between supplementary characters and U+E000..U+FFFF).
pub(crate) fn java_cmp_str(a: &str, b: &str) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return a.len().cmp(&b.len());
    }
    // Fast path: the first differing byte decides unless it starts a 4-byte sequence
    // or a 3-byte one of U+E000..U+FFFF (lead byte 0xEE/0xEF).
    let ab = a.as_bytes();
    let bb = b.as_bytes();
    let common = ab.iter().zip(bb).take_while(|(x, y)| x == y).count();
    match (ab.get(common), bb.get(common)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(&x), Some(&y)) if x < 0xEE && y < 0xEE => x.cmp(&y),
        _ => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// Java's `ByteBuffer.compareTo`: lexicographic over *signed* bytes, then by length.
pub(crate) fn java_cmp_bytes(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match (*x as i8).cmp(&(*y as i8)) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

/// Orders two non-null values of primitive type `p` as ksqlDB (Java's `compareTo`) does.
/// Values of unexpected variants compare equal (they were conformed on the way in).
pub(crate) fn cmp_prim(a: &ScalarValue, b: &ScalarValue) -> Ordering {
    use ScalarValue as S;
    match (a, b) {
        (S::Boolean(Some(x)), S::Boolean(Some(y))) => x.cmp(y),
        (S::Int32(Some(x)), S::Int32(Some(y))) => x.cmp(y),
        (S::Int64(Some(x)), S::Int64(Some(y))) => x.cmp(y),
        (S::Float64(Some(x)), S::Float64(Some(y))) => java_cmp_f64(*x, *y),
        (S::Decimal128(Some(x), _, _), S::Decimal128(Some(y), _, _)) => x.cmp(y),
        (S::Utf8(Some(x)), S::Utf8(Some(y))) => java_cmp_str(x, y),
        (S::Binary(Some(x)), S::Binary(Some(y))) => java_cmp_bytes(x, y),
        (S::Date32(Some(x)), S::Date32(Some(y))) => x.cmp(y),
        (S::Time32Millisecond(Some(x)), S::Time32Millisecond(Some(y))) => x.cmp(y),
        (S::TimestampMillisecond(Some(x), _), S::TimestampMillisecond(Some(y), _)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// A one-row ListArray of `values` under the list field `field` (the element field of the
/// declared `ARRAY<T>`). Errors when the values do not have the element type.
pub(crate) fn list_array(
    field: &FieldRef,
    values: impl IntoIterator<Item = ScalarValue>,
) -> Result<ListArray, AggregateError> {
    let mut values = values.into_iter().peekable();
    let child: ArrayRef = if values.peek().is_none() {
        new_empty_array(field.data_type())
    } else {
        ScalarValue::iter_to_array(values).map_err(|e| invalid_value(&e))?
    };
    let len = child.len();
    ListArray::try_new(
        field.clone(),
        OffsetBuffer::from_lengths([len]),
        child,
        None,
    )
    .map_err(|e| invalid_value(&e))
}

/// [`list_array`] as a `ScalarValue::List`.
pub(crate) fn list_scalar(
    field: &FieldRef,
    values: impl IntoIterator<Item = ScalarValue>,
) -> Result<ScalarValue, AggregateError> {
    Ok(ScalarValue::List(Arc::new(list_array(field, values)?)))
}

/// A one-row `MAP` under `entries` (the map's entries field) from key and value scalars.
pub(crate) fn map_scalar(
    entries: &FieldRef,
    keys: Vec<ScalarValue>,
    values: Vec<ScalarValue>,
) -> Result<ScalarValue, AggregateError> {
    let DataType::Struct(kv) = entries.data_type() else {
        return Err(AggregateError::InvalidArgument(format!(
            "not a map entries field: {entries}"
        )));
    };
    if kv.len() != 2 {
        return Err(AggregateError::InvalidArgument(format!(
            "not a map entries field: {entries}"
        )));
    }
    let column = |f: &FieldRef, vs: Vec<ScalarValue>| -> Result<ArrayRef, AggregateError> {
        if vs.is_empty() {
            Ok(new_empty_array(f.data_type()))
        } else {
            ScalarValue::iter_to_array(vs).map_err(|e| invalid_value(&e))
        }
    };
    let n = keys.len();
    let k = column(&kv[0], keys)?;
    let v = column(&kv[1], values)?;
    let entries_array =
        StructArray::try_new(kv.clone(), vec![k, v], None).map_err(|e| invalid_value(&e))?;
    let map = MapArray::try_new(
        entries.clone(),
        OffsetBuffer::from_lengths([n]),
        entries_array,
        None,
        false,
    )
    .map_err(|e| invalid_value(&e))?;
    Ok(ScalarValue::Map(Arc::new(map)))
}

fn invalid_value(e: &dyn std::fmt::Display) -> AggregateError {
    AggregateError::InvalidArgument(format!("cannot build the result: {e}"))
}

/// The element field of a List type.
pub(crate) fn list_field(dt: &DataType) -> Option<&FieldRef> {
    match dt {
        DataType::List(f) => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_orders() {
        assert_eq!(java_cmp_f64(-0.0, 0.0), Ordering::Less);
        assert_eq!(java_cmp_f64(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(java_cmp_f64(-f64::NAN, 1.0), Ordering::Greater);
        assert_eq!(java_cmp_f64(f64::NAN, -f64::NAN), Ordering::Equal);
        // U+FF61 (one UTF-16 unit 0xFF61) is above U+1F600 (surrogates 0xD83D...) in Java.
        assert_eq!(java_cmp_str("\u{FF61}", "\u{1F600}"), Ordering::Greater);
        assert_eq!(java_cmp_str("ab", "abc"), Ordering::Less);
        assert_eq!(java_cmp_str("b", "abc"), Ordering::Greater);
        assert_eq!(java_cmp_str("", ""), Ordering::Equal);
        // Signed bytes: 0x80 is -128, below 0x01.
        assert_eq!(java_cmp_bytes(&[0x80], &[0x01]), Ordering::Less);
        assert_eq!(java_cmp_bytes(&[1, 2], &[1]), Ordering::Greater);
    }

    #[test]
    fn decimals() {
        assert_eq!(fmt_decimal(12025, 1), "1202.5");
        assert_eq!(fmt_decimal(-7, 2), "-0.07");
        assert_eq!(fmt_decimal(0, 2), "0.00");
        assert_eq!(fmt_decimal(12, -2), "1200");
        assert_eq!(rescale(125, 2, 1).unwrap(), 13);
        assert_eq!(rescale(-125, 2, 1).unwrap(), -13);
        assert_eq!(rescale(124, 2, 1).unwrap(), 12);
        assert_eq!(rescale(54, 1, 2).unwrap(), 540);
        assert!(rescale(i128::MAX, 0, 5).is_err());
        assert_eq!(decimal_to_f64(1, 1), 0.1);
        assert_eq!(
            as_decimal(&ScalarValue::Decimal128(Some(54), 4, 1), 2).unwrap(),
            Some(540)
        );
    }

    #[test]
    fn conform_casts_and_types_nulls() {
        let v = conform(&ScalarValue::Int32(Some(3)), &DataType::Int64).unwrap();
        assert_eq!(v, ScalarValue::Int64(Some(3)));
        let n = conform(&ScalarValue::Null, &DataType::Utf8).unwrap();
        assert_eq!(n, ScalarValue::Utf8(None));
        assert!(conform(&ScalarValue::Utf8(Some("x".into())), &DataType::Int32).is_err());
    }
}
