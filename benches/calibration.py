#!/usr/bin/env python3
"""Calibration of recall's absolute scores and relevance floor, from `recall eval --dump` files.

Every dump line is one ranked candidate (top 100 of a query, floor off) with its evidence:
{"query", "rank", "note", "gain", "keyword_share", "similarity", "fused", "relevance"}.

  fit HYBRID LEXICAL       logistic regression of "judged relevant" on (keyword share,
                           similarity) over the top-10 candidates of each query of the hybrid
                           dump, and on the keyword share alone over the lexical dump's (for
                           keyword mode and indexes without embeddings); prints the
                           coefficients to put in src/relevance.rs
  report DIR FLOOR         reads DIR/*.jsonl written by benches/calibration.sh and prints the
                           markdown section: (a) SciFact test, nDCG@10 with and without the
                           floor and the share of judged-relevant top-10 results kept;
                           (b) nonsense queries: share with no result left; (c) off-topic
                           queries: share of their top-10 results removed; (d) reliability:
                           for score bins, the share of judged-relevant results (SciFact test)

The floor keeps a candidate when its `relevance` (the model's probability, before priors) is
at least FLOOR; the shown score is that probability times the priors, capped so it never rises
as rank falls, which is what the reliability bins use. Stdlib only.
"""
import collections
import json
import math
import os
import sys


def load(path):
    by_query = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            by_query[r["query"]].append(r)
    for rows in by_query.values():
        rows.sort(key=lambda r: r["rank"])
    return by_query


def logistic(xs, ys, iters=30):
    """Newton's method; xs rows start with the constant 1."""
    d = len(xs[0])
    w = [0.0] * d
    for _ in range(iters):
        g = [0.0] * d
        h = [[1e-6 if i == j else 0.0 for j in range(d)] for i in range(d)]
        for x, y in zip(xs, ys):
            z = max(-30.0, min(30.0, sum(a * b for a, b in zip(w, x))))
            p = 1.0 / (1.0 + math.exp(-z))
            for i in range(d):
                g[i] += (p - y) * x[i]
                for j in range(d):
                    h[i][j] += p * (1 - p) * x[i] * x[j]
        a = [h[i][:] + [g[i]] for i in range(d)]
        for c in range(d):
            pivot = max(range(c, d), key=lambda r: abs(a[r][c]))
            a[c], a[pivot] = a[pivot], a[c]
            for r in range(d):
                if r != c:
                    f = a[r][c] / a[c][c]
                    a[r] = [u - f * v for u, v in zip(a[r], a[c])]
        w = [wi - a[i][d] / a[i][i] for i, wi in enumerate(w)]
    return w


def top10(path):
    rows = [r for rs in load(path).values() for r in rs if r["rank"] <= 10]
    return rows, [1.0 if r["gain"] > 0 else 0.0 for r in rows]


def fit(hybrid, lexical):
    rows, ys = top10(hybrid)
    both = logistic([[1.0, r["keyword_share"] or 0.0, r["similarity"] or 0.0] for r in rows], ys)
    print(f"hybrid: {len(rows)} top-10 results, {int(sum(ys))} judged relevant")
    print(f"  with similarity: intercept {both[0]:.3f}, keyword share {both[1]:.3f}, similarity {both[2]:.3f}")
    rows, ys = top10(lexical)
    words = logistic([[1.0, r["keyword_share"] or 0.0] for r in rows], ys)
    print(f"lexical: {len(rows)} top-10 results, {int(sum(ys))} judged relevant")
    print(f"  keywords only: intercept {words[0]:.3f}, keyword share {words[1]:.3f}")


def ndcg(notes, rel, k=10):
    dcg = sum(rel.get(n, 0.0) / math.log2(i + 2) for i, n in enumerate(notes[:k]))
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def kept(rows, floor):
    return [r for r in rows if r["relevance"] >= floor]


