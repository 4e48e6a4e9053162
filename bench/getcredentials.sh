#!/usr/bin/env bash
# GetCredentials over real gRPC vs `pgbench -S`, in one run on one private PostgreSQL cluster
# (issue 3). Results and their reading: docs/benchmarks.md.
#
#   bench/getcredentials.sh                      # about 4 minutes
#   BENCH_CONCURRENCY="1 8" BENCH_DURATION=10 bench/getcredentials.sh
#
# What it does: starts a private PostgreSQL 15 cluster (scripts/pg-cluster.sh), builds
# registry-authd and bench/grpc_load with -c opt, starts registry-authd with a generated key
# ring and a caller policy with two API-key callers (so every measured call is authenticated
# and authorised for real), seeds a workspace with GHCR configurations through the API, then
# for each concurrency runs, back to back: grpc_load GetCredentials; `pgbench -S` with as many
# clients; pgbench running the SQL of one GetCredentials (bench/getcredentials.pgbench: the
# config read and the audit INSERT, prepared, on the service's own tables; the service shares
# one multi-row INSERT and commit among concurrent calls (group commit, issue 20), which
# pgbench cannot: its file is what a call alone runs); and grpc_load
# GetRegistryConfig (the same configuration read through the service, without decryption and
# without the audit INSERT + commit). It prints one table, the CPU time each process group
# used per call, the machine-wide context switches per call, and issue 20's three measures per
# concurrency (calls/s, registry-authd µs per call, the ratio to its SQL in pgbench). Everything it creates lives in one temporary folder and is removed at
# the end, the cluster is stopped; nothing else on the machine is touched.
#
# Settings (environment):
#   BENCH_PG_PORT       port of the private cluster (default 55470)
#   BENCH_CONCURRENCY   callers / pgbench clients (default "1 8 32")
#   BENCH_DURATION      seconds measured per run (default 15); BENCH_WARMUP (default 3)
#   BENCH_REGISTRIES    GHCR configurations the callers cycle through (default 4)
#   BENCH_TLS=1         serve gRPC with TLS (a throw-away self-signed certificate)
#   BENCH_AUTHD_ARGS    extra registry-authd flags, e.g. "--db_pool_size=32"
#   BENCH_VARIANT=0     skip the GetRegistryConfig and GetCredentials-SQL comparison runs
#   BAZEL_STARTUP_OPTS  e.g. "--output_base=/tmp/bazel-bench"
#   BENCH_KEEP=1        keep the temporary folder (logs, policy) for inspection
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BENCH_PG_PORT:-55470}
concurrencies=${BENCH_CONCURRENCY:-1 8 32}
duration=${BENCH_DURATION:-15}
warmup=${BENCH_WARMUP:-3}
registries=${BENCH_REGISTRIES:-4}
pg_bin=/usr/lib/postgresql/15/bin
read -r -a bazel_startup <<<"${BAZEL_STARTUP_OPTS:-}"
read -r -a authd_args <<<"${BENCH_AUTHD_ARGS:-}"

say() { echo "getcredentials.sh: $*" >&2; }

scripts/install-deps.sh

# --- build
say "building (-c opt)"
bazel "${bazel_startup[@]}" build --jobs=2 -c opt //server:registry-authd //bench:grpc_load \
  >/dev/null 2>&1 ||
  bazel "${bazel_startup[@]}" build --jobs=2 -c opt //server:registry-authd //bench:grpc_load
bin=$(bazel "${bazel_startup[@]}" info -c opt bazel-bin 2>/dev/null)
authd_bin="$bin/server/registry-authd"
load_bin="$bin/bench/grpc_load"

