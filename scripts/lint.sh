#!/usr/bin/env bash
# Formatting and lint: clang-format (.clang-format), BUILD hygiene (scripts/lint/build_hygiene.py)
# and clang-tidy (.clang-tidy). ./test.sh runs it; any finding fails the suite.
#
# Usage: scripts/lint.sh [--check | --fix] [--no-tidy | --tidy-only] [FILE...]
#   --check     (default) change nothing; list what is wrong and exit 1 if anything is
#   --fix       reformat the C++ files in place and sort BUILD deps; clang-tidy findings and the
#               other BUILD rules are reported, to be fixed by hand (or, for a proven false
#               positive, `// NOLINT(check-name): why`)
#   --no-tidy   skip clang-tidy (the quick part: formatting and BUILD files only)
#   --tidy-only only clang-tidy
#   FILE...     limit clang-format and clang-tidy to these files
# Files checked: the .cc and .h files git tracks (generated code lives under bazel-out/ and is
# never checked). clang-tidy needs compile commands: it asks Bazel for them (bazel aquery) and
# builds the generated headers first; unchanged files are not checked again (see
# scripts/lint/tidy.py for the cache). REGAUTH_LINT_JOBS sets its parallelism (default: nproc).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=check
format=1
tidy=1
files=()
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --fix) mode=fix ;;
    --no-tidy) tidy=0 ;;
    --tidy-only) format=0 ;;
    -h | --help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "lint: unknown argument $arg" >&2; exit 2 ;;
    *) files+=("$arg") ;;
  esac
done
for tool in clang-format clang-tidy; do
  command -v "$tool" >/dev/null || {
    echo "lint: $tool is missing; run scripts/install-deps.sh --test-tools" >&2; exit 2; }
done

given=${#files[@]}
if [ "$given" -eq 0 ]; then
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files -- '*.cc' '*.h')
  else
    mapfile -t files < <(find . -path './bazel-*' -prune -o -path '*/node_modules' -prune -o \
      \( -name '*.cc' -o -name '*.h' \) -type f -print | sed 's|^\./||' | sort)
  fi
fi

failed=0
if [ "$format" = 1 ]; then
  start=$SECONDS
  if [ "$mode" = fix ]; then
    printf '%s\0' "${files[@]}" | xargs -0 -r clang-format -i --style=file
    python3 scripts/lint/build_hygiene.py --fix . || failed=1
  else
    mapfile -t unformatted < <(printf '%s\0' "${files[@]}" |
      xargs -0 -r -n 50 clang-format --style=file --dry-run 2>&1 |
      sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' |
      sort -u)
    if [ "${#unformatted[@]}" -gt 0 ]; then
      echo "lint: ${#unformatted[@]} file(s) are not formatted (.clang-format):" >&2
      printf '  %s\n' "${unformatted[@]}" >&2
      echo "  fix: scripts/lint.sh --fix (or clang-format -i FILE); see a diff with" \
        "clang-format FILE | diff FILE -" >&2
      failed=1
    fi
    python3 scripts/lint/build_hygiene.py . || {
      echo "lint: BUILD hygiene findings above; scripts/lint.sh --fix sorts deps, the rest" \
        "is fixed by hand" >&2
      failed=1
    }
  fi
  echo "lint: clang-format and BUILD files checked in $((SECONDS - start))s" >&2
fi

if [ "$tidy" = 1 ]; then
  tidy_files=()
  for f in "${files[@]}"; do [[ "$f" == *.cc ]] && tidy_files+=("$f"); done
  # No file list given: tidy.py checks every entry of the compile commands.
  [ "$given" -gt 0 ] && [ "${#tidy_files[@]}" -eq 0 ] && exit $failed
  # clang-tidy -p wants the folder holding compile_commands.json.
  compdb_dir=$(mktemp -d "${TMPDIR:-/tmp}/regauth-compdb.XXXXXX")
  trap 'rm -rf "$compdb_dir"' EXIT
  compdb=$compdb_dir/compile_commands.json
  # The generated headers (protoc, embedded migrations) must exist for clang to parse our code.
  mapfile -t generators < <(bazel query 'kind(genrule, //...)' 2>/dev/null)
  if ! bazel build --jobs="${REGAUTH_LINT_JOBS:-$(nproc)}" "${generators[@]}" >/dev/null 2>&1 ||
    ! bazel aquery 'mnemonic("CppCompile", //...)' --output=jsonproto 2>/dev/null |
      python3 scripts/lint/compile_commands.py "$root" "$compdb"; then
    echo "lint: could not get the compile commands from Bazel (does bazel build //... work?)" >&2
    exit 1
  fi
  explicit=()
  [ "$given" -gt 0 ] && explicit=("${tidy_files[@]}")
  python3 scripts/lint/tidy.py --jobs "${REGAUTH_LINT_JOBS:-$(nproc)}" "$root" "$compdb" \
    "${explicit[@]}" || {
    echo "lint: clang-tidy findings above (.clang-tidy); fix them, or for a proven false" \
      "positive add // NOLINT(check-name): reason" >&2
    failed=1
  }
fi
[ "$failed" = 0 ] && echo "lint: clean" >&2
exit $failed