def report(d, floor):
    out = []
    p = out.append
    # (a) SciFact test.
    test = load(os.path.join(d, "scifact-test.jsonl"))
    rel = {q: {r["note"]: r["gain"] for r in rs if r["gain"] > 0} for q, rs in test.items()}
    judged = read_qrels(os.path.join(d, "scifact-test.qrels"))
    n = len(judged)
    before = sum(ndcg([r["note"] for r in test.get(q, [])], judged[q]) for q in judged) / n
    after = sum(ndcg([r["note"] for r in kept(test.get(q, []), floor)], judged[q]) for q in judged) / n
    top = [r for rs in test.values() for r in rs[:10] if r["gain"] > 0]
    top_kept = [r for r in top if r["relevance"] >= floor]
    share_kept = len(top_kept) / max(1, len(top))
    p(f"| (a) SciFact test: nDCG@10 without → with the floor | {before:.4f} → {after:.4f} ({after - before:+.4f}) | loss ≤ 0.002 | {yes(before - after <= 0.002)} |")
    p(f"| (a) judged-relevant results in the top 10 kept | {len(top_kept)} of {len(top)} ({share_kept:.1%}) | ≥ 99% | {yes(share_kept >= 0.99)} |")
    # (b) Nonsense queries.
    for name, label in [("nonsense-scifact", "SciFact"), ("nonsense-examples", "examples vault")]:
        rows = load(os.path.join(d, f"{name}.jsonl"))
        queries = read_queries(os.path.join(d, f"{name}.queries"))
        empty = sum(1 for q in queries if not kept(rows.get(q, []), floor))
        share = empty / max(1, len(queries))
        p(f"| (b) nonsense queries on the {label}: no result left | {empty} of {len(queries)} ({share:.1%}) | ≥ 98% | {yes(share >= 0.98)} |")
    # (c) Off-topic queries.
    for name, label in [("offtopic-cranfield-on-scifact", "Cranfield questions on SciFact"),
                        ("offtopic-scifact-on-cranfield", "SciFact questions on Cranfield")]:
        rows = load(os.path.join(d, f"{name}.jsonl"))
        top = [r for rs in rows.values() for r in rs[:10]]
        removed = sum(1 for r in top if r["relevance"] < floor)
        share = removed / max(1, len(top))
        p(f"| (c) {label}: top-10 results removed | {removed} of {len(top)} ({share:.1%}) | ≥ 80% | {yes(share >= 0.8)} |")
    table = "\n".join(["| check | measured | requirement | meets |", "|---|---|---|---|"] + out)
    # (d) Reliability of the shown score on SciFact test (top 10 of each query, floor on).
    bins = collections.defaultdict(lambda: [0, 0])
    for q, rs in test.items():
        shown = monotone([r["relevance"] for r in kept(rs, floor)])
        for r, s in zip(kept(rs, floor)[:10], shown[:10]):
            b = min(9, int(s * 10))
            bins[b][0] += 1
            bins[b][1] += 1 if r["gain"] > 0 else 0
    rows = ["| shown score | results | judged relevant |", "|---|---:|---:|"]
    for b in range(10):
        total, good = bins[b]
        if total:
            rows.append(f"| {b / 10:.1f}–{(b + 1) / 10:.1f} | {total} | {good / total:.1%} |")
    print(table)
    print()
    print("\n".join(rows))


def monotone(scores):
    out, cap = [], float("inf")
    for s in scores:
        cap = min(cap, s)
        out.append(cap)
    return out


def yes(ok):
    return "yes" if ok else "**no**"


def read_qrels(path):
    judged = collections.defaultdict(dict)
    with open(path) as f:
        next(f)
        for line in f:
            q, n, s = line.rstrip("\n").split("\t")
            if float(s) > 0:
                judged[q][n] = float(s)
    return judged


def read_queries(path):
    with open(path) as f:
        return [json.loads(line)["_id"] for line in f if line.strip()]


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "fit":
        fit(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "report":
        report(sys.argv[2], float(sys.argv[3]))
    else:
        sys.exit(__doc__)
