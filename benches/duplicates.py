"""Near-duplicate thresholds for `remember`, measured on real notes.

`remember` (`POST /v1/notes`, `recall remember`) writes nothing when an existing note holds
the new memory already: the same title, or one of two measures at or above its threshold
(DUPLICATE_MEANING, DUPLICATE_WORDS in src/engine/write.rs):

    meaning  the best cosine between the embedding of the memory (title + "\\n\\n" + body; the
             model reads its first 256 word pieces) and one of the note's section vectors;
    words    containment: the share of the memory's word triples (3 consecutive lower-cased
             words; each CJK character is a word) that the note's file also holds.

This measures where both thresholds should be. For a deterministic sample of notes of each
vault, each note is offered as a new memory with `"dry_run": true` (nothing is written)
through `POST /v1/notes` of `recall serve --allow-write` on loopback. Its title is the
note's title + " (copy)" (a title equal to the note's own is flagged "same title" whatever
the scores, which would hide them), its body the note's title + "\\n\\n" + its body (front
matter and italic memory footer removed), so the text still carries the real title:

    exact     the note's own meaning and words for its own text (a re-remembered note);
    restated  the same with every other sentence/line of the body dropped (a partial
              restatement, to be caught);
    distinct  the highest meaning, and separately the highest words, of any OTHER note the
              answer shows for the note's own text (`closest`, at most 5, plus any other
              note in `duplicates`): the nearest different note, which must not be flagged.

Then, for meaning 0.80..0.98 and words 0.20..0.90, the share of distinct at or above (false
alarms; also with textual copies among the other notes left out) and of exact and restated
caught; it recommends for each measure the lowest threshold with false alarms <= 1% over all
sampled notes, and reports the rule "duplicate if meaning >= M or words >= W" with both.
The answer shows only 5 notes, so the nearest other note by one measure can be hidden behind
notes that score higher on the other: the report says how often that could happen (for
words it also checks against every note, with triples computed here as the engine does).

Usage: python3 -B benches/duplicates.py [--write] [--report-only] [--per-vault N] [NAME=VAULT ...]
    NAME=VAULT     the vaults (default: examples=examples/vault and, from $SHARED/vaults,
                   dendron-site, logseq-docs, dnd-srd-5.1, plus scifact-memory: SciFact's
                   corpus as memory notes, made by $SHARED/tools/beir2vault.py into
                   $BENCH_DIR/vaults/scifact-memory)
    --per-vault N  notes sampled per vault (default 150; the order is a hash of the note id)
    --write        also replace the `duplicates` section of BENCHMARKS.md
    --report-only  only the report, from the per-note figures of an earlier run
Env: BENCH_DIR  work folder (default /tmp/recall-bench/duplicates): indexes in
                $BENCH_DIR/index/NAME (reused when $BENCH_DIR/results/NAME.index.json is
                there too), per-note figures in $BENCH_DIR/results/NAME.duplicates.jsonl,
                the report in $BENCH_DIR/duplicates.md
     RECALL     binary (default ./target/release/recall)
     SHARED     the shared data folder (default ../shared)
Run from the repo root (benches/duplicates.sh does). Every step is bounded in time; the
servers it starts listen on loopback only, write nothing (dry runs) and are stopped at the end.
"""
import hashlib
import json
import os
import platform
import re
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from urllib.parse import quote

sys.path.insert(0, "benches")
from benchinfo import facts, sh, simd_flags  # noqa: E402

MIN_WORDS = 20  # notes with a shorter body are skipped
MEANINGS = [round(0.80 + 0.01 * i, 2) for i in range(19)]  # 0.80 .. 0.98
WORDINGS = [round(0.20 + 0.05 * i, 2) for i in range(15)]  # 0.20 .. 0.90
MAX_FALSE_ALARMS = 0.01
MAX_BODY = 256 * 1024  # bytes of a memory's body (the engine refuses more)
MAX_TITLE = 200  # characters of a title
SUFFIX = " (copy)"
SHOWN = 5  # notes in an answer's `closest`
INDEX_TIMEOUT = 3600  # s, one index build
START_TIMEOUT = 180  # s, a server's first line
REQUEST_TIMEOUT = 120  # s, one request (the server's own --timeout is 90)
COPY_SHARE = 0.5  # a pair is a textual copy when half the word 8-grams of one are in the other
FOOTER_KEYS = {"knowledge domain established", "established", "created", "last updated", "updated", "strength"}


