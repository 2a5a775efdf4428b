# shellcheck shell=bash
# What the benchmark scripts in benches/ share: each one sources this file and calls
# `bench_init "$@"` first; log, built_from, index_once and write_section serve the rest.

# bench_init "$@": handle --write (WRITE=1, else 0) and -h/--help (print the calling
# script's header comment), stop with exit 2 on any other argument. Then cd to the repo
# root, set SCRIPT (the calling script's name, the prefix of its messages) and the defaults
# RECALL=./target/release/recall, SHARED=../shared, BENCH_DIR=/tmp/recall-bench,
# RES=$BENCH_DIR/results; stop with exit 1 unless $RECALL is executable and python3 is
# installed; make RECALL an absolute path.
bench_init() {
  SCRIPT=${0##*/}
  WRITE=0
  local arg
  for arg in "$@"; do
    case "$arg" in
      --write) WRITE=1 ;;
      -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
      *) echo "$SCRIPT: unknown argument: $arg" >&2; exit 2 ;;
    esac
  done

  cd "$(dirname "$0")/.."
  RECALL=${RECALL:-./target/release/recall}
  SHARED=${SHARED:-../shared}
  BENCH_DIR=${BENCH_DIR:-/tmp/recall-bench}
  RES=$BENCH_DIR/results
  [[ -x $RECALL ]] || { echo "$SCRIPT: error: $RECALL not found; build it first with: cargo build --release" >&2; exit 1; }
  command -v python3 >/dev/null || { echo "$SCRIPT: error: python3 is required" >&2; exit 1; }
  RECALL=$(cd "$(dirname "$RECALL")" && pwd)/$(basename "$RECALL")
}

# bench_time_guard SECONDS "$0" "$@" (before bench_init): runs the calling script again
# under timeout(1), once: on expiry (TIME_LIMIT overrides SECONDS) TERM goes to the script
# and everything it started (one process group), KILL 30 s later. Loops stay bounded even
# when a server or load generator hangs.
bench_time_guard() {
  local limit=$1 script=$2
  shift 2
  if [[ -z ${RECALL_BENCH_GUARDED:-} ]]; then
    export RECALL_BENCH_GUARDED=1
    exec timeout -k 30 "${TIME_LIMIT:-$limit}" bash "$script" "$@"
  fi
}

log() { echo "$SCRIPT: $(date +%T) $*" >&2; }

# The commit the binary most likely came from: $RECALL_COMMIT, else git HEAD (plus a
# note when src/ has uncommitted changes).
built_from() {
  if [[ -n ${RECALL_COMMIT:-} ]]; then echo "$RECALL_COMMIT"; return; fi
  local c; c=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
  [[ -n $(git status --porcelain -- src 2>/dev/null) ]] && c="$c + uncommitted changes in src/"
  echo "$c"
}

# index_once NAME VAULT: $BENCH_DIR/index/NAME, built from VAULT with embeddings (the model
# $MODEL when set: auto, minilm or multilingual; else the binary picks), its --json summary in
# $RES/NAME.index.json and built_from in $RES/NAME.built. An index an earlier run left
# (index and summary both there) is reused.
index_once() {
  local name=$1 vault=$2
  local dir=$BENCH_DIR/index/$name
  if [[ -f $RES/$name.index.json && -d $dir ]]; then
    log "reusing index $dir"
  else
    log "indexing $vault with embeddings (slow)"
    rm -rf "$dir"
    "$RECALL" --index "$dir" index "$vault" ${MODEL:+--model "$MODEL"} --json >"$RES/$name.index.json.tmp"
    mv "$RES/$name.index.json.tmp" "$RES/$name.index.json"
    built_from >"$RES/$name.built"
  fi
}

# write_section NAME FILE: with --write, FILE (the whole section, markers included)
# replaces the NAME section of BENCHMARKS.md; without it, nothing.
write_section() {
  if [[ $WRITE -eq 1 ]]; then
    python3 benches/write_section.py "$1" "$2" BENCHMARKS.md
    log "wrote the $1 section of BENCHMARKS.md"
  fi
}
