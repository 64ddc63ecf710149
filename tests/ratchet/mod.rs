//! The conformance ratchet shared by tests/qtt_ratchet.rs, tests/qtt_rest_ratchet.rs and
//! tests/qtt_rest_http_ratchet.rs: runs every case of one folder of ksqlDB's conformance
//! files (read at run time from `../shared/qtt`; nothing of them is copied here) — in this
//! process, or over HTTP through the real binary (`brook test --http`) — and fails when a
//! case its list names no longer passes. Cases that pass but are not listed are printed as
//! lines to add; with `BROOK_QTT_UPDATE=1` the list is rewritten with every case that passes
//! now.

use std::collections::BTreeSet;
use std::path::Path;

use brook_engine::conformance::{run_case, Outcome};

/// What one ratchet checks.
pub struct Ratchet {
    /// How its lines name the cases (`conformance`, `REST conformance`).
    pub label: &'static str,
    /// The folder of `../shared/qtt` it runs.
    pub folder: &'static str,
    /// The list of passing cases, from the repository root.
    pub list: &'static str,
    /// The test target, for the regeneration hint.
    pub target: &'static str,
    /// Run the cases with `brook test --http` (a server per case, statements over HTTP)
    /// instead of in this process.
    pub over_http: bool,
}

/// Every case of `folder` run by `brook test --http`: `(file :: case, outcome)`.
fn run_over_http(folder: &Path) -> Vec<(String, Outcome)> {
    let out = tempfile::tempdir().expect("a temporary directory");
    let json = out.path().join("results.json");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_brook"))
        .args(["test", "--http", "--quiet", "--json"])
        .arg(&json)
        .arg(folder)
        .current_dir(out.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("brook runs");
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("brook test --http ({status}) wrote no results: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("results are JSON");
    doc["results"]
        .as_array()
        .expect("a results list")
        .iter()
        .map(|r| {
            let id = format!(
                "{} :: {}",
                r["file"].as_str().unwrap_or_default(),
                r["case"].as_str().unwrap_or_default()
            );
            let reason = r["reason"].as_str().unwrap_or_default().to_string();
            let outcome = match r["status"].as_str() {
                Some("PASS") => Outcome::Pass,
                Some("SKIP") => Outcome::Skip(reason),
                _ => Outcome::Fail(reason),
            };
            (id, outcome)
        })
        .collect()
}

impl Ratchet {
    pub fn check(&self) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let qtt = brook_qtt::locate(root).expect(
            "the ksqlDB conformance files are missing: expected shared/qtt beside the repository",
        );
        let cases = brook_qtt::load_cases(&qtt.join(self.folder)).expect("readable case files");
        assert!(!cases.is_empty(), "no {} cases found", self.label);

        let list_path = root.join(self.list);
        let text = std::fs::read_to_string(&list_path).unwrap_or_default();
        let listed: BTreeSet<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();

        let mut passing = BTreeSet::new();
        let mut failures = Vec::new();
        let results: Vec<(String, Outcome)> = if self.over_http {
            run_over_http(&qtt.join(self.folder))
        } else {
            cases
                .iter()
                .map(|case| {
                    let r = run_case(case);
                    (r.id(), r.outcome)
                })
                .collect()
        };
        for (id, outcome) in results {
            // Lines of the list are trimmed, and a few case names end in spaces.
            let id = id.trim().to_string();
            match outcome {
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
        let list = self.list;
        println!(
            "{}: {} of {} cases pass ({} listed in {list})",
            self.label,
            passing.len(),
            cases.len(),
            listed.len()
        );
        if std::env::var_os("BROOK_QTT_UPDATE").is_some() {
            let mut out = format!(
                "# {} cases that pass (`file :: case`); tests/{}.rs fails when one stops passing.\n# Regenerate with: BROOK_QTT_UPDATE=1 cargo test --test {}\n",
                self.label, self.target, self.target
            );
            for p in &passing {
                out.push_str(p);
                out.push('\n');
            }
            std::fs::write(&list_path, out).expect("write the list");
            println!("rewrote {list} with {} cases", passing.len());
            return;
        }
        if !new.is_empty() {
            println!(
                "{} cases pass that {list} does not list; add them:",
                new.len()
            );
            for n in &new {
                println!("{n}");
            }
        }
        assert!(
            failures.is_empty() && vanished.is_empty(),
            "{} listed {} cases no longer pass:\n{}\n{} listed cases no longer exist: {:?}",
            failures.len(),
            self.label,
            failures.join("\n"),
            vanished.len(),
            vanished
        );
    }
}
