#!/usr/bin/env bash
# The main job. Brook's SQL engine is not built yet (see the engine issue); until it is, the
# quickstart is a round trip through the embedded log: create a topic, produce keyed click
# events, describe the topic and read the events back. When `brook run` exists this script
# runs examples/quickstart.sql instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --quiet --bin brook
brook=target/debug/brook
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT

"$brook" topic create clicks --partitions 4 --data-dir "$data"
"$brook" produce clicks --key-separator ':' --data-dir "$data" < examples/clicks.txt
"$brook" topic describe clicks --data-dir "$data"
echo "first events of partition 0:"
"$brook" consume clicks --partition 0 --offset 0 --limit 5 --data-dir "$data"
