#!/usr/bin/env bash
# Build cost: a clean `cargo build --release --locked` of this checkout's commit and of a
# baseline commit, one after the other in one run (the machine is shared: compare within
# a run, never across runs). For each: wall time, the crates compiled, the release binary's
# size and how much of it is debug sections.
#
# Each commit is checked out with `git worktree add --detach` under $BENCH_DIR/build/ and
# built into its own fresh target folder (removed first), so nothing is reused between the
# two builds except the downloaded crate sources in ~/.cargo.
#
# Usage: bash benches/build.sh [--write]
#   --write  also replace the section between <!-- build:begin --> and <!-- build:end -->
#            in BENCHMARKS.md. The report is always in $BENCH_DIR/results/build.md.
# Env: BASELINE_COMMIT  the commit to compare with (default: HEAD~1)
#      NEW_COMMIT       the commit measured (default: HEAD)
#      BENCH_DIR        work folder (default /tmp/recall-bench)
#      TIME_LIMIT       the whole run is stopped after this many seconds (default 3600)
# Two clean release builds: about 20 minutes on 2 cores.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/common.sh"
bench_time_guard 3600 "$0" "$@"
RECALL=${RECALL:-/bin/true} bench_init "$@"

NEW_COMMIT=$(git rev-parse --short "${NEW_COMMIT:-HEAD}")
BASELINE_COMMIT=$(git rev-parse --short "${BASELINE_COMMIT:-HEAD~1}")
WORK=$BENCH_DIR/build
mkdir -p "$WORK" "$RES"

build_one() { # LABEL COMMIT
  local label=$1 commit=$2 tree=$WORK/$1
  git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"
  git worktree add --detach "$tree" "$commit" >/dev/null
  rm -rf "$WORK/target-$label"
  log "clean release build of $commit ($label)"
  local start end
  start=$(date +%s.%N)
  (cd "$tree" && CARGO_TARGET_DIR=$WORK/target-$label cargo build --release --locked 2>"$WORK/$label.log")
  end=$(date +%s.%N)
  python3 -B benches/build_report.py measure "$label" "$commit" "$start" "$end" \
    "$WORK/target-$label/release/recall" "$WORK/$label.log" >"$WORK/$label.json"
  git worktree remove --force "$tree"
}

build_one baseline "$BASELINE_COMMIT"
build_one new "$NEW_COMMIT"
python3 -B benches/build_report.py report "$WORK/baseline.json" "$WORK/new.json" >"$RES/build.md"
cat "$RES/build.md"
write_section build "$RES/build.md"
