#!/usr/bin/env python3
"""Checks that every test docs/security.md names in its threat table exists.

A name is `Suite.Test` in backticks in a table row; it exists when some *_test.cc file under the
repository defines TEST/TEST_F/TEST_P(Suite, Test). Prints the missing ones and exits 1 if any;
./test.sh runs it (a threat row whose test was renamed or deleted fails CI).
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
doc = (root / "docs" / "security.md").read_text(encoding="utf-8")
rows = [line for line in doc.splitlines() if line.startswith("| ") and "`" in line]
named = set()
for row in rows:
    cells = row.split("|")
    if len(cells) < 3:
        continue
    for name in re.findall(r"`([A-Z][A-Za-z0-9_]*)\.([A-Z][A-Za-z0-9_]*)`", cells[-2]):
        named.add(name)

defined = set()
pattern = re.compile(r"^TEST(?:_F|_P)?\(\s*([A-Za-z0-9_]+)\s*,\s*([A-Za-z0-9_]+)\s*\)", re.M)
for path in root.rglob("*_test.cc"):
    if any(part.startswith("bazel-") or part.startswith(".") for part in path.relative_to(root).parts):
        continue
    defined.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))

missing = sorted(f"{s}.{t}" for s, t in named - defined)
if not named:
    print("check-security-doc: no test names found in docs/security.md", file=sys.stderr)
    sys.exit(1)
if missing:
    print("check-security-doc: docs/security.md names tests that do not exist:", file=sys.stderr)
    for m in missing:
        print("  " + m, file=sys.stderr)
    sys.exit(1)
print(f"check-security-doc: all {len(named)} tests named in docs/security.md exist")
