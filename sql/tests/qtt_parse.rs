//! Conformance: every statement of ksqlDB's query-validation test files parses, and prints
//! back as SQL that parses to an equal tree.
//!
//! The files are read at run time from `../shared/qtt/` beside the repository (they are not
//! copied into it). Cases without `expectedException` (or `expectedError`, in the REST files)
//! must all parse; for cases that expect an exception, the test only counts how many the parser already rejects.
//!
//! Run with `--nocapture` to see the counts.

use std::path::{Path, PathBuf};

use brook_sql::{parse_statement, parse_statements, Statement};

fn qtt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("..")
        .join("shared")
        .join("qtt")
}

/// Removes `//` comments outside JSON strings (the files carry some).
fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut in_str = false;
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

struct Case {
    file: String,
    name: String,
    statements: Vec<String>,
    expects_exception: bool,
}

fn load_cases() -> Vec<Case> {
    let dir = qtt_dir();
    assert!(
        dir.is_dir(),
        "the ksqlDB conformance files are missing: expected them in {} (shared/qtt beside the repository)",
        dir.display()
    );
    let mut files = Vec::new();
    json_files(&dir, &mut files);
    assert!(!files.is_empty(), "no .json files under {}", dir.display());
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let v: serde_json::Value = serde_json::from_str(&strip_comments(&text))
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f
            .strip_prefix(&dir)
            .unwrap_or(&f)
            .to_string_lossy()
            .into_owned();
        let Some(tests) = v.get("tests").and_then(|t| t.as_array()) else {
            continue;
        };
        for t in tests {
            let name = t["name"].as_str().unwrap_or("?").to_string();
            let stmts: Vec<String> = t["statements"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let formats: Vec<Option<String>> = match t.get("format").and_then(|f| f.as_array()) {
                Some(fs) if !fs.is_empty() => {
                    fs.iter().map(|f| f.as_str().map(str::to_string)).collect()
                }
                _ => vec![None],
            };
            for fmt in formats {
                let statements = stmts
                    .iter()
                    .map(|s| match &fmt {
                        Some(f) => s.replace("{FORMAT}", f),
                        None => s.clone(),
                    })
                    .collect();
                cases.push(Case {
                    file: file.clone(),
                    name: match &fmt {
                        Some(f) => format!("{name} [{f}]"),
                        None => name.clone(),
                    },
                    statements,
                    // REST files say `expectedError` for the same thing.
                    expects_exception: t.get("expectedException").is_some()
                        || t.get("expectedError").is_some(),
                });
            }
        }
    }
    cases
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
