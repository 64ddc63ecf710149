//! `brook check FILE.sql...`: parses and analyzes scripts without running them. The catalog
//! is built from the scripts' own CREATE statements, in order, across all files given.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use brook_engine::catalog::EngineFunctions;
use brook_engine::sql::{parse_script_statement, split_statements, Analyzer};

/// What checking some scripts found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub ok: usize,
    pub errors: usize,
}

pub fn run(
    files: &[PathBuf],
    data_dir: Option<&Path>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    if let Some(dir) = data_dir {
        bail!(
            "--data-dir {}: reading a data directory's catalog is not supported yet (the engine does not persist one yet); \
             check the script with its own CREATE statements",
            dir.display()
        );
    }
    if files.is_empty() {
        bail!("no files given: brook check FILE.sql... (`-` reads stdin)");
    }
    let mut analyzer = Analyzer::new(EngineFunctions::new());
    let mut vars = HashMap::new();
    let mut summary = CheckSummary::default();
    for file in files {
        let (name, text) = read_script(file)?;
        check_script(&name, &text, &mut analyzer, &mut vars, &mut summary, err)?;
    }
    writeln!(out, "{} statements ok", summary.ok)?;
    if summary.errors > 0 {
        bail!("{} statement(s) invalid", summary.errors);
    }
    Ok(())
}

fn read_script(file: &Path) -> anyhow::Result<(String, String)> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        return Ok(("<stdin>".to_string(), text));
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{} is not UTF-8 text: {e}", file.display()))?;
    Ok((file.display().to_string(), text))
}

/// Checks every statement of one script, reporting each bad one and going on with the next.
pub fn check_script(
    name: &str,
    text: &str,
    analyzer: &mut Analyzer,
    vars: &mut HashMap<String, String>,
    summary: &mut CheckSummary,
    err: &mut impl Write,
) -> anyhow::Result<()> {
    let pieces = match split_statements(text) {
        Ok(pieces) => pieces,
        Err(e) => {
            // Text that cannot even be split (an unterminated string, say): one error for the file.
            writeln!(err, "{}", e.render(text, name))?;
            summary.errors += 1;
            return Ok(());
        }
    };
    for piece in &pieces {
        let statement = match parse_script_statement(piece, vars) {
            Ok(statement) => statement,
            Err(e) => {
                writeln!(err, "{}", e.render(text, name))?;
                summary.errors += 1;
                continue;
            }
        };
        match analyzer.analyze(&statement) {
            Ok(_) => summary.ok += 1,
            Err(e) => {
                writeln!(err, "{}", e.render(text, name))?;
                summary.errors += 1;
            }
        }
    }
    Ok(())
}
