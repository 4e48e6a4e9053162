#!/usr/bin/env python3
"""Counts test cases from the JUnit XML Bazel writes for each test target.

Usage: count-tests.py TESTLOGS_DIR LABEL... [--config NAME TESTLOGS_DIR LABEL...]...
Each `--config NAME TESTLOGS_DIR` starts another group of labels whose results lie under that
configuration's testlogs folder (`bazel info --config=NAME bazel-testlogs`), e.g. the sanitizer
run of ./test.sh. Its test cases count separately from the same labels of the first group, and
its lines say `(NAME)`. Prints one `NAME: N passed, N failed` line per extra configuration, then
the total `N passed, N failed` (`, N skipped` when any) as the last line. A test target without
an XML (it failed to build, or timed out before writing one) counts as one failure; failed test
cases are listed on stderr.
"""
import os
import sys
import xml.etree.ElementTree as ET


def parse_groups(argv):
    """[(config name or '', testlogs, [labels])] from the command line."""
    if not argv or argv[0] == "--config":
        sys.exit(__doc__)
    groups = [("", argv[0], [])]
    i = 1
    while i < len(argv):
        if argv[i] == "--config":
            if i + 2 >= len(argv):
                sys.exit("count-tests.py: --config needs NAME and TESTLOGS_DIR")
            groups.append((argv[i + 1], argv[i + 2], []))
            i += 3
        else:
            groups[-1][2].append(argv[i])
            i += 1
    return groups


def count(name, logs, labels):
    passed = failed = skipped = 0
    tag = f" ({name})" if name else ""
    for label in labels:
        pkg, _, target = label.lstrip("/").partition(":")
        xml = os.path.join(logs, pkg, target, "test.xml")
        if not os.path.exists(xml):
            print(f"no test results for {label}{tag}: counted as failed", file=sys.stderr)
            failed += 1
            continue
        for tc in ET.parse(xml).getroot().iter("testcase"):
            if tc.find("failure") is not None or tc.find("error") is not None:
                failed += 1
                case = f"{tc.get('classname', '')}.{tc.get('name', '')}".strip(".")
                print(f"failed: {label} {case}{tag}", file=sys.stderr)
            elif tc.get("result") == "skipped" or tc.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def summary(passed, failed, skipped):
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    return line


def main() -> int:
    totals = [0, 0, 0]
    for name, logs, labels in parse_groups(sys.argv[1:]):
        counts = count(name, logs, labels)
        if name:
            print(f"{name}: {summary(*counts)}")
        totals = [t + c for t, c in zip(totals, counts)]
    print(summary(*totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
