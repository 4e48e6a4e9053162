#!/usr/bin/env bash
# Sets up everything (Debian packages, npm test tools, a throwaway PostgreSQL 15 cluster) and
# runs the whole test suite with Bazel. The last line is `N passed, N failed`; the exit code is
# non-zero when anything failed. Extra arguments go to `bazel test` (e.g. ./test.sh //storage/...).
set -uo pipefail
cd "$(dirname "$0")"

scripts/install-deps.sh --test-tools || exit 1

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

targets=("$@")
[ "${#targets[@]}" -eq 0 ] && targets=(//...)

bazel build --jobs=2 "${targets[@]}" || { echo "0 passed, 1 failed"; exit 1; }
# REGAUTH_REQUIRE_*: tests that would skip without PostgreSQL, the npm jose package or
# docker-registry and skopeo (all set up above) fail instead.
bazel test --jobs=2 \
  --test_env=REGAUTH_TEST_PG_DSN="$dsn" --test_env=REGAUTH_REQUIRE_PG=1 \
  --test_env=REGAUTH_TEST_PG_STANDBY_DSN="$standby_dsn" \
  --test_env=REGAUTH_REQUIRE_NODE_JOSE=1 --test_env=REGAUTH_REQUIRE_REGISTRY=1 \
  "${targets[@]}"
rc=$?

mapfile -t tests < <(bazel query "tests(set(${targets[*]}))" 2>/dev/null)
python3 scripts/count-tests.py "$(bazel info bazel-testlogs 2>/dev/null)" "${tests[@]}"
exit $rc
