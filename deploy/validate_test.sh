#!/usr/bin/env bash
# Offline validation of deploy/ (//deploy:manifests_test):
#   - the systemd unit passes `systemd-analyze verify` without a single warning (and a typo'd
#     directive is caught), carries the hardening directives, and its sysusers.d / tmpfiles.d
#     snippets apply to a scratch root (when run as root);
#   - every Kubernetes manifest, the compose file and the Distribution configs parse and pass
#     the structural checks of validate_manifests.py (probes, security contexts, Secret mounts
#     behind every file path, selectors, REGAUTH_* names against server/config.cc and
#     `registry-authd --helpfull`; the kubelet CredentialProviderConfig of
#     regauth-credential-helper), and a broken manifest makes those checks fail;
#   - the Dockerfile's runtime stage installs the package of every shared library the binary
#     links against.
# Tools: Debian's /usr/bin/python3 with python3-yaml, systemd-analyze (systemd), readelf
# (binutils), dpkg-query. Missing tools skip the test, unless REGAUTH_REQUIRE_PG=1 (CI), which
# makes them a failure.
#
# Usage (Bazel passes it): validate_test.sh REGISTRY_AUTHD_BINARY
set -uo pipefail

binary=$(realpath "$1")
deploy=$(realpath deploy)
config_cc=$(realpath server/config.cc)
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

python=/usr/bin/python3
missing=()
"$python" -c 'import yaml' 2>/dev/null || missing+=("python3-yaml (for $python)")
command -v systemd-analyze >/dev/null || missing+=(systemd-analyze)
command -v readelf >/dev/null || missing+=("readelf (binutils)")
command -v dpkg-query >/dev/null || missing+=(dpkg-query)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${REGAUTH_REQUIRE_PG:-}" = 1 ]; then
    echo "FAIL missing tools: ${missing[*]} (scripts/install-deps.sh --test-tools installs them)"
    exit 1
  fi
  echo "SKIP missing tools: ${missing[*]} (scripts/install-deps.sh --test-tools installs them)"
  exit 0
fi

# ---- systemd ------------------------------------------------------------------------------
unit="$deploy/systemd/registry-authd.service"
verify_unit() {  # verify_unit FILE: the output of systemd-analyze verify on a copy of FILE
  local dir="$tmp/unit.$RANDOM"
  mkdir -p "$dir"
  sed "s|^ExecStart=.*|ExecStart=$binary|" "$1" > "$dir/registry-authd.service"
  systemd-analyze verify "$dir/registry-authd.service" 2>&1
  echo "exit=$?"
}
out=$(verify_unit "$unit")
if [ "$out" != "exit=0" ]; then
  fail "systemd-analyze verify registry-authd.service: $out"
fi
# The check must see a misspelt directive (systemd only warns and exits 0 on those).
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$unit" > "$tmp/typo.service"
out=$(verify_unit "$tmp/typo.service")
if [[ "$out" != *"Unknown key"*"NoNewPrivilege"* ]]; then
  fail "systemd-analyze verify did not report a misspelt directive: $out"
fi
for directive in 'User=registry-auth' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' 'CapabilityBoundingSet=$' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$' 'SystemCallFilter=@system-service$' \
    'MemoryDenyWriteExecute=yes' 'LockPersonality=yes' \
    'EnvironmentFile=/etc/registry-auth/registry-authd.env$' \
    'ExecReload=/bin/kill -HUP \$MAINPID$' 'KillSignal=SIGTERM' 'Restart=on-failure' \
    'ReadWritePaths=' 'ReadOnlyPaths='; do
  grep -q "^$directive" "$unit" || fail "registry-authd.service lacks ^$directive"
done
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
grace=$(sed -n 's/^REGAUTH_SHUTDOWN_GRACE=\([0-9]*\)s$/\1/p' "$deploy/registry-authd.env.example")
if [ -z "$stop" ] || [ -z "$grace" ] || [ "$stop" -le "$grace" ]; then
  fail "TimeoutStopSec (${stop:-?}s) must exceed REGAUTH_SHUTDOWN_GRACE (${grace:-?}s)"
