//! Conformance of the analyzer: every statement of ksqlDB's query-validation test files is
//! parsed and analyzed in order against a catalog built from the case's earlier statements
//! (and the schemas its `topics` register), with the engine's function catalog.
//!
//! Cases without `expectedException` must all be accepted. For cases with one (or with the
//! REST files' `expectedError`), the test counts how many are rejected with a message that
//! contains the expected text. Run with `--nocapture` to see the counts:
//! `accepted: N/M, expected rejections matched: K/L`.
//!
//! Some cases call functions that ksqlDB's functional-test harness loads from its own test
//! sources (`TEST_UDF`, `TEST_UDTF`, `TEST_UDAF`, `BAD_UDF`, `VAR_ARG`...). The catalog is
//! therefore [`EngineFunctions::with_conformance_test_functions`], which adds their
//! signatures (see `brook_engine::catalog::test_functions`); they are not Brook functions.
//!
//! The files are read at run time from `../shared/qtt/` beside the repository.

use std::path::Path;

use brook_engine::catalog::EngineFunctions;
use brook_engine::conformance::schemas::convert_schema;
use brook_sql::analyzer::{Analyzer, RegisteredSchema};
use brook_sql::parse_statements;
use serde_json::Value;

struct Case {
    file: String,
    name: String,
    statements: Vec<String>,
    /// The message an expected exception must contain (`Some("")` when none is given).
    expected_error: Option<String>,
    properties: Vec<(String, String)>,
    /// `(topic, is_key, schema)`.
    schemas: Vec<(String, bool, RegisteredSchema)>,
}

fn load_cases() -> Vec<Case> {
    let dir = brook_qtt::locate(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|| {
        panic!(
            "the ksqlDB conformance files are missing: expected shared/qtt beside the repository"
        )
    });
    let variants = brook_qtt::load_cases(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!variants.is_empty(), "no cases under {}", dir.display());
    let mut cases = Vec::new();
    for v in variants {
        let t = &v.case;
        let expected_error = v.expected_error().map(|e| {
            e.get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("")
                .to_string()
        });
        let properties: Vec<(String, String)> = t
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut schemas = Vec::new();
        for topic in t
            .get("topics")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
        {
            let tname = topic["name"].as_str().unwrap_or("").to_string();
            for (key, field, fmt_field) in [
                (true, "keySchema", "keyFormat"),
                (false, "valueSchema", "valueFormat"),
            ] {
                let Some(schema) = topic.get(field) else {
                    continue;
                };
                let format = topic
                    .get(fmt_field)
                    .and_then(|f| f.as_str())
                    .map(str::to_string)
                    .or_else(|| v.format.clone())
                    .unwrap_or_else(|| "AVRO".into());
                if let Some(s) = convert_schema(&format, schema, topic) {
                    schemas.push((tname.clone(), key, s));
                }
            }
        }
        cases.push(Case {
            file: v.file,
            name: v.name,
            statements: v.statements,
            expected_error,
            properties,
            schemas,
        });
    }
    cases
}

// ---- the test -------------------------------------------------------------------------------

/// Runs a case's statements; the first error (parse or analysis), if any.
fn run_case(case: &Case) -> Result<(), (usize, String)> {
    let mut a = Analyzer::new(EngineFunctions::with_conformance_test_functions());
    for (k, v) in &case.properties {
        a.set_property(k, v);
    }
    for (topic, key, schema) in &case.schemas {
        a.catalog_mut().register_schema(topic, *key, schema.clone());
    }
    for (i, s) in case.statements.iter().enumerate() {
        let sts =
            parse_statements(s).map_err(|e| (i, format!("parse: {}", e.render(s, "stmt"))))?;
        for st in sts {
            a.analyze(&st).map_err(|e| (i, e.render(s, "stmt")))?;
        }
    }
    Ok(())
}

#[test]
fn qtt_statements_analyze() {
    let cases = load_cases();
    let (mut ok, mut total) = (0usize, 0usize);
    let (mut matched, mut rejected, mut expect_err) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    for case in &cases {
        let r = run_case(case);
        match &case.expected_error {
            None => {
                total += 1;
                match r {
                    Ok(()) => ok += 1,
                    Err((i, e)) => failures.push(format!(
                        "{} / {}\n  statement {}: {}\n  {}",
                        case.file,
                        case.name,
                        i + 1,
                        case.statements[i],
                        e.replace('\n', "\n  ")
                    )),
                }
            }
            Some(expected) => {
                expect_err += 1;
                match r {
                    Err((_, e)) => {
                        rejected += 1;
                        if e.contains(expected.as_str()) {
                            matched += 1;
                        } else {
                            mismatches.push(format!(
                                "{} / {}\n  expected: {}\n  got: {}",
                                case.file,
                                case.name,
                                expected.replace('\n', "\\n"),
                                e.replace('\n', "\\n")
                            ));
                        }
                    }
                    Ok(()) => mismatches.push(format!(
                        "{} / {}\n  expected: {}\n  got: accepted",
                        case.file,
                        case.name,
                        expected.replace('\n', "\\n")
                    )),
                }
            }
        }
    }
    if std::env::var_os("QTT_SHOW_MISMATCHES").is_some() {
        println!("\n{} expected rejections not matched:\n", mismatches.len());
        for m in &mismatches {
            println!("{m}\n");
        }
    }
    println!("\n{} valid cases rejected:\n", failures.len());
    for f in failures.iter().take(400) {
        println!("{f}\n");
    }
    // No case is skipped: every function the files call is either a built-in or one of
    // the harness's test functions, whose signatures `with_conformance_test_functions` has.
    println!(
        "accepted: {ok}/{total}, expected rejections matched: {matched}/{expect_err} (expected rejections rejected at all: {rejected})"
    );
    assert!(
        failures.is_empty(),
        "{} valid cases were rejected (listed above)",
        failures.len()
    );
}
