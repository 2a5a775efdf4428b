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

cd "$(dirname "$0")/.."
RECALL=${RECALL:-./target/release/recall}
SHARED=${SHARED:-../shared}
BENCH_DIR=${BENCH_DIR:-/tmp/recall-bench}
ONLY=${ONLY:-dendron-site dnd-srd-5.1 logseq-docs flancian-garden}
WRITE=0
for arg in "$@"; do
  case "$arg" in
    --write) WRITE=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "related.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

[[ -x $RECALL ]] || { echo "related.sh: error: $RECALL not found; build it first with: cargo build --release" >&2; exit 1; }
command -v python3 >/dev/null || { echo "related.sh: error: python3 is required" >&2; exit 1; }
RECALL=$(cd "$(dirname "$RECALL")" && pwd)/$(basename "$RECALL")
mkdir -p "$BENCH_DIR"/{index,results}
RES=$BENCH_DIR/results
log() { echo "related.sh: $(date +%T) $*" >&2; }

for name in $ONLY; do
  vault=$SHARED/vaults/$name
  [[ -d $vault ]] || { echo "related.sh: error: vault $vault not found" >&2; exit 1; }
  dir=$BENCH_DIR/index/$name
  if [[ -f $RES/$name.index.json && -d $dir ]]; then
    log "reusing index $dir"
  else
    log "indexing $vault with embeddings (slow)"
    rm -rf "$dir"
    "$RECALL" --index "$dir" index "$vault" --json >"$RES/$name.index.json.tmp"
    mv "$RES/$name.index.json.tmp" "$RES/$name.index.json"
    c=${RECALL_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo '?')}
    [[ -z ${RECALL_COMMIT:-} && -n $(git status --porcelain -- src 2>/dev/null) ]] && c="$c + uncommitted changes in src/"
    echo "$c" >"$RES/$name.built"
  fi
  log "eval-related $name"
  "$RECALL" eval-related --index "$dir" --json >"$RES/$name.related.json"
done

python3 - "$RES" "$RECALL" "$WRITE" "$SHARED" $ONLY <<'PY' >"$RES/related.md"
import datetime, json, os, subprocess, sys
res, recall, write, shared = sys.argv[1:5]
names = sys.argv[5:]
load = lambda p: json.load(open(os.path.join(res, p)))
def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""
version = sh(recall, "--version") or "?"
commit = os.environ.get("RECALL_COMMIT") or sh("git", "rev-parse", "--short", "HEAD") or "?"
dirty = "" if os.environ.get("RECALL_COMMIT") else (" (+ uncommitted changes in src/)" if sh("git", "status", "--porcelain", "--", "src") else "")
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
cmd = "bash benches/related.sh" + (" --write" if write == "1" else "")
out = []
p = out.append
p("<!-- related:begin -->")
p("## Related memories\n")
p(f"Measured {now} with `{cmd}`; binary {version}, commit {commit}{dirty}.")
p("`recall eval-related --index DIR --json` on each vault of `../shared/vaults`: for every note")
p("with outgoing links that resolve, the links are hidden (from the link graph and from the")
p("note's text) and the note's content alone must find its link targets, judged with")
p("recall@10 and nDCG@10 (every target has gain 1). *related* = `recall related` on content")
p("(meaning, wording and tags; strength weight 0); *more-like-this* = the baseline, the BM25")
p("query of the note's 25 most distinctive terms (tf·idf) alone.\n")
p("| vault | notes | notes evaluated | related recall@10 | related nDCG@10 | more-like-this recall@10 | more-like-this nDCG@10 | related p50 ms | more-like-this p50 ms | index s (chunks) |")
p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in names:
    r = load(f"{n}.related.json")
    a, b = r["related"], r["more_like_this"]
    ix = load(f"{n}.index.json")
    few = a["notes"] < 20
    win = lambda x, y: f"**{x:.4f}**" if x > y and not few else f"{x:.4f}"
    p(f"| {n} | {ix.get('notes')} | {a['notes']}{' (too few to judge)' if few else ''} | {win(a['recall@10'], b['recall@10'])} | {win(a['ndcg@10'], b['ndcg@10'])} | "
      f"{win(b['recall@10'], a['recall@10'])} | {win(b['ndcg@10'], a['ndcg@10'])} | {a['p50_ms']:.2f} | {b.get('p50_ms', float('nan')):.2f} | "
      f"{ix['took_ms'] / 1000:.0f} ({ix.get('embedded', 0)}) |")
p("")
builds = sorted({open(os.path.join(res, f"{n}.built")).read().strip() if os.path.exists(os.path.join(res, f"{n}.built")) else "?" for n in names})
p("Bold: the better of the two per metric. *index s (chunks)*: the build with embeddings on this")
p(f"shared 2-core machine (binary of commit {', '.join(builds)}), chunks embedded. The p50 columns")
p("are per-note times inside one `eval-related` process.")
for n in names:
    k = load(f"{n}.related.json")["related"]["notes"]
    if k < 20:
        p(f"\n{n}: only {k} note{'s' if k != 1 else ''} with links that resolve"
          + (" (a spell list linking 778 spells)" if n == "dnd-srd-5.1" else "")
          + ": too few to judge related notes; its row is shown for completeness.")
p("<!-- related:end -->")
print("\n".join(out))
PY

cat "$RES/related.md"

if [[ $WRITE -eq 1 ]]; then
  python3 benches/write_section.py related "$RES/related.md" BENCHMARKS.md
  log "wrote the related section of BENCHMARKS.md"
fi
