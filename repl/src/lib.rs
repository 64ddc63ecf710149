//! brook-repl: the `brook` command line and its front ends.

use std::process::ExitCode;

/// Entry point of the `brook` binary.
pub fn main() -> ExitCode {
    ExitCode::SUCCESS
}
