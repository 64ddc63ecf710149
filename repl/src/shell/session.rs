//! session.rs owns running what the user typed, for the interactive shell and for
//! `brook -e` / `brook -f` alike: every statement is parsed first (a typo is shown with its
//! caret before anything runs), then each runs in order against the engine, whose
//! persistent queries run on their own threads. Pull queries first let the queries catch
//! up; push queries and PRINT stream rows until LIMIT or Ctrl-C.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use anyhow::{anyhow, Context};
use brook_engine::log::LogError;
use brook_engine::runtime::{
    statement_writes, Engine, EngineError, EngineOptions, PushQuery, StatementResult, TopicPrinter,
};
use brook_engine::sql::ast::StatementKind;

use super::forward::forward;
use super::helper::Vocabulary;
use super::live::LiveTable;
use crate::render::{batch_cells, column_names, write_result};

/// Set by Ctrl-C while a statement runs; checked by push queries and PRINT.
pub static CANCEL: AtomicBool = AtomicBool::new(false);
/// A push query or PRINT is streaming (Ctrl-C cancels it rather than the process).
pub static STREAMING: AtomicBool = AtomicBool::new(false);

/// Longest a SELECT waits for persistent queries to catch up before it runs.
const PULL_WAIT: Duration = Duration::from_secs(30);

/// How results are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Tabular,
    Json,
}

/// An open data directory with its running queries.
pub struct Session {
    data_dir: PathBuf,
    engine: Arc<Mutex<Engine>>,
    pub vocabulary: Arc<RwLock<Vocabulary>>,
    pub output: OutputFormat,
}

impl Session {
    /// Opens the data directory for writing, or — when another Brook process has it open
    /// for writing — read-only beside it (see [`Engine::open_follower`]).
    pub fn open(data_dir: &Path) -> anyhow::Result<Session> {
        let mut engine = match Engine::open(data_dir, EngineOptions::default()) {
            Err(EngineError::Log(LogError::Locked { .. })) => Engine::open_follower(data_dir),
            other => other,
        }
        .with_context(|| format!("cannot open data directory {}", data_dir.display()))?;
        engine.set_live_push(true);
        let vocabulary = Arc::new(RwLock::new(Vocabulary::of(&engine)));
        let engine = Arc::new(Mutex::new(engine));
        Ok(Session {
            data_dir: data_dir.to_path_buf(),
            engine,
            vocabulary,
            output: OutputFormat::Tabular,
        })
    }

    /// Whether the session is read-only beside another process that writes the directory.
    pub fn is_follower(&self) -> bool {
        self.engine().is_follower()
    }

    /// The engine, shared with the statement server.
    pub fn engine_handle(&self) -> Arc<Mutex<Engine>> {
        self.engine.clone()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        // A panic while holding the lock leaves the engine as it was between statements.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Errors persistent queries hit in the background since the last call.
    pub fn background_errors(&self) -> Vec<String> {
        self.engine()
            .take_query_errors()
            .into_iter()
            .map(|e| format!("{}: {}", e.query_id, e.message))
            .collect()
    }

    /// Runs every statement of `text`. Parse errors stop everything before the first
    /// statement runs; otherwise the first failing statement stops the rest.
    pub fn execute(&mut self, text: &str, name: &str, out: &mut dyn Write) -> anyhow::Result<()> {
        let parsed = {
            let mut engine = self.engine();
            // A follower catches up with what the writing process created meanwhile.
            engine.refresh().map_err(|e| anyhow!("{e}"))?;
            engine.parse_all(text, name).map_err(|e| anyhow!("{e}"))?
        };
        let result = (|| {
            for (st, sql) in &parsed {
                CANCEL.store(false, Ordering::SeqCst);
                let is_query = matches!(st.kind, StatementKind::Query(_));
                if self.is_follower() && statement_writes(&st.kind) {
                    // The process that writes the directory runs it.
                    write!(out, "{}", forward(&self.data_dir, sql)?)?;
                    continue;
                }
                if is_query {
                    // A pull query answers from what the queries made of all input; wait
                    // for them without holding the engine.
                    let waiter = self.engine().idle_waiter();
                    waiter.wait(PULL_WAIT);
                }
                let result = {
                    let mut engine = self.engine();
                    engine.refresh().map_err(|e| anyhow!("{e}"))?;
                    engine
                        .execute_statement(st, sql, text, name)
                        .map_err(|e| anyhow!("{e}"))?
                };
                self.show(result, out)?;
            }
            Ok(())
        })();
        *self.vocabulary.write().expect("vocabulary lock") = Vocabulary::of(&self.engine());
        result
    }

    fn show(&mut self, result: StatementResult, out: &mut dyn Write) -> anyhow::Result<()> {
        match result {
            StatementResult::Push(q) => self.stream_push(*q, out),
            StatementResult::Print(p) => stream_print(*p, out),
            StatementResult::Rows(rows) if self.output == OutputFormat::Json => {
                let json: Vec<serde_json::Value> = rows
                    .batches
                    .iter()
                    .flat_map(brook_engine::formats::batch_to_json_rows)
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(json))?;
                Ok(())
            }
            StatementResult::Inserted { .. } | StatementResult::Nothing => Ok(()),
            other => Ok(write_result(&mut &mut *out, &other)?),
        }
    }

