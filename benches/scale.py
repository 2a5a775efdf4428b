"""The checks, the measurements and the report of benches/scale.sh.

    python3 -B benches/scale.py first-query QUERIES
        prints the first judged query of QUERIES (a BEIR queries.jsonl) as words: the
        default cold-search query
    python3 -B benches/scale.py check-build BUILD.json VAULT SIZE SCRIPT
        exit with an error (SCRIPT, the script's name, is its prefix) unless the
        `recall index --json` report BUILD.json is of VAULT and, for SIZE 5k and 50k, has
        vectors
    python3 -B benches/scale.py measure RECALL TMP RUNS EDITS CHECKS QUERIES QRELS QUERY NOTE BACKUP SCRIPT > results.json
        measures every size of TMP/sizes.tsv (lines NAME, VAULT, INDEX, EMBED 1/0, COPY):
        freshness checks, cold search and related processes, warm eval, updates after edits
        (on COPY, a copy of INDEX; the edited notes are first copied to BACKUP/NAME), and
        prints the figures as JSON. Restoring the notes is the script's job.
    python3 -B benches/scale.py report SCALE TMP RECALL WRITE BENCH_DIR LOAD LOAD_AFTER SIZES BUSY > scale.md
        reads SCALE/results.json, SCALE/build-SIZE.{json,time,built} and TMP/{size,gen-size}-SIZE
        for each SIZE of the space-separated SIZES, and prints the markdown section `scale` of
        BENCHMARKS.md (WRITE=1: the run had --write; LOAD, LOAD_AFTER: load averages; BUSY:
        the pids of a recall build that ran at the end, or empty)
"""
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, "benches")
from benchinfo import facts, sh, run_subcommands  # noqa: E402


