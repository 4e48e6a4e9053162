#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, `--config=fuzz` in
# .bazelrc) and runs each one, starting from a fresh copy of its committed seed corpus.
#
# Usage: scripts/fuzz.sh [--time=SECONDS] [--runs=N] [--parallel=N] [--jobs=N] [--out=DIR]
#                        [--no-build] [target...]
#   --time=SECONDS  stop each target after this long (default 60 unless --runs is given)
#   --runs=N        stop each target after N executions (with --time: whichever comes first)
#   --parallel=N    run N targets at a time (default 1; each target is one process)
#   --jobs=N        bazel --jobs (default 2)
#   --out=DIR       working folders, logs and findings (default .fuzz-out/, git-ignored):
#                   DIR/<target>/corpus (the run's corpus, seeded from tests/fuzz/corpus/),
#                   DIR/<target>/findings (crash-*, leak-*, timeout-*, oom-* reproducers),
#                   DIR/<target>/fuzz.log
#   --no-build      run what the last build left
#   target          `scope_fuzz` or `scope` (default: every `<name>_fuzzer` of tests/fuzz)
# Prints one line per target (executions, exec/s, coverage edges and features, corpus size,
# seconds, result) and exits 1 if any target found something (its reproducer is in
# DIR/<target>/findings; add it to the seed corpus once fixed), 2 on bad usage or a failed build.
# The committed corpus is never written to. The clang build has its own Bazel output base
# ($FUZZ_OUTPUT_BASE, default under ~/.cache/registry-auth-fuzz/), so the normal gcc build's
# cache and bazel-* links are left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
usage() { sed -n '5,20s/^# \{0,1\}//p' "$0"; }
time_limit=""
runs=""
parallel=1
jobs=2
out="$root/.fuzz-out"
build=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --time=*) time_limit=${arg#--time=} ;;
    --runs=*) runs=${arg#--runs=} ;;
    --parallel=*) parallel=${arg#--parallel=} ;;
    --jobs=*) jobs=${arg#--jobs=} ;;
    --out=*) out=${arg#--out=} ;;
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "fuzz: unknown argument $arg" >&2; usage >&2; exit 2 ;;
    *) targets+=("${arg%_fuzzer}") ;;
  esac
done
for n in "$time_limit" "$runs" "$parallel" "$jobs"; do
  [[ -z "$n" || "$n" =~ ^[0-9]+$ ]] || { echo "fuzz: not a number: $n" >&2; exit 2; }
done
[ -n "$time_limit$runs" ] || time_limit=60
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$root/scripts/install-deps.sh" --fuzz-tools

cd "$root"
output_base=${FUZZ_OUTPUT_BASE:-${XDG_CACHE_HOME:-$HOME/.cache}/registry-auth-fuzz/$(printf %s "$root" | cksum | cut -d' ' -f1)}
# Its own server; it exits after 10 idle minutes instead of holding memory on a shared machine.
bazel_fuzz() { bazel --output_base="$output_base" --max_idle_secs=600 "$@"; }

if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(bazel_fuzz query 'attr(name, "_fuzzer$", kind(cc_binary, //tests/fuzz:all))' 2>/dev/null |
    sed -e 's|^//tests/fuzz:||' -e 's|_fuzzer$||' | sort)
  [ "${#targets[@]}" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 2; }
fi
for i in "${!targets[@]}"; do
  [[ "${targets[$i]}" == *_fuzz ]] || targets[$i]="${targets[$i]}_fuzz"
done

labels=()
for t in "${targets[@]}"; do labels+=("//tests/fuzz:${t}_fuzzer" "//tests/fuzz:${t}_fuzzer_manifest"); done
if [ "$build" = 1 ]; then
  echo "fuzz: building ${#targets[@]} targets with clang (ASan + UBSan, libFuzzer)" >&2
  bazel_fuzz build --config=fuzz --jobs="$jobs" "${labels[@]}" >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "fuzz: build failed (log: $out/build.log)" >&2
    exit 2
  }
fi
bin=$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz

# Sanitizer reports: fatal, with symbolized stacks. The system libraries (gRPC, protobuf,
# Abseil, OpenSSL) are gcc-built and not instrumented: ASan still checks every access our code
# makes into their memory, and libstdc++'s containers carry no ASan annotations, so there are
# no container-overflow false positives to silence.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer)}
fi

# Runs one target; writes DIR/<target>/result: `execs exec/s cov ft corpus seconds status`.
run_one() {
  local t=$1 dir="$out/$1" manifest="$bin/${1}_fuzzer.manifest"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/findings"
  local args=() seeds=0 key value
  while read -r key value; do
    case "$key" in
      corpus)
        cp -- "$root/$value"/* "$dir/corpus/"
        seeds=$((seeds + $(find "$root/$value" -maxdepth 1 -type f | wc -l)))
        ;;
      dict) args+=("-dict=$root/$value") ;;
      max_len) args+=("-max_len=$value") ;;
      arg) args+=("$value") ;;
    esac
  done <"$manifest"
  [ -n "$time_limit" ] && args+=("-max_total_time=$time_limit")
  [ -n "$runs" ] && args+=("-runs=$runs")
  local start=$SECONDS status=0
  "$bin/${t}_fuzzer" "${args[@]}" -artifact_prefix="$dir/findings/" -print_final_stats=1 \
    -timeout=30 -rss_limit_mb=4096 "$dir/corpus" >"$dir/fuzz.log" 2>&1 || status=$?
  local seconds=$((SECONDS - start))
  local execs rate cov ft corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$dir/fuzz.log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$dir/fuzz.log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*' "$dir/fuzz.log" | tail -1 | cut -d' ' -f2)
  local result=ok
  if [ "$status" -ne 0 ] || [ -n "$(ls -A "$dir/findings")" ]; then result="FOUND(exit=$status)"; fi
  echo "${execs:--} ${rate:--} ${cov:--} ${ft:--} ${corp:--} $seeds $seconds $result" >"$dir/result"
}

echo "fuzz: running ${#targets[@]} targets (${time_limit:+${time_limit}s}${time_limit:+${runs:+ or }}${runs:+$runs runs} each, $parallel at a time); output in $out" >&2
for t in "${targets[@]}"; do
  [ -x "$bin/${t}_fuzzer" ] || { echo "fuzz: $bin/${t}_fuzzer was not built" >&2; exit 2; }
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  echo "fuzz: $t" >&2
  run_one "$t" &
done
wait

found=0
printf '%-24s %12s %8s %7s %8s %7s %6s %6s  %s\n' target executions exec/s cov features corpus seeds secs result
for t in "${targets[@]}"; do
  read -r execs rate cov ft corp seeds seconds result <"$out/$t/result" ||
    { execs=- rate=- cov=- ft=- corp=- seeds=- seconds=- result="NO-RESULT"; }
  printf '%-24s %12s %8s %7s %8s %7s %6s %6s  %s\n' "$t" "$execs" "$rate" "$cov" "$ft" "$corp" "$seeds" "$seconds" "$result"
  if [ "$result" != ok ]; then
    found=1
    for f in "$out/$t"/findings/*; do [ -e "$f" ] && echo "  finding: $f"; done
    echo "  log: $out/$t/fuzz.log"
  fi
done
exit "$found"
