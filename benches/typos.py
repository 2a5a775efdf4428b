#!/usr/bin/env python3
"""Typo tolerance of recall's search: the query sets, and the report of benches/typos.sh.

  make CORPUS QUERIES QRELS OUTDIR
      From a BEIR corpus.jsonl, queries.jsonl and qrels TSV, writes into OUTDIR the judged
      queries (those with a relevant document in QRELS), in file order, as five sets:
        clean.jsonl         as written
        typo1.jsonl         as written, one typo
        typo2.jsonl         as written, two typos (in two different words where possible)
        terse.jsonl         the query's three rarest words (corpus document frequency)
        terse-typo1.jsonl   those, one typo in the longest of the three
      plus edits.tsv (every edit made) and meta.json (seed, counts, examples) for `report`.
  check-qrels QRELS VAULT
      exit 0 when every judged corpus id of QRELS is a note of VAULT (VAULT/ID.md exists),
      so QRELS can be given to `recall eval` as it is; else print what is missing, exit 1.
  check-index INDEX_JSON NAME
      exit with an error unless the `recall index --json` summary INDEX_JSON says chunks
      were embedded (NAME, the index, is for the message).
  report DIR --recall BIN [--baseline BIN] --qrels FILE --cmd CMD --bench-dir DIR
         [--index-built COMMIT] [--baseline-index "PATH (built by COMMIT)"]
      reads DIR/meta.json and DIR/eval/{new,baseline}.SET.MODE.json (`recall eval --json`)
      and prints the markdown section `typos` of BENCHMARKS.md.

A typo: one word of 5 or more letters (a run of ASCII letters only, delimited by anything
else, so numbers and ids with digits never get one) gets exactly one edit, drawn with a seeded
RNG: drop a letter, insert a letter, substitute a letter, or swap two adjacent different
letters, at any position. The edited word differs from the original (ignoring case) and keeps
at least 4 letters. New letters are lower-case (upper-case in an all-capitals word). Every
query draws from its own RNG, seeded with (SEED, set family, query id), so a query's typos do
not depend on the others; the two-typo query repeats the one-typo query's edit and adds one.

Terse: the query lower-cased and split into runs of [a-z0-9] (as the corpus is for the
document frequencies: title + text of each document), English stop words (a small list below)
dropped, duplicates dropped; the three with the lowest document frequency (0 counts as
rarest; ties: earlier first), kept in query order, joined by spaces. Its typo goes into the
longest of the three (ties: earlier first) when that word is eligible (5+ letters, letters
only); otherwise the terse query stays unchanged.

Deterministic (same files every run) and stdlib only.
"""
import argparse
import json
import os
import platform
import random
import re
import sys
from collections import Counter

