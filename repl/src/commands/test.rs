//! `brook test PATH...`: runs ksqlDB-format conformance files (files or directories; REST
//! cases, with `responses` to check, run as `brook_engine::conformance::rest` runs them) and
//! prints one line per case (`PASS|FAIL|SKIP <file> :: <case> [:: reason]`, the reason of a
//! failure below it, expected vs actual), a summary per file and the closing line
//! `N passed, M failed, K skipped`. `--json FILE` writes every result. `--http` runs REST
//! cases against a real server over HTTP (see `brook_server::conformance`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use brook_engine::conformance::{run_case, CaseResult, Outcome};
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Conformance files, or directories searched for `*.json` files.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Write every result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run only cases whose `file :: name` contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print only failures and the summaries.
    #[arg(long)]
    pub quiet: bool,
    /// Send REST cases' statements over HTTP to a fresh `brook server` per case (started
    /// in this process on a loopback port), checking the wire format itself.
    #[arg(long)]
    pub http: bool,
}

/// Counts of one file or of the whole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Tally {
    fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Skip(_) => self.skipped += 1,
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Prints one result.
pub fn print_result(out: &mut impl Write, r: &CaseResult, quiet: bool) -> std::io::Result<()> {
    match &r.outcome {
        Outcome::Pass if !quiet => writeln!(out, "PASS {} :: {}", r.file, r.name),
        Outcome::Pass => Ok(()),
        Outcome::Skip(why) if !quiet => writeln!(out, "SKIP {} :: {} :: {why}", r.file, r.name),
        Outcome::Skip(_) => Ok(()),
        Outcome::Fail(why) => {
            let mut lines = why.lines();
            let first = lines.next().unwrap_or("");
            writeln!(out, "FAIL {} :: {} :: {first}", r.file, r.name)?;
            for l in lines {
                writeln!(out, "    {l}")?;
            }
            Ok(())
        }
    }
}

pub fn run(args: TestArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut cases = Vec::new();
    for p in &args.paths {
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
        let found = brook_qtt_load(p)?;
        if found.is_empty() {
            bail!(
                "{}: no test cases found (expected a JSON file with a `tests` list)",
                p.display()
            );
        }
        cases.extend(found);
    }
    if let Some(f) = &args.filter {
        cases.retain(|c| format!("{} :: {}", c.file, c.name).contains(f.as_str()));
    }
    let runtime = if args.http {
        Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the HTTP runtime")?,
        )
    } else {
        None
    };
    let mut per_file: BTreeMap<String, Tally> = BTreeMap::new();
    let mut total = Tally::default();
    let mut results = Vec::new();
    let mut last_file: Option<String> = None;
    for case in &cases {
        if last_file.as_deref() != Some(case.file.as_str()) {
            if let Some(f) = last_file.take() {
                writeln!(out, "-- {f}: {}", per_file[&f])?;
            }
            last_file = Some(case.file.clone());
        }
        let r = match &runtime {
            Some(rt) => brook_server::conformance::run_case_http(case, rt.handle()),
            None => run_case(case),
        };
        print_result(out, &r, args.quiet)?;
        per_file.entry(r.file.clone()).or_default().add(&r.outcome);
        total.add(&r.outcome);
        results.push(r);
    }
    if let Some(f) = last_file {
        writeln!(out, "-- {f}: {}", per_file[&f])?;
    }
    writeln!(out, "{total}")?;
    if let Some(path) = &args.json {
        let items: Vec<_> = results
            .iter()
            .map(|r| {
                let (status, reason) = match &r.outcome {
                    Outcome::Pass => ("PASS", None),
                    Outcome::Fail(w) => ("FAIL", Some(w.clone())),
                    Outcome::Skip(w) => ("SKIP", Some(w.clone())),
                };
                json!({"file": r.file, "case": r.name, "status": status, "reason": reason})
            })
            .collect();
        let doc = json!({
            "passed": total.passed, "failed": total.failed, "skipped": total.skipped,
            "results": items,
        });
        std::fs::write(path, serde_json::to_vec_pretty(&doc)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if total.failed > 0 {
        bail!("{} of {} cases failed", total.failed, cases.len());
    }
    Ok(())
}

fn brook_qtt_load(p: &std::path::Path) -> anyhow::Result<Vec<brook_qtt::CaseVariant>> {
    brook_qtt::load_path(p).map_err(|e| anyhow::anyhow!("{e}"))
}
