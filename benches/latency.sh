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
python3 - "$VAULT" "$QUERIES" "$RUNS" "$TMP" <<'PY'
import json, os, random, re, sys
vault, n, runs, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pages = []
for root, dirs, files in os.walk(vault):
    dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    for f in sorted(files):
        if f.endswith(".md") and f != "LICENSE.md":
            pages.append(os.path.join(root, f))
rng = random.Random(42)
rng.shuffle(pages)
word = re.compile(r"[A-Za-z][A-Za-z0-9]{2,}")
queries, qrels, cold_words = [], [], []
for path in pages:
    if len(queries) >= n:
        break
    title, desc = "", ""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not title and line.startswith("# "):
                title = line[2:].strip()
            elif title and line.startswith("> "):
                desc = line[2:].strip()
                break
    if not title or not desc:
        continue
    desc_words = [w for w in word.findall(desc) if w.lower() not in {"the", "and", "for", "with", "from", "that", "more", "information"}]
    text = " ".join(word.findall(title) + desc_words[:3])
    if not text:
        continue
    note = os.path.relpath(path, vault)[:-3].replace(os.sep, "/")
    qid = f"q{len(queries)}"
    queries.append({"_id": qid, "text": text})
    qrels.append(f"{qid}\t{note}\t1")
    # Cold-run words: one distinctive word of the description (same for recall and rg).
    long_words = [w.lower() for w in desc_words if len(w) >= 5]
    fresh = [w for w in long_words if w not in cold_words]
    if fresh and len(cold_words) < runs:
        cold_words.append(fresh[0])
with open(os.path.join(out, "queries.jsonl"), "w") as fh:
    fh.writelines(json.dumps(q) + "\n" for q in queries)
with open(os.path.join(out, "qrels.tsv"), "w") as fh:
    fh.write("query-id\tcorpus-id\tscore\n")
    fh.writelines(l + "\n" for l in qrels)
with open(os.path.join(out, "words.txt"), "w") as fh:
    fh.writelines(w + "\n" for w in cold_words)
PY

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
python3 - "$RECALL" "$INDEX" "$VAULT" "$TMP" <<'PY' >"$TMP/cold.json"
import json, statistics, subprocess, sys, time
recall, index, vault, tmp = sys.argv[1:5]
words = [w.strip() for w in open(f"{tmp}/words.txt") if w.strip()]
def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    # rg exits 1 when nothing matches; anything else is a failure.
    if r.returncode not in (0, 1) or (r.returncode == 1 and cmd[0] != "rg"):
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}: {r.stderr.decode(errors='replace')}")
    return dt
rec_cmd = lambda w: [recall, "--index", index, "search", "--mode", "lexical", "-n", "10", w]
rg_cmd = lambda w: ["rg", "-il", w, vault]
# One untimed run each so both start with the files in the page cache.
timed(rec_cmd(words[0])); timed(rg_cmd(words[0]))
rec, rg = [], []
for w in words:  # interleaved: both tools see the same machine state
    rec.append(timed(rec_cmd(w)))
    rg.append(timed(rg_cmd(w)))
def p95(v):
    s = sorted(v); return s[max(0, -(-95 * len(s) // 100) - 1)]
print(json.dumps({
    "runs": len(words), "words": words,
    "recall_median_ms": statistics.median(rec), "recall_p95_ms": p95(rec),
    "rg_median_ms": statistics.median(rg), "rg_p95_ms": p95(rg),
}))
PY

# The markdown section.
python3 -B - "$TMP" "$RECALL" "$VAULT" "$WRITE" "${BASELINE:-}" <<'PY' >"$TMP/section.md"
import json, os, platform, statistics, sys
sys.path.insert(0, "benches")
from benchinfo import facts, sh
tmp, recall, vault, write, baseline = sys.argv[1:6]
idx = json.load(open(f"{tmp}/index.json"))
ev = json.load(open(f"{tmp}/eval.json"))
cold = json.load(open(f"{tmp}/cold.json"))
version = sh(recall, "--version") or "?"
commit, src_changed, cpu, now = facts()
dirty = " (+ uncommitted changes)" if src_changed else ""
rg_version = sh("rg", "--version").splitlines()[0] if sh("rg", "--version") else "?"
ratio = cold["recall_median_ms"] / cold["rg_median_ms"] if cold["rg_median_ms"] else float("nan")
cmd = "bash benches/latency.sh" + (" --write" if write == "1" else "")
if baseline:
    cmd = f"BASELINE={baseline} {cmd}"
    p50 = lambda who: statistics.median(
        json.load(open(f"{tmp}/warm-{who}-{r}.json"))["p50_ms"] for r in (1, 2, 3))
    new, base = p50("new"), p50("base")
    base_version = sh(baseline, "--version") or "?"
    baseline_rows = (
        f"| warm keyword query, baseline `{baseline}` ({base_version}), median of 3 alternating rounds | {base:.2f} ms | |\n"
        f"| warm keyword query, this build, median of the same 3 rounds | {new:.2f} ms | |\n"
        f"| ratio this build / baseline (warm p50) | {new / base:.2f}x | |\n")
else:
    baseline_rows = ""
print(f"""<!-- latency:begin -->
## Latency

Measured {now} with `{cmd}` (RUNS={cold['runs']}, QUERIES={ev['queries']}).
Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}.
Binary: {version}, commit {commit}{dirty}; {rg_version}.
Vault: `{vault}`: {idx['notes']} notes, {idx['sections']} sections, {len(idx['skipped'])} skipped; index built in {idx['took_ms']} ms.

| measurement | median / p50 | p95 |
|---|---:|---:|
| warm keyword query, in one process (`recall eval --mode lexical`, {ev['queries']} queries, top 100) | {ev['p50_ms']:.2f} ms | {ev['p95_ms']:.2f} ms |
| cold process: `recall --index DIR search --mode lexical -n 10 WORD` | {cold['recall_median_ms']:.1f} ms | {cold['recall_p95_ms']:.1f} ms |
| cold process: `rg -il WORD {vault}` | {cold['rg_median_ms']:.1f} ms | {cold['rg_p95_ms']:.1f} ms |
| ratio recall / rg (medians) | {ratio:.2f}x | |
{baseline_rows}
Warm queries are a page's title words plus up to three words of its description line,
judged against that page (nDCG@10 {ev['ndcg@10']:.3f}, MRR@10 {ev['mrr@10']:.3f}: a sanity check, not a quality
benchmark). Cold runs use one description word per page ({', '.join(cold['words'][:8])}, ...), recall and rg
interleaved on the same words after one untimed warm-up each; times are whole processes
(spawn + open index + search + print), measured with a Python `time.perf_counter` loop.
<!-- latency:end -->""")
PY

cat "$TMP/section.md"
write_section latency "$TMP/section.md"
