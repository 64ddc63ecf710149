//! The `brook` binary: a thin edge over `brook-repl`, which parses flags and runs commands.

fn main() -> std::process::ExitCode {
    brook_repl::main()
}
