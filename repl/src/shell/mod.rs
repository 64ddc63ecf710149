//! The interactive SQL shell (`brook`, `brook shell`) and its non-interactive forms
//! (`brook -e "..."`, `brook -f file.sql`, statements piped to stdin).
//!
//! Files: `mod.rs` (the prompt loop and shell commands), `session.rs` (running statements,
//! live push queries and PRINT), `backend.rs` (what the prompt loop needs of the local
//! engine or a server), `helper.rs` (completion and highlighting), `lexer.rs` (statement
//! ends, words), `live.rs` (rows shown as they arrive), `forward.rs` (statements sent by a
//! second `brook` on the same directory to the one that writes it), `help.rs` (HELP),
//! `spool.rs` (SPOOL: commands and their output copied to a file).

pub mod backend;
pub mod forward;
pub mod help;
pub mod helper;
pub mod lexer;
pub mod live;
pub mod session;
pub mod spool;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::Context;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;

use crate::client::rest::ClientOptions;
use crate::client::session::RemoteSession;
use backend::Backend;
use helper::ShellHelper;
use session::{OutputFormat, Session, CANCEL, STREAMING};

const PROMPT: &str = "brook> ";
const CONTINUATION: &str = "   ...> ";

/// Where history is kept: `BROOK_HISTORY`, else `~/.brook_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BROOK_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".brook_history"))
}

/// Ctrl-C cancels a streaming query; otherwise, outside the line editor (which reads it as
/// a key), it ends a non-interactive run.
fn install_ctrl_c(interactive: bool) {
    let _ = ctrlc::set_handler(move || {
        if STREAMING.load(Ordering::SeqCst) || interactive {
            CANCEL.store(true, Ordering::SeqCst);
        } else {
            std::process::exit(130);
        }
    });
}

/// Runs `text` (from `-e`, `-f` or a pipe) and exits like the shell would: results on
/// stdout, the first error on stderr and a failure status.
pub fn run_script(data_dir: &Path, text: &str, name: &str) -> anyhow::Result<()> {
    if let Some(url) = crate::client::server_of(data_dir).filter(|_| held_by_server(data_dir)) {
        return run_remote_script(&crate::client::options_from_env(&url)?, text, name);
    }
    install_ctrl_c(false);
    let mut session = Session::open(data_dir)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    session.execute(text, name, &mut out)?;
    session.finish()?;
    Ok(())
}

/// `brook` with no command: the shell when stdin is a terminal, else the statements read
/// from stdin.
pub fn run_default(data_dir: &Path) -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() {
        return run_interactive(data_dir);
    }
    run_script(data_dir, &read_stdin()?, "<stdin>")
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read statements from stdin")?;
    Ok(text)
}

/// Whether a `brook server` holds `data_dir`: it wrote its address there and the directory
/// is locked (a server that stopped leaves a stale address behind an unlocked directory).
fn held_by_server(data_dir: &Path) -> bool {
    brook_engine::log::is_locked(data_dir)
}

/// `brook --server URL` (or `brook URL`): the shell over a server's REST API, or its
/// statements from stdin when stdin is not a terminal.
pub fn run_remote_default(server: &ClientOptions) -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() {
        return run_remote_interactive(server);
    }
    run_remote_script(server, &read_stdin()?, "<stdin>")
}

/// Runs `text` against the server at `url` and exits like [`run_script`].
pub fn run_remote_script(server: &ClientOptions, text: &str, name: &str) -> anyhow::Result<()> {
    install_ctrl_c(false);
    let mut session = RemoteSession::connect(server)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    session.execute(text, name, &mut out)
}

/// The interactive shell over the server at `url`.
pub fn run_remote_interactive(server: &ClientOptions) -> anyhow::Result<()> {
    install_ctrl_c(true);
    let mut session = RemoteSession::connect(server)?;
    prompt_loop(&mut session, "")
}

/// What the user typed that the shell handles itself.
enum ShellCommand {
    Exit,
    Help,
    Clear,
    Output(Option<OutputFormat>),
}

fn shell_command(line: &str) -> Option<ShellCommand> {
    let words: Vec<String> = line
        .trim()
        .trim_end_matches(';')
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        ["exit"] | ["quit"] => ShellCommand::Exit,
        ["help"] => ShellCommand::Help,
        ["clear"] => ShellCommand::Clear,
        ["output"] => ShellCommand::Output(None),
        ["output", "json"] => ShellCommand::Output(Some(OutputFormat::Json)),
        ["output", "tabular"] => ShellCommand::Output(Some(OutputFormat::Tabular)),
        _ => return None,
    })
}

