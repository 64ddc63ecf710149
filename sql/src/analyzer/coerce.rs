//! ksqlDB's implicit type coercion: which SQL types convert to which without a CAST (strict
//! for expressions, lax for literals the user typed), and the common type of a user-supplied
//! list — the operands of `IN`, the elements of `ARRAY[...]` and the keys and values of
//! `MAP(...)` — with the conversions that bring every item to that type. The rules follow
//! ksqlDB's `DefaultSqlValueCoercer` and `CoercionUtil`; the INSERT INTO sink rule follows
//! its `Column.canImplicitlyCast`.

use crate::ast::Literal;
use crate::plan::types::MAX_DECIMAL_PRECISION;
use crate::plan::{SqlType, TypedExpr, TypedExprKind};

use super::error::{err, Result};

/// How lenient a conversion may be: ksqlDB's `LAX` coercer is used for literals (a typed
/// `'10'` may become a number, `10` a string), `STRICT` for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leniency {
    Strict,
    Lax,
}

/// The type a value of `from` takes when coerced to `to`, if it can be: `to` itself, or for
/// DECIMAL targets the decimal wide enough for both (ksqlDB's `DecimalUtil.widen`).
pub(crate) fn can_coerce(from: &SqlType, to: &SqlType, how: Leniency) -> Option<SqlType> {
    use SqlType as T;
    let lax = how == Leniency::Lax;
    match (from, to) {
        (T::Null, t) => Some(t.clone()),
        (T::Boolean, T::Boolean) => Some(T::Boolean),
        (T::Int | T::BigInt | T::Decimal { .. }, T::Decimal { .. }) => widen_decimal(from, to),
        (T::Int, T::Int | T::BigInt | T::Double)
        | (T::BigInt, T::BigInt | T::Double)
        | (T::Decimal { .. } | T::Double, T::Double) => Some(to.clone()),
        (T::String, T::String | T::Timestamp | T::Time | T::Date | T::Bytes) => Some(to.clone()),
        (T::Timestamp, T::Timestamp) | (T::Time, T::Time) | (T::Date, T::Date) => Some(to.clone()),
        (T::Bytes, T::Bytes) => Some(T::Bytes),
        (T::Array(a), T::Array(b)) => can_coerce(a, b, how).map(SqlType::array),
        (T::Map(ak, av), T::Map(bk, bv)) => Some(SqlType::map(
            can_coerce(ak, bk, how)?,
            can_coerce(av, bv, how)?,
        )),
        (T::Struct(a), T::Struct(b)) => {
            let mut fields: Vec<(String, SqlType)> = Vec::new();
            for (name, ty) in a.iter().chain(b) {
                if fields.iter().any(|(n, _)| n == name) {
                    continue;
                }
                let in_a = a.iter().find(|(n, _)| n == name).map(|(_, t)| t);
                let in_b = b.iter().find(|(n, _)| n == name).map(|(_, t)| t);
                let field = match (in_a, in_b) {
                    (Some(x), Some(y)) => can_coerce(x, y, how)?,
                    _ => ty.clone(),
                };
                fields.push((name.clone(), field));
            }
            Some(T::Struct(fields))
        }
        // The lax additions: primitives to text, and text to booleans and numbers.
        (
            T::Boolean
            | T::Int
            | T::BigInt
            | T::Decimal { .. }
            | T::Double
            | T::Timestamp
            | T::Time
            | T::Date,
            T::String,
        ) if lax => Some(T::String),
        (T::String, T::Boolean | T::Int | T::BigInt | T::Decimal { .. } | T::Double) if lax => {
            Some(to.clone())
        }
        _ => None,
    }
}

/// The DECIMAL both sides fit in (INT counts as DECIMAL(10, 0), BIGINT as DECIMAL(19, 0)).
fn widen_decimal(a: &SqlType, b: &SqlType) -> Option<SqlType> {
    let (p1, s1) = a.as_decimal()?;
    let (p2, s2) = b.as_decimal()?;
    let scale = s1.max(s2);
    let precision = ((p1 - s1).max(p2 - s2) + scale).min(MAX_DECIMAL_PRECISION);
    Some(SqlType::decimal(precision, scale.min(precision)))
}

/// Whether a query column of type `from` may be written to a sink column of type `to` by
/// INSERT INTO: the same type, or a DECIMAL whose integer digits and scale both fit
/// (ksqlDB's `Column.canImplicitlyCast`).
pub(crate) fn sink_accepts(from: &SqlType, to: &SqlType) -> bool {
    match (from.as_decimal(), to.as_decimal()) {
        (Some((p1, s1)), Some((p2, s2)))
            if matches!(from, SqlType::Decimal { .. }) && matches!(to, SqlType::Decimal { .. }) =>
        {
            s1 <= s2 && p1 - s1 <= p2 - s2
        }
        _ => from == to,
    }
}

