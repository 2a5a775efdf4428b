#!/usr/bin/env python3
"""Checks that imports between the top-level modules of src/ point one way (no cycles).

A module's imports are the `crate::NAME` paths in its non-test code (a folder counts as
one module). Prints each cycle and exits 1 when there is one. Run by `make lint`.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
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


def main():
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
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
