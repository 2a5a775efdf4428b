"""The measures and the report of benches/build.sh.

    python3 -B benches/build_report.py measure LABEL COMMIT START END BINARY CARGO_LOG > LABEL.json
    python3 -B benches/build_report.py report BASELINE.json NEW.json > build.md
    python3 -B benches/build_report.py demo COMMIT START END MAKE_LOG > demo.md  (benches/demo.sh)
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, "benches")
from benchinfo import facts, simd_flags  # noqa: E402


def sections(binary):
    """Sizes of the binary's sections, from `readelf -SW` (bytes by name)."""
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.replace("[ ", "[").split()
        if len(parts) > 5 and parts[0].startswith("[") and parts[1].startswith("."):
            sizes[parts[1]] = int(parts[5], 16)
    return sizes


def measure(label, commit, start, end, binary, log):
    compiled = sum(1 for l in open(log) if l.strip().startswith("Compiling "))
    secs = sections(binary)
    json.dump(
        {
            "label": label,
            "commit": commit,
            "seconds": float(end) - float(start),
            "crates": compiled,
            "binary": os.path.getsize(binary),
            "debug": sum(v for k, v in secs.items() if k.startswith(".debug")),
            "text": secs.get(".text", 0),
        },
        sys.stdout,
    )


def report(baseline_file, new_file):
    b, n = (json.load(open(f)) for f in (baseline_file, new_file))
    f = facts()
    mb = lambda x: f"{x / 1e6:.1f} MB"  # noqa: E731
    mins = lambda s: f"{int(s // 60)} min {s % 60:04.1f} s"  # noqa: E731
    print("<!-- build:begin -->")
    print("## Build cost")
    print()
    print(f"Measured {f.now} with `bash benches/build.sh --write`: clean `cargo build --release --locked`")
    print(f"of {n['commit']} (new) and {b['commit']} (baseline), one after the other, each into a fresh target folder.")
    print(f"Machine: {os.cpu_count()} cores, {f.cpu} (SIMD: {simd_flags()}), shared with other work.")
    print()
    print("| measure | baseline | new | new / baseline | target |")
    print("|---|---:|---:|---:|---|")
    print(f"| clean release build, wall time | {mins(b['seconds'])} | {mins(n['seconds'])} | {n['seconds'] / b['seconds']:.2f} | ≤ 0.75 |")
    print(f"| crates compiled | {b['crates']} | {n['crates']} | {n['crates'] / b['crates']:.2f} | fewer |")
    print(f"| release binary | {mb(b['binary'])} | {mb(n['binary'])} | {n['binary'] / b['binary']:.2f} | ≤ 40 MB |")
    print(f"| of which debug sections | {mb(b['debug'])} | {mb(n['debug'])} | — | — |")
    print(f"| `.text` | {mb(b['text'])} | {mb(n['text'])} | {n['text'] / b['text']:.2f} | — |")
    print("<!-- build:end -->")


def cargo_seconds(log):
    """The compile time cargo reports on its `Finished` line (`in 4m 53s`, `in 41.2s`)."""
    total = 0.0
    for line in open(log, errors="replace"):
        m = re.search(r"Finished .* in (?:(\d+)m )?([\d.]+)s", line)
        if m:
            total += int(m.group(1) or 0) * 60 + float(m.group(2))
    return total


def demo(commit, start, end, log):
    f = facts()
    mins = lambda s: f"{int(s // 60)} min {s % 60:04.1f} s"  # noqa: E731
    whole = float(end) - float(start)
    compiling = cargo_seconds(log)
    crates = sum(1 for l in open(log, errors="replace") if l.strip().startswith("Compiling "))
    print("<!-- demo:begin -->")
    print("## A fresh machine's `make demo`")
    print()
    print(f"Measured {f.now} with `bash benches/demo.sh --write`: `make demo` in a fresh clone of {commit}")
    print("with an empty cargo home, model cache, pip cache and venv (every crate, ONNX Runtime and the")
    print("model downloaded; only the Rust toolchain was there).")
    print(f"Machine: {os.cpu_count()} cores, {f.cpu} (SIMD: {simd_flags()}), shared with other work.")
    print()
    print("| measure | figure |")
    print("|---|---:|")
    print(f"| whole `make demo` | {mins(whole)} |")
    print(f"| of which compiling (cargo's `Finished` line) | {mins(compiling)} |")
    print(f"| the rest: downloads, model fetch, venv, index and search of the example vault | {mins(whole - compiling)} |")
    print(f"| crates compiled | {crates} |")
    print("<!-- demo:end -->")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "measure":
        measure(*sys.argv[2:8])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "demo":
        demo(*sys.argv[2:6])
    else:
        sys.exit(__doc__)
