#!/usr/bin/env python3
"""Checks the shape of src/: imports between top-level modules point one way (no
cycles), no function is longer than MAX_FN_LINES, no file has more than MAX_FILE_LINES
lines of non-test code (the lines before its `#[cfg(test)]`).

A module's imports are the `crate::NAME` paths in its non-test code (a folder counts as
one module). Prints each problem and exits 1 when there is one. Run by `make lint`.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
MAX_FN_LINES = 120
MAX_FILE_LINES = 600
ROOT_ITEMS = {"cores", "give_back_freed_memory", "steady_heap", "Error", "Result"}


def imports():
    mods = {}
    for f in SRC.rglob("*.rs"):
        top = f.relative_to(SRC).parts[0].removesuffix(".rs")
        if top in ("lib", "main"):
            continue
        code = f.read_text().split("#[cfg(test)]")[0]
        code = "\n".join(l for l in code.splitlines() if not l.strip().startswith("//"))
        deps = set(re.findall(r"crate::(\w+)", code)) - ROOT_ITEMS - {top}
        mods.setdefault(top, set()).update(deps)
    return mods


def non_test_lines(f):
    lines = f.read_text().splitlines()
    cut = next((i for i, l in enumerate(lines) if l.startswith("#[cfg(test)]")), len(lines))
    return lines[:cut]


def sizes():
    """Functions over MAX_FN_LINES and files over MAX_FILE_LINES, as messages."""
    problems = []
    fn = re.compile(r"^(\s*)(pub(\([^)]*\))? )?(async )?(const )?(unsafe )?fn (\w+)")
    for f in sorted(SRC.rglob("*.rs")):
        lines = non_test_lines(f)
        rel = f.relative_to(SRC.parent)
        if len(lines) > MAX_FILE_LINES:
            problems.append(f"{rel}: {len(lines)} lines of non-test code (at most {MAX_FILE_LINES})")
        for i, line in enumerate(lines):
            m = fn.match(line)
            if not m:
                continue
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == m.group(1) + "}"), None)
            if end is not None and end - i + 1 > MAX_FN_LINES:
                problems.append(f"{rel}:{i + 1}: fn {m.group(7)} has {end - i + 1} lines (at most {MAX_FN_LINES})")
    return problems


def main():
    problems = sizes()
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    mods = imports()

    def reaches(a, b):
        seen, todo = set(), [a]
        while todo:
            for y in mods.get(todo.pop(), ()):
                if y == b:
                    return True
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return False

    cycles = sorted({tuple(sorted((a, b))) for a in mods for b in mods[a] if reaches(b, a)})
    for a, b in cycles:
        print(f"check-layers: import cycle between src/{a} and src/{b}", file=sys.stderr)
    return 1 if cycles or problems else 0


if __name__ == "__main__":
    sys.exit(main())
