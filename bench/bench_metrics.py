#!/usr/bin/env python3
"""How long a scrape of `pylitestream metrics --serve` takes, beside `check --json`, at 10 and
1,000 databases.

    .venv/bin/python bench/bench_metrics.py [--runs 15] [--counts 10,1000]

Litestream 0.5.17 replicates N databases to file replicas with its control socket on;
`metrics --serve` runs beside it. Scrapes of /metrics and runs of `check --json` (a new process
each, as cron runs it) are interleaved in the same run, so machine noise hits both alike.
Prints JSON: medians in ms and the ratio scrape/check. Target: ratio <= 1.5 (a scrape reuses
what the dashboard's refresh gathers: one check over the socket, restore points kept in the
background, never one litestream per database per scrape).
"""

from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT / "bench"))
from bench_check import WRAPPER, replicating  # noqa: E402
from support import _free_port, stop_process, wait_for  # noqa: E402

TARGET_RATIO = 1.5


def scrape(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        return bytes(response.read())


def bench_count(runs: int, count: int, workdir: Path) -> dict[str, object]:
    with replicating("0.5.17", count, workdir) as (config, env):
        port = _free_port()
        server = subprocess.Popen([WRAPPER, "metrics", "--serve", "--port", str(port), "-c",
                                   str(config)], env=env, stdout=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}/metrics"
        check = [WRAPPER, "check", "--json", "--config", str(config)]
        try:
            wait_for(lambda: scrape(url), 60)
            scrape_ms, check_ms = [], []
            size = 0
            for _ in range(runs):
                start = time.perf_counter()
                size = len(scrape(url))
                scrape_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                subprocess.run(check, env=env, stdout=subprocess.DEVNULL, check=False)
                check_ms.append((time.perf_counter() - start) * 1000)
        finally:
            stop_process(server)
    scrape_median, check_median = statistics.median(scrape_ms), statistics.median(check_ms)
    ratio = round(scrape_median / check_median, 2)
    return {
        "databases": count,
        "scrape_median_ms": round(scrape_median, 1),
        "check_json_median_ms": round(check_median, 1),
        "scrape_bytes": size,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--counts", default="10,1000")
    options = parser.parse_args()
    report: dict[str, object] = {"runs": options.runs, "litestream": "0.5.17"}
    for count in (int(c) for c in options.counts.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            report[str(count)] = bench_count(options.runs, count, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