def log(*a):
    print("duplicates.py:", time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- notes as `remember` text

FENCE = re.compile(r"^\s*(```|~~~)")
FOOTER = re.compile(r"^\s*[*_]\s*([^*_:][^:]*?)\s*:\s*(.*?)\s*[*_]\s*$")


def parse(path, note_id):
    """(title, body) of a note file, the way a memory note would be remembered: the title
    is its first H1 (outside code), else its front matter `title`, else its file name (as
    recall titles a note); the body is the rest, without the front matter, that H1 line and
    the italic footer lines (`*Strength: 0.8*`, ...) with the rule before them."""
    text = open(path, encoding="utf-8", errors="replace").read().replace("\r\n", "\n")
    lines = text.split("\n")
    fm_title = None
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                for fm in lines[1:i]:
                    m = re.match(r"^title:\s*(.*?)\s*$", fm)
                    if m and m.group(1):
                        fm_title = m.group(1).strip("'\"")
                lines = lines[i + 1:]
                break
    h1, body, fenced = None, [], False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and h1 is None and re.match(r"^#\s+\S", line):
            h1 = re.sub(r"\s+#+\s*$", "", line[1:].strip())
            continue
        m = None if fenced else FOOTER.match(line)
        if m and m.group(1).strip().lower() in FOOTER_KEYS:
            continue
        body.append(line)
    while body and (not body[-1].strip() or re.fullmatch(r"\s*-{3,}\s*", body[-1])):
        body.pop()
    while body and not body[0].strip():
        body.pop(0)
    title = h1 or fm_title or note_id.rsplit("/", 1)[-1]
    return title, "\n".join(body)


def words(s):
    return re.findall(r"\w+", s)


SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)")


