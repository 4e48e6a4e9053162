#!/usr/bin/env python3
"""BUILD hygiene, the buildifier-style rules we can check offline (Debian has no buildifier).

Usage: scripts/lint/build_hygiene.py [--fix] [ROOT]

Checks every BUILD.bazel under ROOT (bazel-*/ and node_modules/ skipped):
  1. `deps` lists are sorted the way buildifier sorts them: plain strings, then ":local"
     labels, then "//absolute" labels, then "@external" labels; within a group by the parts
     between '.' and ':' (so "//common" sorts before "//common/x"). A blank line or a comment
     line starts a new block that is sorted on its own. --fix sorts them in place.
  2. A target whose name or package path says fake, stub, mock or testing is `testonly = True`
     (so it can never be linked into the server).
  3. Visibility is limited to real consumers: a non-test target that is public (its own
     `visibility` or the package's `default_visibility`) must be named by some BUILD file of
     another package; otherwise it should be private. Test targets are ignored.
Exit status 1 with one line per finding; 2 and 3 are fixed by hand.
"""
import ast
import os
import re
import sys

WORDS = re.compile(r"(fake|stub|mock|testing)", re.I)
TEST_RULES = {"cc_test", "sh_test", "py_test", "test_suite"}
LABEL = re.compile(r"^(@[\w.-]*)?(//[\w./+-]*)?(:[\w./+-]+)?$")


def sort_key(s):
    """buildifier's stringSortKey: phase, then the parts split at '.' and ':'."""
    phase = 0
    if s.startswith(":"):
        phase = 1
    elif s.startswith("//"):
        phase = 2
    elif s.startswith("@"):
        phase = 3
    return (phase, re.split(r"[.:]", s), s)


def build_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(("bazel-", ".")) and d != "node_modules")
        for name in ("BUILD.bazel", "BUILD"):
            if name in filenames:
                yield ("" if rel == "." else rel), os.path.join(dirpath, name)
                break


def kw(call, name):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def strings_in(node):
    """Every string constant anywhere under node (labels in deps, data, srcs, select()...)."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def absolute(label, pkg):
    if label.startswith(":"):
        return f"//{pkg}{label}"
    if label.startswith("//"):
        return label if ":" in label else f"{label}:{label.rsplit('/', 1)[-1]}"
    return None


def sort_blocks(lines, start, end):
    """Sorts lines[start:end] (one element per line) block by block; returns the new lines."""
    out, block = [], []

    def flush():
        block.sort(key=lambda l: sort_key(re.match(r'\s*"([^"]*)"', l).group(1)))
        out.extend(block)
        block.clear()

    for line in lines[start:end]:
        if re.match(r'\s*"[^"]*",?\s*(#.*)?$', line):
            block.append(line if line.rstrip().endswith(",") or "#" in line else line.rstrip() + ",\n")
        else:
            flush()
            out.append(line)
    flush()
    return out


def main():
    fix = "--fix" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--fix"]
    root = args[0] if args else "."
    findings = []
    targets = []  # (pkg, file, name, kind, public)
    consumers = {}  # absolute label -> set of packages naming it
    for pkg, path in build_files(root):
        text = open(path).read()
        tree = ast.parse(text, path)
        lines = text.splitlines(keepends=True)
        rel = os.path.relpath(path, root)
        default_public = False
        default_testonly = False
        edits = []
        for stmt in tree.body:
            if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
                continue
            call = stmt.value
            kind = getattr(call.func, "id", None)
            if kind == "package":
                dv = literal(kw(call, "default_visibility")) or []
                default_public = "//visibility:public" in dv
                default_testonly = literal(kw(call, "default_testonly")) in (True, 1)
                continue
            if kind in (None, "load", "exports_files"):
                continue
            name = literal(kw(call, "name"))
            if not isinstance(name, str):
                continue
            for s in strings_in(call):
                a = absolute(s, pkg) if LABEL.match(s) and (s.startswith("//") or s.startswith(":")) else None
                if a:
                    consumers.setdefault(a, set()).add(pkg)
            deps = kw(call, "deps")
            if isinstance(deps, ast.List):
                values = literal(deps)
                if isinstance(values, list) and all(isinstance(v, str) for v in values):
                    first, last = deps.lineno, deps.end_lineno  # 1-based, the [ and ] lines
                    if first == last:
                        ok = values == sorted(values, key=sort_key)
                        new = None
                    else:
                        new = sort_blocks(lines, first, last - 1)
                        ok = new == lines[first:last - 1]
                    if not ok:
                        if fix and new is not None:
                            edits.append((first, last - 1, new))
                        else:
                            findings.append(f"{rel}:{first}: {name}: deps are not sorted "
                                            "(scripts/lint.sh --fix sorts them)")
            vis = literal(kw(call, "visibility"))
            public = "//visibility:public" in vis if isinstance(vis, list) else default_public
            testonly = kw(call, "testonly")
            testonly = literal(testonly) in (True, 1) if testonly else default_testonly
            if kind not in TEST_RULES and not testonly and (WORDS.search(name) or WORDS.search(pkg)):
                findings.append(f"{rel}:{call.lineno}: {name}: a fake/stub/testing target must be "
                                "`testonly = True`")
            targets.append((pkg, rel, call.lineno, name, kind, public))
        if edits:
            for first, end, new in sorted(edits, reverse=True):
                lines[first:end] = new
            with open(path, "w") as f:
                f.write("".join(lines))
            print(f"build_hygiene: sorted deps in {rel}", file=sys.stderr)
    for pkg, rel, line, name, kind, public in targets:
        if not public or kind in TEST_RULES or pkg.startswith("third_party/"):
            continue  # third_party/sys wraps system libraries: everyone may link them
        users = consumers.get(f"//{pkg}:{name}", set()) - {pkg}
        if not users:
            findings.append(f"{rel}:{line}: {name}: public, but no other package uses it; make it "
                            'private (visibility = ["//visibility:private"] or drop it)')
    for f in findings:
        print(f)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
