"""What a benchmark report says about the checkout and the machine it was measured on.

The report code of the benchmark scripts (the benches/*.py modules that benches/*.sh call,
and scripts/fuzz.sh's `python3 -B -`) runs from the repo root as `python3 -B` (-B: no
__pycache__ left in the checkout) and imports this with

    sys.path.insert(0, "benches")
    from benchinfo import facts, sh
"""
import datetime
import os
import subprocess
from typing import NamedTuple


class Facts(NamedTuple):
    commit: str  # short hash of git HEAD, "?" without one
    src_changed: bool  # src/ has uncommitted changes
    cpu: str  # CPU model name, "?" when unknown
    now: str  # UTC, to the minute


def sh(*cmd: str) -> str:
    """The stdout of cmd, stripped; "" when it cannot be run."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def facts(recall_commit: bool = False) -> Facts:
    """The facts for a report. With recall_commit, $RECALL_COMMIT (the commit the binary
    was built from), when set, is the commit, and src_changed is False."""
    given = os.environ.get("RECALL_COMMIT") if recall_commit else None
    commit = given or sh("git", "rev-parse", "--short", "HEAD") or "?"
    src_changed = not given and bool(sh("git", "status", "--porcelain", "--", "src"))
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Facts(commit, src_changed, cpu, now)


def simd_flags() -> str:
    """The CPU's SIMD extensions that matter for embedding speed (and, a little, its results)."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    wanted = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
              "avx_vnni", "avx512_bf16", "amx_tile", "asimd", "sve"]
    return " ".join(f for f in wanted if f in flags) or "?"


def run_subcommands(commands: dict, usage: str) -> None:
    """Run the subcommand named by sys.argv[1] (commands: name -> (function, how many
    arguments)) with the arguments that follow it; the module's usage when they do not fit."""
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in commands or len(sys.argv) - 2 != commands[name][1]:
        sys.exit(usage)
    commands[name][0](*sys.argv[2:])
