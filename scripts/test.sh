#!/usr/bin/env bash
# Runs every test of the workspace: unit, property, crash, bad-input and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo test --workspace "$@"
