"""Summarise `mutmut results --all true` as killed/total per module (for scripts/mutation)."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys

out = subprocess.run(
    [sys.executable, "-m", "mutmut", "results", "--all", "true"],
    capture_output=True, text=True, check=False,
).stdout  # fmt: skip
counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
for line in out.splitlines():
    match = re.match(r"\s*([\w.]+?)\.x[^.]*__mutmut_\d+: (.+)$", line.strip())
    if match:
        counts[match[1]][match[2].strip()] += 1
summary = {}
for module, status in sorted(counts.items()):
    total = sum(status.values())
    summary[module] = {"killed": status["killed"], "total": total,
                       "score": round(status["killed"] / total, 3), **dict(status)}  # fmt: skip
print(json.dumps(summary, indent=1))
