//! `brook run FILE.sql...`: runs scripts statement by statement against the data
//! directory. Persistent queries run on their own threads; the run waits for them to catch
//! up with all available input before each SELECT and at the end; the command then stops
//! them (each commits) and exits, or with `--follow` keeps them running until Ctrl-C.
//! The first failing statement stops the run (exit status 1), as ksqlDB's RUN SCRIPT does,
//! and so does a persistent query that fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
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
                check_queries(&engine)?;
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
    engine.run_until_idle()?;
    check_queries(&engine)?;
    let queries = engine.queries();
    if !args.follow {
        let processed: u64 = queries.iter().map(|q| q.processed).sum();
        if processed > 0 {
            writeln!(out, "Queries processed {processed} records.")?;
        }
        engine.shutdown()?;
        return Ok(());
    }
    if queries.is_empty() {
        bail!("--follow: no persistent query is running");
    }
    let (stop, stopped) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("cannot handle Ctrl-C")?;
    writeln!(
        out,
        "Following {} quer{} (Ctrl-C to stop)...",
        queries.len(),
        if queries.len() == 1 { "y" } else { "ies" }
    )?;
    out.flush()?;
    // The queries run on their own; this thread only reports their failures.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(Duration::from_millis(500)) {
        for e in engine.take_query_errors() {
            eprintln!("Query {} failed: {}", e.query_id, e.message);
        }
    }
    engine.shutdown()?;
    writeln!(out, "Stopped the queries (their progress is committed).")?;
    Ok(())
}

/// Fails the run if a persistent query failed (it stopped with status ERROR).
fn check_queries(engine: &Engine) -> anyhow::Result<()> {
    let errors = engine.take_query_errors();
    match errors.first() {
        None => Ok(()),
        Some(e) => bail!("query {} failed: {}", e.query_id, e.message),
    }
}
