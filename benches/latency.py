"""The queries, the cold runs and the report of benches/latency.sh.

    python3 -B benches/latency.py queries VAULT N RUNS TMP
        writes TMP/queries.jsonl, TMP/qrels.tsv (up to N queries, one per sampled page of
        VAULT: its title words and up to three description words, judged against that page)
        and TMP/words.txt (up to RUNS description words for the cold runs)
    python3 -B benches/latency.py cold RECALL INDEX VAULT TMP > cold.json
        times whole `recall search --mode lexical` and `rg -il` processes, interleaved, over
        the words of TMP/words.txt and prints their medians and p95s as JSON
    python3 -B benches/latency.py report TMP RECALL VAULT WRITE BASELINE > section.md
        reads TMP/{index,eval,cold}.json (and TMP/warm-{new,base}-{1,2,3}.json when BASELINE,
        another recall binary, is not empty) and prints the markdown section `latency` of
        BENCHMARKS.md (WRITE=1: the run had --write)
"""
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, "benches")
from benchinfo import facts, sh, run_subcommands  # noqa: E402


def queries(vault, n, runs, out):
    """Queries and judgments: one query per sampled page, from its title and description;
    and one distinctive description word per page for the cold runs."""
    n, runs = int(n), int(runs)
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


def cold(recall, index, vault, tmp):
    """Cold processes: whole `recall search` and `rg` runs, interleaved on the same words;
    prints their median and p95 wall times (ms) as JSON."""
    words = [w.strip() for w in open(f"{tmp}/words.txt") if w.strip()]

    def timed(cmd):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = (time.perf_counter() - t) * 1000
        # rg exits 1 when nothing matches; anything else is a failure.
        if r.returncode not in (0, 1) or (r.returncode == 1 and cmd[0] != "rg"):
            sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}: {r.stderr.decode(errors='replace')}")
        return dt
    rec_cmd = lambda w: [recall, "--index", index, "search", "--mode", "lexical", "-n", "10", w]  # noqa: E731
    rg_cmd = lambda w: ["rg", "-il", w, vault]  # noqa: E731
    # One untimed run each so both start with the files in the page cache.
    timed(rec_cmd(words[0])); timed(rg_cmd(words[0]))  # noqa: E702
    rec, rg = [], []
    for w in words:  # interleaved: both tools see the same machine state
        rec.append(timed(rec_cmd(w)))
        rg.append(timed(rg_cmd(w)))

    def p95(v):
        s = sorted(v); return s[max(0, -(-95 * len(s) // 100) - 1)]  # noqa: E702
    print(json.dumps({
        "runs": len(words), "words": words,
        "recall_median_ms": statistics.median(rec), "recall_p95_ms": p95(rec),
        "rg_median_ms": statistics.median(rg), "rg_p95_ms": p95(rg),
    }))


def report(tmp, recall, vault, write, baseline):
    """The markdown section `latency` of BENCHMARKS.md."""
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
        p50 = lambda who: statistics.median(  # noqa: E731
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


COMMANDS = {"queries": (queries, 4), "cold": (cold, 4), "report": (report, 5)}


if __name__ == "__main__":
    run_subcommands(COMMANDS, __doc__)