SEED = 20261207
SETS = ["clean", "typo1", "typo2", "terse", "terse-typo1"]
MODES = ["hybrid", "lexical"]
KINDS = ["drop", "insert", "substitute", "swap"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
EXAMPLES = 5
STOP = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers him his how i if in into is it its itself just
may me might more most must my no nor not of off on once only or other our ours out over own
same shall she should so some such than that the their theirs them then there these they this
those through to too under until up upon very was we were what when where which while who
whom why will with would you your
""".split())

TOKEN = re.compile(r"[a-z0-9]+")
RUN = re.compile(r"[A-Za-z0-9]+")  # a word of the query as written (its case kept)


def eligible(word):
    return len(word) >= 5 and word.isascii() and word.isalpha()


def one_edit(rng, word):
    """(new word, kind, position): exactly one edit of word, never a no-op, never < 4 letters."""
    upper = word.isupper()
    n = len(word)
    for _ in range(1000):
        kind = rng.choice(KINDS)
        if kind == "drop":
            i = rng.randrange(n)
            new = word[:i] + word[i + 1:]
        elif kind == "insert":
            i = rng.randrange(n + 1)
            c = rng.choice(LETTERS)
            new = word[:i] + (c.upper() if upper else c) + word[i:]
        elif kind == "substitute":
            i = rng.randrange(n)
            c = rng.choice([x for x in LETTERS if x != word[i].lower()])
            new = word[:i] + (c.upper() if upper else c) + word[i + 1:]
        else:  # swap two adjacent letters that differ
            pairs = [j for j in range(n - 1) if word[j].lower() != word[j + 1].lower()]
            if not pairs:
                continue
            i = rng.choice(pairs)
            new = word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if new.lower() != word.lower() and len(new) >= 4:
            return new, kind, i
    raise RuntimeError(f"no edit found for {word!r}")


def replace_spans(text, edits):
    """text with each (start, end, new) span replaced."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def tokens(text):
    return TOKEN.findall(text.lower())


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def judged_ids(qrels):
    """Query ids with at least one judgment of score > 0 (what `recall eval` counts)."""
    out = set()
    with open(qrels, encoding="utf-8") as f:
        for i, line in enumerate(f):
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 3:
                continue
            try:
                score = float(cols[2])
            except ValueError:
                if i == 0:
                    continue  # the header line
                raise
            if score > 0:
                out.add(cols[0])
    return out


def make(args):
    corpus_path, queries_path, qrels_path, outdir = args.corpus, args.queries, args.qrels, args.outdir
    df = Counter()
    docs = 0
    with open(corpus_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                docs += 1
                df.update(set(tokens((d.get("title") or "") + " " + (d.get("text") or ""))))
    judged = judged_ids(qrels_path)
    queries = [q for q in load_jsonl(queries_path) if str(q["_id"]) in judged]
    os.makedirs(outdir, exist_ok=True)

    out = {s: [] for s in SETS}
    edits = []  # (set, query id, word, typo, kind, position, typo is a corpus word)
    stats = Counter()
    for q in queries:
        qid, text = str(q["_id"]), q["text"]
        out["clean"].append((qid, text))

        # As written: one typo, then a second one in another word where possible.
        rng = random.Random(f"{SEED}:as-written:{qid}")
        words = [m for m in RUN.finditer(text) if eligible(m.group())]
        if not words:
            stats["written_no_word"] += 1
            out["typo1"].append((qid, text))
            out["typo2"].append((qid, text))
        else:
            first = rng.choice(words)
            new1, kind1, pos1 = one_edit(rng, first.group())
            e1 = (first.start(), first.end(), new1)
            edits.append(("typo1", qid, first.group(), new1, kind1, pos1, df[new1.lower()] > 0))
            out["typo1"].append((qid, replace_spans(text, [e1])))
            others = [m for m in words if m.start() != first.start()]
            if others:
                second = rng.choice(others)
                new2, kind2, pos2 = one_edit(rng, second.group())
                spans = [e1, (second.start(), second.end(), new2)]
                edits.append(("typo2", qid, first.group(), new1, kind1, pos1, df[new1.lower()] > 0))
                edits.append(("typo2", qid, second.group(), new2, kind2, pos2, df[new2.lower()] > 0))
            else:  # one eligible word: its second edit goes into the same word
                stats["typo2_same_word"] += 1
                for _ in range(1000):
                    new2, kind2, pos2 = one_edit(rng, new1)
                    if new2.lower() != first.group().lower():
                        break
                spans = [(first.start(), first.end(), new2)]
                edits.append(("typo2", qid, first.group(), new2, f"{kind1}+{kind2}", f"{pos1}+{pos2}",
                              df[new2.lower()] > 0))
            out["typo2"].append((qid, replace_spans(text, spans)))

        # Terse: the three rarest content words, in query order.
        seen, content = set(), []
        for w in tokens(text):
            if w not in STOP and w not in seen:
                seen.add(w)
                content.append(w)
        if len(content) < 3:
            stats["terse_short"] += 1
        rarest = sorted(range(len(content)), key=lambda i: (df[content[i]], i))[:3]
        terse = [content[i] for i in sorted(rarest)]
        out["terse"].append((qid, " ".join(terse)))
        rng = random.Random(f"{SEED}:terse:{qid}")
        longest = max(range(len(terse)), key=lambda i: (len(terse[i]), -i)) if terse else None
        if longest is None or not eligible(terse[longest]):
            stats["terse_no_word"] += 1
            out["terse-typo1"].append((qid, " ".join(terse)))
        else:
            new, kind, pos = one_edit(rng, terse[longest])
            edits.append(("terse-typo1", qid, terse[longest], new, kind, pos, df[new] > 0))
            out["terse-typo1"].append((qid, " ".join(terse[:longest] + [new] + terse[longest + 1:])))

    for s in SETS:
        with open(os.path.join(outdir, f"{s}.jsonl"), "w", encoding="utf-8") as f:
            for qid, text in out[s]:
                f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    with open(os.path.join(outdir, "edits.tsv"), "w", encoding="utf-8") as f:
        f.write("set\tquery-id\tword\ttypo\tkind\tposition\ttypo-is-corpus-word\n")
        for e in edits:
            f.write("\t".join(str(x) for x in e[:6]) + f"\t{'yes' if e[6] else 'no'}\n")

    per_set = {}
    for s in ("typo1", "typo2", "terse-typo1"):
        es = [e for e in edits if e[0] == s]
        per_set[s] = {
            "edits": len(es),
            "queries_changed": sum(1 for (qid, t), (_, c) in zip(out[s], out["clean" if s != "terse-typo1" else "terse"]) if t != c),
            "corpus_words": sum(1 for e in es if e[6]),
            "kinds": dict(sorted(Counter(e[4] for e in es).items())),
        }
    edits_of = {}
    for e in edits:
        edits_of.setdefault((e[0], e[1]), []).append({"word": e[2], "typo": e[3], "kind": e[4]})
    meta = {
        "seed": SEED,
        "corpus": corpus_path, "queries_file": queries_path, "qrels_file": qrels_path,
        "documents": docs,
        "queries_in_file": len(load_jsonl(queries_path)),
        "queries": len(queries),
        "written_no_eligible_word": stats["written_no_word"],
        "typo2_same_word": stats["typo2_same_word"],
        "terse_fewer_than_3_words": stats["terse_short"],
        "terse_no_typo": stats["terse_no_word"],
        "terse_words_df0": sum(1 for _, t in out["terse"] for w in t.split() if df[w] == 0),
        "terse_mean_words": sum(len(t.split()) for _, t in out["terse"]) / max(1, len(queries)),
        "sets": per_set,
        "examples": {s: [{"id": qid, "text": text, "clean": out["terse" if s.startswith("terse") else "clean"][i][1],
                          "edits": edits_of.get((s, qid), [])}
                         for i, (qid, text) in enumerate(out[s][:EXAMPLES])] for s in SETS},
    }
    with open(os.path.join(outdir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"typos.py: {len(queries)} judged queries of {meta['queries_in_file']} -> {outdir}: "
          f"{meta['written_no_eligible_word']} with no eligible word, "
          f"{meta['terse_no_typo']} terse queries without a typo; typos that are corpus words: "
          + ", ".join(f"{s} {v['corpus_words']}/{v['edits']}" for s, v in per_set.items()), file=sys.stderr)


def check_qrels(args):
    missing = []
    with open(args.qrels, encoding="utf-8") as f:
        for i, line in enumerate(f):
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 3 or (i == 0 and not cols[2].strip().lstrip("-").replace(".", "", 1).isdigit()):
                continue
            if float(cols[2]) > 0 and not os.path.isfile(os.path.join(args.vault, cols[1] + ".md")):
                missing.append(cols[1])
    if missing:
        print(f"typos.py: {len(missing)} judged ids of {args.qrels} are not notes of {args.vault}, "
              f"e.g. {', '.join(missing[:3])}", file=sys.stderr)
        sys.exit(1)


def check_index(args):
    if not json.load(open(args.index_json)).get("embedded"):
        sys.exit(f"typos.sh: error: index {args.name} has no embeddings (is the model installed? make setup)")


def report(args):
    sys.path.insert(0, "benches")
    from benchinfo import facts, sh, simd_flags
    d = args.dir
    meta = json.load(open(os.path.join(d, "meta.json"), encoding="utf-8"))
    f = facts(recall_commit=True)
    simd = simd_flags()
    version = lambda exe: (sh(exe, "--version").splitlines() or ["?"])[0]
    bins = [("new", args.recall)] + ([("baseline", args.baseline)] if args.baseline else [])

    def load(b, s, m):
        r = json.load(open(os.path.join(d, "eval", f"{b}.{s}.{m}.json"), encoding="utf-8"))
        get = lambda *keys: next((r[k] for k in keys if k in r), float("nan"))
        return {"ndcg": get("ndcg@10", "ndcg10"), "recall": get("recall@100", "recall100"),
                "mrr": get("mrr@10", "mrr10"), "p50": get("p50_ms"), "queries": r.get("queries", "")}

    res = {(b, s, m): load(b, s, m) for b, _ in bins for s in SETS for m in MODES}
    share = lambda a, b: 100.0 * a / b if b else float("nan")
    out = []
    p = out.append
    p("<!-- typos:begin -->")
    p("## Typo tolerance\n")
    p(f"Measured {f.now} with `{args.cmd}` (BENCH_DIR={args.bench_dir}).")
    p(f"Machine: {os.cpu_count()} cores, {f.cpu} (SIMD: {simd}), {platform.system()} {platform.release()}, "
      "shared with other work.")
    dirty = " (+ uncommitted changes in src/)" if f.src_changed else ""
    p(f"New binary: {version(args.recall)}, commit {f.commit}{dirty} (`{args.recall}`).")
    if args.baseline:
        bc = os.environ.get("BASELINE_COMMIT")
        p(f"Baseline: {version(args.baseline)}, `{args.baseline}`"
          + (f", commit {bc}." if bc else " (commit not given: set BASELINE_COMMIT)."))
    else:
        p("Baseline: none (BASELINE not set), so the baseline columns are left out.")
    p(f"Index: SciFact plain ({meta['documents']} documents), built once with embeddings"
      + (f" by commit {args.index_built}" if args.index_built else "")
      + ("; the baseline cannot read its format, so it searches its own index "
         f"{args.baseline_index}, built from the same vault." if args.baseline_index
         else "; both binaries search it." if args.baseline else "."))
    p(f"Queries: the {meta['queries']} judged SciFact **test** claims ({os.path.basename(meta['queries_file'])}, "
      f"judged in {os.path.basename(meta['qrels_file'])}); `recall eval --mode M --json` with qrels "
      f"`{args.qrels}`. Seed {meta['seed']}; query files in `{d}`.\n")
    p("A **typo** is one edit of one word of 5+ letters (a run of ASCII letters only, so no numbers or ids")
    p("with digits): drop a letter, insert a letter, substitute a letter, or swap two adjacent different")
    p("letters, kind and position drawn by the seeded RNG; the word must change and keep 4+ letters.")
    p("*As written*: the claim as it is; one typo in a random eligible word; two typos (the same first one")
    p("plus one in another word). *Terse*: the claim's three rarest words by SciFact document frequency")
    p("(lower-cased runs of [a-z0-9], stop words out), in claim order; its typo goes into the longest of")
    p("the three when that one is eligible.\n")
    p("| binary | mode | clean | 1 typo | kept | 2 typos | kept | terse clean | terse 1 typo | kept |")
    p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b, _ in bins:
        for m in MODES:
            c, t1, t2 = (res[(b, s, m)]["ndcg"] for s in ("clean", "typo1", "typo2"))
            tc, tt = res[(b, "terse", m)]["ndcg"], res[(b, "terse-typo1", m)]["ndcg"]
            p(f"| {b} | {m} | {c:.4f} | {t1:.4f} | {share(t1, c):.1f} % | {t2:.4f} | {share(t2, c):.1f} % | "
              f"{tc:.4f} | {tt:.4f} | {share(tt, tc):.1f} % |")
    p("\nnDCG@10; *kept* = with typos / clean. Targets (new binary):\n")
    p("| target | mode | clean | 1 typo | kept | met |")
    p("|---|---|---:|---:|---:|---|")
    for name, clean_set, typo_set, bound in (("terse, 1 typo ≥ 95 % of clean", "terse", "terse-typo1", 95.0),
                                             ("as written, 1 typo ≥ 99 % of clean", "clean", "typo1", 99.0)):
        for m in MODES:
            c, t = res[("new", clean_set, m)]["ndcg"], res[("new", typo_set, m)]["ndcg"]
            k = share(t, c)
            p(f"| {name} | {m} | {c:.4f} | {t:.4f} | {k:.1f} % | {'yes' if k >= bound else '**no**'} |")
    p("\nAll figures:\n")
    p("| binary | mode | query set | nDCG@10 | recall@100 | MRR@10 | p50 ms | queries |")
    p("|---|---|---|---:|---:|---:|---:|---:|")
    for b, _ in bins:
        for m in MODES:
            for s in SETS:
                r = res[(b, s, m)]
                p(f"| {b} | {m} | {s} | {r['ndcg']:.4f} | {r['recall']:.4f} | {r['mrr']:.4f} | {r['p50']:.2f} | "
                  f"{r['queries']} |")
    sets = meta["sets"]
    p("\nThe generated sets:\n")
    p(f"- {meta['written_no_eligible_word']} of {meta['queries']} claims have no eligible word and stay as they "
      f"are in the typo sets; {meta['typo2_same_word']} have only one, so both of their typos go into it.")
    p(f"- Terse: {meta['terse_mean_words']:.2f} words a query on average ({meta['terse_fewer_than_3_words']} claims have "
      f"fewer than three content words; {meta['terse_words_df0']} terse words occur in no document); "
      f"{meta['terse_no_typo']} terse queries get no typo (longest word under 5 letters or with digits).")
    for s, label in (("typo1", "1 typo"), ("typo2", "2 typos"), ("terse-typo1", "terse, 1 typo")):
        v = sets[s]
        kinds = ", ".join(f"{k} {n}" for k, n in v["kinds"].items())
        p(f"- {label}: {v['queries_changed']} queries changed, {v['edits']} edited words ({kinds}); "
          f"{v['corpus_words']} of the edited words are themselves words of the corpus.")
    p("\nThe first five queries of each set (`word→typo`):\n")
    p("| set | id | query |")
    p("|---|---|---|")
    for s in SETS:
        for e in meta["examples"][s]:
            text = e["text"].replace("|", "\\|")
            marks = "; ".join(f"`{x['word']}→{x['typo']}` ({x['kind']})" for x in e["edits"])
            p(f"| {s} | {e['id']} | {text}" + (f" — {marks}" if marks else "") + " |")
    p("\nLatency (p50) is in-process per query inside `recall eval` (top 100; hybrid includes embedding")
    p("the query) on a shared machine. *Kept* above 100 % means the typo'd set happened to score higher.")
    p("<!-- typos:end -->")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="action", required=True)
    m = sub.add_parser("make")
    m.add_argument("corpus")
    m.add_argument("queries")
    m.add_argument("qrels")
    m.add_argument("outdir")
    c = sub.add_parser("check-qrels")
    c.add_argument("qrels")
    c.add_argument("vault")
    i = sub.add_parser("check-index")
    i.add_argument("index_json")
    i.add_argument("name")
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--recall", required=True)
    r.add_argument("--baseline", default="")
    r.add_argument("--qrels", required=True)
    r.add_argument("--cmd", required=True)
    r.add_argument("--bench-dir", required=True)
    r.add_argument("--index-built", default="")
    r.add_argument("--baseline-index", default="")
    a = ap.parse_args()
    if a.action == "make":
        make(a)
    elif a.action == "check-qrels":
        check_qrels(a)
    elif a.action == "check-index":
        check_index(a)
    else:
        report(a)


if __name__ == "__main__":
    main()
