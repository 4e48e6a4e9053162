#!/usr/bin/env python3
"""Counts test cases from the JUnit XML Bazel writes for each test target.

Usage: count-tests.py TESTLOGS_DIR LABEL...
Prints `N passed, N failed` (`, N skipped` when any) as its last line. A test target without
an XML (it failed to build, or timed out before writing one) counts as one failure.
"""
import os
import sys
import xml.etree.ElementTree as ET


def main() -> int:
    logs, labels = sys.argv[1], sys.argv[2:]
    passed = failed = skipped = 0
    for label in labels:
        pkg, _, name = label.lstrip("/").partition(":")
        xml = os.path.join(logs, pkg, name, "test.xml")
        if not os.path.exists(xml):
            print(f"no test results for {label}: counted as failed", file=sys.stderr)
            failed += 1
            continue
        cases = list(ET.parse(xml).getroot().iter("testcase"))
        for tc in cases:
            if tc.find("failure") is not None or tc.find("error") is not None:
                failed += 1
            elif tc.get("result") == "skipped" or tc.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
