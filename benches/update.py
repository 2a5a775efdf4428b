"""The measurements and the report of benches/update.sh.

    python3 -B benches/update.py measure RECALL INDEX VAULT BACKUP ADDED RUNS > NAME.update.json
        times `recall status` (RUNS runs on the unchanged vault), then `recall update` after
        modifying RUNS notes of VAULT/topics (one at a time, each first copied to
        BACKUP/topics), deleting one and writing the new note ADDED; prints the figures as
        JSON. Undoing the changes is the script's job.
    python3 -B benches/update.py report RES RECALL WRITE RUNS > update.md
        reads RES/scifact-x2.{index.json,update.json,size,built} and prints the markdown
        section `update` of BENCHMARKS.md (WRITE=1: the run had --write)
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, "benches")
from benchinfo import facts, sh, run_subcommands  # noqa: E402


def measure(recall, index, vault, backup, added, runs):
    """Freshness check, then updates after modifying, deleting and adding notes; the figures as JSON."""
    runs = int(runs)
    # A nonce in every new text: the index reuses embeddings of text it has seen before (also
    # text this script wrote and undid in an earlier run), and a real edit is new text.
    nonce = f"{time.time_ns():x}"

    def run(*args):
        t = time.perf_counter()
        r = subprocess.run([recall, "--index", index, *args, "--json"], capture_output=True, text=True)
        wall = (time.perf_counter() - t) * 1000
        if r.returncode != 0:
            sys.exit(f"update.sh: recall {' '.join(args)} failed: {r.stderr}")
        return json.loads(r.stdout), wall

    def log(msg):
        print(f"update.sh: {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr)

    out = {}
    # Freshness check on the unchanged vault (one untimed run first: page cache).
    run("status")
    checks = [run("status") for _ in range(runs)]
    assert all(c[0]["fresh"] for c in checks), "vault not fresh before the freshness runs"
    out["status"] = {
        "files": checks[0][0]["files"],
        "check_ms": [c[0]["check_ms"] for c in checks],
        "wall_ms": [c[1] for c in checks],
    }
    log(f"status check_ms {out['status']['check_ms']}")

    notes = sorted(f for f in os.listdir(os.path.join(vault, "topics")) if f.endswith(".md"))
    picks = [notes[(2 * i + 1) * len(notes) // (2 * runs + 2)] for i in range(runs + 1)]

    def backup_note(name):
        dst = os.path.join(backup, "topics", name)
        if not os.path.exists(dst):
            shutil.copy2(os.path.join(vault, "topics", name), dst)

    mods = []
    for i, name in enumerate(picks[:runs]):
        backup_note(name)
        with open(os.path.join(vault, "topics", name), "a") as f:
            f.write(f"\nA follow-up measurement (run {i + 1}, batch {nonce}) confirmed the effect in a second cohort.\n")
        st, _ = run("status")
        u, wall = run("update")
        log(f"modify {name}: {u['took_ms']} ms ({u['kind']}, changed {u['changed']}, embedded {u['embedded']})")
        mods.append({"note": name, "status_changed": st["changed"], "took_ms": u["took_ms"], "wall_ms": wall,
                     "embedded": u["embedded"], "kind": u["kind"], "changed": u["changed"]})
    out["modify"] = mods

    # Delete one note.
    name = picks[runs]
    backup_note(name)
    os.remove(os.path.join(vault, "topics", name))
    u, wall = run("update")
    log(f"delete {name}: {u['took_ms']} ms ({u['kind']}, deleted {u['deleted']})")
    out["delete"] = {"note": name, "took_ms": u["took_ms"], "wall_ms": wall, "kind": u["kind"],
                     "deleted": u["deleted"], "embedded": u["embedded"]}

    # Add one new note (memory-note form, a few sections).
    with open(added, "w") as f:
        f.write(f"""# Sleep deprivation and memory consolidation

## Topic Overview
Short sleep after learning reduces how much of a word list is recalled the next day
(cohort {nonce}).

## Key Findings
- Slow-wave sleep predicts retention of declarative memories (cohort {nonce}).
- Recovery sleep restores some, but not all, of the lost consolidation (cohort {nonce}).

## Tags
`sleep` `memory`

