#!/usr/bin/env bash
# "Related memories" on real vaults: can content alone find the notes a note links to?
#
# For each vault of ../shared/vaults (dendron-site, dnd-srd-5.1, logseq-docs, then
# flancian-garden, the largest: 7,772 tiny notes), index it once WITH embeddings and run
# `recall eval-related --json`: for every note with resolvable outgoing links, the links are
# hidden (from the graph and from the note's text) and recall's related notes, found from
# content alone (meaning, wording, tags; strength weight 0), are judged against the note's
# link targets; next to a more-like-this baseline (BM25 of the note's 25 most distinctive
# terms, tf-idf, alone).
#
# Usage: bash benches/related.sh [--write]
#   --write  also replace the section between <!-- related:begin --> and <!-- related:end -->
#            in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR  work folder (default /tmp/recall-bench); indexes in $BENCH_DIR/index/NAME
#                 are reused (delete one, or results/NAME.index.json, to rebuild it)
#      RECALL     binary (default ./target/release/recall)
#      SHARED     the shared data folder (default ../shared)
#      ONLY       space-separated subset of vaults (default: all four)
#      RECALL_COMMIT  the commit RECALL was built from, for the report (default: git HEAD,
#                 plus a note when src/ has uncommitted changes)
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_init "$@"
ONLY=${ONLY:-dendron-site dnd-srd-5.1 logseq-docs flancian-garden}
mkdir -p "$BENCH_DIR"/{index,results}

for name in $ONLY; do
  vault=$SHARED/vaults/$name
  [[ -d $vault ]] || { echo "related.sh: error: vault $vault not found" >&2; exit 1; }
  index_once "$name" "$vault"
  log "eval-related $name"
  "$RECALL" eval-related --index "$BENCH_DIR/index/$name" --json >"$RES/$name.related.json"
done

python3 -B benches/related_report.py report "$RES" "$RECALL" "$WRITE" "$SHARED" $ONLY >"$RES/related.md"

cat "$RES/related.md"
write_section related "$RES/related.md"
