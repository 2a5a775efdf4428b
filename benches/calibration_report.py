"""The query sets and the report of benches/calibration.sh.

    python3 -B benches/calibration_report.py unjudged QUERIES.jsonl > OUT.qrels
        qrels that judge every query of QUERIES.jsonl against a note that does not exist, so
        queries without judgments still run in `recall eval`
    python3 -B benches/calibration_report.py nonsense > nonsense.jsonl
        200 pseudo-word queries: syllables drawn with a fixed seed, one or two words a query
    python3 -B benches/calibration_report.py report OUT RECALL FLOOR WRITE > calibration.md
        the markdown section `calibration` of BENCHMARKS.md, from the dumps in OUT (through
        benches/calibration.py fit and report) and the coefficients in src/relevance.rs
        (FLOOR: the --min-score checked; WRITE=1: the run had --write)
"""
import json
import os
import platform
import random
import re
import subprocess
import sys

sys.path.insert(0, "benches")
from benchinfo import facts, sh  # noqa: E402


def unjudged(queries):
    print("query-id\tcorpus-id\tscore")
    for line in open(queries):
        if line.strip():
            print(f"{json.loads(line)['_id']}\tno such note\t1")


def nonsense():
    rng = random.Random(20261203)
    cons, vows = "bdfgklmnprstvz", "aeiou"
    word = lambda: "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 4)))  # noqa: E731
    for i in range(200):
        print(json.dumps({"_id": f"n{i}", "text": " ".join(word() for _ in range(rng.randint(1, 2)))}))


def report(out, recall, floor, write):
    commit, src_changed, cpu, now = facts(recall_commit=True)

    def run(*args):
        return subprocess.run([sys.executable, "-B", "benches/calibration.py", *args], capture_output=True, text=True, check=True).stdout.strip()
    cmd = "bash benches/calibration.sh" + (" --write" if write == "1" else "")
    print("<!-- calibration:begin -->")
    print("## Scores that mean something: calibration and the relevance floor\n")
    print(f"Measured {now} with `{cmd}`. Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}.")
    print(f"Binary: {sh(recall, '--version') or '?'}, commit {commit}{' (+ uncommitted changes in src/)' if src_changed else ''}. Floor: `--min-score {floor}` (the default).\n")
    print("A logistic fit on this run's SciFact **train** dumps (top 10 of each of 809 queries):\n")
    print("```\n" + run("fit", os.path.join(out, "train-hybrid.jsonl"), os.path.join(out, "train-lexical.jsonl")) + "\n```\n")
    src = open("src/relevance.rs").read()
    used = [f"{name}: intercept {m[0]}, keyword share {m[1]}, similarity {m[2]}" for name, *m in re.findall(
        r"const (\w+): Model = Model \{\s*intercept: ([-\d.]+),\s*keyword: ([-\d.]+),\s*similarity: ([-\d.]+),", src)]
    print("The coefficients in use, which the checks below measure (`src/relevance.rs`, whose docs say which fit")
    print("they come from): " + "; ".join(used) + ".\n")
    print(run("report", out, floor))
    print("\nDumps: `recall eval --dump` with the floor off (`--min-score 0`), top 100 a query; the floor is")
    print("applied to them as recall applies it (a candidate is kept when its probability of relevance,")
    print("before priors, is at least the floor). Nonsense queries: 200 pseudo-words (seeded); off-topic: the")
    print("225 Cranfield questions asked of SciFact, the 300 SciFact test claims asked of Cranfield.")
    print("<!-- calibration:end -->")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "unjudged":
        unjudged(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "nonsense":
        nonsense()
    elif len(sys.argv) == 6 and sys.argv[1] == "report":
        report(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
