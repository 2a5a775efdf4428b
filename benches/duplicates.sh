#!/usr/bin/env bash
# Near-duplicate thresholds for `remember`: dry runs of `POST /v1/notes` (nothing written)
# offer each sampled note's own text, and the same with every other sentence dropped, as a
# new memory, and read the two measures of the check, `meaning` (best section cosine) and
# `words` (share of the text's word triples an existing note holds), for the note itself
# and for the nearest OTHER note. Up to 150 notes of each real vault (examples/vault,
# dendron-site, logseq-docs, dnd-srd-5.1, and SciFact as memory notes), through
# `recall serve --allow-write` on loopback; recommends DUPLICATE_MEANING and DUPLICATE_WORDS,
# each the lowest with false alarms <= 1%. The work is in benches/duplicates.py (its
# docstring says more).
#
# Usage: bash benches/duplicates.sh [--write]
#   --write  also replace the section between <!-- duplicates:begin --> and
#            <!-- duplicates:end --> in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR  work folder (default /tmp/recall-bench/duplicates); indexes in
#                 $BENCH_DIR/index/NAME are reused (delete one, or results/NAME.index.json,
#                 to rebuild it); the report goes to $BENCH_DIR/duplicates.md
#      RECALL     binary (default ./target/release/recall)
#      SHARED     the shared data folder (default ../shared)
#      PER_VAULT  notes sampled per vault (default 150)
#      TIME_LIMIT seconds before everything is stopped (default 5400)
#      RECALL_COMMIT  the commit RECALL was built from, for the report (default: git HEAD,
#                 plus a note when src/ has uncommitted changes)
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_time_guard 5400 "$0" "$@"
BENCH_DIR=${BENCH_DIR:-/tmp/recall-bench/duplicates}
bench_init "$@"
export RECALL SHARED BENCH_DIR
mkdir -p "$RES"

args=(--per-vault "${PER_VAULT:-150}")
[[ $WRITE -eq 1 ]] && args+=(--write)
log "measuring (indexes are built first when missing: several minutes)"
python3 -B benches/duplicates.py "${args[@]}"