# --- private cluster and scratch folder
work=$(mktemp -d "${TMPDIR:-/tmp}/regauth-bench.XXXXXX")
chmod 711 "$work"  # the unprivileged postgres user must reach its data folder
authd_pid=""
cleanup() {
  if [ -n "$authd_pid" ]; then
    kill -TERM "$authd_pid" 2>/dev/null || true
    wait "$authd_pid" 2>/dev/null || true
  fi
  scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
scripts/pg-cluster.sh start "$work/pg" "$port" >/dev/null
admin_dsn=$(scripts/pg-cluster.sh dsn "$work/pg" "$port" postgres)
psql "$admin_dsn" -qc "CREATE DATABASE registry_auth" -c "CREATE DATABASE pgbench"
say "initialising pgbench (scale 10)"
"$pg_bin/pgbench" -q -i -s 10 "$(scripts/pg-cluster.sh dsn "$work/pg" "$port" pgbench)" \
  >"$work/pgbench-init.log" 2>&1
pgbench_dsn=$(scripts/pg-cluster.sh dsn "$work/pg" "$port" pgbench)

# --- keys, callers, TLS
# API key: "rak_" + base64url of 32 random bytes (auth::GenerateApiKey's shape); the policy
# holds only "sha256:" + hex SHA-256 of the key (auth::HashApiKey).
new_api_key() { printf 'rak_%s' "$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')"; }
key_hash() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }
admin_key=$(new_api_key)
worker_key=$(new_api_key)
(umask 077 && cat >"$work/policy.txt" <<POLICY
caller bench-admin
  api_key $(key_hash "$admin_key")
  permissions registries.manage
caller bench-worker
  api_key $(key_hash "$worker_key")
  permissions credentials.read registries.read
POLICY
)
REGAUTH_KEYS=$(printf 'primary 1\nkey 1 %s\n' "$(openssl rand -base64 32)")
export REGAUTH_KEYS

