#!/usr/bin/env bash
# Black-box test of the registry-authd binary: configuration errors are one clear line with a
# non-zero exit; it starts on a real PostgreSQL, serves /healthz and /readyz, rotates its key
# ring with `registry-authd keys ...` and SIGHUP while running, and stops cleanly on SIGTERM
# (exit 0). Needs REGAUTH_TEST_PG_DSN (an admin DSN; ./test.sh provides it).
set -uo pipefail

daemon="$1"
pass=0
fail=0
check() {  # check NAME CONDITION...
  local name="$1"
  shift
  if "$@"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name" >&2
  fi
}

if [ -z "${REGAUTH_TEST_PG_DSN:-}" ]; then
  if [ "${REGAUTH_REQUIRE_PG:-}" = 1 ]; then echo "REGAUTH_TEST_PG_DSN not set" >&2; exit 1; fi
  echo "skipped: REGAUTH_TEST_PG_DSN not set"
  exit 0
fi

work="${TEST_TMPDIR:-$(mktemp -d)}"
# Local-development mode unless a test says otherwise.
export REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED=true
(umask 077 && printf 'primary 1\nkey 1 %s\n' "$(openssl rand -base64 32)" > "$work/keys.txt")

# --- configuration errors
out=$(env -u REGAUTH_DATABASE_URL "$daemon" --key_file="$work/keys.txt" 2>&1)
rc=$?
check "missing database_url exits 2" [ "$rc" -eq 2 ]
check "missing database_url names the setting" grep -q "database_url" <<<"$out"
check "config error is one line" [ "$(wc -l <<<"$out")" -eq 1 ]

out=$(REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED=false "$daemon" --database_url="dbname=x" \
  --key_file="$work/keys.txt" --policy_file="$work/none" --grpc_listen=0.0.0.0:1 2>&1)
check "non-loopback plaintext refused" grep -q "grpc_listen" <<<"$out"
out=$("$daemon" --database_url="dbname=x" --key_file="$work/keys.txt" --grpc_listen=0.0.0.0:1 2>&1)
check "unauthenticated mode refused off loopback" grep -q "insecure_allow_unauthenticated" <<<"$out"
out=$(REGAUTH_INSECURE_ALLOW_UNAUTHENTICATED=false "$daemon" --database_url="dbname=x" \
  --key_file="$work/keys.txt" 2>&1)
check "no policy and no dev mode refused" grep -q "policy_file" <<<"$out"

cp "$work/keys.txt" "$work/open-keys.txt" && chmod 644 "$work/open-keys.txt"
out=$("$daemon" --database_url="$REGAUTH_TEST_PG_DSN" --key_file="$work/open-keys.txt" \
  --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 2>&1)
rc=$?
check "group-readable key file refused" [ "$rc" -ne 0 ]
check "key file error names chmod" grep -q "chmod 600" <<<"$out"
absent() { ! grep -qF -- "$1" <<<"$2"; }
check "key file error shows no key" absent "$(sed -n 's/^key 1 //p' "$work/keys.txt")" "$out"

# --- a real start on a fresh database
db="regauth_daemon_$$_$RANDOM"
psql "$REGAUTH_TEST_PG_DSN" -qc "CREATE DATABASE $db" || exit 1
trap 'psql "$REGAUTH_TEST_PG_DSN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
dsn="$REGAUTH_TEST_PG_DSN dbname=$db"

REGAUTH_DATABASE_URL="$dsn" "$daemon" --key_file="$work/keys.txt" \
  --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --shutdown_grace=2s 2>"$work/log" &
pid=$!
http_port=""
for _ in $(seq 1 100); do
  http_port=$(sed -n 's/.*HTTP listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
  [ -n "$http_port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
check "daemon started and logged its HTTP port" [ -n "$http_port" ]
if [ -n "$http_port" ]; then
  check "healthz 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/healthz")" = 200 ]
  check "readyz 200" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/readyz")" = 200 ]
  tables=$(psql "$dsn" -tAc "SELECT count(*) FROM schema_migrations")
  check "migrations applied at start-up" [ "${tables:-0}" -ge 1 ]
  metrics=$(curl -s "http://127.0.0.1:$http_port/metrics")
  check "metrics count the readyz health check" grep -q \
    '^grpc_server_handled_total{grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_type="unary",grpc_code="OK"} [1-9]' <<<"$metrics"
fi

