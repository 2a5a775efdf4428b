#!/usr/bin/env bash
# The write path under load: 500 `remember` calls (POST /v1/notes) from 8 concurrent clients
# on loopback against `recall serve --allow-write` over a copy of the example vault; checks
# that none is lost (every note written, whole, indexed and found). The measuring is in
# benches/write_load.py.
#
# Usage: bash benches/write_load.sh [--write]
#   --write  also replace the section between <!-- write_load:begin --> and
#            <!-- write_load:end --> in BENCHMARKS.md. The report is always in
#            $BENCH_DIR/results/write_load.md.
# Env: CALLS (default 500), CLIENTS (default 8), BENCH_DIR (default /tmp/recall-bench),
#      TIME_LIMIT (default 1200 s for the run).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"
bench_time_guard 1200 "$0" "$@"
bench_init "$@"

mkdir -p "$RES"
log "${CALLS:-500} remember calls from ${CLIENTS:-8} clients"
python3 -B benches/write_load.py "$RECALL" "$BENCH_DIR/write_load" "${CALLS:-500}" "${CLIENTS:-8}" >"$RES/write_load.md"
cat "$RES/write_load.md"
write_section write_load "$RES/write_load.md"
