#!/usr/bin/env python3
"""How long a dashboard page takes for 20 databases, beside one litestream CLI call per
database (what a dashboard that shells out per database per page load pays).

    .venv/bin/python bench/bench_dashboard.py [--runs 30] [--databases 20] [--line 0.5]

It starts moto S3, N databases replicated to it by a real `pylitestream replicate` (0.5 with its
control socket on), and `pylitestream dashboard` (uvicorn). Then, interleaved in the same run
so machine noise hits both alike, it times GET / (the full page, basic auth) and one
`litestream ltx` (0.5) or `litestream generations` (0.3) per database, run one after another.
Prints JSON: page p50/p95 in ms, the CLI-per-database cost (median of the total, and per call),
and the ratio page p95 / CLI total. Targets: p95 <= 300 ms and ratio <= 0.5.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from dashboard_support import PASSWORD, USERNAME, start_site  # noqa: E402
from support import start_s3  # noqa: E402

TARGET_P95_MS = 300.0
TARGET_RATIO = 0.5


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--databases", type=int, default=20)
    parser.add_argument("--line", choices=("0.3", "0.5"), default="0.5")
    options = parser.parse_args()
    version = {"0.3": "0.3.13", "0.5": "0.5.17"}[options.line]
    binary = fetch_litestream.fetch(version, fetch_litestream.host_target())

    state = tempfile.mkdtemp(prefix="bench-dashboard-")
    for name in ("CACHE", "CONFIG", "STATE"):
        os.environ[f"XDG_{name}_HOME"] = os.path.join(state, name.lower())
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(state, "run")
    os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700)
    s3 = start_s3()
    try:
        bucket = s3.create_bucket("bench-dashboard")
        site = start_site(Path(state) / "site", options.line, binary.parent, s3, bucket,
                          options.databases, actions=False)  # fmt: skip
        try:
            token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

            def page() -> float:
                request = urllib.request.Request(site.url + "/")
                request.add_header("Authorization", f"Basic {token}")
                start = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = response.read()
                assert response.status == 200 and body.count(b'class="card database"') == len(
                    site.dbs
                )
                return (time.perf_counter() - start) * 1000

            command = "ltx" if options.line == "0.5" else "generations"
            # As pylitestream runs it: 0.5 cannot use AWS_CA_BUNDLE (runner.move_ca_bundle).
            cli_env = {k: v for k, v in site.env.items() if k != "AWS_CA_BUNDLE"}

            def cli_per_database() -> list[float]:
                calls = []
                for db in site.dbs:
                    start = time.perf_counter()
                    subprocess.run([str(binary), command, "-config", str(site.config), str(db)],
                                   check=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=cli_env)  # fmt: skip
                    calls.append((time.perf_counter() - start) * 1000)
                return calls

            page()  # warm-up: imports, first check, restore points start listing
            cli_per_database()
            pages, totals, calls = [], [], []
            for _ in range(options.runs):
                pages.append(page())
                run = cli_per_database()
                totals.append(sum(run))
                calls.extend(run)
        finally:
            site.stop()
    finally:
        s3.stop()
    p50, p95 = statistics.median(pages), percentile(pages, 0.95)
    cli_total = statistics.median(totals)
    print(json.dumps({
        "line": version,
        "databases": options.databases,
        "runs": options.runs,
        "page_ms": {"p50": round(p50, 1), "p95": round(p95, 1)},
        "cli_per_database_ms": {"total_median": round(cli_total, 1),
                                "per_call_median": round(statistics.median(calls), 1),
                                "command": f"litestream {command}"},
        "ratio_page_p95_to_cli_total": round(p95 / cli_total, 3),
        "targets": {"p95_ms": TARGET_P95_MS, "ratio": TARGET_RATIO},
        "met": p95 <= TARGET_P95_MS and p95 / cli_total <= TARGET_RATIO,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
