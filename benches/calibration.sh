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
  python3 - "$1" >"$OUT/$2.qrels" <<'PY'
import json, sys
print("query-id\tcorpus-id\tscore")
for line in open(sys.argv[1]):
    if line.strip():
        print(f"{json.loads(line)['_id']}\tno such note\t1")
PY
}
# 200 pseudo-words: syllables drawn with a fixed seed, one or two words a query.
python3 - >"$OUT/nonsense.jsonl" <<'PY'
import json, random
rng = random.Random(20261203)
cons, vows = "bdfgklmnprstvz", "aeiou"
word = lambda: "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))
for i in range(200):
    print(json.dumps({"_id": f"n{i}", "text": " ".join(word() for _ in range(rng.randint(1, 2)))}))
PY
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

python3 -B - "$OUT" "$RECALL" "$FLOOR" "$WRITE" <<'PY' >"$RES/calibration.md"
import io, os, platform, re, subprocess, sys
sys.path.insert(0, "benches")
from benchinfo import facts, sh
out, recall, floor, write = sys.argv[1:5]
commit, src_changed, cpu, now = facts(recall_commit=True)
def run(*args):
    return subprocess.run([sys.executable, "-B", "benches/calibration.py", *args], capture_output=True, text=True, check=True).stdout.strip()
cmd = "bash benches/calibration.sh" + (" --write" if write == "1" else "")
print("<!-- calibration:begin -->")
print("## Scores that mean something: calibration and the relevance floor\n")
print(f"Measured {now} with `{cmd}`. Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}.")
print(f"Binary: {sh(recall, '--version') or '?'}, commit {commit}{' (+ uncommitted changes in src/)' if src_changed else ''}. Floor: `--min-score {floor}` (the default).\n")
print("A logistic fit on this run's SciFact **train** dumps (top 10 of each of 809 queries):\n")
print("```\n" + run("fit", os.path.join(out, "train-hybrid.jsonl"), os.path.join(out, "train-lexical.jsonl")) + "\n```\n")
src = open("src/relevance.rs").read()
used = [f"{name}: intercept {m[0]}, keyword share {m[1]}, similarity {m[2]}" for name, *m in re.findall(
    r"const (\w+): Model = Model \{\s*intercept: ([-\d.]+),\s*keyword: ([-\d.]+),\s*similarity: ([-\d.]+),", src)]
print("The coefficients in use, which the checks below measure (`src/relevance.rs`, whose docs say which fit")
print("they come from): " + "; ".join(used) + ".\n")
print(run("report", out, floor))
print("\nDumps: `recall eval --dump` with the floor off (`--min-score 0`), top 100 a query; the floor is")
print("applied to them as recall applies it (a candidate is kept when its probability of relevance,")
print("before priors, is at least the floor). Nonsense queries: 200 pseudo-words (seeded); off-topic: the")
print("225 Cranfield questions asked of SciFact, the 300 SciFact test claims asked of Cranfield.")
print("<!-- calibration:end -->")
PY
cat "$RES/calibration.md"
write_section calibration "$RES/calibration.md"