---
*Knowledge domain established: 2024-03-01*
*Last updated: 2024-03-02*
*Strength: 0.60*
""")
    u, wall = run("update")
    log(f"add: {u['took_ms']} ms ({u['kind']}, added {u['added']}, embedded {u['embedded']})")
    out["add"] = {"took_ms": u["took_ms"], "wall_ms": wall, "kind": u["kind"], "added": u["added"],
                  "embedded": u["embedded"]}
    out["notes"] = u["notes"]
    print(json.dumps(out))


def report(res, recall, write, runs):
    """The markdown section `update` of BENCHMARKS.md."""
    load = lambda p: json.load(open(os.path.join(res, p)))  # noqa: E731
    version = sh(recall, "--version") or "?"
    commit, src_changed, _, now = facts(recall_commit=True)
    dirty = " (+ uncommitted changes in src/)" if src_changed else ""
    cmd = "bash benches/update.sh" + (" --write" if write == "1" else "")
    ix = load("scifact-x2.index.json")
    u = load("scifact-x2.update.json")
    size = int(open(os.path.join(res, "scifact-x2.size")).read())
    med = statistics.median
    rate = ix["embedded"] / (ix["embed_ms"] / 1000) if ix.get("embed_ms") else float("nan")
    st, mods, de, ad = u["status"], u["modify"], u["delete"], u["add"]
    out = []
    p = out.append
    p("<!-- update:begin -->")
    p("## Incremental updates and freshness\n")
    p(f"Measured {now} with `{cmd}`; binary {version}, commit {commit}{dirty}.")
    p(f"Vault: SciFact as memory notes, `beir2vault.py --copies 2`: {ix['notes']} notes, {ix['sections']} sections.")
    built = open(os.path.join(res, "scifact-x2.built")).read().strip() if os.path.exists(os.path.join(res, "scifact-x2.built")) else "?"
    p(f"Full build with embeddings (binary of commit {built}): {ix['took_ms'] / 1000:.0f} s, {ix['embedded']} chunks embedded in "
      f"{ix['embed_ms'] / 1000:.0f} s ({rate:.1f} chunks/s; the second copy's {ix.get('reused', 0)} identical chunks were reused, not embedded);")
    p(f"index {size / 1e6:.0f} MB after the updates below. Median of {runs} runs where a row says so.\n")
    p("| operation | median | runs (ms) | notes |")
    p("|---|---:|---|---|")
    p(f"| freshness check, unchanged vault (`status --json` check_ms) | {med(st['check_ms']):.1f} ms | "
      f"{', '.join(f'{x:.1f}' for x in st['check_ms'])} | stat of {st['files']} files |")
    p(f"| whole `recall status` process | {med(st['wall_ms']):.0f} ms | {', '.join(f'{x:.0f}' for x in st['wall_ms'])} | spawn, open index, check |")
    p(f"| update after appending a sentence to one note (`update --json` took_ms) | {med([m['took_ms'] for m in mods]):.0f} ms | "
      f"{', '.join(str(m['took_ms']) for m in mods)} | a different note each run; kind {mods[0]['kind']}, "
      f"{med([m['embedded'] for m in mods]):.0f} chunk(s) embedded (median) |")
    walls = ", ".join(f"{m['wall_ms']:.0f}" for m in mods)
    p(f"| whole `recall update` process, one note modified | {med([m['wall_ms'] for m in mods]):.0f} ms | "
      f"{walls} | spawn, load the model, update |")
    p(f"| update after deleting one note | {de['took_ms']} ms | 1 run | kind {de['kind']}, deleted {de['deleted']} |")
    p(f"| update after adding one new note | {ad['took_ms']} ms | 1 run | kind {ad['kind']}, added {ad['added']}, {ad['embedded']} chunk(s) embedded |")
    p("")
    p("`status` only stats files (size, mtime) against the index's record; `update` re-reads")
    p("changed files, re-embeds only changed text and publishes a new generation that")
    p("hard-links the unchanged segments. All changes are undone afterwards (and updated back).")
    p("<!-- update:end -->")
    print("\n".join(out))


COMMANDS = {"measure": (measure, 6), "report": (report, 4)}


if __name__ == "__main__":
    run_subcommands(COMMANDS, __doc__)
