#!/usr/bin/env bash
# A cold search with each embedding model (issue 23): whole `recall search` processes, each
# loading its index and model from scratch, on the 5k-note SciFact vault, this binary
# against a baseline binary in the same run.
#
# Vault: $BENCH_DIR/vaults/scifact-plain/vault (5,183 notes; made by benches/quality.sh, or
# here with ../shared/tools/beir2vault.py --plain). Indexes: $BENCH_DIR/index/cold-minilm and
# cold-multilingual, built once by this binary with --model minilm / multilingual (about 2
# and 6 minutes of embedding; reused after).
# Measures: RUNS rounds (after one untimed warm-up each); a round runs every binary x model
# once, interleaved, `recall --index IDX search --no-refresh -n 10 QUERY` in hybrid mode (the
# default): median wall time (perf_counter around the whole process) and median peak RSS
# (the child's own, os.wait4).
# Target (multilingual, 5k notes): <= 0.5 s and <= 400 MB.
#
# Usage: bash benches/cold.sh [--write]
#   --write  also replace the section between <!-- cold:begin --> and <!-- cold:end --> in
#            BENCHMARKS.md.
# Env: BENCH_DIR (default /tmp/recall-bench), RECALL (default ./target/release/recall),
#      BASELINE (a binary to compare with, e.g. a build of the previous commit; optional),
#      BASELINE_COMMIT (its commit, for the report), RUNS (default 9), QUERY (default
#      "vitamin D deficiency and bone fractures"), SHARED (default ../shared).
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_time_guard 3600 "$0" "$@"
bench_init "$@"
RUNS=${RUNS:-9}
QUERY=${QUERY:-vitamin D deficiency and bone fractures}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "$SCRIPT: error: RUNS must be a positive whole number" >&2; exit 2; }
mkdir -p "$RES"

VAULT=$BENCH_DIR/vaults/scifact-plain/vault
if [[ ! -d $VAULT ]]; then
  log "making the SciFact plain vault"
  python3 "$SHARED/tools/beir2vault.py" "$SHARED/data/scifact" --split test --plain \
    "$BENCH_DIR/vaults/scifact-plain" >&2
fi
for model in minilm multilingual; do
  MODEL=$model index_once "cold-$model" "$VAULT"
done

python3 -B benches/cold.py "$RUNS" "$QUERY" "$BENCH_DIR/index" "$RECALL" "$(built_from)" \
  "${BASELINE:-}" "${BASELINE_COMMIT:-}" >"$RES/cold.md"
cat "$RES/cold.md"
write_section cold "$RES/cold.md"
