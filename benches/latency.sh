#!/usr/bin/env bash
# Latency of keyword search on a real vault (tldr-pages, ~7.4k notes).
#
#   (a) warm: p50/p95 of in-process keyword queries, from `recall eval --mode lexical`
#       over generated queries (words of a page's title + description line; the judged
#       relevant note is that page).
#   (b) cold: median wall time of a whole `recall search --mode lexical -n 10 WORD`
#       process vs `rg -il WORD VAULT`, same words, runs interleaved.
#
# Usage: bash benches/latency.sh [--write]
#   --write  also replace the section between <!-- latency:begin --> and
#            <!-- latency:end --> in BENCHMARKS.md (created if missing).
# Builds nothing: ./target/release/recall must exist (cargo build --release).
# Env: RUNS (default 30) cold runs per tool, QUERIES (default 200) warm queries.
#      BASELINE  another recall binary (e.g. an older build) to compare warm keyword latency
#                with: both index the vault, then their warm runs alternate, 3 rounds each,
#                and the report gives both medians and their ratio.
set -euo pipefail

source "$(dirname "$0")/common.sh"
RECALL=./target/release/recall  # always this checkout's build: RECALL from the environment is ignored
bench_init "$@"
VAULT=../shared/vaults/tldr-pages
RUNS=${RUNS:-30}
QUERIES=${QUERIES:-200}

if [[ ! -d $VAULT ]]; then
  echo "latency.sh: error: vault $VAULT not found" >&2
  exit 1
fi
if ! command -v rg >/dev/null; then
  echo "latency.sh: rg not found; installing ripgrep" >&2
  if [[ $(id -u) -eq 0 ]]; then
    apt-get install -y ripgrep >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y ripgrep >/dev/null; }
  else
    sudo apt-get install -y ripgrep >/dev/null
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
INDEX=$TMP/index

# Keyword latency only: skip embeddings when this recall can (they take minutes to build
# and no keyword query reads them).
INDEX_FLAGS=()
if "$RECALL" index --help 2>/dev/null | grep -q -- '--no-embed'; then
  INDEX_FLAGS+=(--no-embed)
fi
echo "latency.sh: indexing $VAULT ${INDEX_FLAGS[*]:-}" >&2
"$RECALL" --index "$INDEX" index "$VAULT" --json "${INDEX_FLAGS[@]}" >"$TMP/index.json"

# Queries and judgments: one query per sampled page, from its title and description.
python3 -B benches/latency.py queries "$VAULT" "$QUERIES" "$RUNS" "$TMP"

echo "latency.sh: warm queries (recall eval)" >&2
warm() { # warm BINARY INDEX OUT
  "$1" --index "$2" eval --queries "$TMP/queries.jsonl" --qrels "$TMP/qrels.tsv" --mode lexical --json >"$3"
}
warm "$RECALL" "$INDEX" "$TMP/eval.json"
if [[ -n ${BASELINE:-} ]]; then
  echo "latency.sh: baseline $BASELINE: indexing, then 3 warm rounds alternating with this build" >&2
  "$BASELINE" --index "$TMP/base-index" index "$VAULT" --json "${INDEX_FLAGS[@]}" >/dev/null
  for round in 1 2 3; do
    warm "$RECALL" "$INDEX" "$TMP/warm-new-$round.json"
    warm "$BASELINE" "$TMP/base-index" "$TMP/warm-base-$round.json"
  done
fi

echo "latency.sh: cold processes ($RUNS runs each of recall and rg)" >&2
python3 -B benches/latency.py cold "$RECALL" "$INDEX" "$VAULT" "$TMP" >"$TMP/cold.json"

# The markdown section.
python3 -B benches/latency.py report "$TMP" "$RECALL" "$VAULT" "$WRITE" "${BASELINE:-}" >"$TMP/section.md"

cat "$TMP/section.md"
write_section latency "$TMP/section.md"
