#!/usr/bin/env bash
# Installs, from Debian's archive, everything registry-auth needs to build, run and test.
#
# Usage: scripts/install-deps.sh [--test-tools] [--bench-tools] [--fuzz-tools]
#   --test-tools   (test.sh) also Node.js and the npm test tools of tests/node/ (npm ci from its
#                  package-lock.json), the real registry tools of the end-to-end tests:
#                  docker-registry (Docker Distribution) and skopeo, promtool (package
#                  prometheus), which checks the /metrics output, and the tools of
#                  //deploy:manifests_test: python3-yaml, systemd-analyze (systemd), readelf
#                  (binutils), and the linters of scripts/lint.sh: clang-format and clang-tidy
#                  (Debian 12: version 14)
#   --bench-tools  also the HTTP load generator wrk, for benchmark scripts under bench/, and
#                  Node.js with the npm packages of bench/reference-realm/ (the comparison
#                  realm of bench/token.sh; npm ci from its package-lock.json)
#   --fuzz-tools   (scripts/fuzz.sh) also clang 14 with libFuzzer and the sanitizer runtimes
#                  (clang, libclang-rt-14-dev), lld (the fuzz build's linker) and llvm (for
#                  llvm-symbolizer, which puts file:line into sanitizer stack traces)
# Idempotent and quiet when nothing is missing. Needs root (or sudo) only when a Debian package
# is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '4,17s/^# \{0,1\}//p' "$0"; }
test_tools=0
bench_tools=0
fuzz_tools=0
for arg in "$@"; do
  case "$arg" in
    --test-tools) test_tools=1 ;;
    --bench-tools) bench_tools=1 ;;
    --fuzz-tools) fuzz_tools=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install-deps: unknown argument $arg" >&2; usage >&2; exit 2 ;;
  esac
done

PKGS=(
  # build: Bazel from Debian, offline, with its rule sets
  bazel-bootstrap bazel-rules-cc bazel-rules-java bazel-skylib bazel-platforms bazel-rules-proto
  # system libraries the code links against
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev libssl-dev
  libpqxx-dev libpq-dev libgtest-dev libgmock-dev libcurl4-openssl-dev nlohmann-json3-dev
  libboost-dev libbenchmark-dev libjemalloc-dev
  # run and test: the private PostgreSQL cluster, key generation, helper scripts
  postgresql-15 postgresql-client-15 openssl python3-minimal procps curl
)
# Node.js and npm run test tools only (the npm `jose` package that crypto/jose_node_test
# cross-checks our JOSE code against). Any installed Node >= 18 will do; Debian's packages are
# added only when there is none (a Node from elsewhere often bundles its own npm).
if { [ "$test_tools" = 1 ] || [ "$bench_tools" = 1 ]; } &&
  { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  PKGS+=(nodejs npm)
fi
# The end-to-end tests start their own docker-registry and drive it with skopeo (tests/support/).
[ "$test_tools" = 1 ] && PKGS+=(docker-registry skopeo)
# tests/observability_test checks /metrics with Prometheus' own parser, `promtool check metrics`.
[ "$test_tools" = 1 ] && PKGS+=(prometheus)
# deploy/validate_test.sh: YAML parsing with Debian's python3, `systemd-analyze verify` of the
# unit, readelf for the Dockerfile's runtime libraries.
[ "$test_tools" = 1 ] && PKGS+=(python3-yaml systemd binutils)
# scripts/lint.sh (run by test.sh): Debian 12's clang-format and clang-tidy are version 14; these
# unversioned packages install the `clang-format` and `clang-tidy` commands.
[ "$test_tools" = 1 ] && PKGS+=(clang-format clang-tidy)
[ "$bench_tools" = 1 ] && PKGS+=(wrk)
# scripts/fuzz.sh: `bazel build --config=fuzz` (.bazelrc) compiles with clang and links libFuzzer,
# ASan and UBSan from libclang-rt-14-dev with lld; llvm-symbolizer (package llvm) symbolizes.
[ "$fuzz_tools" = 1 ] && PKGS+=(clang libclang-rt-14-dev lld llvm)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_debian_packages() {
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
  # docker-registry's postinst enables and starts a system registry on :5000 (systemd unit, or
  # its init script where there is no systemd) unless policy-rc.d forbids it. The tests run
  # their own registries on free ports and nothing here uses that one: stop it, keep it off.
  if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
    else
      $SUDO /etc/init.d/docker-registry stop >/dev/null 2>&1 || true
      $SUDO update-rc.d docker-registry disable >/dev/null 2>&1 || true
    fi
  fi
  # Likewise prometheus: only its promtool is used; no Prometheus server should run.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    if [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
    else
      $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
      $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
    fi
  fi
}
[ "${#missing[@]}" -eq 0 ] || install_debian_packages

# npm tools: exactly the versions and integrity hashes of each folder's package-lock.json.
# node_modules/ is git-ignored; a copy of the lock file inside it records what was installed,
# so this runs again only when the lock file changes. Tests never download anything.
npm_ci() {  # npm_ci FOLDER (relative to the root)
  local node_dir="$root/$1"
  local stamp="$node_dir/node_modules/.installed-package-lock.json"
  if ! cmp -s "$node_dir/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in $1" >&2
    (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
    cp "$node_dir/package-lock.json" "$stamp"
  fi
}
[ "$test_tools" = 1 ] && npm_ci tests/node
[ "$bench_tools" = 1 ] && npm_ci bench/reference-realm
exit 0
