//! The REST conformance ratchet: runs every case of ksqlDB's REST files
//! (`../shared/qtt/rest-query-validation-tests`: pull and push queries, INSERT VALUES, whose
//! responses are checked) and fails when a case listed in `tests/qtt-rest-passing.txt` no
//! longer passes. Cases that pass but are not listed are printed as lines to add (or run with
//! `BROOK_QTT_UPDATE=1` to rewrite the file with every case that passes now). The files are
//! read at run time; nothing of them is copied here.

use std::collections::BTreeSet;
use std::path::Path;

use brook_engine::conformance::{run_case, Outcome};

const LIST: &str = "tests/qtt-rest-passing.txt";

#[test]
fn listed_rest_conformance_cases_still_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let qtt = brook_qtt::locate(root).expect(
        "the ksqlDB conformance files are missing: expected shared/qtt beside the repository",
    );
    let cases = brook_qtt::load_cases(&qtt.join("rest-query-validation-tests"))
        .expect("readable case files");
    assert!(!cases.is_empty(), "no REST conformance cases found");

    let list_path = root.join(LIST);
    let text = std::fs::read_to_string(&list_path).unwrap_or_default();
    let listed: BTreeSet<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();

    let mut passing = BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        let r = run_case(case);
        let id = r.id().trim().to_string();
        match r.outcome {
            Outcome::Pass => {
                passing.insert(id);
            }
            Outcome::Fail(why) if listed.contains(&id) => {
                failures.push(format!("{id}\n    {}", why.replace('\n', "\n    ")))
            }
            Outcome::Skip(why) if listed.contains(&id) => {
                failures.push(format!("{id}\n    now skipped: {why}"))
            }
            _ => {}
        }
    }
    let known: BTreeSet<String> = cases
        .iter()
        .map(|c| format!("{} :: {}", c.file, c.name).trim().to_string())
        .collect();
    let vanished: Vec<&String> = listed.iter().filter(|l| !known.contains(*l)).collect();
    let new: Vec<&String> = passing.difference(&listed).collect();
    println!(
        "REST conformance: {} of {} cases pass ({} listed in {LIST})",
        passing.len(),
        cases.len(),
        listed.len()
    );
    if std::env::var_os("BROOK_QTT_UPDATE").is_some() {
        let mut out = String::from("# REST conformance cases that pass (`file :: case`); tests/qtt_rest_ratchet.rs fails when one stops passing.\n# Regenerate with: BROOK_QTT_UPDATE=1 cargo test --test qtt_rest_ratchet\n");
        for p in &passing {
            out.push_str(p);
            out.push('\n');
        }
        std::fs::write(&list_path, out).expect("write the list");
        println!("rewrote {LIST} with {} cases", passing.len());
        return;
    }
    if !new.is_empty() {
        println!(
            "{} cases pass that {LIST} does not list; add them:",
            new.len()
        );
        for n in &new {
            println!("{n}");
        }
    }
    assert!(
        failures.is_empty() && vanished.is_empty(),
        "{} listed REST conformance cases no longer pass:\n{}\n{} listed cases no longer exist: {:?}",
        failures.len(),
        failures.join("\n"),
        vanished.len(),
        vanished
    );
}
