//! The `brook` binary: a thin edge over `brook-repl`, which parses flags and runs commands.

/// mimalloc: queries allocate small buffers per row; it is markedly faster than glibc's
/// allocator on that pattern (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    brook_repl::main()
}
