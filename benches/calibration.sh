#!/usr/bin/env bash
# Calibration of the absolute scores and the default relevance floor (`--min-score`).
#
# 1. fit: `recall eval --dump` on SciFact TRAIN (hybrid and lexical, floor off) and a
#    logistic regression of "judged relevant" on (keyword share, similarity) over each
#    query's top 10: the coefficients of src/relevance.rs come from here.
# 2. checks, with the binary's default floor (or FLOOR), all from dumps with the floor off
#    (the floor is applied here exactly as recall applies it):
#    (a) SciFact test: nDCG@10 lost to the floor (≤ 0.002) and judged-relevant top-10
#        results kept (≥ 99%);
#    (b) 200 generated nonsense queries (pseudo-words, fixed seed) on the SciFact and
#        examples vaults: queries left with no result (≥ 98%);
#    (c) off-topic queries (Cranfield questions on SciFact, SciFact questions on
#        Cranfield): top-10 results removed (≥ 80%);
#    (d) reliability: for shown-score bins, the share of judged-relevant results.
#
# Usage: bash benches/calibration.sh [--write]   (section `calibration` of BENCHMARKS.md)
# Needs the SciFact plain and Cranfield indexes of benches/quality.sh (built if missing,
# with embeddings). Env: BENCH_DIR, RECALL, SHARED, FLOOR (default: the binary's).
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_init "$@"
DATA=$SHARED/data
OUT=$RES/calibration
mkdir -p "$OUT" "$BENCH_DIR"/{vaults,index}

# The vaults and indexes quality.sh uses (same layout), and the examples vault.
vault() { # NAME beir2vault-args...
  local name=$1; shift
  local out=$BENCH_DIR/vaults/$name
  [[ -f $out/.done ]] && return 0
  log "building vault $name"
  rm -rf "$out"
  python3 "$SHARED/tools/beir2vault.py" "$@" "$out" >&2
  touch "$out/.done"
}
vault scifact-plain "$DATA/scifact" --plain --queries "$DATA/scifact/queries-test.jsonl" --qrels "$DATA/scifact/qrels-test.tsv"
vault scifact-train "$DATA/scifact" --plain --queries "$DATA/scifact/queries-train.jsonl" --qrels "$DATA/scifact/qrels-train.tsv"
vault cranfield "$DATA/cranfield" --plain
index_once scifact-plain "$BENCH_DIR/vaults/scifact-plain/vault"
index_once cranfield "$BENCH_DIR/vaults/cranfield/vault"
index_once examples "$PWD/examples/vault"

FLOOR=${FLOOR:-$("$RECALL" search --help | grep -A3 -- '--min-score' | sed -n 's/.*\[default: \([0-9.]*\)\].*/\1/p' | head -1)}
[[ -n $FLOOR ]] || { echo "calibration.sh: error: cannot read the default --min-score from $RECALL" >&2; exit 1; }

# Queries without judgments still run when judged against a note that does not exist.
unjudged() { # QUERIES.jsonl OUT-BASENAME
  cp "$1" "$OUT/$2.queries"
  python3 -B benches/calibration_report.py unjudged "$1" >"$OUT/$2.qrels"
}
# 200 pseudo-words: syllables drawn with a fixed seed, one or two words a query.
python3 -B benches/calibration_report.py nonsense >"$OUT/nonsense.jsonl"
unjudged "$OUT/nonsense.jsonl" nonsense-scifact
unjudged "$OUT/nonsense.jsonl" nonsense-examples
unjudged "$DATA/cranfield/queries.jsonl" offtopic-cranfield-on-scifact
unjudged "$BENCH_DIR/vaults/scifact-plain/queries.jsonl" offtopic-scifact-on-cranfield
cp "$BENCH_DIR/vaults/scifact-plain/qrels.tsv" "$OUT/scifact-test.qrels"

dump() { # INDEX QUERIES QRELS MODE OUT
  log "eval --dump $5"
  "$RECALL" --index "$BENCH_DIR/index/$1" eval --queries "$2" --qrels "$3" --mode "$4" --min-score 0 \
    --dump "$OUT/$5.jsonl" --json >/dev/null
}
dump scifact-plain "$BENCH_DIR/vaults/scifact-train/queries.jsonl" "$BENCH_DIR/vaults/scifact-train/qrels.tsv" hybrid train-hybrid
dump scifact-plain "$BENCH_DIR/vaults/scifact-train/queries.jsonl" "$BENCH_DIR/vaults/scifact-train/qrels.tsv" lexical train-lexical
dump scifact-plain "$BENCH_DIR/vaults/scifact-plain/queries.jsonl" "$OUT/scifact-test.qrels" hybrid scifact-test
dump scifact-plain "$OUT/nonsense-scifact.queries" "$OUT/nonsense-scifact.qrels" hybrid nonsense-scifact
dump examples "$OUT/nonsense-examples.queries" "$OUT/nonsense-examples.qrels" hybrid nonsense-examples
dump scifact-plain "$OUT/offtopic-cranfield-on-scifact.queries" "$OUT/offtopic-cranfield-on-scifact.qrels" hybrid offtopic-cranfield-on-scifact
dump cranfield "$OUT/offtopic-scifact-on-cranfield.queries" "$OUT/offtopic-scifact-on-cranfield.qrels" hybrid offtopic-scifact-on-cranfield

python3 -B benches/calibration_report.py report "$OUT" "$RECALL" "$FLOOR" "$WRITE" >"$RES/calibration.md"
cat "$RES/calibration.md"
write_section calibration "$RES/calibration.md"
