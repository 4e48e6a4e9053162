#!/usr/bin/env python3
"""Writes compile_commands.json (the clang tooling database) for the Bazel build.

Usage: bazel aquery 'mnemonic("CppCompile", //...)' --output=jsonproto \
         | scripts/lint/compile_commands.py WORKSPACE_ROOT OUT_FILE

Bazel 4.2.3's `aquery --output=jsonproto` prints one JSON object whose "actions" each carry
the full gcc command line in "arguments", with paths relative to the execution root. We run
clang-tidy from the workspace root instead: the source paths are the same there, and the
generated headers (`-iquote bazel-out/...`) are reached through the `bazel-out` symlink Bazel
keeps in the workspace. A few gcc-only flags are dropped so clang accepts the command.
One entry per source file (a file compiled twice, e.g. with an extra -D, is checked once).
"""
import json
import sys

# gcc flags clang does not know (an error, not a warning) or that only write build outputs.
DROP = {"-fno-canonical-system-headers", "-MD", "-MMD"}
DROP_WITH_VALUE = {"-MF", "-o"}


def clang_args(args):
    out = ["clang++"]
    i = 1
    while i < len(args):
        a = args[i]
        if a in DROP_WITH_VALUE:
            i += 2
            continue
        if a not in DROP and not a.startswith("-frandom-seed="):
            out.append(a)
        i += 1
    # -Wno-free-nonheap-object and the like are gcc's; clang would warn about each.
    out.append("-Wno-unknown-warning-option")
    return out


def main():
    root, out_path = sys.argv[1], sys.argv[2]
    actions = json.load(sys.stdin).get("actions", [])
    entries = {}
    for action in actions:
        args = action["arguments"]
        try:
            src = args[args.index("-c") + 1]
        except (ValueError, IndexError):
            continue
        if src.startswith(("bazel-out/", "external/")):
            continue  # generated code (protoc, embedded migrations) is not ours to lint
        entries.setdefault(src, {"directory": root, "file": src, "arguments": clang_args(args)})
    with open(out_path, "w") as f:
        json.dump([entries[k] for k in sorted(entries)], f, indent=1)
        f.write("\n")
    print(f"compile_commands: {len(entries)} source files", file=sys.stderr)


if __name__ == "__main__":
    main()
