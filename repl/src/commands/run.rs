//! `brook run FILE.sql...`: runs scripts statement by statement against the data
//! directory. Persistent queries process all available input before each SELECT and at the
//! end; the command then exits, or with `--follow` keeps the queries running until Ctrl-C.
//! The first failing statement stops the run (exit status 1), as ksqlDB's RUN SCRIPT does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use brook_engine::runtime::{Engine, EngineOptions, StatementResult};
use clap::Args;

use crate::render::write_result;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scripts to run, in order.
    #[arg(value_name = "FILE.sql", required = true)]
    pub files: Vec<PathBuf>,
    /// Keep persistent queries running after the scripts (until Ctrl-C).
    #[arg(long)]
    pub follow: bool,
}

pub fn run(data_dir: &Path, args: RunArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let mut engine = Engine::open(data_dir, EngineOptions::default())
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let name = file.display().to_string();
        let pieces = brook_engine::sql::split_statements(&text)
            .map_err(|e| anyhow::anyhow!("{}", e.render(&text, &name)))?;
        for piece in &pieces {
            let st = engine
                .parse_piece(piece)
                .map_err(|e| anyhow::anyhow!("{}", e.render(&text, &name)))?;
            if matches!(st.kind, brook_engine::sql::ast::StatementKind::Query(_)) {
                engine.run_until_idle()?;
            }
            let result = engine
                .execute_statement(&st, piece.text, &text, &name)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match result {
                StatementResult::Nothing | StatementResult::Inserted { .. } => {}
                // A script prints what the topic holds now, then goes on.
                StatementResult::Print(mut printer) => loop {
                    let lines = printer.poll()?;
                    for l in &lines {
                        writeln!(out, "{l}")?;
                    }
                    if printer.finished() || !printer.has_more() {
                        break;
                    }
                },
                other => write_result(out, &other)?,
            }
        }
    }
    let processed = engine.run_until_idle()?;
    if !args.follow {
        if processed > 0 {
            writeln!(out, "Queries processed {processed} more records.")?;
        }
        return Ok(());
    }
    if engine.queries().is_empty() {
        bail!("--follow: no persistent query is running");
    }
    writeln!(
        out,
        "Following {} quer{} (Ctrl-C to stop)...",
        engine.queries().len(),
        if engine.queries().len() == 1 {
            "y"
        } else {
            "ies"
        }
    )?;
    out.flush()?;
    loop {
        if engine.run_until_idle()? == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
