#!/usr/bin/env bash
# Sets up everything (Debian packages, npm test tools, a throwaway PostgreSQL 15 cluster) and
# runs the whole test suite with Bazel. The last line is `N passed, N failed`; the exit code is
# non-zero when anything failed. Extra arguments go to `bazel test` (e.g. ./test.sh //storage/...).
#
# Then the sanitizer run: the tests of gateway/, realm/, services/, api/ and auth/, every test
# under tests/ that builds on them and the fuzz replays, once more under ASan + UBSan (`bazel test --config=asan`,
# .bazelrc), with the same database and settings. Its test cases count separately (a line
# `asan: N passed, N failed` before the total) and any failure fails the script. With explicit
# targets it runs over those of them that are in that set (none: no sanitizer run).
# REGAUTH_SKIP_ASAN=1 skips it for a quick local run; CI (.ci/run) always runs it.
#
# Formatting and lint (scripts/lint.sh) run first and fail the suite on any finding: clang-format
# and the BUILD hygiene check before anything is built (seconds), clang-tidy right after the
# build, before the tests (cached per file, see scripts/lint/tidy.py). Fix with scripts/lint.sh --fix.
set -uo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh --test-tools || exit 1

# Bazel's disk cache, shared by every clone on this machine: a fresh clone (what CI runs)
# compiles only what changed since the last run. It holds compiled outputs only; test results
# are never reused (--nocache_test_results; the test environment differs per run anyway).
# Bazel 4 never shrinks it, so it is dropped past 20 GiB. REGAUTH_BAZEL_DISK_CACHE= (empty)
# turns it off (a cold build, as on a new machine).
disk_cache=${REGAUTH_BAZEL_DISK_CACHE-${XDG_CACHE_HOME:-$HOME/.cache}/registry-auth/bazel-disk}
if [ -n "$disk_cache" ]; then
  mkdir -p "$disk_cache" || exit 1
  if [ "$(du -sm "$disk_cache" | cut -f1)" -gt 20480 ]; then
    rm -rf "$disk_cache" && mkdir -p "$disk_cache"
  fi
  echo "build --disk_cache=$disk_cache" > .bazelrc.local  # read by .bazelrc (try-import)
else
  rm -f .bazelrc.local
fi
scripts/lint.sh --check --no-tidy || { echo "0 passed, 1 failed"; exit 1; }

# Bazel keeps one output base (~2 GiB) per workspace folder and never removes it; every clean
# clone (CI) is a new folder. Drop the output bases whose workspace folder no longer exists.
output_user_root=$(dirname "$(bazel info output_base 2>/dev/null)" 2>/dev/null) || output_user_root=
for base in "${output_user_root:-/nonexistent}"/*/; do
  marker="$base/DO_NOT_BUILD_HERE"
  [ -f "$marker" ] || continue
  workspace=$(cat "$marker")
  if [ -n "$workspace" ] && [ ! -d "$workspace" ]; then
    chmod -R u+w "$base" 2>/dev/null
    rm -rf "$base"
  fi
done

# A throwaway cluster under a private temp folder, on a free port.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/regauth-test.XXXXXX")
chmod 711 "$tmp"  # the unprivileged postgres user must reach its data folder
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
  scripts/pg-cluster.sh stop "$tmp/pg-standby" >/dev/null 2>&1 || true
  scripts/pg-cluster.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
  bazel shutdown >/dev/null 2>&1 || true
}
trap cleanup EXIT
scripts/pg-cluster.sh start "$tmp/pg" "$port" || exit 1
dsn=$(scripts/pg-cluster.sh dsn "$tmp/pg" "$port" postgres) || exit 1
# A streaming-replication standby of it, for the "a standby is not ready" test.
standby_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scripts/pg-cluster.sh standby "$tmp/pg" "$port" "$tmp/pg-standby" "$standby_port" || exit 1
standby_dsn=$(scripts/pg-cluster.sh dsn "$tmp/pg-standby" "$standby_port" postgres) || exit 1

# Every test the threat table of docs/security.md names must exist.
python3 scripts/check-security-doc.py || { echo "0 passed, 1 failed"; exit 1; }

targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(//...)

bazel build --jobs=2 "${targets[@]}" || { echo "0 passed, 1 failed"; exit 1; }
REGAUTH_LINT_JOBS=2 scripts/lint.sh --check --tidy-only || { echo "0 passed, 1 failed"; exit 1; }
# REGAUTH_REQUIRE_*: tests that would skip without PostgreSQL, the npm jose package or
# docker-registry and skopeo (all set up above) fail instead.
test_env=(
  --test_env=REGAUTH_TEST_PG_DSN="$dsn" --test_env=REGAUTH_REQUIRE_PG=1
  --test_env=REGAUTH_TEST_PG_STANDBY_DSN="$standby_dsn"
  --test_env=REGAUTH_REQUIRE_NODE_JOSE=1 --test_env=REGAUTH_REQUIRE_REGISTRY=1
)
bazel test --jobs=2 --nocache_test_results "${test_env[@]}" "${targets[@]}"
rc=$?
mapfile -t tests < <(bazel query "tests(set(${targets[*]}))" 2>/dev/null)
count_args=("$(bazel info bazel-testlogs 2>/dev/null)" "${tests[@]}")

# The sanitizer run (see the header). Its outputs live in their own directory
# (--platform_suffix), so it does not evict the normal build's and vice versa.
if [ "${REGAUTH_SKIP_ASAN:-0}" != 1 ]; then
  sanitized='//gateway/... + //realm/... + //services/... + //api/... + //auth/...'
  # ... and the fuzz targets' replays (every seed plus deterministic mutations), so each
  # committed reproducer runs sanitized in every CI run too.
  asan_set="tests(${sanitized}) + kind(test, rdeps(//tests:all, ${sanitized})) + tests(//tests/fuzz/...)"
  if asan_list=$(bazel query "tests(set(${targets[*]})) intersect (${asan_set})" 2>/dev/null); then
    mapfile -t asan_tests < <(printf '%s' "$asan_list" | sed '/^$/d')
    if [ "${#asan_tests[@]}" -gt 0 ]; then
      bazel test --config=asan --jobs=2 --nocache_test_results "${test_env[@]}" "${asan_tests[@]}" || rc=1
      count_args+=(--config asan "$(bazel info --config=asan bazel-testlogs 2>/dev/null)"
        "${asan_tests[@]}")
    fi
  else
    echo "test.sh: could not list the sanitizer run's tests" >&2
    rc=1
  fi
fi

python3 scripts/count-tests.py "${count_args[@]}"
exit $rc
