//! Conformance: every statement of ksqlDB's query-validation test files parses, and prints
//! back as SQL that parses to an equal tree.
//!
//! The files are read at run time from `../shared/qtt/` beside the repository (they are not
//! copied into it). Cases without `expectedException` (or `expectedError`, in the REST files)
//! must all parse; for cases that expect an exception, the test only counts how many the parser already rejects.
//!
//! Run with `--nocapture` to see the counts.

use std::path::Path;

use brook_sql::{parse_statement, parse_statements, Statement};

struct Case {
    file: String,
    name: String,
    statements: Vec<String>,
    expects_exception: bool,
}

fn load_cases() -> Vec<Case> {
    let dir = brook_qtt::locate(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|| {
        panic!(
            "the ksqlDB conformance files are missing: expected shared/qtt beside the repository"
        )
    });
    let cases = brook_qtt::load_cases(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(!cases.is_empty(), "no cases under {}", dir.display());
    cases
        .into_iter()
        .map(|c| Case {
            expects_exception: c.expected_error().is_some(),
            file: c.file,
            name: c.name,
            statements: c.statements,
        })
        .collect()
}

#[test]
fn qtt_statements_parse_and_round_trip() {
    let cases = load_cases();
    let mut ok_stmts = 0usize;
    let mut total_stmts = 0usize;
    let mut failures = Vec::new();
    let mut roundtrip_ok = 0usize;
    let mut roundtrip_failures = Vec::new();
    let mut exc_cases = 0usize;
    let mut exc_rejected = 0usize;
    let mut ok_cases = 0usize;

    for case in &cases {
        if case.expects_exception {
            exc_cases += 1;
            if case.statements.iter().any(|s| parse_statements(s).is_err()) {
                exc_rejected += 1;
            }
            continue;
        }
        ok_cases += 1;
        for s in &case.statements {
            total_stmts += 1;
            match parse_statements(s) {
                Ok(parsed) => {
                    ok_stmts += 1;
                    for st in parsed {
                        match round_trip(&st) {
                            Ok(()) => roundtrip_ok += 1,
                            Err(e) => roundtrip_failures.push(format!(
                                "{} / {}:\n  input:   {s}\n  {e}",
                                case.file, case.name
                            )),
                        }
                    }
                }
                Err(e) => failures.push(format!(
                    "{} / {}:\n{}",
                    case.file,
                    case.name,
                    e.render(s, "statement")
                )),
            }
        }
    }

    println!(
        "qtt cases: {} ({} expect success, {} expect an exception)",
        cases.len(),
        ok_cases,
        exc_cases
    );
    println!("accepted statements parsed: {ok_stmts} / {total_stmts}");
    println!(
        "expected-exception cases already rejected by the parser: {exc_rejected} / {exc_cases}"
    );
    println!(
        "round trips: {roundtrip_ok} / {}",
        roundtrip_ok + roundtrip_failures.len()
    );
    let mut report = String::new();
    if !failures.is_empty() {
        report += &format!("\n{} statements failed to parse:\n", failures.len());
        for f in failures.iter().take(60) {
            report += &format!("{f}\n\n");
        }
    }
    if !roundtrip_failures.is_empty() {
        report += &format!(
            "\n{} statements failed the round trip:\n",
            roundtrip_failures.len()
        );
        for f in roundtrip_failures.iter().take(40) {
            report += &format!("{f}\n\n");
        }
    }
    assert!(report.is_empty(), "{report}");
}

/// Prints `st`, parses the text again, and compares (spans never take part in equality).
fn round_trip(st: &Statement) -> Result<(), String> {
    let printed = st.to_string();
    match parse_statement(&printed) {
        Ok(again) if &again == st => Ok(()),
        Ok(again) => Err(format!(
            "printed: {printed}\n  reprint: {again}\n  differs: {:?}\n   vs     {:?}",
            st.kind, again.kind
        )),
        Err(e) => Err(format!(
            "printed text does not parse:\n{}",
            e.render(&printed, "printed")
        )),
    }
}
