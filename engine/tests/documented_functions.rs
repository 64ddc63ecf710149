//! Every function ksqlDB's reference documents (docs/ksqldb-functions.txt, one `NAME KIND`
//! per line) exists in Brook under the same kind: scalar functions in the
//! `FunctionRegistry` (so `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` know them), aggregate and
//! table functions in the engine's function catalog, and the three documented as syntax
//! (`CAST`, `ARRAY[...]`, `MAP(...)`) in the parser. A missing one fails the test, which
//! prints every missing name.

use brook_engine::catalog::EngineFunctions;
use brook_engine::functions::FunctionRegistry;
use brook_sql::analyzer::{FunctionCatalog, FunctionKind};

const LIST: &str = include_str!("../../docs/ksqldb-functions.txt");

fn documented() -> Vec<(&'static str, &'static str)> {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next().expect("a name");
            let kind = parts.next().unwrap_or_else(|| panic!("no kind for {name}"));
            assert!(parts.next().is_none(), "extra text on line {l:?}");
            (name, kind)
        })
        .collect()
}

/// How a documented syntactic form is written, for the parser to accept.
fn syntax_example(name: &str) -> &'static str {
    match name {
        "CAST" => "CAST('1' AS BIGINT)",
        "ARRAY" => "ARRAY[1, 2, 3]",
        "MAP" => "MAP('a' := 1, 'b' := 2)",
        other => panic!("no example of the syntax {other}"),
    }
}

#[test]
fn the_list_is_well_formed() {
    let list = documented();
    assert!(
        list.len() > 140,
        "only {} documented functions read",
        list.len()
    );
    let mut seen = std::collections::HashSet::new();
    for (name, kind) in &list {
        assert!(seen.insert(*name), "{name} is listed twice");
        assert_eq!(*name, name.to_ascii_uppercase(), "{name} is not upper case");
        assert!(
            matches!(*kind, "scalar" | "aggregate" | "table" | "syntax"),
            "{name}: unknown kind {kind}"
        );
    }
}

#[test]
fn brook_has_every_documented_function() {
    let registry = FunctionRegistry::new();
    let catalog = EngineFunctions::new();
    let mut missing = Vec::new();
    for (name, kind) in documented() {
        let found = match kind {
            "scalar" => {
                registry.contains(name)
                    && registry.describe(name).is_some()
                    && catalog.kind(name) == Some(FunctionKind::Scalar)
            }
            "aggregate" => catalog.kind(name) == Some(FunctionKind::Aggregate),
            "table" => catalog.kind(name) == Some(FunctionKind::Table),
            "syntax" => brook_sql::parse_expression(syntax_example(name)).is_ok(),
            _ => false,
        };
        if !found {
            missing.push(format!("{name} ({kind})"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} documented ksqlDB functions are missing from Brook:\n  {}",
        missing.len(),
        missing.join("\n  ")
    );
}
