//! brook-repl: the `brook` command line and its front ends. This file dispatches commands
//! and turns errors into messages and exit codes; each command lives in its own module.

pub mod bench;
pub mod cli;
pub mod client;
pub mod commands;
pub mod render;
pub mod shell;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::{BenchCommand, Cli, Command};

/// Entry point of the `brook` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let data_dir = cli.data_dir();
    if cli.command.is_some() && (cli.execute.is_some() || cli.file.is_some()) {
        anyhow::bail!("-e and -f run statements without a command; drop the command or the flag");
    }
    if let Some(url) = cli.server()? {
        let server = client::client_options(url, &cli)?;
        if !matches!(cli.command, None | Some(Command::Shell)) {
            anyhow::bail!(
                "--server runs the shell (or -e / -f) against a server; other commands work on a local data directory"
            );
        }
        if let Some(text) = &cli.execute {
            return shell::run_remote_script(&server, text, "<-e>");
        }
        if let Some(file) = &cli.file {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            return shell::run_remote_script(&server, &text, &file.display().to_string());
        }
        return match cli.command {
            Some(Command::Shell) => shell::run_remote_interactive(&server),
            _ => shell::run_remote_default(&server),
        };
    }
    if let Some(text) = &cli.execute {
        return shell::run_script(&data_dir, text, "<-e>");
    }
    if let Some(file) = &cli.file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        return shell::run_script(&data_dir, &text, &file.display().to_string());
    }
    let Some(command) = cli.command else {
        return shell::run_default(&data_dir);
    };
    match command {
        Command::Shell => shell::run_interactive(&data_dir),
        Command::Topic(command) => commands::topic::run(&data_dir, command, &mut out),
        Command::Produce(args) => commands::produce::run(
            &data_dir,
            args,
            std::io::stdin().lock(),
            &mut out,
            &mut std::io::stderr(),
        ),
        Command::Consume(args) => commands::consume::run(&data_dir, args, &mut out),
        Command::Check(args) => commands::check::run(
            &args.files,
            cli.data_dir.as_deref(),
            &mut out,
            &mut std::io::stderr(),
        ),
        Command::Run(args) => commands::run::run(&data_dir, args, &mut out),
        Command::Test(args) => commands::test::run(args, &mut out),
        Command::Server(args) => commands::server::run(&data_dir, args),
        Command::Bench(BenchCommand::Log(args)) => bench::log::run(args, &mut out),
        Command::Bench(BenchCommand::Engine(args)) => bench::engine::run(args, &mut out),
        Command::Bench(BenchCommand::Nexmark(args)) => bench::nexmark::run(args, &mut out),
        Command::Bench(BenchCommand::Server(args)) => bench::server::run(args, &mut out),
        Command::Kafka(args) => commands::kafka::run(&data_dir, args, &mut out),
    }
}
