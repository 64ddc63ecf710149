#!/usr/bin/env bash
# Runs every test of the workspace: unit, property, crash, bad-input and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# A one-shot build gains nothing from incremental compilation, which writes gigabytes of
# session data beside ~40 test binaries of ~100 MB each: CI once ran out of disk while
# linking. Set CARGO_INCREMENTAL=1 to keep it for repeated local runs.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
cargo test --workspace "$@"
