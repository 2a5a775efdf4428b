"""The report of benches/related.sh.

    python3 -B benches/related_report.py report RES RECALL WRITE SHARED NAME... > related.md
        reads RES/NAME.{related,index}.json and RES/NAME.built for each vault NAME and prints
        the markdown section `related` of BENCHMARKS.md (WRITE=1: the run had --write;
        SHARED, the shared data folder, is not used by the report)
"""
import json
import os
import sys

sys.path.insert(0, "benches")
from benchinfo import facts, sh  # noqa: E402


def report(res, recall, write, shared, names):
    load = lambda p: json.load(open(os.path.join(res, p)))  # noqa: E731
    version = sh(recall, "--version") or "?"
    commit, src_changed, _, now = facts(recall_commit=True)
    dirty = " (+ uncommitted changes in src/)" if src_changed else ""
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
        win = lambda x, y: f"**{x:.4f}**" if x > y and not few else f"{x:.4f}"  # noqa: E731
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


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "report":
        report(*sys.argv[2:6], sys.argv[6:])
    else:
        sys.exit(__doc__)
