#!/usr/bin/env bash
# End-to-end test of the regauthctl binary against the real API over in-memory stores
# (cli/fake_server_main.cc).
set -u

fail() { echo "FAIL: $*" >&2; exit 1; }

find_bin() {
  local name="$1"
  for candidate in "${TEST_SRCDIR:-}/${TEST_WORKSPACE:-registry_auth}/cli/${name}" \
                   "$(dirname "$0")/${name}"; do
    [[ -x "${candidate}" ]] && { echo "${candidate}"; return; }
  done
  fail "cannot find ${name}"
}
CTL="$(find_bin regauthctl)"
SERVER="$(find_bin fake_server)"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"

# The server runs until its stdin (a FIFO we hold open) closes.
mkfifo "${TMP}/server_in"
"${SERVER}" < "${TMP}/server_in" > "${TMP}/port" 2> "${TMP}/server.log" &
SERVER_PID=$!
exec 3> "${TMP}/server_in"
trap 'exec 3>&-; wait "${SERVER_PID}" 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  [[ -s "${TMP}/port" ]] && break
  sleep 0.05
done
PORT="$(head -n1 "${TMP}/port")"
[[ -n "${PORT}" ]] || fail "server did not start: $(cat "${TMP}/server.log")"
export REGAUTH_ADDR="127.0.0.1:${PORT}"
SECRET="ghp_0123456789abcdefghijklmnopqrstuvwxyz"
PASSED=0
check() { PASSED=$((PASSED + 1)); }

# --- create workspace, then a registry config with the secret on stdin ---
"${CTL}" workspaces create acme --display-name="Acme Inc" > "${TMP}/out" || fail "create ws"
grep -q '^name: *workspaces/acme$' "${TMP}/out" || fail "create ws output: $(cat "${TMP}/out")"
check

printf '%s\n' "${SECRET}" | "${CTL}" registries create acme gh --type=ghcr --owner=acme \
    --default --secret-stdin > "${TMP}/out" 2> "${TMP}/err" \
    || fail "create reg: $(cat "${TMP}/err")"
grep -q "${SECRET}" "${TMP}/out" "${TMP}/err" && fail "secret printed on create"
grep -q '^has_secret: *true$' "${TMP}/out" || fail "has_secret: $(cat "${TMP}/out")"
check

# --- get shows the hint (prefix + last four, the trailing newline trimmed), never the secret ---
"${CTL}" registries get acme gh > "${TMP}/out" || fail "get reg"
grep -q "${SECRET}" "${TMP}/out" && fail "secret printed on get"
grep -q '^secret_hint: *ghp_…wxyz$' "${TMP}/out" || fail "hint: $(cat "${TMP}/out")"
grep -q '^owner: *acme$' "${TMP}/out" || fail "owner: $(cat "${TMP}/out")"
check

# --- secret from an env var and a file ---
SECRET_ENV_VAR="acr-password-value-1234" "${CTL}" registries create acme az --type=acr \
    --login-server=x.azurecr.io --username=bot --secret-env=SECRET_ENV_VAR > /dev/null \
    || fail "create with --secret-env"
printf 'short\n' > "${TMP}/secret.txt"
"${CTL}" registries update acme az --secret-file="${TMP}/secret.txt" > "${TMP}/out" \
    || fail "update with --secret-file"
grep -q '^secret_hint: *…$' "${TMP}/out" || fail "short secret hint: $(cat "${TMP}/out")"
check

# --- list: table and --json that parses ---
"${CTL}" registries list acme > "${TMP}/out" || fail "list"
head -n1 "${TMP}/out" | grep -Eq '^NAME +TYPE +DEFAULT +VALIDATION +HINT$' || fail "table header"
grep -Eq '^gh +GHCR +yes +PENDING +ghp_…wxyz$' "${TMP}/out" \
    || fail "table row: $(cat "${TMP}/out")"
check
"${CTL}" --json registries list acme --all > "${TMP}/out" || fail "list --json"
python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["registryConfigs"]) == 2, d' \
    < "${TMP}/out" || fail "list --json did not parse: $(cat "${TMP}/out")"
grep -q "${SECRET}" "${TMP}/out" && fail "secret in json"
check

# --- update only the flags given ---
# The owner is where the secret goes: changing it alone is refused (issue 17), with the secret
# re-entered it goes through.
"${CTL}" registries update acme gh --owner=acme-2 > "${TMP}/out" 2> "${TMP}/err" \
    && fail "owner changed without a new secret"
grep -q 'requires a new secret' "${TMP}/err" || fail "binding error: $(cat "${TMP}/err")"
printf '%s\n' "${SECRET}" | "${CTL}" registries update acme gh --owner=acme-2 --secret-stdin \
    > "${TMP}/out" || fail "update owner"
grep -q '^owner: *acme-2$' "${TMP}/out" || fail "owner not updated"
grep -q '^secret_hint: *ghp_…wxyz$' "${TMP}/out" || fail "secret changed by owner update"
check

# --- usage errors exit 2 ---
"${CTL}" registries create acme r2 --type=ghcr --secret="${SECRET}" > /dev/null 2> "${TMP}/err"
[[ $? -eq 2 ]] || fail "--secret=VALUE must be a usage error"
grep -q "${SECRET}" "${TMP}/err" && fail "secret echoed in usage error"
"${CTL}" workspaces frobnicate x > /dev/null 2> "${TMP}/err"
[[ $? -eq 2 ]] || fail "unknown verb exit code"
grep -q '^usage: regauthctl' "${TMP}/err" || fail "usage text missing"
"${CTL}" > /dev/null 2>&1
[[ $? -eq 2 ]] || fail "no command exit code"
"${CTL}" registries create acme r3 --type=ghcr --url=https://x > /dev/null 2>&1
[[ $? -eq 2 ]] || fail "flag for another type exit code"
"${CTL}" help | grep -q '^usage: regauthctl' || fail "help"
check

# --- RPC errors exit 1 with error: CODE: message ---
"${CTL}" workspaces get nope > /dev/null 2> "${TMP}/err"
[[ $? -eq 1 ]] || fail "NOT_FOUND exit code"
grep -q '^error: NOT_FOUND: ' "${TMP}/err" || fail "error line: $(cat "${TMP}/err")"
"${CTL}" workspaces create acme > /dev/null 2> "${TMP}/err"
[[ $? -eq 1 ]] || fail "ALREADY_EXISTS exit code"
grep -q '^error: ALREADY_EXISTS: ' "${TMP}/err" || fail "already exists line"
"${CTL}" workspaces delete acme > /dev/null 2> "${TMP}/err"
[[ $? -eq 1 ]] || fail "FAILED_PRECONDITION exit code"
grep -q '^error: FAILED_PRECONDITION: ' "${TMP}/err" || fail "precondition line"
"${CTL}" --addr=127.0.0.1:1 --timeout=2s workspaces list > /dev/null 2> "${TMP}/err"
[[ $? -eq 1 ]] || fail "unreachable server exit code"
grep -Eq '^error: (UNAVAILABLE|DEADLINE_EXCEEDED): ' "${TMP}/err" || fail "unavailable line"
check

"${CTL}" workspaces delete acme --force > "${TMP}/out" || fail "force delete"
grep -q '^deleted workspaces/acme$' "${TMP}/out" || fail "delete output"
check

echo "regauthctl_test: ${PASSED} checks passed"
