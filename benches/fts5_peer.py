#!/usr/bin/env python3
"""SQLite FTS5 peer baseline for recall's quality/latency table.

Why this exists: numbers for `recall` only mean something next to a well-known,
easy-to-reproduce lexical engine run on exactly the same vault, queries and
judgments. SQLite FTS5 (BM25, Porter stemming) is that peer: it ships with
Python, needs no tuning and is what many note apps actually use. This script
indexes a markdown vault the way a notes app would (files on disk, note id =
path), runs each judged query as an OR of its words, and scores the ranking with
the same metric definitions as recall's Rust eval (see the functions below).

Usage:
    python3 benches/fts5_peer.py --vault DIR --queries Q.jsonl --qrels R.tsv
                                 [--tokenizer unicode61|trigram] [--json]

Inputs:
    DIR      walked recursively for *.md; note id = relative path without `.md`,
             `/`-separated. title = first line starting with "# " (marker
             stripped, empty if none); body = the whole file.
    Q.jsonl  one {"_id": ..., "text": ...} per line.
    R.tsv    header line, then `query-id <TAB> note-id <TAB> score`; a note is
             relevant iff score > 0, and the score is its graded gain.

Retrieval: in-memory FTS5 table (title, body), ranked by bm25(table) ascending
(lower is better; ties by note id), top 100. Two tokenizers:
  unicode61 (default)  tokenize='porter unicode61'; the query is the OR of its word
                       tokens (maximal runs of Unicode letters/digits), each
                       double-quoted so punctuation and FTS5 syntax are inert.
  trigram              tokenize='trigram' (substring matching, the FTS5 answer for
                       text without spaces such as Chinese); the query is the OR of its
                       whitespace-separated parts, each double-quoted. FTS5 cannot match
                       a part shorter than three characters with it.

Only queries that have at least one relevant judgment in the qrels and appear in
Q.jsonl are evaluated; metrics are macro-averaged over them.

Stdlib only (Python >= 3.8 with SQLite built with FTS5).
"""
import argparse
import json
import math
import os
import re
import sqlite3
import sys
import time

TOP_K = 100
WORD = re.compile(r"[^\W_]+")  # letters/digits; close to unicode61's token chars


def read_vault(root):
    """Yield (note_id, title, body) for every *.md under root, in sorted order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".md"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)[: -len(".md")]
            note_id = rel.replace(os.sep, "/")
            with open(path, encoding="utf-8", errors="replace") as f:
                body = f.read()
            title = ""
            for line in body.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    break
            yield note_id, title, body


TOKENIZERS = {"unicode61": "porter unicode61", "trigram": "trigram"}


def build_index(root, tokenizer):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE notes USING fts5("
               "id UNINDEXED, title, body, tokenize='%s')" % TOKENIZERS[tokenizer])
    with db:
        db.executemany("INSERT INTO notes(id, title, body) VALUES (?, ?, ?)", read_vault(root))
    return db


def fts_query(text, tokenizer):
    """OR of the quoted word tokens (trigram: whitespace-separated parts) of text; ''
    if it has none."""
    if tokenizer == "trigram":
        return " OR ".join('"%s"' % p.replace('"', '""') for p in text.split())
    return " OR ".join('"%s"' % t for t in WORD.findall(text))


def search(db, text, tokenizer):
    match = fts_query(text, tokenizer)
    if not match:
        return []
    rows = db.execute(
        "SELECT id FROM notes WHERE notes MATCH ? ORDER BY bm25(notes), id LIMIT ?",
        (match, TOP_K))
    return [r[0] for r in rows]


def load_queries(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                q = json.loads(line)
                out[str(q["_id"])] = q["text"]
    return out


def load_qrels(path):
    """{query_id: {note_id: score}} keeping only score > 0 (the relevant notes)."""
    qrels = {}
    with open(path, encoding="utf-8") as f:
        next(f, None)  # header
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                continue
            score = float(cols[2])
            if score > 0:
                qrels.setdefault(cols[0], {})[cols[1]] = score
    return qrels


def ndcg_at(ranked, rels, k=10):
    """Linear gain = graded score, discount 1/log2(rank+1), rank from 1.
    Ideal DCG: the query's relevant scores sorted descending, cut at k."""
    dcg = sum(rels.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(rels.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked, rels, k=100):
    return len(set(ranked[:k]) & rels.keys()) / len(rels)


def mrr_at(ranked, rels, k=10):
    for i, d in enumerate(ranked[:k]):
        if d in rels:
            return 1.0 / (i + 1)
    return 0.0


def percentile(sorted_vals, p):
    """Nearest-rank percentile: the ceil(p/100 * n)-th smallest value (1-based)."""
    if not sorted_vals:
        return 0.0
    rank = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def main():
    ap = argparse.ArgumentParser(description="SQLite FTS5 (BM25) peer baseline.")
    ap.add_argument("--vault", required=True, help="directory of *.md notes")
    ap.add_argument("--queries", required=True, help="queries .jsonl (_id, text)")
    ap.add_argument("--qrels", required=True, help="qrels .tsv (query-id, note-id, score)")
    ap.add_argument("--tokenizer", choices=sorted(TOKENIZERS), default="unicode61",
                    help="porter unicode61 words (default) or trigram substrings")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()

    t0 = time.perf_counter()
    db = build_index(a.vault, a.tokenizer)
    index_s = time.perf_counter() - t0
    n_notes = db.execute("SELECT count(*) FROM notes").fetchone()[0]

    queries = load_queries(a.queries)
    qrels = load_qrels(a.qrels)
    missing = [q for q in qrels if q not in queries]
    if missing:
        print(f"warning: {len(missing)} judged queries missing from {a.queries}; skipped",
              file=sys.stderr)

    ndcg = rec = mrr = 0.0
    lat_ms = []
    evaluated = [q for q in queries if q in qrels]  # file order
    for qid in evaluated:
        t = time.perf_counter()
        ranked = search(db, queries[qid], a.tokenizer)
        lat_ms.append((time.perf_counter() - t) * 1000.0)
        rels = qrels[qid]
        ndcg += ndcg_at(ranked, rels)
        rec += recall_at(ranked, rels)
        mrr += mrr_at(ranked, rels)

    n = len(evaluated) or 1
    lat_ms.sort()
    res = {
        "ndcg@10": round(ndcg / n, 4),
        "recall@100": round(rec / n, 4),
        "mrr@10": round(mrr / n, 4),
        "p50_ms": round(percentile(lat_ms, 50), 3),
        "p95_ms": round(percentile(lat_ms, 95), 3),
        "queries": len(evaluated),
        "index_s": round(index_s, 3),
    }
    if a.json:
        print(json.dumps(res))
    else:
        print(f"fts5 {a.tokenizer} bm25: nDCG@10 {res['ndcg@10']:.4f}  R@100 {res['recall@100']:.4f}  "
              f"MRR@10 {res['mrr@10']:.4f}  p50 {res['p50_ms']:.2f} ms  p95 {res['p95_ms']:.2f} ms  "
              f"({res['queries']} queries, {n_notes} notes indexed in {res['index_s']:.2f} s)")


if __name__ == "__main__":
    main()