fi
if [ "$(id -u)" = 0 ]; then
  root="$tmp/sysroot"
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$deploy/systemd/registry-auth.sysusers.conf" >/dev/null 2>&1 \
    || fail "systemd-sysusers rejects registry-auth.sysusers.conf"
  grep -q '^registry-auth:' "$root/etc/passwd" 2>/dev/null || fail "sysusers made no registry-auth user"
  # Owners as root: a sandbox's user namespace may not map the new user's uid.
  awk '!/^#/ && NF { if ($4 == "registry-auth") $4 = "root"; if ($5 == "registry-auth") $5 = "root" } 1' \
    "$deploy/systemd/registry-auth.tmpfiles.conf" > "$tmp/tmpfiles.conf"
  out=$(systemd-tmpfiles --root="$root" --create "$tmp/tmpfiles.conf" 2>&1) \
    || fail "systemd-tmpfiles rejects registry-auth.tmpfiles.conf: $out"
  [ -d "$root/etc/registry-auth/signing" ] || fail "tmpfiles made no /etc/registry-auth/signing"
else
  echo "note: not root, sysusers.d/tmpfiles.d snippets not applied"
fi

# ---- Manifests, compose, Distribution configs -------------------------------------------------
"$binary" --helpfull > "$tmp/helpfull.txt" 2>&1
"$python" "$deploy/validate_manifests.py" "$deploy" "$config_cc" "$tmp/helpfull.txt" \
  || fail "validate_manifests.py (lines above)"
# The checks must notice a broken manifest.
cp -r "$deploy" "$tmp/broken"
sed -i 's|path: /readyz|path: /ready|' "$tmp/broken/kubernetes/deployment.yaml"
if "$python" "$deploy/validate_manifests.py" "$tmp/broken" "$config_cc" "$tmp/helpfull.txt" \
    > "$tmp/broken.out"; then
  fail "validate_manifests.py accepted a Deployment whose readiness probe is not /readyz"
fi
# ...and a CredentialProviderConfig that would run the helper in the wrong mode.
cp -r "$deploy" "$tmp/broken-kubelet"
sed -i 's|^      - kubelet$|      - docker|' "$tmp/broken-kubelet/kubernetes/kubelet/credential-provider-config.yaml"
if "$python" "$deploy/validate_manifests.py" "$tmp/broken-kubelet" "$config_cc" \
    "$tmp/helpfull.txt" > "$tmp/broken-kubelet.out"; then
  fail "validate_manifests.py accepted a CredentialProviderConfig whose args do not start with kubelet"
fi

# ---- Dockerfile ------------------------------------------------------------------------------
dockerfile="$deploy/Dockerfile"
grep -q '^FROM debian:12 AS build' "$dockerfile" || fail "Dockerfile: no debian:12 build stage"
grep -q '^FROM debian:12-slim' "$dockerfile" || fail "Dockerfile: no debian:12-slim runtime stage"
grep -q 'scripts/install-deps.sh' "$dockerfile" || fail "Dockerfile: does not use install-deps.sh"
grep -q '//server:registry-authd //cli:regauthctl' "$dockerfile" || fail "Dockerfile: build targets"
grep -q '^USER 10001' "$dockerfile" || fail "Dockerfile: runtime user must be uid 10001"
grep -q '^ENTRYPOINT \["/usr/local/bin/registry-authd"\]' "$dockerfile" || fail "Dockerfile: ENTRYPOINT"
for soname in $(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  pkg=$(dpkg-query -S "*/$soname" 2>/dev/null | grep -v i386 | head -1 | cut -d: -f1)
  case "$pkg" in
    "") fail "no Debian package holds $soname" ;;
    libc6 | libgcc-s1 | libstdc++6) ;;  # in debian:12-slim
    *) tr -s ' \\' '\n\n' < "$dockerfile" | grep -qxF "$pkg" \
         || fail "Dockerfile runtime stage lacks $pkg ($soname)" ;;
  esac
done

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "deploy/: all checks passed"
