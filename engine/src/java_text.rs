//! java_text.rs owns the text rules ksqlDB inherits from Java, in one place for every format,
//! function and response that writes or reads numbers as text: `Double.toString` and
//! `Double.parseDouble` for DOUBLE, `BigDecimal.toPlainString` and ksqlDB's
//! `DecimalUtil.ensureFit` (no rounding, precision checked) for DECIMAL.

/// Java's `Double.parseDouble`: surrounding whitespace allowed, `NaN`, `Infinity`, and an
/// optional `d`/`f` suffix.
pub fn parse_java_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|r| !r.is_empty() && !r.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) => t.parse().ok(),
        _ => None,
    }
}

/// Java's `Double.toString`: plain notation with at least one fractional digit for
/// 1e-3 <= |d| < 1e7, otherwise `d.dddE±n`, always with the shortest digits that round-trip.
pub fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // `{:e}` gives the shortest digits as d.ddde±n.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

/// Parses decimal text into an unscaled value at `scale`, as ksqlDB's `DecimalUtil.ensureFit`
/// does: no rounding, and no more integer digits than `precision - scale`.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let invalid = || format!("Invalid decimal value: '{text}'");
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (
            &body[..i],
            body[i + 1..].parse::<i32>().map_err(|_| invalid())?,
        ),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    // digits with an implied scale of (frac len - exp)
    let mut digits: String = format!("{int_part}{frac_part}");
    let mut value_scale = frac_part.len() as i64 - exp as i64;
    let target = scale as i64;
    if value_scale > target {
        let drop = (value_scale - target) as usize;
        let cut = digits.len().saturating_sub(drop);
        if digits[cut..].bytes().any(|b| b != b'0') {
            let plain = plain_decimal_text(neg, &digits, value_scale);
            return Err(format!(
                "Cannot fit decimal '{plain}' into DECIMAL({precision}, {scale}) without rounding. (Requires {}, {})",
                significant_precision(&digits, value_scale),
                value_scale.max(0)
            ));
        }
        digits.truncate(cut);
        value_scale = target;
    }
    while value_scale < target {
        digits.push('0');
        value_scale += 1;
    }
    let trimmed = digits.trim_start_matches('0');
    let int_digits = trimmed.len() as i64 - target;
    if int_digits > precision as i64 - target || trimmed.len() > 38 {
        let plain = plain_decimal_text(neg, &digits, target);
        return Err(format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute value less than 10^{}. Got {plain}",
            precision as i64 - target
        ));
    }
    let unscaled: i128 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().map_err(|_| invalid())?
    };
    Ok(if neg { -unscaled } else { unscaled })
}

fn significant_precision(digits: &str, scale: i64) -> i64 {
    let t = digits.trim_start_matches('0').len() as i64;
    t.max(scale).max(1)
}

fn plain_decimal_text(neg: bool, digits: &str, scale: i64) -> String {
    let v: i128 = digits.trim_start_matches('0').parse().unwrap_or(0);
    format_decimal(if neg { -v } else { v }, scale.clamp(0, 76) as i8)
}

/// An unscaled decimal as plain text at its scale (Java's `toPlainString`): `1200, 2` → `12.00`.
pub fn format_decimal(unscaled: i128, scale: i8) -> String {
    if scale <= 0 {
        let mut s = unscaled.to_string();
        if unscaled != 0 {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let scale = scale as usize;
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale - digits.len() + 1), digits)
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{}.{}", if neg { "-" } else { "" }, i, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(532.8738323), "532.8738323");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(-2.5e10), "-2.5E10");
        assert_eq!(java_double(0.001), "0.001");
    }

    #[test]
    fn decimals_fit_without_rounding() {
        assert_eq!(parse_decimal("12.0", 6, 4), Ok(120000));
        assert_eq!(parse_decimal(".12", 33, 16), Ok(1_200_000_000_000_000));
        assert_eq!(
            parse_decimal("-12345.12", 33, 16).unwrap(),
            -123_451_200_000_000_000_000
        );
        assert_eq!(parse_decimal("1.50", 3, 1), Ok(15));
        assert_eq!(parse_decimal("1e2", 5, 1), Ok(1000));
        assert!(parse_decimal("1.23", 3, 1)
            .unwrap_err()
            .contains("without rounding"));
        assert!(parse_decimal("100", 3, 1)
            .unwrap_err()
            .contains("Numeric field overflow"));
        assert!(parse_decimal("abc", 3, 1).is_err());
        assert!(parse_decimal("", 3, 1).is_err());
        assert!(parse_decimal("-", 3, 1).is_err());
    }

    #[test]
    fn decimal_text() {
        assert_eq!(format_decimal(120000, 4), "12.0000");
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(format_decimal(0, 3), "0.000");
        assert_eq!(format_decimal(12, 0), "12");
    }
}
