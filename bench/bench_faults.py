#!/usr/bin/env python3
"""Fault cycles on real processes: how many committed rows each fault loses, per Litestream line.

    .venv/bin/python bench/bench_faults.py [--cycles 50] [--line 0.3|0.5] [--replica file|s3]

For each line, runs `--cycles` cycles, going round the plan of (replica, fault, supervisor): file
and S3 (moto behind a loopback fault proxy) replicas; SIGTERM, SIGKILL of litestream, of the
supervisor and of `run`'s app, S3 connection resets and stalls; `replicate`, `run` and
`Replicator`. Each cycle writes a row every 20 ms, injects its fault, recovers, stops gracefully,
restores and counts (tests/faults/harness.py: run_cycle). Prints JSON: one row per (line,
replica, fault) with cycles, rows committed, rows lost, rows lost older than the sync interval,
the largest loss window in seconds, gaps, orphans and integrity failures.
Target: 0 lost older than the sync interval, 0 gaps, 0 orphans, 0 integrity failures.

    .venv/bin/python bench/bench_faults.py --restart-loop [--cycles 50]

The restart loop instead runs `--cycles` cycles of tests/faults/harness.py: restart_cycle on
0.5.17 with an S3 replica (moto): the app commits about 200 rows of 2 KB a second, litestream
is SIGKILLed 3 to 8 s after it started and its supervisor (`run` in even cycles, a Replicator in
odd ones) restarts it, and the latest restore is counted against the local database. Prints JSON:
per supervisor, cycles, cycles with holes (rows missing below the newest restored row), rows
missing from the latest restore, orphans and integrity failures. Target: 0 holes, 0 missing.
To measure another pylitestream (an older commit, say), put its src/ first on PYTHONPATH: the
supervisors it starts import pylitestream from there.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import faults_harness as harness  # noqa: E402
import fetch_litestream  # noqa: E402
from support import s3_replica, start_s3  # noqa: E402

LINES = {"0.3": "0.3.13", "0.5": "0.5.17"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50, help="cycles per line")
    parser.add_argument("--line", choices=sorted(LINES), action="append")
    parser.add_argument("--replica", choices=("file", "s3"), action="append")
    parser.add_argument(
        "--restart-loop", action="store_true", help="SIGKILL and restart on 0.5.17 with S3"
    )
    args = parser.parse_args()
    if args.restart_loop:
        restart_loop(args.cycles)
        return
    lines = args.line or sorted(LINES)
    replicas = tuple(args.replica or ("file", "s3"))

    state = tempfile.mkdtemp(prefix="bench-faults-")
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        os.environ[name] = os.path.join(state, name.lower())
    server = start_s3() if "s3" in replicas else None
    outcomes: list[harness.Outcome] = []
    started = time.monotonic()
    try:
        for line in lines:
            binary = fetch_litestream.fetch(LINES[line], fetch_litestream.host_target())
            os.environ["LITESTREAM_INSTALL_DIR"] = str(binary.parent)
            plan = harness.cycle_plan(replicas)
            for n in range(args.cycles):
                replica, fault, supervisor = plan[n % len(plan)]
                outcomes.append(_cycle(line, replica, fault, supervisor, Path(state), n, server))
                print(f"{line} {n + 1}/{args.cycles} {outcomes[-1]}", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(state, ignore_errors=True)
    print(json.dumps({"seconds": round(time.monotonic() - started, 1),
                      "sync_interval": harness.SYNC_INTERVAL,
                      "table": _table(outcomes)}, indent=2))  # fmt: skip


def _cycle(
    line: str, replica: str, fault: str, supervisor: str, state: Path, n: int, server: Any
) -> harness.Outcome:
    root = state / f"{line}-{n}"
    proxy = s3 = None
    if replica == "s3":
        bucket = server.create_bucket(f"faults-{line.replace('.', '')}-{n}")
        url = urlparse(server.endpoint)
        proxy = harness.FaultProxy((url.hostname or "127.0.0.1", url.port or 80))
        s3 = {**s3_replica(server, bucket, "db"), "endpoint": proxy.endpoint}
    try:
        return harness.run_cycle(line, replica, fault, supervisor, root, s3, proxy)
    finally:
        if proxy is not None:
            proxy.close()
        shutil.rmtree(root, ignore_errors=True)


def restart_loop(cycles: int) -> None:
    import pylitestream

    state = tempfile.mkdtemp(prefix="bench-restarts-")
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        os.environ[name] = os.path.join(state, name.lower())
    binary = fetch_litestream.fetch(LINES["0.5"], fetch_litestream.host_target())
    os.environ["LITESTREAM_INSTALL_DIR"] = str(binary.parent)
    server = start_s3()
    rows: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    try:
        for n in range(cycles):
            supervisor = ("run", "Replicator")[n % 2]
            replica = {**s3_replica(server, server.create_bucket(f"restarts-{n}"), "db"),
                       "sync-interval": f"{harness.SYNC_INTERVAL:g}s"}  # fmt: skip
            kill_after = random.Random(n).uniform(3, 8)
            root = Path(state) / f"cycle-{n}"
            try:
                o = harness.restart_cycle("0.5", supervisor, root, replica, kill_after)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            print(f"{n + 1}/{cycles} {o}", file=sys.stderr)
            row = rows.setdefault(supervisor, {"supervisor": supervisor, "cycles": 0,
                                               "cycles_with_holes": 0, "rows_committed": 0,
                                               "rows_missing": 0, "orphans": 0,
                                               "integrity_failures": 0})  # fmt: skip
            row["cycles"] += 1
            row["cycles_with_holes"] += o.holes > 0
            row["rows_committed"] += o.committed
            row["rows_missing"] += o.missing
            row["orphans"] += o.orphans
            row["integrity_failures"] += o.integrity != "ok"
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
    print(json.dumps({"seconds": round(time.monotonic() - started, 1), "litestream": LINES["0.5"],
                      "pylitestream_src": str(Path(pylitestream.__file__).parent),
                      "table": list(rows.values())}, indent=2))  # fmt: skip


def _table(outcomes: list[harness.Outcome]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for o in outcomes:
        row = rows.setdefault(
            (o.line, o.replica, o.fault),
            {"line": o.line, "replica": o.replica, "fault": o.fault, "supervisors": [],
             "cycles": 0, "rows_committed": 0, "rows_lost": 0, "rows_lost_older_than_sync": 0,
             "largest_loss_window_s": 0.0, "gaps": 0, "orphans": 0, "integrity_failures": 0},
        )  # fmt: skip
        if o.supervisor not in row["supervisors"]:
            row["supervisors"].append(o.supervisor)
        row["cycles"] += 1
        row["rows_committed"] += o.committed
        row["rows_lost"] += o.lost
        row["rows_lost_older_than_sync"] += o.lost_old
        row["largest_loss_window_s"] = max(row["largest_loss_window_s"], o.loss_window)
        row["gaps"] += o.gap
        row["orphans"] += o.orphans
        row["integrity_failures"] += o.integrity != "ok"
    return list(rows.values())


if __name__ == "__main__":
    main()
