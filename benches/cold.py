"""The cold-search table of benches/cold.sh: argv = runs, query, index folder, recall binary,
its commit, baseline binary (or ""), its commit."""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, "benches")
from benchinfo import facts, simd_flags  # noqa: E402


def cold(cmd):
    """One whole process: wall seconds and the child's own peak RSS in MB (wait4)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0 or err.strip():
        sys.exit(f"cold.py: {' '.join(cmd)} failed or warned: {err.decode(errors='replace')}")
    return wall, ru.ru_maxrss / 1024


def main():
    runs, query, index_dir, recall, commit, baseline, base_commit = sys.argv[1:8]
    binaries = [(f"this build ({commit})", recall)]
    if baseline:
        binaries.append((f"baseline ({base_commit or baseline})", baseline))
    models = ["minilm", "multilingual"]
    cmds = {
        (b, m): [path, "--index", os.path.join(index_dir, f"cold-{m}"), "search", "--no-refresh", "-n", "10", query]
        for b, path in binaries
        for m in models
    }
    for cmd in cmds.values():
        cold(cmd)  # warm-up: the page cache, not the process
    got = {k: [] for k in cmds}
    for _ in range(int(runs)):
        for k, cmd in cmds.items():
            got[k].append(cold(cmd))
    print("<!-- cold:begin -->")
    f = facts()
    print(f"Cold hybrid search, 5k notes (`bash benches/cold.sh`, {runs} interleaved rounds, {f.now}; "
          f"{f.cpu}, {os.cpu_count()} cores, {simd_flags()}; query \"{query}\"):\n")
    print("| binary | model | median wall | min-max wall | median peak RSS |")
    print("|---|---|---:|---:|---:|")
    for (b, m), v in got.items():
        walls = [w for w, _ in v]
        print(f"| {b} | {m} | {statistics.median(walls):.3f} s | {min(walls):.3f}-{max(walls):.3f} s "
              f"| {statistics.median([r for _, r in v]):.0f} MB |")
    print("\nTarget for the multilingual model: <= 0.5 s and <= 400 MB.")
    print("<!-- cold:end -->")


if __name__ == "__main__":
    main()
