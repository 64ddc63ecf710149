//! The analyzer's view of the aggregate functions (`COUNT`, `SUM`, `TOPK`...) and table
//! functions (`EXPLODE`, `CUBE_EXPLODE`): names, argument checks, result types and the text
//! `DESCRIBE FUNCTION` prints. Aggregate functions are defined beside their kernels
//! ([`crate::aggregate::DEFINITIONS`]); this module only reads them. The table functions'
//! kernels live with the flat-map operator, their typing rules here.

use brook_sql::SqlType;

use crate::aggregate::{def::signature_error, definition, DEFINITIONS};
use crate::functions::{Category, FunctionInfo, Variation};

/// Table functions by name.
pub const TABLE_FUNCTIONS: &[&str] = &["EXPLODE", "CUBE_EXPLODE"];

/// The names of all aggregate functions, as ksqlDB lists them.
pub fn aggregate_names() -> impl Iterator<Item = &'static str> {
    DEFINITIONS.iter().map(|d| d.name)
}

/// Whether `name` (upper case) is an aggregate function.
pub fn is_aggregate(name: &str) -> bool {
    definition(name).is_some()
}

/// How many leading arguments of an aggregate are per-row values; the rest must be literals.
pub fn column_args(name: &str) -> Option<usize> {
    definition(name)?.column_args
}

/// The per-group result type of aggregate `name` over arguments of these types.
pub fn aggregate_return_type(name: &str, args: &[SqlType]) -> Result<SqlType, String> {
    match definition(name) {
        Some(d) => d.resolve(args),
        None => Err(format!(
            "Can't find any aggregate function with the name '{name}'"
        )),
    }
}

/// The type of each value table function `name` produces.
pub fn table_function_return_type(name: &str, args: &[SqlType]) -> Result<SqlType, String> {
    match (name, args) {
        ("EXPLODE", [SqlType::Array(e)]) => Ok((**e).clone()),
        ("CUBE_EXPLODE", [SqlType::Array(e)]) => Ok(SqlType::array((**e).clone())),
        // ksqlDB's EXPLODE declares a DECIMAL overload beside the generic one, and its
        // message lists them by their Java parameter names.
        ("EXPLODE", _) => Err(format!(
            "{}\nValid alternatives are:\nexplode(ARRAY<DECIMAL> input)\nexplode(ARRAY<T> list)",
            signature_error(name, args, &[])
                .lines()
                .next()
                .unwrap_or_default()
        )),
        _ => Err(signature_error(name, args, &["input ARRAY<T>"])),
    }
}

/// What `DESCRIBE FUNCTION` shows for an aggregate or table function, None for other names.
pub fn describe(name: &str) -> Option<FunctionInfo> {
    let up = name.to_ascii_uppercase();
    if let Some(d) = definition(&up) {
        return Some(FunctionInfo {
            name: d.name.to_string(),
            aliases: vec![],
            category: Category::Aggregate,
            description: d.description.to_string(),
            variations: d
                .variations
                .iter()
                .map(|v| Variation {
                    signature: format!("{}({})", d.name, v.params),
                    returns: v.returns.to_string(),
                    description: Some(v.description.to_string()),
                })
                .collect(),
            volatile: false,
        });
    }
    let (description, variations): (&str, &[(&str, &str, &str)]) = match up.as_str() {
        "EXPLODE" => (
            "Explodes an array. This function outputs one value for each element of the array.",
            &[(
                "list ARRAY<T>",
                "T",
                "Outputs one row for each element of the array, of the element's type.",
            )],
        ),
        "CUBE_EXPLODE" => (
            "Takes as argument a list of columns and outputs all possible combinations of them.",
            &[(
                "columns ARRAY<T>",
                "ARRAY<T>",
                "Outputs one row for each combination of the array's elements with NULL in their place.",
            )],
        ),
        _ => return None,
    };
    Some(FunctionInfo {
        name: up.clone(),
        aliases: vec![],
        category: Category::Table,
        description: description.to_string(),
        variations: variations
            .iter()
            .map(|(params, returns, text)| Variation {
                signature: format!("{up}({params})"),
                returns: returns.to_string(),
                description: Some(text.to_string()),
            })
            .collect(),
        volatile: false,
    })
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

    #[test]
    fn signature_errors_list_the_alternatives() {
        let e = aggregate_return_type("AVG", &[SqlType::String]).unwrap_err();
        assert_eq!(
            e,
            "Function 'avg' does not accept parameters (STRING).\nValid alternatives are:\nAVG(val NUMERIC)"
        );
        let e = aggregate_return_type("TOPK", &[SqlType::Int]).unwrap_err();
        assert!(e.ends_with("TOPK(val T, k INT)"), "{e}");
    }

    #[test]
    fn every_aggregate_and_table_function_is_described() {
        for name in aggregate_names().chain(TABLE_FUNCTIONS.iter().copied()) {
            let info = describe(name).unwrap_or_else(|| panic!("{name} undescribed"));
            assert_eq!(info.name, name);
            assert!(!info.description.is_empty(), "{name}");
            assert!(!info.variations.is_empty(), "{name}");
        }
        let topk = describe("topk").unwrap();
        assert_eq!(topk.category, Category::Aggregate);
        assert_eq!(topk.variations[0].signature, "TOPK(val T, k INT)");
        assert_eq!(topk.variations[0].returns, "ARRAY<T>");
        assert_eq!(describe("EXPLODE").unwrap().category, Category::Table);
        assert!(describe("UCASE").is_none());
    }
}