/// Whether an expression is a literal as ksqlDB's parser sees one (a signed number counts;
/// a CAST of a literal does not).
pub(crate) fn is_literal(e: &TypedExpr) -> bool {
    match &e.kind {
        TypedExprKind::Literal(_) | TypedExprKind::TypedLiteral(_) => true,
        TypedExprKind::Negate(x) => matches!(x.kind, TypedExprKind::Literal(_)),
        _ => false,
    }
}

/// The text of a string literal, if `e` is one.
fn string_literal(e: &TypedExpr) -> Option<&str> {
    match &e.kind {
        TypedExprKind::Literal(Literal::String(s)) => Some(s),
        _ => None,
    }
}

/// ksqlDB's `SqlBooleans.parseBooleanExact`: a non-empty prefix of `true`/`yes` or
/// `false`/`no`, in any case.
pub(crate) fn parse_boolean_exact(s: &str) -> Option<bool> {
    let s = s.trim();
    let prefix_of = |word: &str| {
        !s.is_empty() && s.len() <= word.len() && word[..s.len()].eq_ignore_ascii_case(s)
    };
    if prefix_of("true") || prefix_of("yes") {
        Some(true)
    } else if prefix_of("false") || prefix_of("no") {
        Some(false)
    } else {
        None
    }
}

