"""The checks and the report of benches/quality.sh.

    python3 -B benches/quality_report.py check-index INDEX.json NAME
        exit with an error unless the `recall index --json` summary INDEX.json says chunks
        were embedded (NAME, the collection, is for the message)
    python3 -B benches/quality_report.py report RES RECALL WRITE STRENGTH BENCH_DIR WEIGHTS DEFAULT_WEIGHT NAME... > quality.md
        reads RES/NAME.{lexical,semantic,hybrid,fts5[,fts5-trigram],index}.json, RES/NAME.size,
        RES/NAME.built and (STRENGTH=1) RES/scifact-memory.strength-W.json for each W of the
        space-separated WEIGHTS, and prints the markdown section `quality` of BENCHMARKS.md
        (WRITE=1: the run had --write)
"""
import json
import os
import platform
import sys

sys.path.insert(0, "benches")
from benchinfo import facts, sh  # noqa: E402


def check_index(index_json, name):
    j = json.load(open(index_json))
    if not j.get("embedded"):
        sys.exit(f"quality.sh: error: index {name} has no embeddings (is the model installed? make setup)")


def report(res, recall, write, strength, bench_dir, weights, default_w, names):
    weights = weights.split()
    load = lambda p: json.load(open(os.path.join(res, p)))  # noqa: E731

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
    models = {}
    for n in names:
        try:
            m = json.load(open(os.path.join(res, f"{n}.index.json"))).get("model") or "none"
        except (OSError, ValueError):
            m = "?"
        models.setdefault(m.split(":")[0], []).append(label.get(n, n))
    used = "; ".join(f"{m} ({', '.join(ns)})" for m, ns in models.items())
    p(f"Binary: {version}, commit {commit}{dirty}. Models (each index's, as `--model` chose it): {used}.")
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


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check-index":
        check_index(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 9 and sys.argv[1] == "report":
        report(*sys.argv[2:9], sys.argv[9:])
    else:
        sys.exit(__doc__)
