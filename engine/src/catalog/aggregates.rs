//! Typing rules of ksqlDB's aggregate functions (`COUNT`, `SUM`, `LATEST_BY_OFFSET`,
//! `TOPK`...) and table functions (`EXPLODE`, `CUBE_EXPLODE`): argument checks and result
//! types as ksqlDB documents them. The analyzer reaches them through
//! [`super::EngineFunctions`].

use brook_sql::SqlType;

/// Aggregate functions by name.
pub const AGGREGATES: &[&str] = &[
    "COUNT",
    "COUNT_DISTINCT",
    "SUM",
    "MIN",
    "MAX",
    "AVG",
    "COLLECT_LIST",
    "COLLECT_SET",
    "LATEST_BY_OFFSET",
    "EARLIEST_BY_OFFSET",
    "TOPK",
    "TOPKDISTINCT",
    "HISTOGRAM",
    "STDDEV_SAMP",
    "STDDEV_SAMPLE",
    "VARIANCE",
    "CORRELATION",
    "ATTR",
    "SUM_LIST",
];

/// Table functions by name.
pub const TABLE_FUNCTIONS: &[&str] = &["EXPLODE", "CUBE_EXPLODE"];

fn sig_error(name: &str, args: &[SqlType], valid: &[&str]) -> String {
    format!(
        "Function '{}' does not accept parameters ({}).\nValid alternatives are:\n{}",
        name.to_lowercase(),
        args.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        valid
            .iter()
            .map(|v| format!("{name}({v})"))
            .collect::<Vec<_>>()
            .join("\n")
    )
}

/// How many leading arguments of an aggregate are per-row values; the rest must be literals.
pub fn column_args(name: &str) -> Option<usize> {
    match name {
        "TOPK" | "TOPKDISTINCT" | "LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET" | "HISTOGRAM" => {
            Some(1)
        }
        _ => None,
    }
}

/// The per-group result type of aggregate `name` over arguments of these types.
pub fn aggregate_return_type(name: &str, args: &[SqlType]) -> Result<SqlType, String> {
    use SqlType as T;
    let a0 = args.first();
    let comparable = |t: &SqlType| {
        t.is_numeric()
            || matches!(
                t,
                T::String | T::Bytes | T::Date | T::Time | T::Timestamp | T::Boolean
            )
    };
    let r = match (name, args) {
        ("COUNT", [] | [_]) => T::BigInt,
        ("COUNT_DISTINCT", [t]) if t.is_primitive() => T::BigInt,
        ("SUM", [t]) if t.is_numeric() => t.clone(),
        ("SUM", [T::Null]) => T::Int,
        ("MIN" | "MAX", [t]) if comparable(t) => t.clone(),
        ("AVG", [t]) if t.is_numeric() => T::Double,
        ("COLLECT_LIST" | "COLLECT_SET", [t]) if *t != T::Null => T::array(t.clone()),
        ("LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET", [t]) => t.clone(),
        ("LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET", [t, T::Boolean]) => t.clone(),
        ("LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET", [t, n]) if n.is_integer() => {
            T::array(t.clone())
        }
        ("LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET", [t, n, T::Boolean]) if n.is_integer() => {
            T::array(t.clone())
        }
        ("TOPK" | "TOPKDISTINCT", [t, n]) if n.is_integer() && comparable(t) => T::array(t.clone()),
        ("TOPK", [t, n, rest @ ..]) if n.is_integer() && comparable(t) => {
            let mut fields = vec![("SORT_COL".to_string(), t.clone())];
            for (i, r) in rest.iter().enumerate() {
                fields.push((format!("COL{i}"), r.clone()));
            }
            T::array(T::Struct(fields))
        }
        ("HISTOGRAM", [T::String]) => T::map(T::String, T::BigInt),
        ("STDDEV_SAMP" | "STDDEV_SAMPLE" | "VARIANCE", [t]) if t.is_numeric() => T::Double,
        ("CORRELATION", [x, y]) if x.is_numeric() && y.is_numeric() => T::Double,
        ("ATTR", [t]) => t.clone(),
        ("SUM_LIST", [T::Array(e)]) if matches!(**e, T::Int | T::BigInt | T::Double) => {
            (**e).clone()
        }
        _ => {
            let valid: &[&str] = match name {
                "COUNT" => &["", "val ANY"],
                "SUM" => &["val INT", "val BIGINT", "val DOUBLE", "val DECIMAL"],
                "AVG" | "STDDEV_SAMP" | "STDDEV_SAMPLE" | "VARIANCE" => &["val NUMERIC"],
                "TOPK" | "TOPKDISTINCT" => &["val T, k INT"],
                "LATEST_BY_OFFSET" | "EARLIEST_BY_OFFSET" => &[
                    "val T",
                    "val T, ignoreNulls BOOLEAN",
                    "val T, n INT",
                    "val T, n INT, ignoreNulls BOOLEAN",
                ],
                "HISTOGRAM" => &["val VARCHAR"],
                "CORRELATION" => &["x DOUBLE, y DOUBLE"],
                "SUM_LIST" => &["val ARRAY<INT>", "val ARRAY<BIGINT>", "val ARRAY<DOUBLE>"],
                _ => &["val T"],
            };
            return Err(sig_error(name, args, valid));
        }
    };
    let _ = a0;
    Ok(r)
}

/// The type of each value table function `name` produces.
pub fn table_function_return_type(name: &str, args: &[SqlType]) -> Result<SqlType, String> {
    match (name, args) {
        ("EXPLODE", [SqlType::Array(e)]) => Ok((**e).clone()),
        ("CUBE_EXPLODE", [SqlType::Array(e)]) => Ok(SqlType::array((**e).clone())),
        // ksqlDB's EXPLODE declares a DECIMAL overload beside the generic one, and its
        // message lists them by their Java parameter names.
        ("EXPLODE", _) => {
            Err(format!(
            "{}\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)",
            sig_error(name, args, &[]).lines().next().unwrap_or_default()
        ))
        }
        _ => Err(sig_error(name, args, &["input ARRAY<T>"])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_types() {
        assert_eq!(
            aggregate_return_type("COUNT", &[]).unwrap(),
            SqlType::BigInt
        );
        assert_eq!(
            aggregate_return_type("SUM", &[SqlType::Int]).unwrap(),
            SqlType::Int
        );
        assert_eq!(
            aggregate_return_type("LATEST_BY_OFFSET", &[SqlType::String, SqlType::Int]).unwrap(),
            SqlType::array(SqlType::String)
        );
        assert!(aggregate_return_type("SUM", &[SqlType::String]).is_err());
        let e =
            table_function_return_type("EXPLODE", &[SqlType::map(SqlType::String, SqlType::Int)])
                .unwrap_err();
        assert!(
            e.contains("Function 'explode' does not accept parameters (MAP<STRING, INTEGER>)."),
            "{e}"
        );
    }
}