    fn stream_push(&mut self, mut q: PushQuery, out: &mut dyn Write) -> anyhow::Result<()> {
        let columns: Vec<(String, String)> = {
            let names = column_names(q.schema());
            q.schema()
                .columns
                .iter()
                .filter(|c| names.contains(&c.name))
                .map(|c| (c.name.clone(), c.ty.to_string()))
                .collect()
        };
        let table = LiveTable::new(columns, self.output == OutputFormat::Json);
        table.header(out)?;
        STREAMING.store(true, Ordering::SeqCst);
        let outcome = (|| -> anyhow::Result<&'static str> {
            loop {
                if CANCEL.load(Ordering::SeqCst) {
                    return Ok("Query terminated");
                }
                let batches = q.poll().map_err(|e| anyhow!("{e}"))?;
                for b in &batches {
                    let json = if self.output == OutputFormat::Json {
                        brook_engine::formats::batch_to_json_rows(b)
                    } else {
                        Vec::new()
                    };
                    table.rows(out, &batch_cells(b), &json)?;
                }
                if q.finished() {
                    return Ok("Limit Reached\nQuery terminated");
                }
                if batches.is_empty() {
                    q.wait(Duration::from_millis(100))
                        .map_err(|e| anyhow!("{e}"))?;
                }
            }
        })();
        STREAMING.store(false, Ordering::SeqCst);
        table.footer(out)?;
        writeln!(out, "{}", outcome?)?;
        if !q.errors.is_empty() {
            writeln!(
                out,
                "{} record(s) could not be processed and were skipped; the first: {}",
                q.errors.len(),
                q.errors[0].message
            )?;
        }
        Ok(())
    }

    /// Lets every persistent query process all input, then stops them (for `-e`/`-f`).
    pub fn finish(&mut self) -> anyhow::Result<u64> {
        let mut engine = self.engine();
        let processed = engine.run_until_idle()?;
        engine.shutdown()?;
        // A query that failed fails the run, as a failing statement does.
        if let Some(e) = engine.take_query_errors().first() {
            anyhow::bail!("query {} failed: {}", e.query_id, e.message);
        }
        Ok(processed)
    }

    /// Stops the persistent queries (each commits first), as the shell exits.
    pub fn close(&mut self) -> anyhow::Result<()> {
        Ok(self.engine().shutdown()?)
    }
}

fn stream_print(mut p: TopicPrinter, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "Press CTRL-C to interrupt")?;
    out.flush()?;
    STREAMING.store(true, Ordering::SeqCst);
    let r = (|| -> anyhow::Result<()> {
        while !CANCEL.load(Ordering::SeqCst) && !p.finished() {
            let lines = p.poll().map_err(|e| anyhow!("{e}"))?;
            for l in &lines {
                writeln!(out, "{l}")?;
            }
            out.flush()?;
            if lines.is_empty() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Ok(())
    })();
    STREAMING.store(false, Ordering::SeqCst);
    r?;
    writeln!(out, "Topic printing ceased")?;
    Ok(())
}
