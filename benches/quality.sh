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
  python3 - "$RES/$name.index.json" "$name" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
if not j.get("embedded"):
    sys.exit(f"quality.sh: error: index {sys.argv[2]} has no embeddings (is the model installed? make setup)")
PY
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

python3 -B - "$RES" "$RECALL" "$WRITE" "$STRENGTH" "$BENCH_DIR" "$WEIGHTS" "$DEFAULT_WEIGHT" $ONLY <<'PY' >"$RES/quality.md"
import json, os, platform, sys
sys.path.insert(0, "benches")
from benchinfo import facts, sh
res, recall, write, strength, bench_dir, weights, default_w = sys.argv[1:8]
names = sys.argv[8:]
weights = weights.split()
load = lambda p: json.load(open(os.path.join(res, p)))
def built(n):
    try:
        return open(os.path.join(res, f"{n}.built")).read().strip()
    except OSError:
        return "?"
version = sh(recall, "--version") or "?"
commit, src_changed, cpu, now = facts(recall_commit=True)
dirty = " (+ uncommitted changes in src/)" if src_changed else ""
cmd = "bash benches/quality.sh" + (" --write" if write == "1" else "")
label = {
    "scifact-plain": "SciFact test, plain", "scifact-memory": "SciFact test, memory notes",
    "cranfield": "Cranfield", "cisi": "CISI", "cacm": "CACM", "knownitem-dendron": "known-item Dendron",
    "knownitem-zh": "known-item Chinese (zh-fortunes)",
}
peers = {"fts5": "SQLite FTS5 (peer)", "fts5-trigram": "SQLite FTS5 trigram (peer)"}
out = []
p = out.append
p("<!-- quality:begin -->")
p("## Ranking quality\n")
p(f"Measured {now} with `{cmd}` (BENCH_DIR={bench_dir}).")
p(f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}, shared with other work.")
p(f"Binary: {version}, commit {commit}{dirty}. Model: all-MiniLM-L6-v2, per-channel qint8 (the default).")
p("Vaults: `python3 ../shared/tools/beir2vault.py` (`--plain` for all but the memory-note form of SciFact);")
p("known-item Chinese is the real vault `../shared/vaults/zh-fortunes` with `../shared/data/knownitem-zh`.")
p(f"SciFact uses the test split (300 queries). Defaults: fusion `zscore:0.5`, strength weight {default_w}.")
p("FTS5 = `benches/fts5_peer.py`, SQLite FTS5 porter BM25 over the same files and judgments;")
p("FTS5 trigram = the same with `--tokenizer trigram` (substrings; the FTS5 way to search Chinese).\n")
p("| collection | engine / mode | nDCG@10 | recall@100 | MRR@10 | p50 ms | p95 ms | queries |")
p("|---|---|---:|---:|---:|---:|---:|---:|")
checks = []
for n in names:
    modes = ["lexical", "semantic", "hybrid", "fts5"]
    if os.path.exists(os.path.join(res, f"{n}.fts5-trigram.json")):
        modes.append("fts5-trigram")
    rows = {mode: load(f"{n}.{mode}.json") for mode in modes}
    for mode in modes:
        r = rows[mode]
        eng = peers.get(mode, f"recall {mode}")
        ndcg = f"**{r['ndcg@10']:.4f}**" if mode == "hybrid" else f"{r['ndcg@10']:.4f}"
        p(f"| {label.get(n, n)} | {eng} | {ndcg} | {r['recall@100']:.4f} | {r['mrr@10']:.4f} | "
          f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} | {r.get('queries', '')} |")
    best_mode = max(("lexical", "semantic"), key=lambda m: rows[m]["ndcg@10"])
    best = rows[best_mode]["ndcg@10"]
    hyb = rows["hybrid"]["ndcg@10"]
    checks.append((n, hyb, best_mode, best, hyb >= best - 0.01))
p("")
p("Hybrid against the better single mode (requirement: hybrid ≥ best − 0.01):\n")
p("| collection | hybrid | better single mode | difference | meets |")
p("|---|---:|---|---:|---|")
for n, hyb, bm, best, ok in checks:
    p(f"| {label.get(n, n)} | {hyb:.4f} | {bm} {best:.4f} | {hyb - best:+.4f} | {'yes' if ok else '**no**'} |")
p("")
p("Indexing, once per vault with embeddings (fresh index, one text per model call):\n")
p("| collection | notes | sections | chunks embedded | index s | embed s | chunks/s | index size MB | built at |")
p("|---|---:|---:|---:|---:|---:|---:|---:|---|")
for n in names:
    j = load(f"{n}.index.json")
    size = int(open(os.path.join(res, f"{n}.size")).read().strip())
    emb, ems = j.get("embedded", 0), j.get("embed_ms", 0)
    rate = emb / (ems / 1000) if ems else float("nan")
    p(f"| {label.get(n, n)} | {j.get('notes')} | {j.get('sections')} | {emb} | {j['took_ms'] / 1000:.1f} | "
      f"{ems / 1000:.1f} | {rate:.1f} | {size / 1e6:.1f} | {built(n)} |")
p("")
p("Latency columns are in-process per-query times inside `recall eval` (top 100; semantic and")
p("hybrid include embedding the query). Index times come from the run that built the index")
p("(*built at*: the commit of that binary) and depend on how busy this shared machine was")
p("then. Chunks/s depends on chunk length: plain SciFact abstracts make long chunks (up to 160")
p("tokens), memory notes many short sections. *chunks embedded* excludes chunks whose exact")
p("text was already embedded in the same build.")
if strength == "1":
    p("\n### Strength prior\n")
    p("SciFact test as memory notes (each note has a `Strength` footer), hybrid mode,")
    p(f"`recall eval --mode hybrid --strength-weight W`. Requirement: the default ({default_w}) within 0.005 of 0.\n")
    p("| strength weight | nDCG@10 | recall@100 | MRR@10 | Δ nDCG@10 vs 0 |")
    p("|---:|---:|---:|---:|---:|")
    base = load("scifact-memory.strength-0.json")["ndcg@10"]
    for w in weights:
        r = load(f"scifact-memory.strength-{w}.json")
        mark = " (default)" if w == default_w else ""
        p(f"| {w}{mark} | {r['ndcg@10']:.4f} | {r['recall@100']:.4f} | {r['mrr@10']:.4f} | {r['ndcg@10'] - base:+.4f} |")
    d = load(f"scifact-memory.strength-{default_w}.json")["ndcg@10"] - base
    p(f"\nDefault vs 0: {d:+.4f} ({'within' if abs(d) <= 0.005 else '**outside**'} the 0.005 bound). The strengths are")
    p("synthetic (beir2vault derives them from a hash of the id), so they carry no relevance signal:")
    p("this measures how much the prior costs when it has nothing to add.")
p("<!-- quality:end -->")
print("\n".join(out))
PY

cat "$RES/quality.md"
write_section quality "$RES/quality.md"