def halve(body):
    """The body with every other sentence or line dropped (the 1st, 3rd, ... kept); a body
    of one sentence keeps the first half of its words."""
    units = []  # (line number, sentence)
    for n, line in enumerate(body.split("\n")):
        if line.strip():
            units += [(n, s) for s in SENTENCE.split(line) if s.strip()]
    if len(units) < 2:
        w = body.split()
        return " ".join(w[: max(1, len(w) // 2)])
    kept = {}
    for i, (n, s) in enumerate(units):
        if i % 2 == 0:
            kept.setdefault(n, []).append(s)
    return "\n".join(" ".join(kept[n]) for n in sorted(kept))


def shingles(s, k=8):
    w = [x.lower() for x in words(s)]
    return {tuple(w[i:i + k]) for i in range(max(1, len(w) - k + 1))} if w else set()


def containment(a, b):
    """The larger of: the share of a's word 8-grams found in b, and of b's in a."""
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 0.0
    inter = len(sa & sb)
    return max(inter / len(sa), inter / len(sb))


# The engine's word triples (src/related/duplicates.rs), to check the `words` of every note,
# not only the 5 an answer shows: lower-cased runs of letters and digits, each CJK character
# a word of its own. (Python's idea of a letter differs from Rust's only in a few marks of
# non-Latin scripts; the report compares the two on each note's own text.)
CJK = ("\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF\U00020000-\U0002FA1F\u3005\u3007\u3041-\u309F"
       "\u30A0-\u30FF\u31F0-\u31FF\uFF66-\uFF9F\u1100-\u11FF\u3130-\u318F\uA960-\uA97F\uAC00-\uD7FF\uFFA0-\uFFDC")
TRIPLE_WORD = re.compile(f"[{CJK}]|[^\\W_{CJK}]+")


def triples(text):
    """The hashes of the text's word triples (a text of fewer than three words: its words)."""
    w = TRIPLE_WORD.findall(text.lower())
    if len(w) < 3:
        return {hash(x) for x in w}
    return {hash(f"{a} {b} {c}") for a, b, c in zip(w, w[1:], w[2:])}


class Wording:
    """Every note's word triples of one vault (its files as the engine reads them), to find
    the note that holds most of a text's triples."""

    def __init__(self, files):
        self.ids = sorted(files)
        self.holders = {}
        for n, note_id in enumerate(self.ids):
            with open(files[note_id], "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
            for t in triples(text):
                self.holders.setdefault(t, []).append(n)

    def containment(self, text):
        """{note id: share of the text's triples it holds}, for the notes holding any."""
        mine = triples(text)
        count = Counter()
        for t in mine:
            count.update(self.holders.get(t, ()))
        return {self.ids[n]: c / len(mine) for n, c in count.items()} if mine else {}


def note_files(vault):
    """{note id: path} of the vault's markdown files (hidden folders left out)."""
    out = {}
    for root, dirs, files in os.walk(vault):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f.endswith(".md"):
                p = os.path.join(root, f)
                out[os.path.relpath(p, vault)[:-3].replace(os.sep, "/")] = p
    return out


def order(note_id):
    return hashlib.sha256(("duplicates:" + note_id).encode()).hexdigest()


# ---------------------------------------------------------------- index and server

def run(cmd, timeout, **kw):
    log("$", " ".join(cmd))
    return subprocess.run(cmd, timeout=timeout, check=True, **kw)


def scifact_vault(shared, bench_dir):
    out = os.path.join(bench_dir, "vaults", "scifact-memory")
    if not os.path.exists(os.path.join(out, ".done")):
        data = os.path.join(shared, "data", "scifact")
        subprocess.run(["rm", "-rf", out], check=True)
        run([sys.executable, os.path.join(shared, "tools", "beir2vault.py"), data, out,
             "--queries", os.path.join(data, "queries-test.jsonl"), "--qrels", os.path.join(data, "qrels-test.tsv")],
            600, stdout=subprocess.DEVNULL)
        open(os.path.join(out, ".done"), "w").close()
    return os.path.join(out, "vault")


def index_once(recall, bench_dir, name, vault):
    idx, res = os.path.join(bench_dir, "index", name), os.path.join(bench_dir, "results", f"{name}.index.json")
    if os.path.isdir(idx) and os.path.exists(res):
        log(f"reusing index {idx}")
    else:
        log(f"indexing {vault} with embeddings (slow)")
        subprocess.run(["rm", "-rf", idx], check=True)
        with open(res + ".tmp", "w") as f:
            run([recall, "--index", idx, "index", vault, "--json"], INDEX_TIMEOUT, stdout=f)
        os.replace(res + ".tmp", res)
    summary = json.load(open(res))
    if not (summary.get("embedded") or 0) + (summary.get("reused") or 0):
        sys.exit(f"duplicates.py: error: {res}: the index has no embeddings (is the model installed? make setup)")
    return idx, summary


class ServerFailure(Exception):
    """The server failed on one request (HTTP 5xx)."""


class Server:
    """`recall serve --allow-write` on a free loopback port, over one index, stopped by
    close(). Only dry runs are sent to it: it writes nothing."""

    def __init__(self, recall, idx, logfile):
        self.log = open(logfile, "w")
        cmd = [recall, "--index", idx, "serve", "--listen", "127.0.0.1:0", "--no-watch", "--allow-write",
               "--timeout", "90", "--color", "never"]
        log("$", " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT)
            line = self.proc.stdout.readline().decode(errors="replace").strip() if ready else ""
            m = re.match(r"listening on (http://(127\.0\.0\.1|\[::1\]|localhost):\d+)", line)
            if not m:
                raise RuntimeError(f"the server did not say where it listens (first line {line!r}; see {logfile})")
            self.base = m.group(1)
        except BaseException:
            self.close()
            raise
        # Keep reading its stdout, so it can never block on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=REQUEST_TIMEOUT) as r:
            return json.load(r)

    def has(self, note_id):
        try:
            self.get("/v1/notes/" + quote(note_id, safe="/"))
            return True
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def check(self, title, body):
        """The dry-run answer of `POST /v1/notes` for a memory titled `title + " (copy)"`
        with the body `title + "\\n\\n" + body` (cut to the engine's limit), whether it was
        cut, and the memory's text as the engine reads it (title + "\\n\\n" + body). A title
        taken already by a note's file gets " (copy 2)" and so on."""
        title = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", title).strip()
        text = (title + "\n\n" + body).encode()
        cut = len(text) > MAX_BODY
        text = text[:MAX_BODY].decode(errors="ignore")
        for n in range(1, 10):
            suffix = SUFFIX if n == 1 else f"{SUFFIX[:-1]} {n})"
            new_title = title[: MAX_TITLE - len(suffix)].rstrip() + suffix
            data = json.dumps({"title": new_title, "body": text, "dry_run": True}, ensure_ascii=False).encode()
            req = urllib.request.Request(self.base + "/v1/notes", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as r:
                    answer = json.load(r)
            except urllib.error.HTTPError as e:
                if e.code == 409:
                    continue
                if e.code >= 500:  # an engine failure on this text: the note is skipped, and counted
                    raise ServerFailure(f"HTTP {e.code}: {e.read()[:300].decode(errors='replace')}") from e
                raise RuntimeError(f"POST /v1/notes: HTTP {e.code}: {e.read()[:500]!r}") from e
            if answer.get("written"):
                raise RuntimeError(f"a dry run wrote {answer.get('path')}")
            return answer, cut, new_title + "\n\n" + text
        raise RuntimeError(f"no free title for {title!r}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


# ---------------------------------------------------------------- measuring

def shown(answer):
    """The notes an answer shows, with their scores: `closest`, then the `duplicates` that
    are not in it (duplicates of the 10 notes the engine measures, beyond the 5 shown)."""
    out = [dict(c, shown=True) for c in answer["closest"]]
    have = {c["note"] for c in out}
    out += [dict(d, shown=False) for d in answer["duplicates"] if d["note"] not in have and (d["meaning"] or d["words"])]
    return out


def measure(server, name, files, per_vault, out_path):
    """Per-note figures of one vault (also written as JSON lines to out_path), and counts."""
    counts = {"files": len(files), "short": 0, "unindexed": 0, "cut": 0, "failed": [],
              "short_all": sum(1 for i in files if len(words(parse(files[i], i)[1])) < MIN_WORDS)}
    log(f"{name}: word triples of all {len(files)} notes")
    wording = Wording(files)
    texts = {}  # note id -> (title, body), parsed once

    def text_of(note_id):
        if note_id not in texts:
            texts[note_id] = parse(files[note_id], note_id)
        return texts[note_id]

    rows = []
    with open(out_path, "w") as out:
        for note_id in sorted(files, key=order):
            if len(rows) >= per_vault:
                break
            title, body = text_of(note_id)
            if len(words(body)) < MIN_WORDS:
                counts["short"] += 1
                continue
            if not server.has(note_id):
                counts["unindexed"] += 1
                continue
            try:
                full, cut1, sent = server.check(title, body)
                half, cut2, _ = server.check(title, halve(body))
            except ServerFailure as e:
                log(f"{name}: {note_id}: skipped: {e}")
                counts["failed"].append({"note": note_id, "error": str(e)})
                continue
            counts["cut"] += cut1 + cut2
            me = [c for c in shown(full) if c["note"] == note_id]
            me_half = [c for c in shown(half) if c["note"] == note_id]
            others = []
            for c in shown(full):
                if c["note"] == note_id:
                    continue
                copy = containment(body, "\n".join(text_of(c["note"]))) if c["note"] in files else None
                others.append({"note": c["note"], "meaning": c["meaning"], "words": c["words"], "copy": copy,
                               "shown": c["shown"], "why": c.get("why")})
            # The words of every note, computed here, for the text the server was given.
            held = wording.containment(sent)
            top = sorted(((v, k) for k, v in held.items() if k != note_id), reverse=True)[:10]
            closest = full["closest"]
            row = {
                "note": note_id,
                "words": len(words(body)),
                "exact_meaning": me[0]["meaning"] if me else None,
                "exact_words": me[0]["words"] if me else None,
                "exact_pos": next((i for i, c in enumerate(closest) if c["note"] == note_id), None),
                "restated_meaning": me_half[0]["meaning"] if me_half else None,
                "restated_words": me_half[0]["words"] if me_half else None,
                "others": others,
                "shown": len(closest),
                "floor": min(max(c["meaning"], c["words"]) for c in closest) if len(closest) >= SHOWN else None,
                "local_self": held.get(note_id, 0.0),
                # The other notes holding most of the text's triples, whether shown or not.
                "local_top": [{"note": k, "words": v, "copy": containment(body, "\n".join(text_of(k)))}
                              for v, k in top],
                "cut": cut1,
            }
            rows.append(row)
            out.write(json.dumps(row) + "\n")
            if len(rows) % 25 == 0:
                log(f"{name}: {len(rows)} notes")
    with open(out_path[: -len(".jsonl")] + ".counts.json", "w") as f:
        json.dump(counts, f)
    return rows, counts


def pct(xs, p):
    """The p-th percentile (nearest rank) of xs; None when empty."""
    xs = sorted(xs)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, -(-p * len(xs) // 100) - 1))
    return xs[int(k)]


def share(rows, pred):
    return sum(1 for r in rows if pred(r)) / len(rows) if rows else float("nan")


def f2(x):
    return "–" if x is None else f"{x:.2f}"


def f3(x):
    return "–" if x is None else f"{x:.3f}"


def pc(x):
    return "–" if x != x else f"{100 * x:.1f}%"


def own(r, kind, key):
    # A note missing from the answer for its own text counts as 0 (not caught).
    return r[f"{kind}_{key}"] or 0.0


def is_copy(o):
    return (o["copy"] or 0) >= COPY_SHARE


def others(r, nocopy=False):
    return [o for o in r["others"] if not (nocopy and is_copy(o))]


def nearest(r, key, nocopy=False):
    """The highest `key` of the other notes shown for the note's own text."""
    return max((o[key] for o in others(r, nocopy)), default=0.0)


def alarm(r, m, w, nocopy=False):
    return any(o["meaning"] >= m or o["words"] >= w for o in others(r, nocopy))


def caught(r, kind, m, w):
    return own(r, kind, "meaning") >= m or own(r, kind, "words") >= w


def local_best(r, nocopy=False):
    """The highest words of any other note (every note of the vault checked here)."""
    return max((o["words"] for o in r["local_top"] if not (nocopy and is_copy(o))), default=0.0)


def lowest(rows, key, grid, nocopy=False):
    return next((t for t in grid if share(rows, lambda r: nearest(r, key, nocopy) >= t) <= MAX_FALSE_ALARMS), None)


def built_in():
    """(DUPLICATE_MEANING, DUPLICATE_WORDS) as src/engine/write.rs has them now."""
    try:
        src = open("src/engine/write.rs").read()
        return tuple(float(re.search(rf"const {n}: f32 = ([0-9.]+);", src).group(1))
                     for n in ("DUPLICATE_MEANING", "DUPLICATE_WORDS"))
    except (OSError, AttributeError):
        return None


def report(vaults, write, recall, per_vault):
    """The markdown section and the recommended (meaning, words) thresholds."""
    allrows = [r for v in vaults for r in v["rows"]]
    where = {id(r): v["name"] for v in vaults for r in v["rows"]}
    version = sh(recall, "--version") or "?"
    commit, src_changed, cpu, now = facts(recall_commit=True)
    dirty = " (+ uncommitted changes in src/)" if src_changed else ""
    cmd = "bash benches/duplicates.sh" + (" --write" if write else "")
    lines = []
    p = lines.append
    pmax = f"{100 * MAX_FALSE_ALARMS:.0f}%"
    p("<!-- duplicates:begin -->")
    p("## Near-duplicates (`remember`)\n")
    p(f"Measured {now} with `{cmd}`; binary {version}, commit {commit}{dirty}.")
    p(f"Machine: {os.cpu_count()} cores, {cpu} (SIMD: {simd_flags()}), {platform.system()} {platform.release()}, shared with other work.\n")
    p("`remember` writes nothing when an existing note holds the new memory already: the same title, or")
    p("*meaning* (best cosine between the memory's embedding, title + body, first 256 word pieces, and one")
    p("of the note's section vectors, all-MiniLM-L6-v2) or *words* (the share of the memory's word triples")
    p("that the note's file holds) at or above a threshold. Measured with dry runs of `POST /v1/notes`")
    p(f"(nothing written) on up to {per_vault} notes a vault, in the order of a hash of their id, notes with")
    p(f"under {MIN_WORDS} words of body skipped. Each note is offered as a memory titled \"its title{SUFFIX}\" (an equal")
    p("title would be flagged whatever the scores) with the body: title + blank line + its body (front matter")
    p("and italic footer removed). *exact*: the note's own scores for that text; *restated*: the same with")
    p("every other sentence/line of the body dropped; *distinct*: the highest score of any other note the")
    p("answer shows (`closest`, 5 notes, plus other `duplicates`), per measure: the nearest different note,")
    p("which must not be flagged.\n")

    groups = [(v["name"], v["rows"], v["counts"], v["summary"].get("notes")) for v in vaults]
    tot = {k: sum(v["counts"].get(k, 0) for v in vaults) for k in ("short", "short_all")}
    groups.append(("**all**", allrows, tot, sum(v["summary"].get("notes") or 0 for v in vaults)))
    for key in ("meaning", "words"):
        p(f"*{key}*:\n")
        head = "| vault | notes | short notes | sampled | skipped short |" if key == "meaning" else "| vault | sampled |"
        p(head + " exact p1 | exact p5 | exact p50 | restated p1 | restated p5 | restated p50 | distinct p50 | distinct p90 | distinct p99 | distinct max |")
        p("|---|" + "---:|" * (head.count("|") - 2 + 10))
        for name, rows, c, notes in groups:
            e = [own(r, "exact", key) for r in rows]
            h = [own(r, "restated", key) for r in rows]
            d = [nearest(r, key) for r in rows]
            first = (f"| {name} | {notes} | {c.get('short_all', '?')} | {len(rows)} | {c['short']} |" if key == "meaning"
                     else f"| {name} | {len(rows)} |")
            p(first + f" {f3(pct(e, 1))} | {f3(pct(e, 5))} | {f3(pct(e, 50))} | {f3(pct(h, 1))} | {f3(pct(h, 5))} | "
              f"{f3(pct(h, 50))} | {f3(pct(d, 50))} | {f3(pct(d, 90))} | {f3(pct(d, 99))} | {f3(max(d) if d else None)} |")
        p("")
    p(f"*notes*: notes in the index; *short notes*: files of the vault with under {MIN_WORDS} words of body;")
    p("*skipped short*: those of them met (and passed over) before the vault's sample was full.\n")

    p("By length of the body (all vaults): the memory's vector covers only its first 256 word pieces, the")
    p("note's section vectors one section each, so meaning falls as the text grows; words does not.\n")
    p("| body words | sampled | exact meaning p5 | exact meaning p50 | restated meaning p5 | restated meaning p50 | distinct meaning p90 | exact words p5 | restated words p5 | distinct words p90 |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lo, hi in ((MIN_WORDS, 100), (100, 200), (200, 400), (400, 1000), (1000, None)):
        rows = [r for r in allrows if r["words"] >= lo and (hi is None or r["words"] < hi)]
        q = lambda kind, key, n: f3(pct([own(r, kind, key) for r in rows], n))  # noqa: E731
        label = f"{lo}–{hi - 1}" if hi else f"{lo} or more"
        p(f"| {label} | {len(rows)} | {q('exact', 'meaning', 5)} | {q('exact', 'meaning', 50)} | {q('restated', 'meaning', 5)} | "
          f"{q('restated', 'meaning', 50)} | {f3(pct([nearest(r, 'meaning') for r in rows], 90))} | {q('exact', 'words', 5)} | "
          f"{q('restated', 'words', 5)} | {f3(pct([nearest(r, 'words') for r in rows], 90))} |")
    p("")

    names = [v["name"] for v in vaults]
    best = {}
    for key, grid, sym in (("meaning", MEANINGS, "M"), ("words", WORDINGS, "W")):
        best[key] = lowest(allrows, key, grid)
        extra = " | false alarms, all, every note checked | same, copies excluded" if key == "words" else ""
        p(f"Thresholds on *{key}* alone:\n")
        p(f"| {sym} | " + " | ".join(f"false alarms {n}" for n in names)
          + f" | **false alarms, all** | false alarms, all, copies excluded{extra} | exact caught | restated caught |")
        p("|---:|" + "---:|" * (len(names) + 4 + (2 if extra else 0)))
        for t in grid:
            mark = (lambda s: f"**{s}**") if t == best[key] else (lambda s: s)
            per = [pc(share(v["rows"], lambda r: nearest(r, key) >= t)) for v in vaults]
            every = (f" | {pc(share(allrows, lambda r: local_best(r) >= t))} | {pc(share(allrows, lambda r: local_best(r, True) >= t))}"
                     if extra else "")
            p(f"| {mark(f'{t:.2f}')} | " + " | ".join(per) + f" | {mark(pc(share(allrows, lambda r: nearest(r, key) >= t)))} | "
              f"{pc(share(allrows, lambda r: nearest(r, key, True) >= t))}{every} | {pc(share(allrows, lambda r: own(r, 'exact', key) >= t))} | "
              f"{pc(share(allrows, lambda r: own(r, 'restated', key) >= t))} |")
        p("")
    p("*false alarms*: share of sampled notes with another note at or above the threshold for the note's")
    p("own text, among those the answer shows; *copies excluded*: other notes that are textual copies of the")
    p("note (below) left out; *every note checked* (words): the highest words of any note of the vault,")
    p("computed here as the engine does, shown or not (the engine itself measures only its 10 best")
    p("candidates, so its rate lies between the two); *caught*: share of exact (restated) texts whose own")
    p("note is at or above the threshold. Restated words are low for notes made of one-word lines (lists")
    p("of options, tags): dropping every other line leaves no triple of the note.\n")

    # Each measure's lowest threshold with false alarms <= 1%, counting the textual copies
    # among the other notes and leaving them out; then the pair, at or above the latter,
    # whose rule keeps false alarms (copies excluded) <= 1% and catches the most.
    ma, wa = best["meaning"], best["words"]
    mc, wc = lowest(allrows, "meaning", MEANINGS, True), lowest(allrows, "words", WORDINGS, True)
    fa = lambda a, b, nocopy=True: share(allrows, lambda r: alarm(r, a, b, nocopy))  # noqa: E731
    hit = lambda a, b, kind: share(allrows, lambda r: caught(r, kind, a, b))  # noqa: E731
    pairs = [(a, b) for a in MEANINGS for b in WORDINGS
             if mc is not None and wc is not None and a >= mc and b >= wc and fa(a, b) <= MAX_FALSE_ALARMS]
    m, w = max(pairs, key=lambda x: (hit(*x, "exact"), hit(*x, "restated"), -x[0], -x[1]), default=(None, None))
    p(f"Lowest with false alarms ≤ {pmax} over all {len(allrows)} sampled notes: counting textual copies (true")
    p(f"duplicates, mostly dnd-srd-5.1's `(Alt)` compilations) meaning **{f2(ma)}**, words **{f2(wa)}**"
      + (" (none in the range: copies alone flag more than that)" if wa is None else "") + f"; with copies excluded")
    p(f"meaning **{f2(mc)}** ({pc(share(allrows, lambda r: nearest(r, 'meaning', True) >= mc)) if mc else '–'}), "
      f"words **{f2(wc)}** ({pc(share(allrows, lambda r: nearest(r, 'words', True) >= wc)) if wc else '–'}).\n")
    if m is None:
        p(f"**No pair at or above those keeps the rule's false alarms (copies excluded) at or under {pmax}.**\n")
    else:
        p(f"**Recommended: DUPLICATE_MEANING = {m:.2f}, DUPLICATE_WORDS = {w:.2f}**: of the pairs at or above the")
        p(f"lowest with copies excluded, the one whose rule keeps false alarms (copies excluded) ≤ {pmax} and catches")
        p(f"the most (exact, then restated): {pc(fa(m, w))} false alarms, {pc(hit(m, w, 'exact'))} of exact and "
          f"{pc(hit(m, w, 'restated'))} of restated caught.\n")
    rules = [("**recommended**", m, w)] if m is not None else []
    for label, a, b in (("lowest of each, copies excluded", mc, wc), ("lowest meaning counting copies", ma, wc),
                        ("src/engine/write.rs now", *(built_in() or (None, None)))):
        if a is not None and b is not None and (a, b) not in [(x, y) for _, x, y in rules]:
            rules.append((label, a, b))
    p("The rule \"duplicate if meaning ≥ M or words ≥ W\" (any other note shown):\n")
    p("| rule | M | W | " + " | ".join(f"false alarms {n}" for n in names)
      + " | false alarms, all | false alarms, all, copies excluded | exact caught | restated caught |")
    p("|---|---:|---:|" + "---:|" * (len(names) + 4))
    for label, a, b in rules:
        per = [pc(share(v["rows"], lambda r: alarm(r, a, b))) for v in vaults]
        p(f"| {label} | {a:.2f} | {b:.2f} | " + " | ".join(per) + f" | {pc(fa(a, b, False))} | {pc(fa(a, b))} | "
          f"{pc(hit(a, b, 'exact'))} | {pc(hit(a, b, 'restated'))} |")
    p("")
    ws = [t for t in WORDINGS if 0.5 <= t <= 0.85]
    p("The rule over a grid: false alarms with copies excluded / restated caught (exact caught is 100% in")
    p("every cell unless given third):\n")
    p("| M \\ W | " + " | ".join(f"{t:.2f}" for t in ws) + " |")
    p("|---:|" + "---:|" * len(ws))
    for a in [t for t in MEANINGS if 0.85 <= t <= 0.96]:
        cells = []
        for b in ws:
            e = hit(a, b, "exact")
            cells.append(f"{pc(fa(a, b))} / {pc(hit(a, b, 'restated'))}" + (f" / {pc(e)}" if e < 1 else ""))
        p(f"| {a:.2f} | " + " | ".join(cells) + " |")
    p("")
    if m is not None:
        missed = [(r, kind) for r in allrows for kind in ("exact", "restated") if not caught(r, kind, m, w)]
        per = ", ".join(f"{v['name']} {sum(1 for r, k in missed if where[id(r)] == v['name'] and k == 'restated')}" for v in vaults)
        ex = [(r, k) for r, k in missed if k == "exact"]
        p(f"Not caught at ({m:.2f}, {w:.2f}): {len(ex)} exact and {len(missed) - len(ex)} restated ({per})"
          + (":" if ex else "."))
        for r, _ in ex[:8]:
            p(f"- {where[id(r)]} `{r['note']}` ({r['words']} words): meaning {own(r, 'exact', 'meaning'):.3f}, "
              f"words {own(r, 'exact', 'words'):.3f}")
        p("")

    copies = [r for r in allrows if any(is_copy(o) for o in r["others"])]
    per = ", ".join(f"{v['name']} {sum(1 for r in v['rows'] if any(is_copy(o) for o in r['others']))}" for v in vaults)
    p(f"Textual copies: for {len(copies)} of the {len(allrows)} sampled notes ({per}) another note shown")
    p(f"shares at least {100 * COPY_SHARE:.0f}% of the word 8-grams of one of the two: a note repeated inside another")
    p("(dnd-srd-5.1's `(Alt)` compilations repeat its single spells, monsters and items word for word) or two")
    p("versions of one note. Flagging those is right, hence the rates with copies excluded.\n")
    for key in ("meaning", "words"):
        for nocopy in (False, True):
            top = sorted(((r, o) for r in allrows for o in others(r, nocopy)), key=lambda x: -x[1][key])[:8]
            p(f"The closest different notes by {key}" + (", copies excluded" if nocopy else "") + ":\n")
            p("| vault | note | other note | meaning | words | 8-gram overlap |")
            p("|---|---|---|---:|---:|---:|")
            for r, o in top:
                p(f"| {where[id(r)]} | `{r['note']}` | `{o['note']}` | {o['meaning']:.3f} | {o['words']:.3f} | "
                  + ("–" if o["copy"] is None else f"{100 * o['copy']:.0f}%") + " |")
            p("")

    # What the 5 shown notes can hide.
    full = [r for r in allrows if r["floor"] is not None]
    not_first = sum(1 for r in allrows if r["exact_pos"] not in (0, None))
    missing = sum(1 for r in allrows for k in ("exact", "restated") if r[f"{k}_meaning"] is None)
    beyond = sum(1 for r in allrows if any(not o["shown"] for o in r["others"]))
    could = [r for r in full if nearest(r, "meaning") < r["floor"]]
    could_m = [r for r in could if m is not None and r["floor"] >= m > nearest(r, "meaning")]
    agree = [abs(r["local_self"] - own(r, "exact", "words")) for r in allrows if r["exact_words"] is not None]
    gaps = [r for r in allrows if local_best(r) > nearest(r, "words") + 0.005]
    p("What the answer can hide: it shows the 5 notes (the note itself among them) with the highest of the two")
    p("measures of the 10 the engine measures, and `duplicates` adds any other of the 10 at or above the")
    p("thresholds built in. The nearest other note by one measure is hidden only when the shown notes all")
    p(f"score higher on the other measure. The answer listed 5 notes for {len(full)} of the {len(allrows)} texts; the note")
    p(f"itself was not first for {not_first}, and missing {missing} time{'s' if missing != 1 else ''} (exact and restated; counted as 0);")
    p(f"{beyond} answer{'s' if beyond != 1 else ''} named another duplicate beyond the 5.\n")
    p(f"- meaning: a hidden other note could be nearer than every shown one for {len(could)} text{'s' if len(could) != 1 else ''} (the 5th")
    p(f"  note's higher measure above the best shown other meaning), and reach {f2(m)} where the shown do not for {len(could_m)}.")
    p(f"- words: checked against every note (triples computed here match the engine's on each note's own text")
    p(f"  within {f3(max(agree) if agree else None)}): the other note holding most of the text's triples was not shown for {len(gaps)}")
    p(f"  of the {len(allrows)} texts; it would cross " + ", ".join(
        f"{t:.2f} for {sum(1 for r in gaps if local_best(r) >= t > nearest(r, 'words'))}" for t in (0.5, 0.65, w or 0.75)) + ".")
    if gaps:
        worst = sorted(gaps, key=lambda r: -(local_best(r) - nearest(r, "words")))[:4]
        p("  Largest: " + "; ".join(f"{where[id(r)]} `{r['note']}` → `{r['local_top'][0]['note']}` {local_best(r):.3f} "
                                    f"(best shown {nearest(r, 'words'):.3f})" for r in worst) + ".")
    failed = [(v["name"], f) for v in vaults for f in v["counts"].get("failed", [])]
    if failed:
        p(f"\n**The server failed (HTTP 5xx) on {len(failed)} sampled note{'s' if len(failed) != 1 else ''}, passed over:** "
          + "; ".join(f"{n} `{f['note']}`" for n, f in failed[:5]) + (" …" if len(failed) > 5 else "")
          + ". The first error: `" + re.sub(r"[`|\s]+", " ", failed[0][1]["error"])[:240] + "`")
    cut = sum(v["counts"]["cut"] for v in vaults)
    unindexed = sum(v["counts"]["unindexed"] for v in vaults)
    p(f"\n{cut} text{'s' if cut != 1 else ''} over the body limit ({MAX_BODY // 1024} KiB) were cut to it; "
      f"{unindexed} sampled file{'s' if unindexed != 1 else ''} not in the index were passed over.")
    p("<!-- duplicates:end -->")
    return "\n".join(lines), (m, w)


def main():
    args = sys.argv[1:]
    write, report_only, per_vault, given = False, False, 150, []
    while args:
        a = args.pop(0)
        if a == "--write":
            write = True
        elif a == "--per-vault" and args:
            per_vault = int(args.pop(0))
        elif a == "--report-only":
            report_only = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return
        elif "=" in a and not a.startswith("-"):
            given.append(tuple(a.split("=", 1)))
        else:
            sys.exit(f"duplicates.py: unknown argument: {a}\n\n{__doc__}")
    recall = os.path.abspath(os.environ.get("RECALL", "./target/release/recall"))
    shared = os.environ.get("SHARED", "../shared")
    bench_dir = os.environ.get("BENCH_DIR", "/tmp/recall-bench/duplicates")
    if not os.access(recall, os.X_OK):
        sys.exit(f"duplicates.py: error: {recall} not found; build it first with: cargo build --release")
    for d in ("index", "results", "vaults"):
        os.makedirs(os.path.join(bench_dir, d), exist_ok=True)
    # A TERM (the time guard of duplicates.sh) still stops the server through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not given:
        given = [("examples", "examples/vault")] + [
            (n, os.path.join(shared, "vaults", n)) for n in ("dendron-site", "logseq-docs", "dnd-srd-5.1")]
        given.append(("scifact-memory", None))
    vaults = []
    for name, vault in given:
        res = os.path.join(bench_dir, "results", name)
        if report_only:
            rows = [json.loads(line) for line in open(res + ".duplicates.jsonl")]
            if rows and "others" not in rows[0]:
                sys.exit(f"duplicates.py: error: {res}.duplicates.jsonl is from the older `related` measure; run without --report-only")
            vaults.append({"name": name, "rows": rows,
                           "counts": json.load(open(res + ".duplicates.counts.json")),
                           "summary": json.load(open(res + ".index.json"))})
            continue
        vault = vault or scifact_vault(shared, bench_dir)
        if not os.path.isdir(vault):
            sys.exit(f"duplicates.py: error: vault {vault} not found")
        idx, summary = index_once(recall, bench_dir, name, vault)
        server = Server(recall, idx, os.path.join(bench_dir, "results", f"{name}.serve.log"))
        try:
            log(f"{name}: measuring on {server.base}")
            rows, counts = measure(server, name, note_files(vault), per_vault,
                                   os.path.join(bench_dir, "results", f"{name}.duplicates.jsonl"))
        finally:
            server.close()
        log(f"{name}: {len(rows)} notes measured, {counts['short']} short skipped")
        vaults.append({"name": name, "rows": rows, "counts": counts, "summary": summary})
    section, (m, w) = report(vaults, write, recall, per_vault)
    path = os.path.join(bench_dir, "duplicates.md")
    with open(path, "w") as f:
        f.write(section + "\n")
    print(section)
    log(f"report in {path}; recommended thresholds: meaning {m}, words {w}")
    if write:
        subprocess.run([sys.executable, "benches/write_section.py", "duplicates", path, "BENCHMARKS.md"], check=True)
        log("wrote the duplicates section of BENCHMARKS.md")


if __name__ == "__main__":
    main()