# --- key rotation with the daemon running: `registry-authd keys ...` and SIGHUP
wait_log() {  # wait_log PATTERN: until the daemon's log has a line matching PATTERN (5 s)
  for _ in $(seq 1 50); do grep -q -- "$1" "$work/log" && return 0; sleep 0.1; done
  return 1
}
keys() { "$daemon" keys "$@" --key_file="$work/keys.txt" --database_url="$dsn"; }
key1=$(sed -n 's/^key 1 //p' "$work/keys.txt")
out=$(keys usage 2>&1)
check "keys usage exits 0" [ $? -eq 0 ]
check "keys usage marks the primary" grep -Eq '^1 +0 +0 +primary$' <<<"$out"
out=$(keys generate 2>&1)
check "keys generate exits 0" [ $? -eq 0 ]
check "keys generate names the new key" grep -q "added key 2 (primary)" <<<"$out"
check "rewritten key file is mode 600" [ "$(stat -c %a "$work/keys.txt")" = 600 ]
key2=$(sed -n 's/^key 2 //p' "$work/keys.txt")
check "new key is in the file" [ -n "$key2" ]
kill -HUP "$pid"
check "SIGHUP reloads the key ring" wait_log "key ring reloaded from .*: keys 1, 2 (primary 2)"
keys retire 2 >"$work/out" 2>&1
check "retiring the primary exits 1" [ $? -eq 1 ]
check "retiring the primary says why" grep -q "is the primary key" "$work/out"
keys promote >/dev/null 2>&1
check "promote without ID is a usage error (2)" [ $? -eq 2 ]
out=$(keys reencrypt --batch_size=10 2>&1)
check "keys reencrypt exits 0" [ $? -eq 0 ]
check "keys reencrypt reports done" grep -q "done: every stored secret is under key 2" <<<"$out"
out=$(keys retire 1 2>&1)
check "keys retire 1 exits 0" [ $? -eq 0 ]
check "key 1 is gone from the file" [ -z "$(sed -n 's/^key 1 //p' "$work/keys.txt")" ]
kill -HUP "$pid"
check "SIGHUP reloads the smaller ring" wait_log "key ring reloaded from .*: keys 2 (primary 2)"
audit=$(psql "$dsn" -tAc "SELECT action || ' ' || resource || ' ' || outcome FROM audit_events WHERE caller = 'registry-authd keys' ORDER BY id")
check "key operations are audited" [ "$audit" = "KeyGenerate keys/2 OK
KeyRetire keys/2 FAILED_PRECONDITION
KeyReencrypt keys/2 OK
KeyRetire keys/1 OK" ]
all_audit=$(psql "$dsn" -tAc "SELECT row_to_json(a)::text FROM audit_events a")
check "audit rows show no key" absent "$key1" "$all_audit"
check "audit rows show no new key" absent "$key2" "$all_audit"
check "daemon log shows no key" absent "$key1" "$(cat "$work/log")"
check "daemon log shows no new key" absent "$key2" "$(cat "$work/log")"
out=$("$daemon" apikey 2>/dev/null)
check "apikey exits 0" [ $? -eq 0 ]
check "apikey prints a key and its policy line" [ "$(wc -l <<<"$out")" -eq 2 ]
check "apikey key has the rak_ prefix" grep -q '^rak_' <<<"$out"
check "apikey policy line" grep -Eq '^api_key sha256:[0-9a-f]{64}$' <<<"$out"

kill -TERM "$pid"
wait "$pid"
rc=$?
check "SIGTERM exits 0" [ "$rc" -eq 0 ]
check "shutdown logged" grep -q "stopped" "$work/log"
check "log shows no DSN password" absent "password=" "$(cat "$work/log")"
check "every log line is one JSON object (default --log_format=json)" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines and all(isinstance(json.loads(l), dict) for l in lines)' "$work/log"
check "the access log has the readyz request" grep -q '"message":"http request".*"route":"/readyz","status":200' "$work/log"

# --- the token realm: signing keys from the CLI, /token served, SIGHUP reloads the keys, and
# adapter-only mode in front of it
mkdir -m 700 "$work/signing"
out=$("$daemon" signing-keys generate --token_signing_keys="$work/signing/keys" 2>&1)
check "signing-keys generate exits 0" [ $? -eq 0 ]
check "signing-keys generate made an active key" grep -q " active " "$work/signing/keys"
REGAUTH_DATABASE_URL="$dsn" "$daemon" --key_file="$work/keys.txt" \
  --grpc_listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --shutdown_grace=2s \
  --token_service=registry.test --token_signing_keys="$work/signing/keys" \
  --token_export_rootcertbundle="$work/bundle.pem" 2>"$work/realm.log" &
pid=$!
http_port=""
grpc_port=""
for _ in $(seq 1 100); do
  http_port=$(sed -n 's/.*HTTP listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/realm.log")
  grpc_port=$(sed -n 's/.*gRPC listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/realm.log")
  [ -n "$http_port" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
check "realm daemon started" [ -n "$http_port" ]
check "rootcertbundle exported" grep -q "BEGIN CERTIFICATE" "$work/bundle.pem"
token_status() {
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/token?service=$2&scope=repository:a/b:pull"
}
check "anonymous /token 200" [ "$(token_status "$http_port" registry.test)" = 200 ]
check "unknown service 400" [ "$(token_status "$http_port" other)" = 400 ]
"$daemon" signing-keys generate --token_signing_keys="$work/signing/keys" >/dev/null 2>&1
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q "signing keys reloaded" "$work/realm.log" && break; sleep 0.1; done
check "SIGHUP reloads the signing keys" grep -q "signing keys reloaded" "$work/realm.log"
check "the next key is exported after the reload" [ "$(grep -c "BEGIN CERTIFICATE" "$work/bundle.pem")" -eq 2 ]

"$daemon" --http_upstream="127.0.0.1:$grpc_port" --http_listen=127.0.0.1:0 \
  2>"$work/adapter.log" &
adapter=$!
adapter_port=""
for _ in $(seq 1 100); do
  adapter_port=$(sed -n 's/.*HTTP listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/adapter.log")
  [ -n "$adapter_port" ] && break
  kill -0 "$adapter" 2>/dev/null || break
  sleep 0.1
done
check "adapter-only mode started without a database" [ -n "$adapter_port" ]
check "adapter-only /token 200" [ "$(token_status "$adapter_port" registry.test)" = 200 ]
kill -TERM "$adapter"
wait "$adapter"
check "adapter-only SIGTERM exits 0" [ $? -eq 0 ]
kill -TERM "$pid"
wait "$pid"
check "realm daemon SIGTERM exits 0" [ $? -eq 0 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
