"""The checks, the query files, the phase summaries and the report of benches/serve.sh.

    python3 -B benches/serve.py check-index INDEX.json
        exit with an error unless the `recall index --json` summary INDEX.json has vectors
    python3 -B benches/serve.py queries QUERIES TMP
        writes the words of each query of QUERIES (a BEIR queries.jsonl, at least 100) to
        TMP/queries.txt, and their /v1/search request paths to TMP/paths-{hybrid,lexical,mixed}.txt
    python3 -B benches/serve.py http URL OUT
        GET URL: prints the status code (000 when no answer), writes the body to OUT
    python3 -B benches/serve.py phase-end WRK_OUT OUT NAME MODE CONNS THREADS RSS0 RSS1 HWM RESET TICKS HZ WALL_MS
        writes to OUT the JSON of a load phase: the WRK_JSON line of the wrk output WRK_OUT
        (benches/serve_load.lua) plus the server's figures, and logs its summary
    python3 -B benches/serve.py probe BODY CODE MODE
        exit with an error unless a /v1/search answer (status CODE, body in the file BODY)
        is 200 with results
    python3 -B benches/serve.py soak-visible BASE EDITS OUT
        writes to OUT whether the server at BASE finds the token of the last edit of EDITS
        (the soak's edits.tsv) in its note within 20 s
    python3 -B benches/serve.py report TMP RES RECALL WRITE BENCH_DIR WRK_VERSION SETTINGS CONNS > section.md
        reads TMP/{status,server,mcp,soak-visible}.json, TMP/phases/*.json, TMP/soak-edits.tsv
        and RES/serve-scifact.built, and prints the markdown section `serve` of BENCHMARKS.md
        (WRITE=1: the run had --write; SETTINGS: the DURATION=... settings; CONNS: the
        space-separated connection counts)
"""
import json
import os
import platform
import re
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

sys.path.insert(0, "benches")
from benchinfo import facts, sh, run_subcommands  # noqa: E402


def check_index(path):
    """Stop unless the index summary PATH says chunks were embedded or reused."""
    j = json.load(open(path))
    if not (j.get("embedded") or 0) + (j.get("reused") or 0):
        sys.exit(f"serve.sh: error: {path}: the index has no embeddings (is the model installed? make setup)")


def queries(src, out):
    """The queries' words (no query-language operators) and their URL-encoded request paths."""
    word = re.compile(r"[A-Za-z0-9]+(?:['-][A-Za-z0-9]+)*")
    queries = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = " ".join(w for w in word.findall(json.loads(line)["text"]) if w not in ("OR", "AND"))
                if text:
                    queries.append(text)
    if len(queries) < 100:
        sys.exit(f"serve.sh: error: only {len(queries)} queries in {src}")
    path = lambda q, m: f"/v1/search?q={quote(q, safe='')}&mode={m}&limit=10\n"
    with open(f"{out}/queries.txt", "w") as f:
        f.writelines(q + "\n" for q in queries)
    for mode in ("hybrid", "lexical"):
        with open(f"{out}/paths-{mode}.txt", "w") as f:
            f.writelines(path(q, mode) for q in queries)
    with open(f"{out}/paths-mixed.txt", "w") as f:
        f.writelines(path(q, m) for q in queries for m in ("hybrid", "lexical"))


def http(url, out):
    """GET URL: the status code on stdout ("000" when no answer), the body in OUT."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            code, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        code, body = e.code, e.read()
    except OSError as e:
        code, body = 0, str(e).encode()
    open(out, "wb").write(body)
    print(f"{code:03d}")


def phase_end(src, out, name, mode, conns, threads, rss0, rss1, hwm, reset, ticks, hz, wall_ms):
    """One load phase: wrk's WRK_JSON figures and the server's RSS and CPU, as JSON in OUT."""
    text = open(src, encoding="utf-8", errors="replace").read()
    lines = [l for l in text.splitlines() if l.startswith("WRK_JSON ")]
    if not lines:
        sys.exit(f"serve.sh: error: wrk printed no WRK_JSON line for {name}:\n{text[-2000:]}")
    r = json.loads(lines[-1][len("WRK_JSON "):])
    r.update(name=name, mode=mode, connections=int(conns), threads=int(threads),
             rss_before_kb=int(rss0), rss_after_kb=int(rss1), rss_peak_kb=int(hwm),
             peak_is_phase=reset == "1", server_cpu_s=int(ticks) / int(hz), wall_s=int(wall_ms) / 1000)
    r["server_cpu_pct"] = 100 * r["server_cpu_s"] / r["wall_s"] if r["wall_s"] else 0
    json.dump(r, open(out, "w"))
    print(f"serve.sh: {name}: {r['rps']:.1f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
          f"errors {r['errors']}, server CPU {r['server_cpu_pct']:.0f} %, RSS {int(rss1) // 1024} MB", file=sys.stderr)
    if r["errors"] and r["first_error"]:
        print(f"serve.sh: {name}: first error: {r['first_error'][:300]}", file=sys.stderr)


def probe(path, code, mode):
    """Stop unless the /v1/search answer of MODE (status CODE, body in PATH) has results."""
    body = open(path, "rb").read()
    if code != "200":
        sys.exit(f"serve.sh: error: /v1/search (mode {mode}) answered {code}: {body[:300]!r}")
    j = json.loads(body)
    if not isinstance(j.get("results"), list) or not j["results"]:
        sys.exit(f"serve.sh: error: /v1/search (mode {mode}) gave no results: {body[:300]!r}")


def soak_visible(base, edits, out):
    """Whether a keyword search finds the last soak edit's token in its note (polled up to 20 s)."""
    rows = [l.rstrip("\n").split("\t") for l in open(edits) if l.strip()]
    res = {"checked": False}
    if rows:
        _, _, note, token, _ = rows[-1]
        res = {"checked": True, "note": note, "token": token, "visible": False}
        t0 = time.time()
        while time.time() - t0 < 20:
            try:
                with urllib.request.urlopen(f"{base}/v1/search?q={token}&mode=lexical&limit=5", timeout=5) as r:
                    j = json.load(r)
                if any(x.get("note") == note for x in j.get("results", [])):
                    res["visible"] = True
                    break
            except OSError:
                pass
            time.sleep(0.25)
        res["waited_s"] = round(time.time() - t0, 2)
    json.dump(res, open(out, "w"))