def first_query(queries):
    """The first judged query's words, without the operators OR and AND."""
    q = json.loads(next(l for l in open(queries, encoding="utf-8") if l.strip()))["text"]
    print(" ".join(w for w in re.findall(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*", q) if w not in ("OR", "AND")))


def check_build(path, vault, size, script):
    """Stop unless the build report PATH is of VAULT and has vectors (except at 200k)."""
    j = json.load(open(path))
    if os.path.realpath(j.get("vault", "")) != os.path.realpath(vault):
        sys.exit(f"{script}: error: {path}: the index was built from {j.get('vault')}, not {vault} "
                 f"(delete it to rebuild, or use another BENCH_DIR)")
    vectors = (j.get("embedded") or 0) + (j.get("reused") or 0)
    if size != "200k" and not vectors:
        sys.exit(f"{script}: error: {path}: the {size} index has no embeddings (is the model installed? make setup)")


def measure(recall, tmp, runs, edits, checks, queries, qrels, query, note, backup, script):
    """Every measurement of every size, one process at a time; the figures as JSON."""
    runs, edits, checks = int(runs), int(edits), int(checks)
    sizes = []
    for line in open(os.path.join(tmp, "sizes.tsv")):
        name, vault, index, embed, copy = line.rstrip("\n").split("\t")
        sizes.append({"name": name, "vault": vault, "index": index, "embed": embed == "1", "copy": copy})
    embedded = [s for s in sizes if s["embed"]]
    med = statistics.median
    nonce = f"{time.time_ns():x}"  # new text on every run: the index reuses embeddings of text it has seen
    errfile = os.path.join(tmp, "stderr")

    def log(msg):
        print(f"{script}: {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr)

    def fail(cmd, rc):
        err = open(errfile, errors="replace").read()[-2000:]
        sys.exit(f"{script}: error: exit {rc}: {' '.join(cmd)}\n{err}")

    def cold(cmd, check_output=False):
        """One whole process: wall ms (perf_counter) and the child's own peak RSS in MB (wait4)."""
        out = subprocess.PIPE if check_output else subprocess.DEVNULL
        with open(errfile, "wb") as err:
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=out, stderr=err)
            text = p.stdout.read() if check_output else b""
            _, status, ru = os.wait4(p.pid, 0)
            wall = (time.perf_counter() - t) * 1000
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.stdout:
            p.stdout.close()
        if p.returncode != 0:
            fail(cmd, p.returncode)
        if check_output and not text.strip():
            sys.exit(f"{script}: error: no output from {' '.join(cmd)}")
        return wall, ru.ru_maxrss / 1024

    def run_json(*args):
        cmd = [recall, "--index", *args, "--json"]
        t = time.perf_counter()
        with open(errfile, "wb") as err:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err)
        wall = (time.perf_counter() - t) * 1000
        if r.returncode != 0:
            fail(cmd, r.returncode)
        return json.loads(r.stdout), wall

    out = {"query": query, "note": note, "runs": runs, "edits": edits, "checks": checks,
           "sizes": {s["name"]: {} for s in sizes}}

    # Freshness check on the unchanged vaults.
    for s in sizes:
        run_json(s["index"], "status")
    checks_by = {s["name"]: [] for s in sizes}
    for _ in range(checks):
        for s in sizes:
            st, wall = run_json(s["index"], "status")
            if not st["fresh"]:
                sys.exit(f"{script}: error: {s['vault']} changed during the run ({st['changed']} notes)")
            checks_by[s["name"]].append({"check_ms": st["check_ms"], "wall_ms": wall, "files": st["files"]})
    for s in sizes:
        c = checks_by[s["name"]]
        out["sizes"][s["name"]]["status"] = {
            "files": c[0]["files"], "check_ms": [x["check_ms"] for x in c], "wall_ms": [x["wall_ms"] for x in c]}
        log(f"{s['name']}: status check_ms median {med(x['check_ms'] for x in c):.1f}")

    # A peer for the stat walk, in the same run: Python's os.stat over the same files, one
    # thread (the kernel's cost per stat is most of the check on this machine).
    for s in sizes:
        files = [os.path.join(r, f) for r, _, fs in os.walk(s["vault"]) for f in fs]
        times = []
        for _ in range(3):
            t = time.perf_counter()
            for f in files:
                os.stat(f)
            times.append((time.perf_counter() - t) * 1000)
        out["sizes"][s["name"]]["status"]["python_stat_ms"] = times
        log(f"{s['name']}: Python os.stat loop over {len(files)} files: median {med(times):.1f} ms")

    # The check a search makes while `recall watch` keeps the index current: the marker probe
    # (`status --json` query_check_ms). The watcher is stopped after CHECKS probes, or 120 s.
    for s in sizes:
        with open(errfile, "wb") as err:
            w = subprocess.Popen([recall, "--index", s["index"], "watch"], stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.time() + 120
            while not run_json(s["index"], "status")[0]["watched"]:
                if w.poll() is not None or time.time() > deadline:
                    sys.exit(f"{script}: error: `recall watch` on {s['index']} did not start (exit {w.poll()})")
                time.sleep(0.2)
            probes = [run_json(s["index"], "status")[0]["query_check_ms"] for _ in range(checks)]
        finally:
            w.terminate()
            w.wait(timeout=60)
        out["sizes"][s["name"]]["status"]["watched_ms"] = probes
        log(f"{s['name']}: check before a search with `recall watch` running: median {med(probes):.3f} ms")

    # Cold processes, sizes interleaved.
    measures = [
        ("hybrid", embedded, ["search", "--no-refresh", "-n", "10", "--", query]),
        ("hybrid_refresh", embedded, ["search", "-n", "10", "--", query]),
        ("related", embedded, ["related", "--no-refresh", "-n", "10", note]),
        ("lexical", sizes, ["search", "--mode", "lexical", "--no-refresh", "-n", "10", "--", query]),
    ]
    for name, group, args in measures:
        if not group:
            continue
        cmd = lambda s: [recall, "--index", s["index"], *args]
        for s in group:  # untimed warm-up, checked for output
            cold(cmd(s), check_output=True)
        got = {s["name"]: [] for s in group}
        for _ in range(runs):
            for s in group:
                got[s["name"]].append(cold(cmd(s)))
        for s in group:
            walls, rss = [g[0] for g in got[s["name"]]], [g[1] for g in got[s["name"]]]
            out["sizes"][s["name"]][f"cold_{name}"] = {"wall_ms": walls, "rss_mb": rss}
            log(f"{s['name']}: cold {name}: median {med(walls):.0f} ms, peak RSS {med(rss):.0f} MB")

    # Warm queries in one process.
    for mode, group in (("hybrid", embedded), ("lexical", sizes)):
        for s in group:
            ev, _ = run_json(s["index"], "eval", "--queries", queries, "--qrels", qrels, "--mode", mode)
            if "p99_ms" not in ev:
                sys.exit(f"{script}: error: recall eval reports no p99_ms (rebuild: cargo build --release)")
            out["sizes"][s["name"]][f"warm_{mode}"] = ev
            log(f"{s['name']}: warm {mode}: p50 {ev['p50_ms']:.2f} ms, p99 {ev['p99_ms']:.2f} ms, nDCG@10 {ev['ndcg@10']:.4f}")

    # Updates after editing one note (one untimed edit first), sizes interleaved, on a copy of
    # each index (cp -a: hard links kept) so the measured index stays as built.
    def notes_of(vault):
        found = []
        for root, dirs, files in os.walk(vault):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            found += [os.path.relpath(os.path.join(root, f), vault) for f in sorted(files)
                      if f.endswith(".md") and not f.startswith(".")]
        return sorted(found)

    picks = {}
    for s in embedded:
        shutil.rmtree(s["copy"], ignore_errors=True)
        subprocess.run(["cp", "-a", s["index"], s["copy"]], check=True)
        notes = notes_of(s["vault"])
        picks[s["name"]] = [notes[(2 * i + 1) * len(notes) // (2 * edits + 2)] for i in range(edits + 1)]
    # The copies' pages (hundreds of MB at 50k) would otherwise still be going to disk while the
    # timed updates run and sync their own few files.
    subprocess.run(["sync"], check=True)
    upd = {s["name"]: [] for s in embedded}
    for i in range(edits + 1):
        for s in embedded:
            rel = picks[s["name"]][i]
            src, dst = os.path.join(s["vault"], rel), os.path.join(backup, s["name"], rel)
            if not os.path.exists(dst):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(src, dst)
            with open(src, "a", encoding="utf-8") as f:
                f.write(f"\nscale bench edit {nonce} {i}: a second cohort confirmed the effect.\n")
            u, wall = run_json(s["copy"], "update")
            if u["changed"] != 1 or u["kind"] != "incremental":
                sys.exit(f"{script}: error: update after editing {rel}: kind {u['kind']}, changed {u['changed']} (expected incremental, 1)")
            if i > 0:
                upd[s["name"]].append({"note": rel, "wall_ms": wall, "took_ms": u["took_ms"], "embedded": u["embedded"]})
    for s in embedded:
        u = upd[s["name"]]
        out["sizes"][s["name"]]["update"] = u
        log(f"{s['name']}: update: median whole {med(x['wall_ms'] for x in u):.0f} ms, "
            f"inside {med(x['took_ms'] for x in u):.0f} ms")
    print(json.dumps(out))


def report(scale, tmp, recall, write, bench_dir, load, load_after, sizes_run, busy):
    """The markdown section `scale` of BENCHMARKS.md."""
    sizes_run = sizes_run.split()
    res = json.load(open(os.path.join(scale, "results.json")))
    R = res["sizes"]
    med = statistics.median
    version = sh(recall, "--version") or "?"
    commit, src_changed, cpu, now = facts(recall_commit=True)
    dirty = " (+ uncommitted changes in src/)" if src_changed else ""
    env = " ".join(f"{k}={shlex.quote(os.environ[k])}" for k in ("RUNS", "EDITS", "CHECKS", "SIZES") if os.environ.get(k))
    cmd = (env + " " if env else "") + "bash benches/scale.sh" + (" --write" if write == "1" else "")
    COLS = ["5k", "50k", "200k"]

    def build(size):
        j = json.load(open(os.path.join(scale, f"build-{size}.json")))
        t = open(os.path.join(scale, f"build-{size}.time"), errors="replace").read()
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
        wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
        binary = re.search(r'Command being timed: "(\S+)', t)
        built = os.path.join(scale, f"build-{size}.built")
        return {"json": j, "rss_mb": int(rss.group(1)) / 1024 if rss else None,
                "wall": wall.group(1) if wall else "?", "binary": binary.group(1) if binary else "?",
                "commit": open(built).read().strip() if os.path.exists(built) else None,
                "bytes": int(open(os.path.join(tmp, f"size-{size}")).read()),
                "gen_bytes": int(open(os.path.join(tmp, f"gen-size-{size}")).read())}
    B = {s: build(s) for s in sizes_run}

    def get(size, f):
        """f(size's results, size's build) or None when not measured."""
        if size not in R:
            return None
        try:
            return f(R[size], B[size])
        except KeyError:
            return None

    secs = lambda ms: f"{ms / 1000:.3f} s"
    msf = lambda ms: f"{ms:.2f} ms"
    mb = lambda v: f"{v:.0f} MB"
    rows = []  # (label, {size: value}, formatter, target text, predicate or None)

    def row(label, f, fmt, target="—", ok=None):
        rows.append((label, {s: get(s, f) for s in COLS}, fmt, target, ok))

    cold = lambda key, field: (lambda r, b: med(r[key][field]))
    row("cold `recall search` (hybrid, `--no-refresh`), whole process: median wall time",
        cold("cold_hybrid", "wall_ms"), secs, "≤ 0.5 s", lambda v: v <= 500)
    row("cold hybrid search: peak RSS (median)", cold("cold_hybrid", "rss_mb"), mb, "≤ 400 MB", lambda v: v <= 400)
    ratio = None
    if "cold_hybrid" in R.get("5k", {}) and "cold_hybrid" in R.get("50k", {}):
        ratio = med(R["50k"]["cold_hybrid"]["wall_ms"]) / med(R["5k"]["cold_hybrid"]["wall_ms"])
    rows.append(("cold hybrid search: ratio 50k / 5k (medians)", {"50k": ratio}, lambda v: f"{v:.2f}", "≤ 1.3", lambda v: v <= 1.3))
    row("cold hybrid search with the freshness check (no `--no-refresh`): median wall time",
        cold("cold_hybrid_refresh", "wall_ms"), secs)
    row("cold `recall related NOTE` (`--no-refresh`): median wall time", cold("cold_related", "wall_ms"), secs,
        "≤ 0.6 s", lambda v: v <= 600)
    row("cold related: peak RSS (median)", cold("cold_related", "rss_mb"), mb)
    row("cold `recall search --mode lexical --no-refresh`: median wall time", cold("cold_lexical", "wall_ms"), secs,
        "≤ 0.05 s", lambda v: v <= 50)
    row("cold lexical search: peak RSS (median)", cold("cold_lexical", "rss_mb"), mb)
    row("warm hybrid query p50 (`recall eval --mode hybrid`)", lambda r, b: r["warm_hybrid"]["p50_ms"], msf,
        "≤ 12 ms", lambda v: v <= 12)
    row("warm hybrid query p99", lambda r, b: r["warm_hybrid"]["p99_ms"], msf, "≤ 40 ms", lambda v: v <= 40)
    row("warm lexical query p50 (`recall eval --mode lexical`)", lambda r, b: r["warm_lexical"]["p50_ms"], msf,
        "≤ 3 ms", lambda v: v <= 3)
    row("warm lexical query p99", lambda r, b: r["warm_lexical"]["p99_ms"], msf)
    row("index size (`du -sb` of the index folder)", lambda r, b: b["bytes"], lambda v: f"{v / 1e9:.3f} GB",
        "≤ 0.45 GB", lambda v: v <= 0.45e9)
    row("index size: current generation only", lambda r, b: b["gen_bytes"], lambda v: f"{v / 1e9:.3f} GB")
    row("index size per 1k notes", lambda r, b: b["bytes"] / (b["json"]["notes"] / 1000), lambda v: f"{v / 1e6:.1f} MB")
    row(f"`recall update` after editing one note: whole process, median of {res['edits']}",
        lambda r, b: med(x["wall_ms"] for x in r["update"]), secs, "≤ 0.6 s", lambda v: v <= 600)
    row("`recall update`: time inside (`took_ms`), median", lambda r, b: med(x["took_ms"] for x in r["update"]),
        secs, "≤ 0.3 s", lambda v: v <= 300)
    row(f"freshness check before a search, `recall watch` running (`status --json` query_check_ms), median of {res['checks']}",
        lambda r, b: med(r["status"]["watched_ms"]), lambda v: f"{v:.2f} ms", "≤ 30 ms", lambda v: v <= 30)
    row(f"freshness check without a watcher: one stat per file (`status --json` check_ms), median of {res['checks']}",
        lambda r, b: med(r["status"]["check_ms"]), lambda v: f"{v:.1f} ms")
    row("peer: Python `os.stat` loop over the same files, one thread, median of 3",
        lambda r, b: med(r["status"]["python_stat_ms"]), lambda v: f"{v:.1f} ms")
    row("full build (`recall index`): peak RSS", lambda r, b: b["rss_mb"], mb, "≤ 1024 MB", lambda v: v <= 1024)
    row("full build: wall time (h:mm:ss)", lambda r, b: b["wall"], str)

    def cell(size, v, fmt):
        if size not in sizes_run:
            return "not run"
        return "—" if v is None else fmt(v)

    out = []
    p = out.append
    p("<!-- scale:begin -->")
    p("## Scale: 5k, 50k and 200k notes\n")
    p(f"Measured {now} with `{cmd}` (BENCH_DIR={bench_dir}); RUNS={res['runs']} cold runs per size, "
      f"EDITS={res['edits']}, CHECKS={res['checks']}.")
    p(f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}, shared with other work "
      f"(load average {load} before measuring, {load_after} after).")
    if busy:
        p(f"**Disturbed**: another `recall index` build (pid {busy}) was running when the measurements ended.")
    p(f"Binary: {version}, commit {commit}{dirty}.")
    p("Vaults: SciFact as memory notes, `python3 ../shared/tools/beir2vault.py ../shared/data/scifact OUT "
      "--queries .../queries-test.jsonl --qrels .../qrels-test.tsv [--copies N]`:")
    for s in COLS:
        if s not in B:
            p(f"- {s}: not run")
            continue
        j, b = B[s]["json"], B[s]
        vec = (j.get("embedded") or 0) + (j.get("reused") or 0)
        vecs = (f"{vec:,} vectors ({j.get('embedded') or 0:,} embedded, {j.get('reused') or 0:,} identical chunks reused)"
                if vec else "no vectors (`--no-embed`: keyword index only)")
        by = f"commit {b['commit']}" if b["commit"] else f"`{b['binary']}` (commit not recorded)"
        p(f"- {s}: `{j['vault']}`: {j['notes']:,} notes, {j['sections']:,} sections, {vecs}; "
          f"built in {b['wall']} ({j['took_ms'] / 1000:.0f} s inside) by {by}.")
    p("")
    p("| measure | 5k notes | 50k notes | 200k notes (keyword only) | target (50k) | meets |")
    p("|---|---:|---:|---:|---|---|")
    for label, vals, fmt, target, ok in rows:
        v50 = vals.get("50k")
        meets = "—" if ok is None or v50 is None else ("yes" if ok(v50) else "**no**")
        cells = [cell(s, vals.get(s), fmt) for s in COLS]
        p(f"| {label} | {' | '.join(cells)} | {target} | {meets} |")
    p("")
    q = res["query"]
    ev = lambda s, m: R.get(s, {}).get(f"warm_{m}")
    nq = next((e["queries"] for s in COLS for m in ("hybrid", "lexical") if (e := ev(s, m))), "?")
    nd = ", ".join(f"{s} {ev(s, 'hybrid')['ndcg@10']:.4f}" for s in COLS if ev(s, "hybrid"))
    p(f"Cold rows: whole processes started from Python (`subprocess.Popen`, then `os.wait4` for the child's "
      f"own peak RSS; wall time by `time.perf_counter`), output discarded; per measure one untimed warm-up per size, "
      f"then {res['runs']} runs with the sizes interleaved (5k, 50k, 200k, 5k, ...); median of the runs. "
      f"Query: \"{q}\" (the first judged query, as words), `-n 10`; `related` of `{res['note']}` "
      f"(the first corpus document; every copy's vault has it). All pass `--no-refresh` except the row with the "
      f"freshness check, which shows what a plain `recall search` pays to stat the vault first. "
      f"Warm rows: `recall --index IDX eval --queries Q --qrels R --mode M --json` ({nq} judged SciFact test "
      f"queries, top 100 each, in one process; nDCG@10 hybrid {nd or '—'}), its p50_ms and p99_ms. "
      f"Index size: `du -sb` of the index folder (hard-linked files once; it may hold the previous "
      f"generation), and of the generation in use alone; GB = 10^9 bytes, RSS in MiB. "
      f"Update: one untimed edit, then {res['edits']} edits, each appending a unique line to a different note "
      f"and running `recall update --json` (whole process wall time, and its took_ms) on a copy of the index "
      f"(`cp -a`, then `sync`, so the measured index stays as built); the notes are restored afterwards. Freshness: `recall status --json` check_ms on the unchanged "
      f"vault (one stat per file, spread over the cores), after one untimed run; and query_check_ms while a "
      f"`recall watch` process holds the index's WATCH marker, when a search skips the stat walk (the watcher "
      f"publishes changes itself). The Python loop is the same walk's cost in the kernel, as a peer. Build: `/usr/bin/time -v` \"Maximum resident set "
      f"size\" and elapsed time of the `recall index` that built the index (200k with `--no-embed`). "
      f"\"meets\" judges the 50k figure.")
    p("<!-- scale:end -->")
    print("\n".join(out))


COMMANDS = {"first-query": (first_query, 1), "check-build": (check_build, 4), "measure": (measure, 11),
            "report": (report, 9)}


if __name__ == "__main__":
    run_subcommands(COMMANDS, __doc__)
