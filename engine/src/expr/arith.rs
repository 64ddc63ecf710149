//! Arithmetic with ksqlDB's (Java's) semantics: INT and BIGINT wrap on overflow, integer
//! division or modulus by zero gives NULL, DOUBLE follows IEEE (x / 0.0 = ±Infinity or NaN),
//! DECIMAL results take the precision and scale the analyzer computed (division rounds
//! HALF_UP; division or modulus by zero gives NULL). Also unary minus and string/bytes
//! concatenation (`+` on strings, `||`).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Decimal128Array, Float64Array, Int32Array, Int64Array,
    PrimitiveArray, StringBuilder,
};
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Decimal128Type, Float64Type, Int32Type, Int64Type,
};
use datafusion::common::{exec_err, Result};

use brook_sql::ast::BinaryOp;

/// Applies `f` to the non-null pairs; `f` returning `None` gives NULL.
fn binary_opt<T: ArrowPrimitiveType, R: ArrowPrimitiveType>(
    a: &PrimitiveArray<T>,
    b: &PrimitiveArray<T>,
    f: impl Fn(T::Native, T::Native) -> Result<Option<R::Native>>,
) -> Result<PrimitiveArray<R>> {
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) {
            out.push(None);
        } else {
            out.push(f(a.value(i), b.value(i))?);
        }
    }
    Ok(out.into_iter().collect())
}

macro_rules! int_arith {
    ($a:expr, $b:expr, $op:expr, $t:ty, $native:ty) => {{
        let a = $a.as_primitive::<$t>();
        let b = $b.as_primitive::<$t>();
        let r: PrimitiveArray<$t> = binary_opt::<$t, $t>(a, b, |x: $native, y: $native| {
            Ok(match $op {
                BinaryOp::Add => Some(x.wrapping_add(y)),
                BinaryOp::Subtract => Some(x.wrapping_sub(y)),
                BinaryOp::Multiply => Some(x.wrapping_mul(y)),
                BinaryOp::Divide => (y != 0).then(|| x.wrapping_div(y)),
                BinaryOp::Modulus => (y != 0).then(|| x.wrapping_rem(y)),
                _ => None,
            })
        })?;
        Arc::new(r) as ArrayRef
    }};
}

/// INT, BIGINT or DOUBLE arithmetic; both operands already have the result's type.
pub fn numeric(op: BinaryOp, a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Int32 => int_arith!(a, b, op, Int32Type, i32),
        DataType::Int64 => int_arith!(a, b, op, Int64Type, i64),
        DataType::Float64 => {
            let r: Float64Array = binary_opt::<Float64Type, Float64Type>(
                a.as_primitive(),
                b.as_primitive(),
                |x, y| {
                    Ok(Some(match op {
                        BinaryOp::Add => x + y,
                        BinaryOp::Subtract => x - y,
                        BinaryOp::Multiply => x * y,
                        BinaryOp::Divide => x / y,
                        // Java's % on doubles is the truncated remainder, like Rust's.
                        _ => x % y,
                    }))
                },
            )?;
            Arc::new(r)
        }
        t => return exec_err!("arithmetic on {t}"),
    })
}

fn pow10(n: u32) -> Result<i128> {
    10i128
        .checked_pow(n)
        .map_or_else(|| exec_err!("DECIMAL scale {n} out of range"), Ok)
}

