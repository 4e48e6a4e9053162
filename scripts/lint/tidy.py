#!/usr/bin/env python3
"""Runs clang-tidy (config: .clang-tidy) over every source file of compile_commands.json.

Usage: scripts/lint/tidy.py [--jobs N] ROOT .../compile_commands.json [FILE...]

Headers are checked through the .cc files that include them (--header-filter: our own
folders only, never bazel-out/, external/ or system headers); a finding in a header that
several files include is printed once.

Results are cached: a file whose clang-tidy run was clean is not checked again while its
key is unchanged. The key is a hash of: the clang-tidy version, .clang-tidy, the compile
command, the Debian package list (system headers), and the contents of the file and of every
project header it includes, transitively (`#include "..."` resolved against the workspace
and the generated-file tree). The cache lives in $REGAUTH_LINT_CACHE, default
${XDG_CACHE_HOME:-~/.cache}/regauth-lint/tidy; REGAUTH_LINT_CACHE=off disables it. Entries
unused for 30 days are removed.

Exit status: 0 when every file is clean, 1 when there are findings or clang-tidy fails.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import time

# Our own folders: findings in headers outside them (system, generated) are not ours to fix.
OWN_DIRS = ("api", "auth", "bench", "cli", "common", "crypto", "gateway", "model",
            "observability", "realm", "server", "services", "storage", "tests", "upstream")
INCLUDE_RE = re.compile(rb'^\s*#\s*include\s*"([^"]+)"', re.M)
GENERATED = os.path.join("bazel-out", "k8-fastbuild", "bin")
CACHE_MAX_AGE = 30 * 24 * 3600


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


class IncludeHasher:
    """Hashes of a file plus the project headers it includes, transitively (memoized)."""

    def __init__(self, root):
        self.root = root
        self.content = {}

    def _resolve(self, name):
        for base in (self.root, os.path.join(self.root, GENERATED)):
            path = os.path.join(base, name)
            if os.path.isfile(path):
                return path
        return None  # a system header: covered by the package list in the key

    def closure(self, path):
        seen = set()
        todo = [path]
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            if p not in self.content:
                self.content[p] = read(p)
            for name in INCLUDE_RE.findall(self.content[p]):
                q = self._resolve(name.decode())
                if q:
                    todo.append(q)
        return sorted(seen)

    def key(self, path, extra):
        h = hashlib.sha256(extra)
        for p in self.closure(path):
            h.update(os.path.relpath(p, self.root).encode() + b"\0" + sha(self.content[p]).encode())
        return h.hexdigest()


def system_stamp():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"],
                              capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return b""


def cache_dir():
    setting = os.environ.get("REGAUTH_LINT_CACHE")
    if setting == "off":
        return None
    if setting:
        return setting
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "regauth-lint", "tidy")


def prune(directory):
    now = time.time()
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            if now - os.path.getmtime(path) > CACHE_MAX_AGE:
                os.remove(path)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("compdb")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    root = os.path.realpath(args.root)
    entries = json.load(open(args.compdb))
    if args.files:
        wanted = {os.path.relpath(os.path.realpath(f), root) for f in args.files}
        entries = [e for e in entries if e["file"] in wanted]

    version = subprocess.run(["clang-tidy", "--version"], capture_output=True).stdout
    common = version + read(os.path.join(root, ".clang-tidy")) + system_stamp()
    hasher = IncludeHasher(root)
    cache = cache_dir()
    if cache:
        os.makedirs(cache, exist_ok=True)
        prune(cache)
    # Diagnostics name files by absolute path, headers sometimes with a "./" inside.
    posix_root = re.sub(r"([.^$|()\[\]*+?{}\\])", r"\\\1", root)  # POSIX ERE escaping
    header_filter = "^" + posix_root + "/(\\./)?(" + "|".join(OWN_DIRS) + ")/"

    todo = []
    cached = 0
    for e in entries:
        key = hasher.key(os.path.join(root, e["file"]),
                         common + json.dumps(e["arguments"]).encode())
        if cache and os.path.exists(os.path.join(cache, key)):
            os.utime(os.path.join(cache, key))
            cached += 1
        else:
            todo.append((e["file"], key))

    def run(item):
        path, key = item
        p = subprocess.run(["clang-tidy", "--quiet", "-p", os.path.dirname(os.path.abspath(args.compdb)), "--header-filter=" + header_filter,
                            path], cwd=root, capture_output=True, text=True)
        return path, key, p.returncode, p.stdout, p.stderr

    start = time.time()
    failed = []
    seen = set()
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for path, key, rc, out, err in pool.map(run, todo):
            if rc == 0:
                if cache:
                    open(os.path.join(cache, key), "w").close()
                continue
            failed.append(path)
            # Print each finding once (a header's finding repeats for every includer).
            block = []
            for line in (out + err).splitlines():
                if re.match(r"^\d+ warnings? (and \d+ errors? )?generated\.$", line):
                    continue
                if re.match(r"^\S+:\d+:\d+: (warning|error):", line):
                    if block:
                        text = "\n".join(block)
                        if text not in seen:
                            seen.add(text)
                            print(text)
                    block = [line.replace(root + "/", "")]
                elif block:
                    block.append(line)
                elif "error" in line.lower():
                    print(f"{path}: {line}")
            if block:
                text = "\n".join(block)
                if text not in seen:
                    seen.add(text)
                    print(text)
    print(f"clang-tidy: {len(entries)} files, {cached} unchanged since a clean run (cached), "
          f"{len(todo)} checked in {time.time() - start:.0f}s with {args.jobs} jobs, "
          f"{len(failed)} with findings", file=sys.stderr)
    if failed:
        print("clang-tidy findings in: " + " ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
