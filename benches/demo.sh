#!/usr/bin/env bash
# A fresh-machine `make demo`: the README's first command, timed from a clone with
# nothing cached. The clone of this checkout's HEAD goes to $BENCH_DIR/demo/recall with its
# own empty cargo home (every crate downloaded), model cache (ONNX Runtime and the model
# fetched from PyPI), pip cache and venv; only the Rust toolchain (rustup) is shared.
# Reports the whole time and how much of it was compiling (cargo's own "Finished" line).
#
# Usage: bash benches/demo.sh [--write]
#   --write  also replace the section between <!-- demo:begin --> and <!-- demo:end -->
#            in BENCHMARKS.md. The report is always in $BENCH_DIR/results/demo.md.
# Env: BENCH_DIR (default /tmp/recall-bench), TIME_LIMIT (default 2400 s for the run).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"
bench_time_guard 2400 "$0" "$@"
RECALL=${RECALL:-/bin/true} bench_init "$@"

WORK=$BENCH_DIR/demo
rm -rf "$WORK"
mkdir -p "$WORK" "$RES"
COMMIT=$(git rev-parse --short HEAD)
git clone -q . "$WORK/recall"
log "fresh make demo of $COMMIT in $WORK/recall"
start=$(date +%s.%N)
(
  cd "$WORK/recall"
  env CARGO_HOME="$WORK/cargo-home" XDG_CACHE_HOME="$WORK/cache" PIP_CACHE_DIR="$WORK/pip-cache" \
    RECALL_MODEL_DIR="$WORK/cache/recall" CARGO_TARGET_DIR="$WORK/recall/target" \
    make demo
) >"$WORK/demo.log" 2>&1 || { tail -20 "$WORK/demo.log" >&2; echo "$SCRIPT: error: make demo failed" >&2; exit 1; }
end=$(date +%s.%N)
python3 -B benches/build_report.py demo "$COMMIT" "$start" "$end" "$WORK/demo.log" >"$RES/demo.md"
cat "$RES/demo.md"
write_section demo "$RES/demo.md"
