#!/usr/bin/env bash
# Installs, from Debian's archive, everything registry-auth needs to build, run and test.
# Idempotent and quiet when nothing is missing. Needs root (or sudo) only when something is.
set -euo pipefail

PKGS=(
  # build: Bazel from Debian, offline, with its rule sets
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-skylib bazel-platforms bazel-rules-proto
  # system libraries the code links against
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev libssl-dev
  libpqxx-dev libpq-dev libgtest-dev libgmock-dev libcurl4-openssl-dev nlohmann-json3-dev
  libboost-dev libbenchmark-dev
  # run and test: the private PostgreSQL cluster, key generation, helper scripts
  postgresql-15 postgresql-client-15 openssl python3-minimal procps curl
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: missing ${missing[*]}; run as root" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
# Another apt run (e.g. unattended upgrades on a fresh machine) may hold the lock for a while.
if command -v fuser >/dev/null; then
  for _ in $(seq 1 60); do
    $SUDO fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock >/dev/null 2>&1 || break
    sleep 5
  done
fi
$SUDO apt-get update -qq
# policy-rc.d-less machines would start the system cluster; we never use it, so keep it off.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
