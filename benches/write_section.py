"""Replace one generated section of BENCHMARKS.md, leaving the rest alone.

Usage: python3 benches/write_section.py NAME SECTION_FILE [BENCHMARKS.md]

SECTION_FILE holds the whole section, markers included
(`<!-- NAME:begin -->` ... `<!-- NAME:end -->`). Each benchmark script writes only its own
section, so sections written by hand or by other scripts survive any re-run. A missing
section is appended; a missing file is created.
"""
import os
import re
import sys


def main() -> None:
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    name, section_file = sys.argv[1], sys.argv[2]
    path = sys.argv[3] if len(sys.argv) == 4 else "BENCHMARKS.md"
    section = open(section_file).read().rstrip("\n")
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if not (section.startswith(begin) and section.endswith(end)):
        sys.exit(f"write_section: {section_file} must start with {begin} and end with {end}")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