/// The interactive shell.
pub fn run_interactive(data_dir: &Path) -> anyhow::Result<()> {
    if let Some(url) = crate::client::server_of(data_dir).filter(|_| held_by_server(data_dir)) {
        return run_remote_interactive(&crate::client::options_from_env(&url)?);
    }
    install_ctrl_c(true);
    let mut session = Session::open(data_dir)?;
    // The writer takes statements from shells opened beside it; a follower sends them.
    let mut notice = String::new();
    let _server = if session.is_follower() {
        notice = "Another Brook shell has this data directory open: this one reads it beside the\n\
             other and sends it the statements that change it (CREATE, INSERT, DROP...).\n\n"
            .to_string();
        None
    } else {
        match forward::serve(
            session.data_dir(),
            session.engine_handle(),
            session.vocabulary.clone(),
        ) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("Other terminals cannot send statements to this shell: {e:#}");
                None
            }
        }
    };
    prompt_loop(&mut session, &notice)
}

/// The prompt loop over local or remote statements: reads lines until a statement is
/// complete, runs it, shows errors; shell commands (EXIT, HELP, OUTPUT...) are its own.
fn prompt_loop(session: &mut dyn Backend, notice: &str) -> anyhow::Result<()> {
    let color = std::env::var_os("NO_COLOR").is_none();
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .history_ignore_dups(true)?
        .max_history_size(10_000)?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(ShellHelper {
        vocabulary: session.vocabulary(),
        color,
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    let stdout = std::io::stdout();
    writeln!(
        stdout.lock(),
        "Brook {} — streaming SQL in the ksqlDB dialect. {}\n\
         Statements end with ';'. HELP for help, Ctrl-C cancels, exit or Ctrl-D leaves.\n",
        env!("CARGO_PKG_VERSION"),
        session.location()
    )?;
    write!(stdout.lock(), "{notice}")?;
    let mut buffer = String::new();
    let mut spool = spool::Spool::default();
    loop {
        for e in session.background_errors() {
            eprintln!("A persistent query failed: {e}");
        }
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION
        };
        let line = match editor.readline(prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C at the prompt drops what was typed.
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if buffer.is_empty() {
            if let Some(arg) = spool::parse(&line) {
                let _ = editor.add_history_entry(line.trim());
                spool.command(PROMPT, &line);
                match spool.apply(arg) {
                    Ok(msg) => writeln!(stdout.lock(), "{msg}")?,
                    Err(e) => {
                        spool.message(&e);
                        eprintln!("{}", paint_error(&e, color));
                    }
                }
                continue;
            }
            if let Some(cmd) = shell_command(&line) {
                let _ = editor.add_history_entry(line.trim());
                spool.command(PROMPT, &line);
                let mut lock = stdout.lock();
                let mut out = spool.tee(&mut lock);
                match cmd {
                    ShellCommand::Exit => break,
                    ShellCommand::Help => write!(out, "{}", help::TEXT)?,
                    ShellCommand::Clear => {
                        let _ = editor.clear_screen();
                    }
                    ShellCommand::Output(None) => writeln!(
                        out,
                        "Output format: {}",
                        match session.output() {
                            OutputFormat::Tabular => "TABULAR",
                            OutputFormat::Json => "JSON",
                        }
                    )?,
                    ShellCommand::Output(Some(f)) => session.set_output(f),
                }
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !lexer::is_complete(&buffer) {
            continue;
        }
        let statement = std::mem::take(&mut buffer);
        // One history entry per statement, recalled whole.
        let _ = editor.add_history_entry(statement.trim_end().replace('\n', " "));
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        spool.command(PROMPT, &statement);
        let mut lock = stdout.lock();
        let result = session.execute(&statement, "<input>", &mut spool.tee(&mut lock));
        drop(lock);
        if let Err(e) = result {
            let text = format!("{e:#}");
            spool.message(&text);
            eprintln!("{}", paint_error(&text, color));
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    // Persistent queries commit and stop; they start again with the next session.
    if let Err(e) = session.close() {
        eprintln!("{}", paint_error(&format!("{e:#}"), color));
    }
    writeln!(stdout.lock(), "Exiting Brook.")?;
    Ok(())
}

fn paint_error(text: &str, color: bool) -> String {
    if color {
        format!("\x1b[31m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_commands_are_words_on_their_own() {
        assert!(matches!(shell_command("exit"), Some(ShellCommand::Exit)));
        assert!(matches!(shell_command(" QUIT; "), Some(ShellCommand::Exit)));
        assert!(matches!(shell_command("help;"), Some(ShellCommand::Help)));
        assert!(matches!(
            shell_command("output json"),
            Some(ShellCommand::Output(Some(OutputFormat::Json)))
        ));
        assert!(shell_command("exit now").is_none());
        assert!(shell_command("SELECT 1;").is_none());
    }
}