tls_server=()
tls_client=()
if [ "${BENCH_TLS:-0}" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/tls.key" -out "$work/tls.crt" >/dev/null 2>&1
  chmod 600 "$work/tls.key"
  tls_server=(--tls_cert_file="$work/tls.crt" --tls_key_file="$work/tls.key")
  tls_client=(--tls_ca_file="$work/tls.crt" --tls_server_name=localhost)
fi

# --- registry-authd; its per-call access log goes to a file, not the terminal
authd_dsn=$(scripts/pg-cluster.sh dsn "$work/pg" "$port" registry_auth)
: >"$work/authd.log"
REGAUTH_DATABASE_URL="$authd_dsn" "$authd_bin" --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 \
  --policy_file="$work/policy.txt" "${tls_server[@]}" "${authd_args[@]}" \
  2>"$work/authd.log" &
authd_pid=$!
grpc_port=""
for _ in $(seq 1 300); do
  grpc_port=$(sed -n 's/.*gRPC listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/authd.log")
  [ -n "$grpc_port" ] && break
  kill -0 "$authd_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$grpc_port" ]; then
  say "registry-authd did not start:"
  cat "$work/authd.log" >&2
  exit 1
fi
target="127.0.0.1:$grpc_port"

names=()
for i in $(seq 1 "$registries"); do names+=("workspaces/bench/registries/gh$i"); done
name_list=$(IFS=,; echo "${names[*]}")
REGAUTH_API_KEY="$admin_key" "$load_bin" --target="$target" "${tls_client[@]}" --seed \
  --name="$name_list" >/dev/null
# Start from a clean slate: no checkpoint of the set-up writes during the first run.
psql "$admin_dsn" -qc "CHECKPOINT"

# --- CPU accounting from /proc (clock ticks): registry-authd, and the whole PostgreSQL
# cluster (postmaster + live backends + the backends that already exited, which the
# postmaster has reaped into its cutime/cstime).
ticks_of() {  # utime+stime+cutime+cstime of one pid; 0 if gone
  awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
pg_ticks() {
  local postmaster total=0 child
  postmaster=$(head -n1 "$work/pg/postmaster.pid")
  total=$(ticks_of "$postmaster")
  for child in $(ps -o pid= --ppid "$postmaster"); do
    total=$((total + $(ticks_of "$child")))
  done
  echo "$total"
}
# CPU of the waited-for children of shell PID: the load tool or pgbench just run by that
# (sub)shell. Take the PID from $BASHPID outside any $(...), which would be a subshell of its own.
children_ticks() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$1/stat"; }
clk_tck=$(getconf CLK_TCK)
context_switches() { awk '/^ctxt/ { print $2 }' /proc/stat; }  # machine-wide
cpu_line() {  # cpu_line CALLS AUTHD_TICKS PG_TICKS LOAD_SECONDS -> "authd_us pg_us load_us" per call
  awk -v calls="$1" -v a="$2" -v p="$3" -v l="$4" -v hz="$clk_tck" 'BEGIN {
    if (calls == 0) { print "- - -"; exit }
    printf "%.0f %.0f %.0f\n", a / hz / calls * 1e6, p / hz / calls * 1e6, l / calls * 1e6 }'
}

result_field() {  # result_field KEY < RESULT line
  sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p"
}

# Runs grpc_load for one RPC and concurrency; prints "calls_per_s p50 p99 errors cpu..."
run_load() {
  local rpc="$1" c="$2" out a0 p0 a1 p1 x0 x1 l0 l1 load_cpu calls
  local me=$BASHPID
  a0=$(ticks_of "$authd_pid")
  p0=$(pg_ticks)
  x0=$(context_switches)
  l0=$(children_ticks "$me")
  out=$(REGAUTH_API_KEY="$worker_key" "$load_bin" \
    --target="$target" "${tls_client[@]}" --rpc="$rpc" --name="$name_list" \
    --concurrency="$c" --warmup="${warmup}s" --duration="${duration}s" 2>&1) || true
  l1=$(children_ticks "$me")
  a1=$(ticks_of "$authd_pid")
  p1=$(pg_ticks)
  x1=$(context_switches)
  echo "$out" | sed 's/^/    /' >&2
  local result
  result=$(grep '^RESULT ' <<<"$out" || true)
  if [ -z "$result" ]; then
    say "grpc_load failed"
    exit 1
  fi
  # CPU of the whole load-tool process, warm-up included: scaled to the measured window.
  load_cpu=$(awk -v t=$((l1 - l0)) -v hz="$clk_tck" -v d="$duration" -v w="$warmup" \
    'BEGIN { print t / hz * d / (d + w) }')
  calls=$(result_field ok <<<"$result")
  # authd and postgres CPU are counted over warm-up + window too; scale the same way.
  local da dp
  da=$(awk -v x=$((a1 - a0)) -v d="$duration" -v w="$warmup" 'BEGIN { print x * d / (d + w) }')
  dp=$(awk -v x=$((p1 - p0)) -v d="$duration" -v w="$warmup" 'BEGIN { print x * d / (d + w) }')
  echo "$(result_field calls_per_s <<<"$result") $(result_field p50_ms <<<"$result")" \
    "$(result_field p99_ms <<<"$result") $(result_field errors <<<"$result")" \
    "$(cpu_line "$calls" "$da" "$dp" "$load_cpu")" \
    "$(awk -v x=$((x1 - x0)) -v n="$calls" -v d="$duration" -v w="$warmup" \
      'BEGIN { printf "%.1f", x * d / (d + w) / n }')"
}

# Runs pgbench with C clients, then the given arguments; prints
# "tps latency_avg_ms pg_cpu_us_per_tx client_cpu_us_per_tx context_switches_per_tx".
run_pgbench() {
  local c="$1" j out p0 p1 x0 x1 l0 l1 tps lat bench_cpu
  local me=$BASHPID
  shift
  j=$((c < 2 ? c : 2))
  p0=$(pg_ticks)
  x0=$(context_switches)
  l0=$(children_ticks "$me")
  out=$("$pg_bin/pgbench" -n -c "$c" -j "$j" -T "$duration" "$@" 2>&1)
  l1=$(children_ticks "$me")
  sleep 1  # let the postmaster reap pgbench's backends, so their CPU time is in its cutime
  p1=$(pg_ticks)
  x1=$(context_switches)
  echo "$out" | grep -E '^(tps|latency|number of (transactions|failed))' | sed 's/^/    /' >&2 || true
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
  bench_cpu=$(awk -v t=$((l1 - l0)) -v hz="$clk_tck" 'BEGIN { print t / hz }')
  if [ -z "$tps" ]; then
    say "pgbench failed:"
    echo "$out" >&2
    exit 1
  fi
  awk -v tps="$tps" -v lat="$lat" -v p=$((p1 - p0)) -v l="$bench_cpu" -v d="$duration" \
    -v x=$((x1 - x0)) -v hz="$clk_tck" 'BEGIN { n = tps * d;
      printf "%.1f %s %.0f %.0f %.1f\n", tps, lat, p / hz / n * 1e6, l / n * 1e6, x / n }'
}

say "registry-authd on $target (TLS ${BENCH_TLS:-0}), $registries GHCR configurations," \
  "${warmup}s warm-up + ${duration}s per run"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{ exit !($1 > 1.0) }' /proc/loadavg; then
  say "warning: load average $load_before before the first run; other work will skew the numbers"