def report(tmp, res, recall, write, bench_dir, wrk_version, settings, conns):
    """The markdown section `serve` of BENCHMARKS.md; the number of targets met on stderr."""
    conns = [int(c) for c in conns.split()]
    load = lambda p: json.load(open(os.path.join(tmp, p)))
    phase = lambda n: load(f"phases/{n}.json")
    version = sh(recall, "--version") or "?"
    commit, src_changed, cpu, now = facts(recall_commit=True)
    dirty = " (+ uncommitted changes in src/)" if src_changed else ""
    try:
        index_built = open(os.path.join(res, "serve-scifact.built")).read().strip()
    except OSError:
        index_built = "?"
    status, server, mcp = load("status.json"), load("server.json"), load("mcp.json")
    mb = lambda kb: kb / 1024
    yn = lambda ok: "yes" if ok else "**no**"
    defaults = "DURATION=15 WARMUP=5 SOAK=60 EDIT_EVERY=5 MCP_CALLS=200"
    env = "" if settings == defaults else settings + " "
    cmd = f"{env}bash benches/serve.sh" + (" --write" if write == "1" else "")
    s = dict(kv.split("=") for kv in settings.split())

    targets = {("hybrid", 8): (100, 150), ("lexical", 8): (800, 25)}
    met = []
    out = []
    p = out.append
    p("<!-- serve:begin -->")
    p("## Serving: HTTP API and MCP\n")
    p(f"Measured {now} with `{cmd}` (BENCH_DIR={bench_dir}).")
    p(f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}, shared with other work;")
    p(f"the load generator ({wrk_version}, `benches/serve_load.lua`) runs on the same cores as the server.")
    p(f"Binary: {version}, commit {commit}{dirty}; index built at {index_built}.")
    p(f"Vault: a private copy of SciFact plain ({status.get('notes', '?')} notes, {status.get('sections', '?')} sections), served by")
    p("`recall --index IDX serve --listen 127.0.0.1:0` (watching the vault): address printed after "
      f"{server['listen_ms']} ms, `/healthz` OK after {server['ready_ms']} ms.")
    p(f"Requests: `GET /v1/search?q=Q&mode=M&limit=10`, Q from the 809 SciFact train claims (words only),")
    p(f"round robin, keep-alive; {s['WARMUP']} s warm-up first (both modes, 8 connections). Each load phase runs {s['DURATION']} s.")
    p("Errors = connect/read/write errors + timeouts (> 5 s) + non-2xx responses + non-JSON bodies.")
    p("Server CPU: its user + system time over the phase's wall time (200 % = both cores). RSS: the server's")
    p("resident memory (VmRSS) before and after the phase, and its peak during the phase (VmHWM, reset before each phase).\n")
    p("| mode | connections | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | server CPU | RSS MB before → after (peak) | target | meets |")
    p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for mode in ("hybrid", "lexical"):
        for c in conns:
            r = phase(f"{mode}-c{c}")
            t = targets.get((mode, c))
            if t:
                ok = r["rps"] >= t[0] and r["p99_ms"] <= t[1] and r["errors"] == 0
                met.append((f"{mode}, 8 connections: ≥ {t[0]} req/s, p99 ≤ {t[1]} ms, no errors",
                            f"{r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms, {r['errors']} errors", ok))
                target, meets = f"≥ {t[0]} req/s, p99 ≤ {t[1]} ms", yn(ok)
            else:
                target, meets = "", ""
            peak = f"{mb(r['rss_peak_kb']):.0f}" + ("" if r["peak_is_phase"] else " since start")
            p(f"| {mode} | {c} | {r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['max_ms']:.1f} | {r['requests']} | {r['errors']} | {r['server_cpu_pct']:.0f} % | "
              f"{mb(r['rss_before_kb']):.0f} → {mb(r['rss_after_kb']):.0f} ({peak}) | {target} | {meets} |")

    r = phase("soak")
    edits = [l.rstrip("\n").split("\t") for l in open(os.path.join(tmp, "soak-edits.tsv")) if l.strip()]
    vis = load("soak-visible.json")
    growth = 100 * (r["rss_after_kb"] - r["rss_before_kb"]) / r["rss_before_kb"]
    ok = r["errors"] == 0 and growth < 10
    met.append(("soak: 0 errors, RSS growth < 10 %", f"{r['errors']} errors, RSS {growth:+.1f} %", ok))
    if vis.get("checked"):
        seen = (f"yes, {vis['waited_s']:.1f} s after the soak ended" if vis["visible"]
                else f"**no** (not found {vis['waited_s']:.0f} s after the soak)")
    else:
        seen = "not checked"
    p("\n### Soak\n")
    p(f"{s['SOAK']} s at 8 connections, hybrid and lexical requests alternating, while a line is appended")
    p(f"to a note of the served vault every {s['EDIT_EVERY']} s ({len(edits)} edits over {len({e[2] for e in edits})} notes; "
      "the server's watcher re-indexes them")
    p("while it serves). Growth: RSS at the end over RSS at the start. *Last edit searchable*: a keyword")
    p("search for the word the last edit added finds its note.\n")
    p("| s | req/s | p50 ms | p99 ms | requests | errors | edits | RSS MB start | RSS MB end | peak MB | growth | last edit searchable | target | meets |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    p(f"| {r['wall_s']:.0f} | {r['rps']:.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']} | {r['errors']} | "
      f"{len(edits)} | {mb(r['rss_before_kb']):.1f} | {mb(r['rss_after_kb']):.1f} | {mb(r['rss_peak_kb']):.1f} | "
      f"{growth:+.1f} % | {seen} | 0 errors, growth < 10 % | {yn(ok)} |")
    if edits:
        p("\nRSS at each edit (s: MB): " + ", ".join(f"{int(e[1]) / 1000:.0f}: {int(e[4]) / 1024:.1f}" for e in edits) + ".")
    if r["errors"] and r.get("first_error"):
        p(f"\nFirst error: `{r['first_error'][:200]}`")

    p("\n### MCP over stdio\n")
    if mcp.get("modes"):
        p(f"`benches/mcp_roundtrip.py` with the official Python SDK ({mcp['sdk']}): one `recall --index IDX mcp`")
        p(f"process (spawn to initialized: {mcp['startup_ms']:.0f} ms), `search` tool calls with `limit` 10, one after another,")
        p("each timed from sending the request to the parsed result (5 untimed calls per mode first), same")
        p("queries as above. *server ms*: the median `took_ms` of the results (the search itself).\n")
        p("| mode | calls | p50 ms | p90 ms | p99 ms | max ms | server ms (p50) | errors |")
        p("|---|---:|---:|---:|---:|---:|---:|---:|")
        for mode, m in mcp["modes"].items():
            took = f"{m['server_took_p50_ms']:.2f}" if m.get("server_took_p50_ms") is not None else "?"
            p(f"| {mode} | {m['calls']} | {m['p50_ms']:.2f} | {m['p90_ms']:.2f} | {m['p99_ms']:.2f} | {m['max_ms']:.1f} | "
              f"{took} | {m['errors']} |")
        for e in mcp.get("error_samples", [])[:1]:
            p(f"\nFirst error ({e['mode']}, query `{e['query'][:60]}`): `{e['error'][:200]}`")
    else:
        p("Not measured (MCP_CALLS=0).")

    p("\n### Targets\n")
    p("| target | measured | meets |")
    p("|---|---|---|")
    for name, got, ok in met:
        p(f"| {name} | {got} | {yn(ok)} |")
    p(f"\nServer stopped on SIGTERM in {server['stop_ms']} ms (exit status {server['stop_status']}).")
    p("<!-- serve:end -->")
    print("\n".join(out))
    print(f"serve.sh: targets met: {sum(ok for *_, ok in met)} of {len(met)}", file=sys.stderr)


COMMANDS = {
    "check-index": (check_index, 1), "queries": (queries, 2), "http": (http, 2), "phase-end": (phase_end, 13),
    "probe": (probe, 3), "soak-visible": (soak_visible, 3), "report": (report, 8),
}


if __name__ == "__main__":
    run_subcommands(COMMANDS, __doc__)
