#!/usr/bin/env python3
"""How long `pylitestream.verify` takes against a running replicate, next to the fixed-10-second
method (insert a sentinel, sleep 10 s, restore, look for it) that other wrappers use.

    .venv/bin/python bench/bench_verify.py [--runs 10] [--fixed-runs 2]

For each binary (0.3.13, 0.5.17) and backend (file replica, moto S3 on 127.0.0.1), with the
default 1 s sync interval, runs verify `--runs` times and the fixed method `--fixed-runs` times in
the same process, and on 0.5 also verify through the control socket (`sync -wait`). Prints JSON:
median and p90 seconds per case, the fixed method's median and the ratio fixed/verify.
Targets: median <= 1.5 s and p90 <= 3 s; with the socket, median <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from support import S3Server, replicate_process, s3_replica, start_s3  # noqa: E402

import pylitestream  # noqa: E402
from pylitestream import verification  # noqa: E402

VERSIONS = ("0.3.13", "0.5.17")
TARGET_MEDIAN, TARGET_P90, TARGET_SOCKET_MEDIAN = 1.5, 3.0, 0.5
FIXED_SLEEP = 10.0


def write_config(work: Path, line: str, replica: dict[str, Any], socket: bool) -> Path:
    entry: dict[str, Any] = {"path": str(work / "app.db")}
    if line == "0.3":
        entry["replicas"] = [replica]
    else:
        entry["replica"] = replica
    settings: dict[str, Any] = {"dbs": [entry]}
    if socket:
        settings["socket"] = {"enabled": True, "path": str(work / "ls.sock")}
    config = work / "litestream.yml"
    config.write_text(yaml.safe_dump(settings))
    return config


def fixed_ten_seconds(db: Path, config: Path) -> float:
    """The rival method: sentinel, sleep 10 s, restore, look; no integrity check."""
    start = time.monotonic()
    sentinel = verification.insert_sentinel(db)
    out = Path(tempfile.mkdtemp(prefix="bench-fixed-"))
    try:
        time.sleep(FIXED_SLEEP)
        copy = pylitestream.restore(db, out / "copy.db", config=config, timeout=30)
        assert copy is not None
        conn = sqlite3.connect(copy)
        found = conn.execute(
            f"SELECT 1 FROM {verification.TABLE} WHERE id = ?", (sentinel,)
        ).fetchone()
        conn.close()
        assert found, "the fixed method missed its sentinel"
    finally:
        verification.delete_sentinel(db, sentinel)
        shutil.rmtree(out, ignore_errors=True)
    return time.monotonic() - start


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def bench_case(
    version: str, backend: str, socket: bool, s3: S3Server, runs: int, fixed_runs: int, rng: Any
) -> dict[str, Any]:
    line = version.rsplit(".", 1)[0]
    exe = fetch_litestream.fetch(version, fetch_litestream.host_target())
    os.environ["LITESTREAM_INSTALL_DIR"] = str(exe.parent)
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    db = work / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO items (name) VALUES (?)", [(f"row-{i}",) for i in range(1000)])
    conn.commit()
    conn.close()
    if backend == "file":
        replica: dict[str, Any] = {"type": "file", "path": str(work / "replica")}
    else:
        bucket = f"bench-{line.replace('.', '')}-{'sock' if socket else 'poll'}"
        replica = s3_replica(s3, s3.create_bucket(bucket), "db")
    config = write_config(work, line, replica, socket)
    try:
        with replicate_process(config, work / "replicate.log"):
            pylitestream.verify(db, config=config, timeout=30)  # the first backup is in place
            times, methods = [], set()
            for _ in range(runs):
                time.sleep(rng.uniform(0, 1))  # land anywhere in the sync interval
                start = time.monotonic()
                record = pylitestream.verify(db, config=config, timeout=30)
                times.append(time.monotonic() - start)
                methods.add(record["method"])
            fixed = [fixed_ten_seconds(db, config) for _ in range(fixed_runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(times)
    target = TARGET_SOCKET_MEDIAN if socket else TARGET_MEDIAN
    result: dict[str, Any] = {
        "binary": version,
        "backend": backend,
        "method": "/".join(sorted(methods)),
        "runs": runs,
        "median_s": round(median, 3),
        "p90_s": round(p90(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "median_target_s": target,
        "median_ok": median <= target,
        "p90_ok": p90(times) <= TARGET_P90,
    }
    if fixed:
        fixed_median = statistics.median(fixed)
        result["fixed_10s_runs"] = fixed_runs
        result["fixed_10s_median_s"] = round(fixed_median, 3)
        result["ratio_fixed_over_verify"] = round(fixed_median / median, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--fixed-runs", type=int, default=2)
    args = parser.parse_args()
    rng = random.Random(5)
    s3 = start_s3()
    cases = []
    try:
        for version in VERSIONS:
            for backend in ("file", "s3"):
                cases.append(
                    bench_case(version, backend, False, s3, args.runs, args.fixed_runs, rng)
                )
                if version.startswith("0.5"):
                    case = bench_case(version, backend, True, s3, args.runs, 0, rng)
                    poll = cases[-1]
                    if "fixed_10s_median_s" in poll:
                        case["fixed_10s_median_s"] = poll["fixed_10s_median_s"]
                        case["ratio_fixed_over_verify"] = round(
                            poll["fixed_10s_median_s"] / case["median_s"], 1
                        )
                    cases.append(case)
    finally:
        s3.stop()
    print(json.dumps({"sync_interval": "1s (default)", "cases": cases}, indent=2))


if __name__ == "__main__":
    main()
