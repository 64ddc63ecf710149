//! Decimal rounding shared by ROUND, TRUNC, CEIL and FLOOR: on unscaled `i128` DECIMAL
//! values, and on DOUBLEs through their shortest decimal form (what Java's
//! `BigDecimal.valueOf(double)` sees), so `ROUND(1.005, 2)` rounds the digits the user
//! wrote rather than the binary approximation.

/// How dropped digits are rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Half rounds toward positive infinity (ksqlDB's ROUND: HALF_UP for positive values,
    /// HALF_DOWN for negative, mimicking `Math.round`).
    HalfCeiling,
    /// Toward zero (TRUNC).
    Down,
    Floor,
    Ceiling,
}

pub fn pow10(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

/// Divides `v` by 10^k rounding with `mode`.
pub fn div_pow10(v: i128, k: u32, mode: Mode) -> i128 {
    if k == 0 {
        return v;
    }
    let Some(f) = pow10(k) else {
        // |v| < 10^38 < 10^k: the quotient is 0, or ±1 for floor/ceiling of non-zero values.
        return match mode {
            Mode::Floor if v < 0 => -1,
            Mode::Ceiling if v > 0 => 1,
            _ => 0,
        };
    };
    let (q, r) = (v / f, v % f);
    match mode {
        Mode::Down => q,
        Mode::Floor => {
            if r < 0 {
                q - 1
            } else {
                q
            }
        }
        Mode::Ceiling => {
            if r > 0 {
                q + 1
            } else {
                q
            }
        }
        Mode::HalfCeiling => {
            let twice = r.unsigned_abs() * 2;
            if v >= 0 && twice >= f as u128 {
                q + 1
            } else if v < 0 && twice > f as u128 {
                q - 1
            } else {
                q
            }
        }
    }
}

/// Rounds unscaled `v` of scale `scale` to `places` decimal places (negative places round
/// left of the point) and returns it unscaled at `out_scale` (≥ min(places, scale)).
/// None on overflow.
pub fn round_decimal(v: i128, scale: i8, places: i32, out_scale: i8, mode: Mode) -> Option<i128> {
    let kept = places.min(scale as i32);
    let dropped = (scale as i32 - kept) as u32;
    let q = div_pow10(v, dropped, mode);
    let up = out_scale as i32 - kept;
    if up >= 0 {
        q.checked_mul(pow10(up as u32)?)
    } else {
        Some(div_pow10(q, (-up) as u32, Mode::Down))
    }
}

/// A double's shortest decimal form: (digits, scale) with value = digits × 10^-scale.
fn shortest(x: f64) -> Option<(i128, i32)> {
    let text = format!("{x:e}");
    let (mant, exp) = text.split_once('e')?;
    let exp: i32 = exp.parse().ok()?;
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    let scale = frac.len() as i32 - exp;
    Some((if neg { -digits } else { digits }, scale))
}

/// Rounds a DOUBLE to `places` decimal places as `BigDecimal.valueOf(x).setScale(places,
/// mode).doubleValue()` would. NaN and infinities are returned unchanged.
pub fn round_double(x: f64, places: i32, mode: Mode) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let Some((digits, scale)) = shortest(x) else {
        return x;
    };
    if scale <= places {
        return x;
    }
    let q = div_pow10(digits, (scale - places) as u32, mode);
    format!("{q}e{}", -places).parse().unwrap_or(x)
}

/// Java's `Math.round(double)`: nearest long, halves toward positive infinity; NaN → 0,
/// saturating at the long range.
pub fn java_round(x: f64) -> i64 {
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    r as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_round_on_their_decimal_digits() {
        assert_eq!(round_double(1.005, 2, Mode::HalfCeiling), 1.01);
        assert_eq!(round_double(12345.678, -1, Mode::HalfCeiling), 12350.0);
        assert_eq!(round_double(-12345.678, 1, Mode::HalfCeiling), -12345.7);
        assert_eq!(round_double(-1.25, 1, Mode::HalfCeiling), -1.2);
        assert_eq!(round_double(1.234567, 10, Mode::HalfCeiling), 1.234567);
        assert_eq!(round_double(-12345.678, -2, Mode::Down), -12300.0);
        assert_eq!(round_double(1.7, -1, Mode::Down), 0.0);
        assert_eq!(java_round(-1.5), -1);
        assert_eq!(java_round(1.5), 2);
        assert_eq!(java_round(0.49999999999999994), 0);
        assert_eq!(java_round(f64::NAN), 0);
    }

    #[test]
    fn decimals_round_half_toward_ceiling() {
        // 12345678987654321.2345678987654321 as DECIMAL(33, 16)
        let v: i128 = 123456789876543212345678987654321;
        assert_eq!(
            round_decimal(v, 16, 0, 0, Mode::HalfCeiling),
            Some(12345678987654321)
        );
        assert_eq!(
            round_decimal(v, 16, 10, 16, Mode::HalfCeiling),
            Some(123456789876543212345678988000000)
        );
        assert_eq!(
            round_decimal(v, 16, -2, 16, Mode::HalfCeiling),
            Some(123456789876543000000000000000000)
        );
        assert_eq!(round_decimal(-15, 1, 0, 0, Mode::HalfCeiling), Some(-1));
        assert_eq!(round_decimal(-15, 1, 0, 0, Mode::Floor), Some(-2));
        assert_eq!(round_decimal(11, 1, 0, 1, Mode::Ceiling), Some(20));
    }
}
