"""The write path under load: N `remember` calls from C concurrent clients over HTTP.

    python3 -B benches/write_load.py RECALL WORK CALLS CLIENTS > write_load.md

Copies examples/vault to WORK/vault, indexes it, starts `recall serve --allow-write` on
127.0.0.1 (a free port), and sends CALLS `POST /v1/notes` from CLIENTS threads (each note a
distinct title and a distinct word, `force: true` so that near-duplicate detection cannot
hold any back). Then checks that every call answered `written: true`, that the vault holds
exactly CALLS new files, each whole (the memory format down to its footer), and that each
is found first by a search for its word. Prints the report section (markdown) and exits 1
when a check fails. Bounded: every request has a 60 s limit, the run 900 s; the server is
killed at the end.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, "benches")
from benchinfo import facts, simd_flags  # noqa: E402

DEADLINE = 900


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def word(i):
    """A made-up word for call i, in no note: `zqv` + letters of i."""
    letters = "bcdfghjklmnpqrstvwxz"
    out = ""
    while True:
        out = letters[i % 20] + out
        i //= 20
        if i == 0:
            return "zqv" + out


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    recall, work, calls, clients = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    started = time.time()
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    vault, index = os.path.join(work, "vault"), os.path.join(work, "index")
    shutil.copytree("examples/vault", vault)
    subprocess.run([recall, "--index", index, "index", vault, "--json"], check=True, capture_output=True)
    server = subprocess.Popen(
        [recall, "--index", index, "serve", "--listen", "127.0.0.1:0", "--allow-write"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        base = line.removeprefix("listening on ")
        assert base.startswith("http://127.0.0.1:"), line
        latencies, failures, lock = [], [], threading.Lock()
        next_call = [0]

        def client():
            while time.time() - started < DEADLINE:
                with lock:
                    i = next_call[0]
                    next_call[0] += 1
                if i >= calls:
                    return
                body = {
                    "title": f"Load memory {i}",
                    "body": f"Call {i} remembers the word {word(i)} and nothing else of note.",
                    "tags": ["load"],
                    "force": True,
                }
                t = time.time()
                status, answer = post(base + "/v1/notes", body)
                with lock:
                    latencies.append(time.time() - t)
                    if status != 200 or not answer.get("written") or not answer.get("indexed"):
                        failures.append((i, status, answer))

        t0 = time.time()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        folder = os.path.join(vault, "memories")
        files = sorted(f for f in os.listdir(folder) if f.endswith(".md"))
        whole = sum(
            1
            for f in files
            if (lambda t: t.startswith("# Load memory ") and t.endswith("*Strength: 0.5*\n"))(
                open(os.path.join(folder, f)).read()
            )
        )
        found = 0
        for i in range(calls):
            r = get(f"{base}/v1/search?q={word(i)}&limit=1&mode=lexical")
            found += bool(r["results"]) and r["results"][0]["note"] == f"memories/load_memory_{i}"
        status = get(base + "/v1/status")
    finally:
        server.kill()
        server.wait()
    lat = sorted(latencies)
    ok = not failures and len(files) == calls and whole == calls and found == calls and status["notes"] == 16 + calls
    f = facts(recall_commit=True)
    print("<!-- write_load:begin -->")
    print("## The write path under load")
    print()
    print(f"Measured {f.now} with `bash benches/write_load.sh --write`; binary {f.commit}.")
    print(f"Machine: {os.cpu_count()} cores, {f.cpu} (SIMD: {simd_flags()}), shared with other work.")
    print()
    print(f"{calls} `remember` calls (`POST /v1/notes`) from {clients} concurrent clients on loopback, against")
    print("`recall serve --allow-write` over a copy of the example vault; each call writes a new note and")
    print("indexes it before answering.")
    print()
    print("| measure | figure |")
    print("|---|---:|")
    print(f"| calls answered `written` and `indexed` | {calls - len(failures)} of {calls} |")
    print(f"| new note files in the vault, whole (memory format down to the footer) | {len(files)}, {whole} whole |")
    print(f"| found first by a search for their own word | {found} of {calls} |")
    print(f"| notes in the index afterwards | {status['notes']} (16 + {calls}) |")
    print(f"| wall time, calls per second | {wall:.1f} s, {calls / wall:.1f}/s |")
    print(f"| latency of a call p50 / p95 / max | {statistics.median(lat) * 1000:.0f} / {lat[int(len(lat) * 0.95) - 1] * 1000:.0f} / {lat[-1] * 1000:.0f} ms |")
    print()
    print("Concurrent calls write their files at once and share index updates: each waits for the update")
    print("running, and the next one brings in every note written meanwhile.")
    print("<!-- write_load:end -->")
    if not ok:
        print(f"write_load: FAILED: {failures[:3]}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