/// The SQL type of a number written as text, as Java's `BigDecimal` reads it: INTEGER or
/// BIGINT for whole numbers strictly inside their range, DECIMAL otherwise. `None` when the
/// text is not a number.
pub(crate) fn string_numeric_type(text: &str) -> Option<SqlType> {
    let s = text.trim();
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let exponent: i64 = match exponent {
        None => 0,
        Some(x) => {
            let digits = x.strip_prefix(['+', '-']).unwrap_or(x);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            x.parse().ok()?
        }
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let dp_or_scientific = text.contains(['.', 'e', 'E']);
    if !dp_or_scientific {
        if let Ok(v) = s.parse::<i128>() {
            if v > i32::MIN as i128 && v < i32::MAX as i128 {
                return Some(SqlType::Int);
            }
            if v > i64::MIN as i128 && v < i64::MAX as i128 {
                return Some(SqlType::BigInt);
            }
        }
    }
    // BigDecimal's unscaled digits (leading zeros dropped) and scale.
    let digits = format!("{int}{frac}");
    let significant = digits.trim_start_matches('0');
    let precision = significant.len().max(1) as i64;
    let scale = frac.len() as i64 - exponent;
    // ksqlDB's DecimalUtil.fromValue: a negative scale becomes a whole number, and the
    // precision always covers the scale.
    let (precision, scale) = if scale < 0 {
        (precision - scale, 0)
    } else {
        (precision.max(scale), scale)
    };
    let precision = precision.clamp(1, MAX_DECIMAL_PRECISION as i64) as u32;
    Some(SqlType::decimal(precision, (scale as u32).min(precision)))
}

/// The base-type name ksqlDB's coercion messages use (DECIMAL without its precision).
fn base_name(t: &SqlType) -> String {
    match t {
        SqlType::Decimal { .. } => "DECIMAL".to_string(),
        SqlType::Array(_) => "ARRAY".to_string(),
        SqlType::Map(..) => "MAP".to_string(),
        SqlType::Struct(_) => "STRUCT".to_string(),
        t => t.to_string(),
    }
}

fn invalid_syntax(e: &TypedExpr, value: &str, target: &SqlType) -> Result<SqlType> {
    err(
        e.span,
        format!(
            "invalid input syntax for type {}: \"{value}\".",
            base_name(target)
        ),
    )
}

/// ksqlDB's message when two items of a list have no common type.
fn operator_does_not_exist(e: &TypedExpr, text: &str, target: &SqlType) -> Result<SqlType> {
    err(
        e.span,
        format!(
            "operator does not exist: {target} = {} ({text})\nHint: You might need to add explicit type casts.",
            e.ty
        ),
    )
}

/// The common type of `items` taken in order (ksqlDB's `CoercionUtil.coerceUserList`):
/// the first typed item sets it, each later one must convert to it or it to them, string
/// literals are read as the numbers or booleans they spell. `texts` gives each item as the
/// user wrote it, for messages. `None` when every item is a NULL literal.
pub(crate) fn common_list_type(items: &[TypedExpr], texts: &[String]) -> Result<Option<SqlType>> {
    let mut common: Option<SqlType> = None;
    for (e, text) in items.iter().zip(texts) {
        if e.ty == SqlType::Null {
            continue;
        }
        let Some(target) = common.clone() else {
            common = Some(e.ty.clone());
            continue;
        };
        let next = match string_literal(e) {
            Some(s) if target.is_numeric() => match string_numeric_type(s) {
                None => return invalid_syntax(e, s, &target).map(Some),
                Some(source) => {
                    if source == SqlType::Double || target == SqlType::Double {
                        SqlType::Double
                    } else if matches!(source, SqlType::Decimal { .. })
                        || matches!(target, SqlType::Decimal { .. })
                    {
                        widen_decimal(&source, &target).unwrap_or(SqlType::Double)
                    } else if source == SqlType::Int || source == target {
                        target
                    } else {
                        source
                    }
                }
            },
            Some(s) if target == SqlType::Boolean => {
                if parse_boolean_exact(s).is_none() {
                    return invalid_syntax(e, s, &target).map(Some);
                }
                target
            }
            _ => {
                let how = if is_literal(e) {
                    Leniency::Lax
                } else {
                    Leniency::Strict
                };
                match can_coerce(&e.ty, &target, how).or_else(|| can_coerce(&target, &e.ty, how)) {
                    Some(t) => t,
                    None => return operator_does_not_exist(e, text, &target).map(Some),
                }
            }
        };
        common = Some(next);
    }
    Ok(common)
}

/// `e` converted to `ty`: unchanged when it already has that type (or is NULL), a string
/// literal read as the literal of `ty` it spells (as ksqlDB's lax coercer does), otherwise
/// wrapped in a CAST, as ksqlDB rewrites list items to the common type.
pub(crate) fn convert_to(e: TypedExpr, ty: &SqlType) -> TypedExpr {
    if e.ty == *ty || e.ty == SqlType::Null {
        return e;
    }
    let span = e.span;
    if let Some(l) = string_literal(&e).and_then(|s| string_as_literal(s, ty)) {
        return TypedExpr::new(TypedExprKind::Literal(l), ty.clone(), span);
    }
    TypedExpr::new(TypedExprKind::Cast(Box::new(e)), ty.clone(), span)
}

/// The literal of type `ty` a string spells, for the types ksqlDB's lax coercer reads
/// strings as (BOOLEAN, INTEGER, BIGINT, DOUBLE, DECIMAL).
pub(crate) fn string_as_literal(s: &str, ty: &SqlType) -> Option<Literal> {
    let t = s.trim();
    match ty {
        SqlType::Boolean => parse_boolean_exact(t).map(Literal::Boolean),
        SqlType::Int => t.parse().ok().map(Literal::Integer),
        SqlType::BigInt => t.parse().ok().map(Literal::BigInt),
        SqlType::Double => {
            string_numeric_type(t)?;
            t.parse().ok().map(Literal::Double)
        }
        SqlType::Decimal { .. } => plain_decimal(t).map(Literal::Decimal),
        _ => None,
    }
}

/// A number as plain decimal digits (`1.2e3` → `1200`, `5e-2` → `0.05`), as Java's
/// `BigDecimal.toPlainString` writes it.
fn plain_decimal(text: &str) -> Option<String> {
    string_numeric_type(text)?;
    let s = text.trim();
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], unsigned[i + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    if exponent.abs() > 2 * MAX_DECIMAL_PRECISION as i64 {
        return None;
    }
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exponent;
    let (whole, fraction) = if point <= 0 {
        (
            String::new(),
            "0".repeat(point.unsigned_abs() as usize) + &digits,
        )
    } else if point as usize >= digits.len() {
        (
            digits.clone() + &"0".repeat(point as usize - digits.len()),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let sign = if negative { "-" } else { "" };
    Some(if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Span;

    fn lit(l: Literal) -> TypedExpr {
        let ty = super::super::expr::literal_type(&l);
        TypedExpr::new(TypedExprKind::Literal(l), ty, Span::default())
    }

    fn col(ty: SqlType) -> TypedExpr {
        TypedExpr::new(TypedExprKind::LambdaVar("X".into()), ty, Span::default())
    }

    fn common(items: &[TypedExpr]) -> std::result::Result<Option<SqlType>, String> {
        let texts: Vec<String> = items.iter().map(|e| e.to_string()).collect();
        common_list_type(items, &texts).map_err(|e| e.message.clone())
    }

    #[test]
    fn numbers_in_strings_widen_the_list_type() {
        use Literal as L;
        assert_eq!(
            common(&[col(SqlType::Int), lit(L::String("10".into()))]),
            Ok(Some(SqlType::Int))
        );
        assert_eq!(
            common(&[col(SqlType::Int), lit(L::String("10000000000".into()))]),
            Ok(Some(SqlType::BigInt))
        );
        assert_eq!(
            common(&[col(SqlType::Int), lit(L::String("1.5".into()))]),
            Ok(Some(SqlType::decimal(11, 1)))
        );
        assert_eq!(
            common(&[col(SqlType::BigInt), lit(L::String("1e3".into()))]),
            Ok(Some(SqlType::decimal(19, 0)))
        );
        assert_eq!(
            common(&[col(SqlType::Double), lit(L::String("1".into()))]),
            Ok(Some(SqlType::Double))
        );
        assert_eq!(
            common(&[col(SqlType::Int), lit(L::String("ten".into()))]),
            Err("invalid input syntax for type INTEGER: \"ten\".".to_string())
        );
    }

    #[test]
    fn literals_convert_laxly_expressions_strictly() {
        use Literal as L;
        // A number literal joins a list of strings.
        assert_eq!(
            common(&[col(SqlType::String), lit(L::Integer(10))]),
            Ok(Some(SqlType::String))
        );
        assert_eq!(
            common(&[col(SqlType::Boolean), lit(L::String("yes".into()))]),
            Ok(Some(SqlType::Boolean))
        );
        assert_eq!(
            common(&[col(SqlType::Boolean), lit(L::String("maybe".into()))]),
            Err("invalid input syntax for type BOOLEAN: \"maybe\".".to_string())
        );
        // A STRING column does not join a list of numbers.
        let e = common(&[col(SqlType::Int), col(SqlType::String)]).unwrap_err();
        assert!(
            e.starts_with("operator does not exist: INTEGER = STRING (X)"),
            "{e}"
        );
        // NULL literals are skipped; a wider later item widens the type.
        assert_eq!(
            common(&[lit(L::Null), col(SqlType::Int), col(SqlType::BigInt)]),
            Ok(Some(SqlType::BigInt))
        );
        assert_eq!(common(&[lit(L::Null)]), Ok(None));
    }

    #[test]
    fn string_numbers_read_as_bigdecimal_does() {
        assert_eq!(string_numeric_type(" 12 "), Some(SqlType::Int));
        assert_eq!(string_numeric_type("2147483647"), Some(SqlType::BigInt));
        assert_eq!(string_numeric_type("-0.05"), Some(SqlType::decimal(2, 2)));
        assert_eq!(string_numeric_type("1.2e1"), Some(SqlType::decimal(2, 0)));
        assert_eq!(string_numeric_type("NaN"), None);
        assert_eq!(string_numeric_type("1x"), None);
        assert_eq!(string_numeric_type("."), None);
    }

    #[test]
    fn string_literals_become_literals_of_the_target_type() {
        use Literal as L;
        let b = SqlType::Boolean;
        assert_eq!(string_as_literal(" ye ", &b), Some(L::Boolean(true)));
        assert_eq!(string_as_literal("nah", &b), None);
        assert_eq!(string_as_literal("12", &SqlType::Int), Some(L::Integer(12)));
        assert_eq!(string_as_literal("1.5", &SqlType::Int), None);
        let d = SqlType::decimal(19, 2);
        assert_eq!(
            string_as_literal("1.2e3", &d),
            Some(L::Decimal("1200".into()))
        );
        assert_eq!(
            string_as_literal("-5E-2", &d),
            Some(L::Decimal("-0.05".into()))
        );
        assert_eq!(
            string_as_literal("007.50", &d),
            Some(L::Decimal("7.50".into()))
        );
        assert_eq!(
            string_as_literal("2e1", &SqlType::Double),
            Some(L::Double(20.0))
        );
        assert_eq!(string_as_literal("NaN", &SqlType::Double), None);
    }

    #[test]
    fn booleans_parse_from_prefixes() {
        assert_eq!(parse_boolean_exact("T"), Some(true));
        assert_eq!(parse_boolean_exact("ye"), Some(true));
        assert_eq!(parse_boolean_exact("fAlSe"), Some(false));
        assert_eq!(parse_boolean_exact("n"), Some(false));
        assert_eq!(parse_boolean_exact("truee"), None);
        assert_eq!(parse_boolean_exact(""), None);
    }

    #[test]
    fn sinks_accept_only_fitting_decimals() {
        assert!(sink_accepts(&SqlType::Int, &SqlType::Int));
        assert!(!sink_accepts(&SqlType::Int, &SqlType::BigInt));
        assert!(sink_accepts(
            &SqlType::decimal(4, 2),
            &SqlType::decimal(6, 3)
        ));
        assert!(!sink_accepts(
            &SqlType::decimal(4, 2),
            &SqlType::decimal(4, 3)
        ));
        assert!(!sink_accepts(&SqlType::decimal(4, 2), &SqlType::Double));
    }
}
