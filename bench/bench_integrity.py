#!/usr/bin/env python3
"""What the default integrity check adds to a restore.

    .venv/bin/python bench/bench_integrity.py [--mib 1024] [--runs 3]

Builds a database of --mib MiB (random 4 KiB blobs), replicates it once to a file replica with
each real litestream (0.3.13, 0.5.17), then restores it through pylitestream.restore with
-integrity-check none, quick and full, interleaved run by run so that load on this shared
machine hits all three alike. Prints JSON: the median seconds of each, and quick's and full's
ratios to none (the baseline measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from support import stop_process, wait_for, write_config  # noqa: E402

CHECKS = ("none", "quick", "full")


def build(db: Path, mib: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    conn.execute("CREATE INDEX blobs_len ON blobs (length(body))")
    for _ in range(mib):
        with conn:
            conn.executemany("INSERT INTO blobs (body) VALUES (randomblob(4000))", [()] * 256)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def replicate_once(exe: Path, config: Path, replica: Path) -> None:
    """Until the replica holds the whole database: 0.3 has no -once, so run the daemon."""
    proc = subprocess.Popen([str(exe), "replicate", "-config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: any(p.is_file() for p in replica.rglob("*")), timeout=600)
        time.sleep(5)  # the snapshot's upload finishes after its first file appears
    finally:
        stop_process(proc, timeout=600)


def bench_line(version: str, db: Path, root: Path, runs: int) -> dict[str, Any]:
    import pylitestream

    exe = fetch_litestream.fetch(version, fetch_litestream.host_target())
    os.environ["LITESTREAM_INSTALL_DIR"] = str(exe.parent)
    replica = root / f"replica-{version}"
    config = write_config(root / f"litestream-{version}.yml", version.rsplit(".", 1)[0],
                          [(db, {"type": "file", "path": str(replica)})])  # fmt: skip
    replicate_once(exe, config, replica)
    times: dict[str, list[float]] = {check: [] for check in CHECKS}
    for run in range(runs):
        for check in CHECKS:
            out = root / f"out-{version}-{check}-{run}.db"
            started = time.perf_counter()
            pylitestream.restore(db, out, config=config, integrity_check=check, timeout=3600)
            times[check].append(time.perf_counter() - started)
            out.unlink()
    medians = {check: statistics.median(values) for check, values in times.items()}
    return {
        "litestream": version,
        "median_seconds": {check: round(value, 3) for check, value in medians.items()},
        "ratio_to_none": {c: round(medians[c] / medians["none"], 2) for c in ("quick", "full")},
        "added_seconds": {c: round(medians[c] - medians["none"], 3) for c in ("quick", "full")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-integrity-") as tmp:
        root = Path(tmp)
        db = root / "big.db"
        build(db, options.mib)
        size = db.stat().st_size
        results = [bench_line(v, db, root, options.runs) for v in ("0.3.13", "0.5.17")]
    print(json.dumps({"database_bytes": size, "runs": options.runs, "lines": results}, indent=2))


if __name__ == "__main__":
    main()
