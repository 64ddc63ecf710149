//! Resolved SQL types: what every column and typed expression carries after analysis.
//!
//! Unlike [`crate::ast::Type`], a [`SqlType`] has no custom type names left in it (they are
//! resolved against the catalog) and has a [`SqlType::Null`] for an untyped `NULL` literal.
//! It prints the way ksqlDB prints types in its messages (`INTEGER`, `STRUCT<`F` STRING>`).

use std::fmt;

use crate::ast::Type;

/// A ksqlDB type after name resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SqlType {
    Boolean,
    Int,
    BigInt,
    Double,
    Decimal {
        precision: u32,
        scale: u32,
    },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<SqlType>),
    Map(Box<SqlType>, Box<SqlType>),
    /// Fields in order, with their exact (case-sensitive) names.
    Struct(Vec<(String, SqlType)>),
    /// The type of a bare `NULL` literal: fits anywhere, but must not reach a column.
    Null,
}

/// The largest DECIMAL precision ksqlDB supports.
pub const MAX_DECIMAL_PRECISION: u32 = 38;

impl SqlType {
    pub fn array(t: SqlType) -> Self {
        SqlType::Array(Box::new(t))
    }

    pub fn map(k: SqlType, v: SqlType) -> Self {
        SqlType::Map(Box::new(k), Box::new(v))
    }

    pub fn decimal(precision: u32, scale: u32) -> Self {
        SqlType::Decimal { precision, scale }
    }

