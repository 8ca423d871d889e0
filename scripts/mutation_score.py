"""Summarise `mutmut results --all true` per module for scripts/mutation: killed (a test failed,
or the mutant hung and timed out) out of the mutants checked; "no tests" counts as surviving,
"not checked" (not run yet, e.g. a run limited to some mutants) is left out of the score."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys

out = subprocess.run(
    [sys.executable, "-m", "mutmut", "results", "--all", "true"],
    capture_output=True,
    text=True,
    check=False,
).stdout
counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
for line in out.splitlines():
    match = re.match(r"([\w.]+?)\.x[^.]*__mutmut_\d+: (.+)$", line.strip())
    if match:
        counts[match[1]][match[2].strip()] += 1
summary = {}
for module, status in sorted(counts.items()):
    killed = status["killed"] + status["timeout"]
    checked = sum(status.values()) - status["not checked"]
    score = round(killed / checked, 3) if checked else None
    summary[module] = {"killed": killed, "checked": checked, "score": score, **dict(status)}
print(json.dumps(summary, indent=1))
