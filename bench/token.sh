#!/usr/bin/env bash
# The Docker token realm under load (issue 4): `GET /token` through the HTTP adapter with wrk
# (64 keep-alive connections), once with a service account and once with a MintPullToken
# credential, next to `openssl speed ecdsap256` (raw ES256 signing, one core) measured in the
# same run on the same machine. Results and their reading: docs/benchmarks.md.
#
#   bench/token.sh                               # about 1.5 minutes after the build
#   BENCH_DURATION=30 BENCH_CONNECTIONS=64 bench/token.sh
#
# It starts a private PostgreSQL 15 cluster (scripts/pg-cluster.sh), builds registry-authd with
# -c opt, makes a signing key with `registry-authd signing-keys generate`, starts the server in
# local-development mode on loopback with the realm on, seeds a workspace, an app, a service
# account and a pull token over the REST API, and runs wrk. It prints one table and the
# server's peak resident memory. Everything lives in one temporary folder, removed at the end.
#
# Settings (environment):
#   BENCH_PG_PORT       port of the private cluster (default 55471)
#   BENCH_DURATION      seconds per wrk run (default 15)
#   BENCH_CONNECTIONS   wrk connections (default 64); BENCH_THREADS wrk threads (default 2)
#   BENCH_AUTHD_ARGS    extra registry-authd flags
#   BENCH_PRELOAD       LD_PRELOAD for registry-authd only (e.g. to compare allocators)
#   BAZEL_STARTUP_OPTS  e.g. "--output_base=/tmp/bazel-bench"
#   BENCH_KEEP=1        keep the temporary folder (logs) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BENCH_PG_PORT:-55471}
duration=${BENCH_DURATION:-15}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
read -r -a bazel_startup <<<"${BAZEL_STARTUP_OPTS:-}"
read -r -a authd_args <<<"${BENCH_AUTHD_ARGS:-}"
service=registry.bench

say() { echo "token.sh: $*" >&2; }

scripts/install-deps.sh --bench-tools

say "building (-c opt)"
bazel "${bazel_startup[@]}" build --jobs=2 -c opt //server:registry-authd >/dev/null 2>&1 ||
  bazel "${bazel_startup[@]}" build --jobs=2 -c opt //server:registry-authd
authd_bin="$(bazel "${bazel_startup[@]}" info -c opt bazel-bin 2>/dev/null)/server/registry-authd"

work=$(mktemp -d "${TMPDIR:-/tmp}/regauth-token-bench.XXXXXX")
chmod 711 "$work"
authd_pid=""
cleanup() {
  if [ -n "$authd_pid" ]; then
    kill -TERM "$authd_pid" 2>/dev/null || true
    wait "$authd_pid" 2>/dev/null || true
  fi
  scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
scripts/pg-cluster.sh start "$work/pg" "$port" >/dev/null
admin_dsn=$(scripts/pg-cluster.sh dsn "$work/pg" "$port" postgres)
psql "$admin_dsn" -qc "CREATE DATABASE registry_auth"

mkdir -m 700 "$work/signing"
"$authd_bin" signing-keys generate --token_signing_keys="$work/signing/keys" >/dev/null
REGAUTH_KEYS=$(printf 'primary 1\nkey 1 %s\n' "$(openssl rand -base64 32)")
export REGAUTH_KEYS

: >"$work/authd.log"
LD_PRELOAD="${BENCH_PRELOAD:-}" REGAUTH_DATABASE_URL=$(scripts/pg-cluster.sh dsn "$work/pg" "$port" registry_auth) \
  "$authd_bin" --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --insecure_allow_unauthenticated=true \
  --token_service="$service" --token_signing_keys="$work/signing/keys" \
  --registry_host=127.0.0.1:5000 "${authd_args[@]}" 2>"$work/authd.log" &
authd_pid=$!
http_port=""
for _ in $(seq 1 300); do
  http_port=$(sed -n 's/.*HTTP listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/authd.log")
  [ -n "$http_port" ] && break
  kill -0 "$authd_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$http_port" ]; then
  say "registry-authd did not start:"
  cat "$work/authd.log" >&2
  exit 1
fi
base="http://127.0.0.1:$http_port"
api() { curl -sf -X "$1" "$base$2" -H 'Content-Type: application/json' -d "${3:-{\}}"; }
api POST "/v1/workspaces?workspace_id=bench" >/dev/null
api POST "/v1/workspaces/bench/apps?app_id=web" >/dev/null
sa_secret=$(api POST "/v1/workspaces/bench/serviceAccounts?service_account_id=builder" \
  '{"grants":[{"repository":"bench/*","actions":["pull","push"]}]}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')
pull=$(api POST "/v1/workspaces/bench/apps/web:mintPullToken" '{"ttl":"3600s"}' |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["username"]+":"+d["password"])')
sa_basic=$(printf 'bench+builder:%s' "$sa_secret" | base64 -w0)
pull_basic=$(printf '%s' "$pull" | base64 -w0)

# Sanity: both credentials get a token that grants what they asked for.
for basic in "$sa_basic" "$pull_basic"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $basic" \
    "$base/token?service=$service&scope=repository:bench/web:pull")
  [ "$code" = 200 ] || { say "token request failed with HTTP $code"; exit 1; }
done

say "openssl speed ecdsap256 (10 s)"
openssl_sign=$(openssl speed -seconds 10 ecdsap256 2>/dev/null |
  awk '/256 bits ecdsa \(nistp256\)/ { print $(NF-1) }')

# CPU seconds registry-authd has used so far (user + system, all threads).
server_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' \
    "/proc/$authd_pid/stat"
}

run_wrk() {  # run_wrk LABEL BASIC SCOPE -> one table row
  local out rps p50 p99 errors requests cpu_before cpu_after cpu_per_request
  cpu_before=$(server_cpu)
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
    -H "Authorization: Basic $2" "$base/token?service=$service&scope=$3" 2>&1)
  echo "$out" | sed 's/^/    /' >&2
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  cpu_after=$(server_cpu)
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  # Server CPU per request: steadier than requests/s on a shared 2-core machine, where wrk,
  # the kernel and the server compete for the same cores.
  cpu_per_request=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" \
    'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / n; else print "-" }')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "$cpu_per_request" \
    "${errors:-0}"
}

say "wrk: $connections connections, $threads threads, ${duration}s each"
rows=$(
  run_wrk "service account, pull+push" "$sa_basic" "repository:bench/web:pull,push"
  run_wrk "pull token, pull" "$pull_basic" "repository:bench/web:pull"
)
rss_peak=$(awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/$authd_pid/status")
rss_now=$(awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$authd_pid/status")

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "openssl speed ecdsap256: $openssl_sign ES256 signatures/s (one core)"
echo
echo "| /token credential | requests/s | p50 | p99 | server CPU µs/request | non-2xx |"
echo "|---|---|---|---|---|---|"
echo "$rows"
echo
echo "registry-authd resident memory: peak $rss_peak, now $rss_now"