    /// The type written in a column list or `CAST`, with custom type names looked up by
    /// `custom` (which returns `None` for an unknown name: the name is returned as the error).
    pub fn from_ast(t: &Type, custom: &dyn Fn(&str) -> Option<SqlType>) -> Result<SqlType, String> {
        Ok(match t {
            Type::Boolean => SqlType::Boolean,
            Type::Int => SqlType::Int,
            Type::BigInt => SqlType::BigInt,
            Type::Double => SqlType::Double,
            Type::Decimal { precision, scale } => SqlType::decimal(*precision, *scale),
            Type::String => SqlType::String,
            Type::Bytes => SqlType::Bytes,
            Type::Date => SqlType::Date,
            Type::Time => SqlType::Time,
            Type::Timestamp => SqlType::Timestamp,
            Type::Array(e) => SqlType::array(SqlType::from_ast(e, custom)?),
            Type::Map(k, v) => {
                SqlType::map(SqlType::from_ast(k, custom)?, SqlType::from_ast(v, custom)?)
            }
            Type::Struct(fields) => SqlType::Struct(
                fields
                    .iter()
                    .map(|f| Ok((f.name.value.clone(), SqlType::from_ast(&f.ty, custom)?)))
                    .collect::<Result<_, String>>()?,
            ),
            Type::Custom(name) => custom(&name.value).ok_or_else(|| name.value.clone())?,
        })
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            SqlType::Int | SqlType::BigInt | SqlType::Double | SqlType::Decimal { .. }
        )
    }

    pub fn is_integer(&self) -> bool {
        matches!(self, SqlType::Int | SqlType::BigInt)
    }

    pub fn is_primitive(&self) -> bool {
        !matches!(
            self,
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)
        )
    }

    pub fn is_temporal(&self) -> bool {
        matches!(self, SqlType::Date | SqlType::Time | SqlType::Timestamp)
    }

    /// Whether this type contains a MAP anywhere inside it (itself included).
    pub fn contains_map(&self) -> bool {
        match self {
            SqlType::Map(..) => true,
            SqlType::Array(e) => e.contains_map(),
            SqlType::Struct(fs) => fs.iter().any(|(_, t)| t.contains_map()),
            _ => false,
        }
    }

    /// The DECIMAL an integer or decimal widens to (INT → DECIMAL(10,0), BIGINT →
    /// DECIMAL(19,0)), as ksqlDB does for mixed arithmetic.
    pub fn as_decimal(&self) -> Option<(u32, u32)> {
        match self {
            SqlType::Int => Some((10, 0)),
            SqlType::BigInt => Some((19, 0)),
            SqlType::Decimal { precision, scale } => Some((*precision, *scale)),
            _ => None,
        }
    }

    /// Rank in the implicit widening chain INT → BIGINT → DECIMAL → DOUBLE.
    fn numeric_rank(&self) -> Option<u8> {
        Some(match self {
            SqlType::Int => 0,
            SqlType::BigInt => 1,
            SqlType::Decimal { .. } => 2,
            SqlType::Double => 3,
            _ => return None,
        })
    }

    /// Whether a value of `self` may be used where `to` is expected without an explicit
    /// CAST: equal types, NULL, numeric widening, and element-wise for containers.
    pub fn can_widen_to(&self, to: &SqlType) -> bool {
        if self == to || *self == SqlType::Null {
            return true;
        }
        match (self, to) {
            (SqlType::Decimal { .. }, SqlType::Decimal { .. }) => true,
            (a, b) if a.numeric_rank().is_some() && b.numeric_rank().is_some() => {
                a.numeric_rank() <= b.numeric_rank()
            }
            (SqlType::Array(a), SqlType::Array(b)) => a.can_widen_to(b),
            (SqlType::Map(ak, av), SqlType::Map(bk, bv)) => {
                ak.can_widen_to(bk) && av.can_widen_to(bv)
            }
            (SqlType::Struct(a), SqlType::Struct(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((an, at), (bn, bt))| an == bn && at.can_widen_to(bt))
            }
            _ => false,
        }
    }

    /// The narrowest type both `a` and `b` widen to, if any (used for CASE branches, IN
    /// lists, array and map constructors, COALESCE-like unification).
    pub fn common(a: &SqlType, b: &SqlType) -> Option<SqlType> {
        if a == b {
            return Some(a.clone());
        }
        match (a, b) {
            (SqlType::Null, t) | (t, SqlType::Null) => Some(t.clone()),
            (SqlType::Decimal { .. } | SqlType::Int | SqlType::BigInt, SqlType::Decimal { .. })
            | (SqlType::Decimal { .. }, SqlType::Int | SqlType::BigInt) => {
                let (p1, s1) = a.as_decimal()?;
                let (p2, s2) = b.as_decimal()?;
                let scale = s1.max(s2);
                let precision = ((p1 - s1).max(p2 - s2) + scale).min(MAX_DECIMAL_PRECISION);
                Some(SqlType::decimal(precision, scale))
            }
            (x, y) if x.numeric_rank().is_some() && y.numeric_rank().is_some() => {
                Some(if x.numeric_rank() > y.numeric_rank() {
                    x.clone()
                } else {
                    y.clone()
                })
            }
            (SqlType::Array(x), SqlType::Array(y)) => Some(SqlType::array(SqlType::common(x, y)?)),
            (SqlType::Map(xk, xv), SqlType::Map(yk, yv)) => Some(SqlType::map(
                SqlType::common(xk, yk)?,
                SqlType::common(xv, yv)?,
            )),
            (SqlType::Struct(x), SqlType::Struct(y)) if x.len() == y.len() => {
                let mut fields = Vec::new();
                for ((xn, xt), (yn, yt)) in x.iter().zip(y) {
                    if xn != yn {
                        return None;
                    }
                    fields.push((xn.clone(), SqlType::common(xt, yt)?));
                }
                Some(SqlType::Struct(fields))
            }
            _ => None,
        }
    }
}

impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::Int => f.write_str("INTEGER"),
            SqlType::BigInt => f.write_str("BIGINT"),
            SqlType::Double => f.write_str("DOUBLE"),
            SqlType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            SqlType::String => f.write_str("STRING"),
            SqlType::Bytes => f.write_str("BYTES"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::Timestamp => f.write_str("TIMESTAMP"),
            SqlType::Array(e) => write!(f, "ARRAY<{e}>"),
            SqlType::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            SqlType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, (n, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{n}` {t}")?;
                }
                f.write_str(">")
            }
            SqlType::Null => f.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_and_common_types() {
        assert!(SqlType::Int.can_widen_to(&SqlType::Double));
        assert!(!SqlType::Double.can_widen_to(&SqlType::Int));
        assert_eq!(
            SqlType::common(&SqlType::Int, &SqlType::decimal(4, 2)),
            Some(SqlType::decimal(12, 2))
        );
        assert_eq!(SqlType::common(&SqlType::Int, &SqlType::String), None);
        let s = SqlType::Struct(vec![("F0".into(), SqlType::array(SqlType::Int))]);
        assert_eq!(s.to_string(), "STRUCT<`F0` ARRAY<INTEGER>>");
    }
}
