#!/usr/bin/env python3
"""Fails when a Boost.Test executable holds a top-level suite that tests/CMakeLists.txt does not
register as a CTest test (such a suite would never run in ./scripts/test), or registers a suite
the executable does not have.
  check_suites.py <test executable> <registered suite>..."""
import subprocess
import sys

exe, registered = sys.argv[1], set(sys.argv[2:])
out = subprocess.run([exe, "--list_content"], capture_output=True, text=True, check=True)
listing = out.stdout + out.stderr
present = {line.rstrip().rstrip("*") for line in listing.splitlines()
           if line and not line[0].isspace()}
missing = sorted(present - registered)
unknown = sorted(registered - present)
for s in missing:
    print(f"{exe}: suite '{s}' is not in its SUITES list in tests/CMakeLists.txt: it never runs")
for s in unknown:
    print(f"{exe}: SUITES names '{s}', which the executable does not have")
sys.exit(1 if missing or unknown else 0)
