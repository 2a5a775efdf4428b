#!/usr/bin/env bash
# Fuzzes the note parser (examples/fuzz_parser.rs): COUNT generated inputs through
# `Note::parse`, which must neither panic nor break its invariants.
#
# Usage: bash scripts/fuzz.sh [COUNT] [--seed N] [--overflow-checks] [--write]
#   COUNT              inputs to run (default 1000000; `_` separators allowed)
#   --seed N           generator seed (default 1); input i of seed N is always the same
#   --overflow-checks  build the recall crate with arithmetic overflow checks (as a debug
#                      build has them), so an overflow is a panic instead of a silent wrap
#   --write            also replace the section between <!-- fuzz:begin --> and
#                      <!-- fuzz:end --> in BENCHMARKS.md (created if missing)
# Exits non-zero when an input fails; the input and a shrunk copy are in target/fuzz/.
set -euo pipefail

cd "$(dirname "$0")/.."
COUNT=1000000
SEED=1
WRITE=0
OVERFLOW=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --write) WRITE=1 ;;
    --overflow-checks) OVERFLOW=1 ;;
    --seed) SEED=${2:?--seed needs a value}; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    [0-9]*) COUNT=${1//_/} ;;
    *) echo "fuzz.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

BUILD=(cargo build --release --example fuzz_parser --message-format=json-render-diagnostics)
if [[ $OVERFLOW -eq 1 ]]; then
  # Only the recall crate: its artifacts get their own hash, the normal ones stay cached.
  BUILD+=(--config 'profile.release.package.recall.overflow-checks=true')
fi
echo "fuzz.sh: building: ${BUILD[*]}" >&2
# The executable of this very build (target/release/examples/ may hold the other variant).
EXE=$("${BUILD[@]}" | sed -n 's/.*"executable":"\([^"]*fuzz_parser[^"]*\)".*/\1/p' | tail -n1)
if [[ -z $EXE || ! -x $EXE ]]; then
  echo "fuzz.sh: error: could not find the built fuzz_parser executable" >&2
  exit 1
fi

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
CMD="bash scripts/fuzz.sh $COUNT --seed $SEED"
if [[ $OVERFLOW -eq 1 ]]; then CMD+=" --overflow-checks"; fi
set +e
"$EXE" --count "$COUNT" --seed "$SEED" --out target/fuzz | tee "$OUT"
STATUS=${PIPESTATUS[0]}
set -e
SUMMARY=$(grep '^fuzz: ' "$OUT" | tail -n1)
if [[ $STATUS -ne 0 ]]; then
  echo "fuzz.sh: FAILED (exit $STATUS): $SUMMARY" >&2
  exit "$STATUS"
fi

if [[ $WRITE -eq 1 ]]; then
  python3 -B - "$OUT" "$CMD" "$SEED" "$OVERFLOW" BENCHMARKS.md <<'PY'
import os, platform, re, sys
sys.path.insert(0, "benches")
from benchinfo import facts
out, cmd, seed, overflow, path = sys.argv[1:6]
lines = open(out).read().splitlines()
summary = [l for l in lines if l.startswith("fuzz: ")][-1]
m = re.match(r"fuzz: (\d+) inputs, (\d+) panics, ([\d.]+) s", summary)
count, panics, secs = int(m.group(1)), int(m.group(2)), float(m.group(3))
reached = next((l.split(": ", 1)[1] for l in lines if l.startswith("inputs that reached: ")), "?")
slowest = next((l.split(": ", 1)[1] for l in lines if l.startswith("slowest input: ")), "?")
commit, src_changed, cpu, now = facts()
dirty = " (+ uncommitted changes)" if src_changed else ""
checks = "release build, overflow checks on in the recall crate" if overflow == "1" else "release build: arithmetic overflow wraps silently; `--overflow-checks` makes it a panic"
section = f"""<!-- fuzz:begin -->
## Parser fuzzing

Measured {now} with `{cmd}` ({checks}).
Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}; commit {commit}{dirty}.

| inputs | panics | invariant failures | time | inputs/s |
|---:|---:|---:|---:|---:|
| {count:,} | {panics} | 0 | {secs:.1f} s | {count / secs:,.0f} |

Inputs (seed {seed}, generator `tests/fuzzgen/mod.rs`): arbitrary bytes decoded lossily, and
markdown fragments recombined at random (headings of every level, front matter fences
and broken YAML, `*Key: value*` footers, wiki-links, `#tags` beside punctuation and
Unicode, code fences, tables, lists and quotes nested up to 300 deep, HTML, CRLF / lone CR
/ U+2028 line endings, BOMs, NULs, lines up to 400 KB), some with byte-level damage.
Each is parsed by `Note::parse` under `catch_unwind` and checked: section line ranges
inside the text and in order, link lines inside the text, strength in 0..=1, no empty,
`#`-prefixed or duplicate tags. Inputs that reached: {reached}. Slowest: {slowest}.
<!-- fuzz:end -->"""
open(out + ".section", "w").write(section)
PY
  python3 benches/write_section.py fuzz "$OUT.section" BENCHMARKS.md
  echo "fuzz.sh: wrote the fuzz section of BENCHMARKS.md" >&2
fi
