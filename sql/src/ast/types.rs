//! SQL types as written in column lists, `CAST`, `CREATE TYPE` and `ALTER ... ADD COLUMN`.

use std::fmt;

use super::ident::Ident;

/// A ksqlDB type. Names are resolved by the parser (`INT` and `INTEGER` are both
/// [`Type::Int`], `STRING` and `VARCHAR` both [`Type::String`]); any other name is a
/// [`Type::Custom`] type registered with `CREATE TYPE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Type {
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
    Array(Box<Type>),
    Map(Box<Type>, Box<Type>),
    Struct(Vec<StructField>),
    /// A name given to a type with `CREATE TYPE`.
    Custom(Ident),
}

/// One field of a `STRUCT<...>` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StructField {
    pub name: Ident,
    pub ty: Type,
}

impl Type {
    /// The built-in type a base type name denotes (case-insensitive), if any. `DECIMAL`
    /// needs its precision and scale and is not covered here.
    pub fn from_base_name(upper: &str) -> Option<Type> {
        Some(match upper {
            "BOOLEAN" => Type::Boolean,
            "INT" | "INTEGER" => Type::Int,
            "BIGINT" => Type::BigInt,
            "DOUBLE" => Type::Double,
            "STRING" | "VARCHAR" => Type::String,
            "BYTES" => Type::Bytes,
            "DATE" => Type::Date,
            "TIME" => Type::Time,
            "TIMESTAMP" => Type::Timestamp,
            _ => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Boolean => f.write_str("BOOLEAN"),
            Type::Int => f.write_str("INTEGER"),
            Type::BigInt => f.write_str("BIGINT"),
            Type::Double => f.write_str("DOUBLE"),
            Type::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            Type::String => f.write_str("STRING"),
            Type::Bytes => f.write_str("BYTES"),
            Type::Date => f.write_str("DATE"),
            Type::Time => f.write_str("TIME"),
            Type::Timestamp => f.write_str("TIMESTAMP"),
            Type::Array(t) => write!(f, "ARRAY<{t}>"),
            Type::Map(k, v) => write!(f, "MAP<{k}, {v}>"),
            Type::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} {}", field.name, field.ty)?;
                }
                f.write_str(">")
            }
            Type::Custom(name) => write!(f, "{name}"),
        }
    }
}
