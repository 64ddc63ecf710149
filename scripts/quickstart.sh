#!/usr/bin/env bash
# The main job: builds brook and runs examples/quickstart.sql in a fresh data directory —
# a clickstream stream, a few hundred events (INSERT VALUES), per-user counts in 1-minute
# tumbling windows (a persistent query), and a pull query printing the windowed counts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}  # as scripts/test.sh, so the two share one build
cargo build --quiet --bin brook
brook="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || echo target)/debug/brook"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

echo "== brook run examples/quickstart.sql"
"$brook" --data-dir "$data" run examples/quickstart.sql
