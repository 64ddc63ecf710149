//! Every function ksqlDB's reference documents (docs/ksqldb-functions.txt, one `NAME KIND`
//! per line) exists in Brook under the same kind: scalar functions in the
//! `FunctionRegistry` (so `SHOW FUNCTIONS` and `DESCRIBE FUNCTION` know them), aggregate and
//! table functions in the engine's function catalog, and the three documented as syntax
//! (`CAST`, `ARRAY[...]`, `MAP(...)`) in the parser; and `SHOW FUNCTIONS` lists each of them
//! with its kind. A missing one fails the test, which prints every missing name.

use brook_engine::catalog::EngineFunctions;
use brook_engine::functions::FunctionRegistry;
use brook_engine::runtime::{Engine, EngineOptions, Listing, StatementResult};
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

#[test]
fn show_functions_lists_every_documented_function_with_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        processing_log_stream: false,
        ..EngineOptions::default()
    };
    let mut engine = Engine::open(dir.path(), options).unwrap();
    let results = engine.execute("SHOW FUNCTIONS;").unwrap();
    let [StatementResult::Listing(Listing::Functions(listed))] = results.as_slice() else {
        panic!("SHOW FUNCTIONS gave {results:?}");
    };
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted, "SHOW FUNCTIONS is sorted, each name once");
    let mut missing = Vec::new();
    for (name, kind) in documented().into_iter().filter(|(_, k)| *k != "syntax") {
        let shown = listed.iter().find(|f| f.name == name);
        match shown {
            Some(f) if f.kind.eq_ignore_ascii_case(kind) => {}
            Some(f) => missing.push(format!("{name}: listed as {} not {kind}", f.kind)),
            None => missing.push(format!("{name} ({kind}) not listed")),
        }
    }
    assert!(
        missing.is_empty(),
        "SHOW FUNCTIONS:\n  {}",
        missing.join("\n  ")
    );
    let count = listed.iter().find(|f| f.name == "COUNT").unwrap();
    assert_eq!(count.category, "AGGREGATE");
    let substring = listed.iter().find(|f| f.name == "SUBSTRING").unwrap();
    assert_eq!(substring.category, "STRING");
}
