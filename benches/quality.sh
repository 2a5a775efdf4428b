#!/usr/bin/env bash
# Ranking quality of recall on judged collections, next to a SQLite FTS5 peer.
#
# Collections (vaults made by ../shared/tools/beir2vault.py):
#   scifact-plain      SciFact test split, documents as they are (--plain): the form to compare
#                      with published numbers (BM25 0.665-0.679, MiniLM-L6 dense 0.645)
#   scifact-memory     SciFact test split as memory notes (sections, tags, links, strength)
#   cranfield, cisi, cacm, knownitem-dendron   (--plain)
#   knownitem-zh       ../shared/vaults/zh-fortunes (Chinese) with ../shared/data/knownitem-zh; its
#                      FTS5 peer also runs with the trigram tokenizer
# For each: index once WITH embeddings (time, chunks embedded, chunks/s, index size), then
# `recall eval` in lexical, semantic and hybrid modes (nDCG@10, recall@100, MRR@10, p50/p95),
# and benches/fts5_peer.py on the same vault. Then the strength prior on scifact-memory:
# hybrid nDCG@10 with --strength-weight 0, 0.05, 0.1 (default), 0.2, 0.3.
#
# Usage: bash benches/quality.sh [--write]
#   --write  also replace the section between <!-- quality:begin --> and <!-- quality:end -->
#            in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR  work folder (default /tmp/recall-bench): vaults/NAME, index/NAME,
#                 results/NAME.*.json. Existing vaults and indexes are reused (delete
#                 index/NAME or results/NAME.index.json to rebuild one). The SciFact plain
#                 index stays at $BENCH_DIR/index/scifact-plain for benches/hnsw_recall.rs.
#      RECALL     binary (default ./target/release/recall; build it with cargo build --release)
#      SHARED     the shared data folder (default ../shared)
#      ONLY       space-separated subset of collections to run (default: all)
#      MODEL      the embedding model of the indexes it builds: auto (default), minilm or
#                 multilingual (use another BENCH_DIR than the default model's)
#      RECALL_COMMIT  the commit RECALL was built from, for the report (default: git HEAD,
#                 plus a note when src/ has uncommitted changes)
# The first run embeds ~25k chunks (about 10 minutes at ~50 chunks/s); later runs only eval.
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_init "$@"
ALL="scifact-plain scifact-memory cranfield cisi cacm knownitem-dendron knownitem-zh"
ONLY=${ONLY:-$ALL}
WEIGHTS="0 0.05 0.1 0.2 0.3"
# The binary's default strength weight (src/rank.rs DEFAULT_STRENGTH_WEIGHT), marked in the report.
DEFAULT_WEIGHT=0.1

[[ -d $SHARED/data ]] || { echo "quality.sh: error: $SHARED/data not found (set SHARED)" >&2; exit 1; }
DATA=$SHARED/data
mkdir -p "$BENCH_DIR"/{vaults,index,results}

# make_vault NAME beir2vault-args... : OUT=$BENCH_DIR/vaults/NAME (vault/, queries.jsonl, qrels.tsv)
make_vault() {
  local name=$1; shift
  local out=$BENCH_DIR/vaults/$name
  [[ -f $out/.done ]] && return 0
  log "building vault $name"
  rm -rf "$out"
  if [[ $name == knownitem-zh ]]; then
    # A real vault with its own judgments: linked, not generated.
    mkdir -p "$out"
    ln -s "$(cd "$SHARED/vaults/zh-fortunes" && pwd)" "$out/vault"
    cp "$DATA/knownitem-zh/queries.jsonl" "$DATA/knownitem-zh/qrels.tsv" "$out/"
  else
    python3 "$SHARED/tools/beir2vault.py" "$@" "$out" >&2
  fi
  touch "$out/.done"
}

# build_index NAME VAULT: index_once, then the index's size and a check that it has embeddings.
build_index() {
  local name=$1 vault=$2
  index_once "$name" "$vault"
  du -sb "$BENCH_DIR/index/$name" | cut -f1 >"$RES/$name.size"
  python3 -B benches/quality_report.py check-index "$RES/$name.index.json" "$name"
}

vault_args() {
  case $1 in
    scifact-plain)  echo "$DATA/scifact --plain --queries $DATA/scifact/queries-test.jsonl --qrels $DATA/scifact/qrels-test.tsv" ;;
    scifact-memory) echo "$DATA/scifact --queries $DATA/scifact/queries-test.jsonl --qrels $DATA/scifact/qrels-test.tsv" ;;
    cranfield|cisi|cacm|knownitem-dendron) echo "$DATA/$1 --plain" ;;
    knownitem-zh) echo "" ;;
    *) echo "quality.sh: unknown collection $1" >&2; return 1 ;;
  esac
}

for name in $ONLY; do
  # shellcheck disable=SC2046
  make_vault "$name" $(vault_args "$name")
done
# All embedding work first (one collection at a time), then the evals.
for name in $ONLY; do
  build_index "$name" "$BENCH_DIR/vaults/$name/vault"
done

for name in $ONLY; do
  v=$BENCH_DIR/vaults/$name
  for mode in lexical semantic hybrid; do
    log "eval $name $mode"
    "$RECALL" --index "$BENCH_DIR/index/$name" eval --queries "$v/queries.jsonl" --qrels "$v/qrels.tsv" \
      --mode "$mode" --json >"$RES/$name.$mode.json"
  done
  log "fts5 peer $name"
  python3 benches/fts5_peer.py --vault "$v/vault" --queries "$v/queries.jsonl" --qrels "$v/qrels.tsv" --json \
    >"$RES/$name.fts5.json"
  if [[ $name == knownitem-zh ]]; then
    python3 benches/fts5_peer.py --vault "$v/vault" --queries "$v/queries.jsonl" --qrels "$v/qrels.tsv" \
      --tokenizer trigram --json >"$RES/$name.fts5-trigram.json"
  fi
done

STRENGTH=0
if [[ " $ONLY " == *" scifact-memory "* ]]; then
  STRENGTH=1
  v=$BENCH_DIR/vaults/scifact-memory
  for w in $WEIGHTS; do
    log "strength weight $w (scifact-memory hybrid)"
    "$RECALL" --index "$BENCH_DIR/index/scifact-memory" eval --queries "$v/queries.jsonl" --qrels "$v/qrels.tsv" \
      --mode hybrid --strength-weight "$w" --json >"$RES/scifact-memory.strength-$w.json"
  done
fi

python3 -B benches/quality_report.py report "$RES" "$RECALL" "$WRITE" "$STRENGTH" "$BENCH_DIR" "$WEIGHTS" "$DEFAULT_WEIGHT" $ONLY \
  >"$RES/quality.md"

cat "$RES/quality.md"
write_section quality "$RES/quality.md"
