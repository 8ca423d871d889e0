#!/usr/bin/env python3
"""What checking the config costs before each litestream command.

    .venv/bin/python bench/bench_config_validation.py [--runs 200] [--dbs 10]

Times config.validate_config (YAML syntax, variables, keys, paths) on an `init`-style config
against a plain yaml.safe_load of the same file, interleaved in the same process: cold (no
cached verdict, the first command after an edit) and cached (every command after that). Prints
JSON: medians in ms and ratios. Both Litestream lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from pylitestream import cache
from pylitestream.config import render_config, validate_config

ENV = {
    "LITESTREAM_REPLICA_BUCKET": "bench-bucket",
    "LITESTREAM_ACCESS_KEY_ID": "AKIABENCHKEY0000000",
    "LITESTREAM_SECRET_ACCESS_KEY": "bench-secret",
    "LITESTREAM_REPLICA_REGION": "us-east-1",
    "LITESTREAM_REPLICA_ENDPOINT": "http://127.0.0.1:9000",
}


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def bench(line: str, runs: int, dbs: int, workdir: Path) -> dict[str, object]:
    databases = [workdir / f"db{i}.sqlite3" for i in range(dbs)]
    config = workdir / f"litestream-{line}.yml"
    config.write_text(render_config(databases, None, line, "bench"))
    validate_config(config, line, ENV)  # warm imports
    verdicts = cache.cache_dir() / "validated.json"
    baseline, cold, cached = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        yaml.safe_load(config.read_text())
        baseline.append(ms(start))
        verdicts.unlink(missing_ok=True)
        start = time.perf_counter()
        validate_config(config, line, ENV)
        cold.append(ms(start))
        start = time.perf_counter()
        validate_config(config, line, ENV)
        cached.append(ms(start))
    base = statistics.median(baseline)
    return {
        "line": line,
        "databases": dbs,
        "runs": runs,
        "safe_load_median_ms": round(base, 3),
        "validate_cold_median_ms": round(statistics.median(cold), 3),
        "validate_cached_median_ms": round(statistics.median(cached), 3),
        "cold_ratio": round(statistics.median(cold) / base, 2),
        "cached_ratio": round(statistics.median(cached) / base, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dbs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = tmp  # keep the user's own cache out of it
        results = [bench(line, args.runs, args.dbs, Path(tmp)) for line in ("0.3", "0.5")]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