fi
declare -A gc pg gs gr
for c in $concurrencies; do
  say "concurrency $c: GetCredentials"
  gc[$c]=$(run_load GetCredentials "$c")
  say "concurrency $c: pgbench -S"
  pg[$c]=$(run_pgbench "$c" -S "$pgbench_dsn")
  if [ "${BENCH_VARIANT:-1}" = 1 ]; then
    say "concurrency $c: pgbench, the SQL of GetCredentials"
    gs[$c]=$(run_pgbench "$c" -M prepared -f bench/getcredentials.pgbench \
      -D registries="$registries" "$authd_dsn")
    say "concurrency $c: GetRegistryConfig"
    gr[$c]=$(run_load GetRegistryConfig "$c")
  fi
done
audit_rows=$(psql "$authd_dsn" -tAc "SELECT count(*) FROM audit_events
  WHERE action = 'GetCredentials' AND caller = 'apikey:bench-worker'")

echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1);" \
  "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'); gRPC TLS: ${BENCH_TLS:-0};" \
  "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| clients | GetCredentials calls/s | p50 ms | p99 ms | pgbench -S tps | latency avg ms | GetCredentials / pgbench -S | its SQL in pgbench, tps | latency avg ms | GetRegistryConfig calls/s | p50 ms | p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for c in $concurrencies; do
  read -r g_rate g_p50 g_p99 g_err _ <<<"${gc[$c]}"
  read -r p_tps p_lat _ <<<"${pg[$c]}"
  s_tps="-" s_lat="-" r_rate="-" r_p50="-" r_p99="-"
  [ -n "${gs[$c]:-}" ] && read -r s_tps s_lat _ <<<"${gs[$c]}"
  [ -n "${gr[$c]:-}" ] && read -r r_rate r_p50 r_p99 _ <<<"${gr[$c]}"
  ratio=$(awk -v a="$g_rate" -v b="$p_tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
  err_note=""
  [ "$g_err" != 0 ] && err_note=" ($g_err errors)"
  echo "| $c | $g_rate$err_note | $g_p50 | $g_p99 | $p_tps | $p_lat | $ratio | $s_tps | $s_lat | $r_rate | $r_p50 | $r_p99 |"
done
echo
echo "CPU time per call in µs (user+system; warm-up share removed), and machine-wide context switches per call:"
echo "| clients | GetCredentials: authd | postgres | grpc_load | ctx sw | GetRegistryConfig: authd | postgres | grpc_load | ctx sw | pgbench -S: postgres | pgbench | ctx sw | GetCredentials SQL: postgres | pgbench | ctx sw |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for c in $concurrencies; do
  read -r _ _ _ _ ga gp gl gx <<<"${gc[$c]}"
  ra="-" rp="-" rl="-" rx="-" sp="-" sl="-" sx="-"
  [ -n "${gr[$c]:-}" ] && read -r _ _ _ _ ra rp rl rx <<<"${gr[$c]}"
  [ -n "${gs[$c]:-}" ] && read -r _ _ sp sl sx <<<"${gs[$c]}"
  read -r _ _ pp pl px <<<"${pg[$c]}"
  echo "| $c | $ga | $gp | $gl | $gx | $ra | $rp | $rl | $rx | $pp | $pl | $px | $sp | $sl | $sx |"
done
echo
echo "Issue 20's measures per concurrency: GetCredentials calls/s, registry-authd CPU µs per call,"
echo "and calls/s over the tps of pgbench running the service's own SQL (bench/getcredentials.pgbench):"
echo "| clients | GetCredentials calls/s | authd µs/call | its SQL in pgbench, tps | GetCredentials / its SQL |"
echo "| --- | --- | --- | --- | --- |"
for c in $concurrencies; do
  read -r g_rate _ _ _ ga _ <<<"${gc[$c]}"
  s_tps="-"
  [ -n "${gs[$c]:-}" ] && read -r s_tps _ <<<"${gs[$c]}"
  own=$(awk -v a="$g_rate" -v b="$s_tps" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }')
  echo "| $c | $g_rate | $ga | $s_tps | $own |"
done
echo
echo "audit rows written by GetCredentials (warm-up and preflight included): $audit_rows"
