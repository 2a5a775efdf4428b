#!/usr/bin/env bash
# Incremental updates and the freshness check on a ~10k-note vault.
#
# Vault: SciFact as memory notes, every document twice (beir2vault --copies 2: 10,366 notes).
# Indexed once WITH embeddings (slow: ~20k chunks; reused on later runs), then:
#   freshness  `recall status --json` check_ms on the unchanged vault, 5 runs, median
#              (plus the whole process's wall time)
#   modify     append a sentence to one note, `recall update --json` took_ms; 5 runs, a
#              different note each time, median
#   delete     remove one note, `recall update --json`
#   add        write one new note, `recall update --json`
# Every change is undone at the end (and on failure) and the index is updated back, so the
# vault and index stay reusable.
#
# Usage: bash benches/update.sh [--write]
#   --write  also replace the section between <!-- update:begin --> and <!-- update:end -->
#            in BENCHMARKS.md (created if missing).
# Env: BENCH_DIR (default /tmp/recall-bench), RECALL (default ./target/release/recall),
#      SHARED (default ../shared), RUNS (default 5), RECALL_COMMIT (the commit RECALL was
#      built from, for the report; default: git HEAD, noting uncommitted changes in src/).
set -euo pipefail

source "$(dirname "$0")/common.sh"
bench_init "$@"
RUNS=${RUNS:-5}
NAME=scifact-x2
OUT=$BENCH_DIR/vaults/$NAME
VAULT=$OUT/vault
INDEX=$BENCH_DIR/index/$NAME
mkdir -p "$BENCH_DIR"/{vaults,index,results}

if [[ ! -f $OUT/.done ]]; then
  log "building vault $NAME"
  rm -rf "$OUT"
  python3 "$SHARED/tools/beir2vault.py" "$SHARED/data/scifact" "$OUT" --copies 2 \
    --queries "$SHARED/data/scifact/queries-test.jsonl" --qrels "$SHARED/data/scifact/qrels-test.tsv" >&2
  touch "$OUT/.done"
fi
index_once "$NAME" "$VAULT"

# Undo every change, whatever happens: restore backups, drop the added note, update back.
BACKUP=$BENCH_DIR/update-backup
ADDED=$VAULT/topics/zz_update_bench_new_note.md
restore() {
  if [[ -d $BACKUP ]]; then
    (cd "$BACKUP" && find . -type f -name '*.md' -print0) | while IFS= read -r -d '' f; do
      cp -p "$BACKUP/$f" "$VAULT/$f"
    done
    rm -rf "$BACKUP"
  fi
  rm -f "$ADDED"
  "$RECALL" --index "$INDEX" update --json >/dev/null 2>&1 || true
}
trap restore EXIT
restore   # a previous run that was killed left changes behind
log "index up to date: $("$RECALL" --index "$INDEX" update --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kind"])')"
mkdir -p "$BACKUP/topics"

python3 -B benches/update.py measure "$RECALL" "$INDEX" "$VAULT" "$BACKUP" "$ADDED" "$RUNS" >"$RES/$NAME.update.json"

du -sb "$INDEX" | cut -f1 >"$RES/$NAME.size"

python3 -B benches/update.py report "$RES" "$RECALL" "$WRITE" "$RUNS" >"$RES/update.md"

cat "$RES/update.md"
write_section update "$RES/update.md"
