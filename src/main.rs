//! The `brook` binary: a thin edge over `brook-repl`, which parses flags and runs commands.

/// mimalloc: queries allocate small buffers per row; it is markedly faster than glibc's
/// allocator on that pattern (see BENCHMARKS.md). Built without its transparent-huge-page
/// advice (`no_thp`): zeroing 2 MiB pages on first touch cost more system time than the
/// TLB saved (BENCHMARKS.md, "Session windows in an index arena").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    brook_repl::main()
}