/// Divides rounding half away from zero (BigDecimal's HALF_UP).
fn div_half_up(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if r.unsigned_abs() * 2 >= d.unsigned_abs() {
        if (n < 0) != (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

/// Changes the scale of an unscaled value (rounding HALF_UP when it shrinks).
pub fn rescale(v: i128, from: i8, to: i8) -> Option<i128> {
    use std::cmp::Ordering::*;
    match to.cmp(&from) {
        Equal => Some(v),
        Greater => 10i128
            .checked_pow((to - from) as u32)
            .and_then(|m| v.checked_mul(m)),
        Less => Some(div_half_up(v, 10i128.checked_pow((from - to) as u32)?)),
    }
}

fn overflow<T>(what: &str) -> Result<T> {
    exec_err!("Numeric overflow in DECIMAL {what}")
}

/// DECIMAL arithmetic. `a` and `b` are Decimal128 of any precision and scale; the result is
/// `Decimal128(p, s)`. A result that does not fit `p` is an error (the record goes to the
/// processing log), as in ksqlDB.
pub fn decimal(op: BinaryOp, a: &ArrayRef, b: &ArrayRef, p: u8, s: i8) -> Result<ArrayRef> {
    let (DataType::Decimal128(_, s1), DataType::Decimal128(_, s2)) = (a.data_type(), b.data_type())
    else {
        return exec_err!(
            "DECIMAL arithmetic on {} and {}",
            a.data_type(),
            b.data_type()
        );
    };
    let (s1, s2) = (*s1, *s2);
    let limit = pow10(p as u32)?;
    let r: Decimal128Array = binary_opt::<Decimal128Type, Decimal128Type>(
        a.as_primitive(),
        b.as_primitive(),
        |x, y| {
            let v = match op {
                BinaryOp::Add | BinaryOp::Subtract => {
                    let (Some(x), Some(y)) = (rescale(x, s1, s), rescale(y, s2, s)) else {
                        return overflow("addition");
                    };
                    let r = if op == BinaryOp::Add {
                        x.checked_add(y)
                    } else {
                        x.checked_sub(y)
                    };
                    match r {
                        Some(r) => r,
                        None => return overflow("addition"),
                    }
                }
                BinaryOp::Multiply => match x.checked_mul(y).and_then(|m| rescale(m, s1 + s2, s)) {
                    Some(r) => r,
                    None => return overflow("multiplication"),
                },
                BinaryOp::Divide => {
                    if y == 0 {
                        return Ok(None);
                    }
                    // x / y at scale s = x·10^(s - s1 + s2) / y.
                    let shift = s as i32 - s1 as i32 + s2 as i32;
                    let (n, d) = if shift >= 0 {
                        match x.checked_mul(pow10(shift as u32)?) {
                            Some(n) => (n, y),
                            None => return overflow("division"),
                        }
                    } else {
                        match y.checked_mul(pow10((-shift) as u32)?) {
                            Some(d) => (x, d),
                            None => return overflow("division"),
                        }
                    };
                    div_half_up(n, d)
                }
                BinaryOp::Modulus => {
                    if y == 0 {
                        return Ok(None);
                    }
                    let m = s1.max(s2);
                    let (Some(x), Some(y)) = (rescale(x, s1, m), rescale(y, s2, m)) else {
                        return overflow("modulus");
                    };
                    match rescale(x % y, m, s) {
                        Some(r) => r,
                        None => return overflow("modulus"),
                    }
                }
                _ => return exec_err!("{op:?} is not arithmetic"),
            };
            if v.abs() >= limit {
                return overflow("result");
            }
            Ok(Some(v))
        },
    )?;
    Ok(Arc::new(r.with_precision_and_scale(p, s)?))
}

/// Unary minus: wrapping for integers (as Java's `-Integer.MIN_VALUE`).
pub fn negate(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Int32 => {
            let r: Int32Array = a.as_primitive::<Int32Type>().unary(|x| x.wrapping_neg());
            Arc::new(r)
        }
        DataType::Int64 => {
            let r: Int64Array = a.as_primitive::<Int64Type>().unary(|x| x.wrapping_neg());
            Arc::new(r)
        }
        DataType::Float64 => {
            let r: Float64Array = a.as_primitive::<Float64Type>().unary(|x| -x);
            Arc::new(r)
        }
        DataType::Decimal128(p, s) => {
            let r: Decimal128Array = a.as_primitive::<Decimal128Type>().unary(|x| -x);
            Arc::new(r.with_precision_and_scale(*p, *s)?)
        }
        DataType::Null => a.clone(),
        t => return exec_err!("cannot negate {t}"),
    })
}

/// String or bytes concatenation; NULL if either side is NULL.
pub fn concat(a: &ArrayRef, b: &ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Utf8 => {
            let (x, y) = (a.as_string::<i32>(), b.as_string::<i32>());
            let mut out = StringBuilder::new();
            for i in 0..x.len() {
                if x.is_null(i) || y.is_null(i) {
                    out.append_null();
                } else {
                    out.append_value(format!("{}{}", x.value(i), y.value(i)));
                }
            }
            Arc::new(out.finish())
        }
        DataType::Binary => {
            let (x, y) = (a.as_binary::<i32>(), b.as_binary::<i32>());
            let mut out = BinaryBuilder::new();
            for i in 0..x.len() {
                if x.is_null(i) || y.is_null(i) {
                    out.append_null();
                } else {
                    let mut v = x.value(i).to_vec();
                    v.extend_from_slice(y.value(i));
                    out.append_value(v);
                }
            }
            Arc::new(out.finish())
        }
        t => return exec_err!("cannot concatenate {t}"),
    })
}
