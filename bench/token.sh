#!/usr/bin/env bash
# The Docker token realm under load (issue 4): `GET /token` through the HTTP adapter with wrk
# (64 keep-alive connections), once with a service account and once with a MintPullToken
# credential, next to `openssl speed ecdsap256` (raw ES256 signing, one core) and a reference
# realm (bench/reference-realm: node:http + jose, two cluster workers, the same grant logic for
# the same service account; issue 20) measured in the same run on the same machine. The
# service-account run and the reference alternate A B A B, and the script prints the ratio of
# requests/s in each round. Results and their reading: docs/benchmarks.md.
#
#   bench/token.sh                               # about 2.5 minutes after the build
#   BENCH_DURATION=30 BENCH_CONNECTIONS=64 bench/token.sh
#   BENCH_REFERENCE=0 bench/token.sh             # without the reference realm
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
#   BENCH_REFERENCE     1 (default) to measure the reference realm too, 0 to skip it
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BENCH_PG_PORT:-55471}
duration=${BENCH_DURATION:-15}
connections=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
read -r -a bazel_startup <<<"${BAZEL_STARTUP_OPTS:-}"
read -r -a authd_args <<<"${BENCH_AUTHD_ARGS:-}"
reference=${BENCH_REFERENCE:-1}
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
ref_pid=""
cleanup() {
  for pid in $authd_pid $ref_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
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

# The reference realm, with the service account's user name, secret and grant.
ref_base=""
if [ "$reference" = 1 ]; then
  REF_PORT=0 REF_WORKERS=2 REF_SERVICE="$service" REF_ACCOUNT=bench+builder \
    REF_SECRET="$sa_secret" REF_GRANT='bench/*:pull,push' \
    node bench/reference-realm/realm.mjs >"$work/reference.log" 2>&1 &
  ref_pid=$!
  ref_port=""
  for _ in $(seq 1 100); do
    ref_port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/reference.log")
    [ -n "$ref_port" ] && break
    sleep 0.1
  done
  [ -n "$ref_port" ] || { say "reference realm did not start:"; cat "$work/reference.log" >&2; exit 1; }
  ref_base="http://127.0.0.1:$ref_port"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Basic $sa_basic" \
    "$ref_base/token?service=$service&scope=repository:bench/web:pull,push")
  [ "$code" = 200 ] || { say "reference token request failed with HTTP $code"; exit 1; }
fi

say "openssl speed ecdsap256 (10 s)"
openssl_sign=$(openssl speed -seconds 10 ecdsap256 2>/dev/null |
  awk '/256 bits ecdsa \(nistp256\)/ { print $(NF-1) }')

# CPU seconds the server under test has used so far (user + system, all threads; for the
# reference realm, its primary and its workers).
target_pids() { if [ "$1" = "$base" ]; then echo "$authd_pid"; else echo "$ref_pid" $(pgrep -P "$ref_pid"); fi; }
server_cpu() {  # server_cpu BASE
  local pid total=0
  for pid in $(target_pids "$1"); do
    total=$(awk -v hz="$(getconf CLK_TCK)" -v t="$total" \
      '{ sub(/^.*\) /, ""); printf "%.3f\n", t + ($12 + $13) / hz }' "/proc/$pid/stat")
  done
  echo "$total"
}
rss_kb() {  # rss_kb BASE FIELD: the sum of VmHWM or VmRSS over the server's processes, in kB
  local pid total=0
  for pid in $(target_pids "$1"); do
    total=$((total + $(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$pid/status")))
  done
  echo "$total"
}

rps_of_row() { awk -F'|' '{ gsub(/ /, "", $3); print $3 }' <<<"$1"; }

run_wrk() {  # run_wrk LABEL BASIC SCOPE [BASE [PATH]] -> one table row
  local out rps p50 p99 errors requests cpu_before cpu_after cpu_per_request
  local target=${4:-$base}
  local path=${5:-/token?service=$service&scope=$3}
  cpu_before=$(server_cpu "$target")
  out=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency \
    -H "Authorization: Basic $2" "$target$path" 2>&1)
  echo "$out" | sed 's/^/    /' >&2
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  cpu_after=$(server_cpu "$target")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  # Server CPU per request: steadier than requests/s on a shared 2-core machine, where wrk,
  # the kernel and the server compete for the same cores.
  cpu_per_request=$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" \
    'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / n; else print "-" }')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p99" "$cpu_per_request" \
    "${errors:-0}" "$(($(rss_kb "$target" VmHWM) / 1024)) MB"
}

say "wrk: $connections connections, $threads threads, ${duration}s each"
sa_scope="repository:bench/web:pull,push"
rows=""
ratios=""
rounds=1
[ "$reference" = 1 ] && rounds=2
for round in $(seq 1 "$rounds"); do
  ours=$(run_wrk "registry-authd, service account, pull+push (round $round)" "$sa_basic" "$sa_scope")
  rows+="$ours"$'\n'
  if [ "$reference" = 1 ]; then
    theirs=$(run_wrk "reference realm, pull+push (round $round)" "$sa_basic" "$sa_scope" "$ref_base")
    rows+="$theirs"$'\n'
    ratios+=$(awk -v a="$(rps_of_row "$ours")" -v b="$(rps_of_row "$theirs")" -v r="$round" \
      'BEGIN { if (b > 0) printf "round %d: registry-authd / reference requests/s = %.2f\n", r, a / b }')$'\n'
  fi
done
rows+=$(run_wrk "registry-authd, pull token, pull" "$pull_basic" "repository:bench/web:pull")$'\n'
# The floor of the same HTTP adapter on this machine: no credential check, no signature, the
# same access-log line and metrics. No /token server can go faster than this with wrk beside it.
rows+=$(run_wrk "registry-authd, GET /healthz (the HTTP floor)" "" "" "$base" /healthz)

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "openssl speed ecdsap256: $openssl_sign ES256 signatures/s (one core)"
echo
echo "| server, /token credential | requests/s | p50 | p99 | server CPU µs/request | non-2xx | RSS peak (all processes) |"
echo "|---|---|---|---|---|---|---|"
echo "$rows"
echo
[ -n "$ratios" ] && printf '%s' "$ratios"
echo "registry-authd resident memory: peak $(rss_kb "$base" VmHWM) kB, now $(rss_kb "$base" VmRSS) kB"
