#!/usr/bin/env python3
"""How long `pylitestream check --json` takes on 10 databases, beside `databases --json`.

    .venv/bin/python bench/bench_check.py [--runs 15] [--databases 10]

For each binary (0.3.13, 0.5.17) it writes a config with N databases replicated to file
replicas (0.5 with its control socket on), starts `pylitestream replicate`, and times
`check --json` and `databases --json` interleaved in the same run, so machine noise hits both
alike. Prints JSON: medians in ms and the ratio check/databases.
Target on 0.5: ratio <= 2 (a few requests over one socket, not one process per database).
0.3 has no socket and runs `litestream generations` once per database, so it has no target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from support import create_db, insert_rows, stop_process, wait_for  # noqa: E402

TARGET_RATIO = 2.0
WRAPPER = str(Path(sys.executable).with_name("pylitestream"))


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def write_config(workdir: Path, line: str, count: int) -> Path:
    lines = ["dbs:"]
    for number in range(count):
        db = workdir / f"db{number}.sqlite"
        create_db(db)
        insert_rows(db, ["row"])
        replica = workdir / "replica" / db.name
        if line == "0.3":
            lines += [f"  - path: {db}", "    replicas:", "      - type: file",
                      f"        path: {replica}"]  # fmt: skip
        else:
            lines += [f"  - path: {db}", "    replica:", "      type: file",
                      f"      path: {replica}"]  # fmt: skip
    if line == "0.5":
        lines += ["socket:", "  enabled: true", f"  path: {workdir / 'ls.sock'}"]
    config = workdir / "litestream.yml"
    config.write_text("\n".join(lines) + "\n")
    return config


@contextmanager
def replicating(version: str, count: int, workdir: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """`pylitestream replicate` of N databases on `version` until the block ends, once every
    database is initialized and `check --json` passes: yields (config, environment)."""
    exe = fetch_litestream.fetch(version, fetch_litestream.host_target())
    config = write_config(workdir, version.rsplit(".", 1)[0], count)
    env = {
        **os.environ,
        "LITESTREAM_INSTALL_DIR": str(exe.parent),
        "XDG_CACHE_HOME": str(workdir / "cache"),
        "XDG_STATE_HOME": str(workdir / "state"),
    }
    for name in ("PYLITESTREAM_DASHBOARD_PASSWORD", "LITESTREAM_PASSWORD"):
        env.pop(name, None)
    log = (workdir / "replicate.log").open("wb")
    daemon = subprocess.Popen([WRAPPER, "replicate", "--config", str(config)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for(lambda: (workdir / "replicate.log").read_text().count("initialized db")
                 >= count, 600)  # fmt: skip
        check = [WRAPPER, "check", "--json", "--config", str(config)]
        wait_for(lambda: subprocess.run(check, env=env, stdout=subprocess.DEVNULL).returncode
                 == 0, 120)  # fmt: skip
        yield config, env
    finally:
        stop_process(daemon, timeout=60)
        log.close()


def bench_version(version: str, runs: int, count: int, workdir: Path) -> dict[str, object]:
    line = version.rsplit(".", 1)[0]
    with replicating(version, count, workdir) as (config, env):
        check = [WRAPPER, "check", "--json", "--config", str(config)]
        databases = [WRAPPER, "databases", "--json", "--config", str(config)]
        check_ms, databases_ms = [], []
        for _ in range(runs):
            check_ms.append(timed(check, env))
            databases_ms.append(timed(databases, env))
    check_median, databases_median = statistics.median(check_ms), statistics.median(databases_ms)
    ratio = round(check_median / databases_median, 2)
    return {
        "databases": count,
        "check_json_median_ms": round(check_median, 1),
        "databases_json_median_ms": round(databases_median, 1),
        "ratio": ratio,
        "target_ratio": TARGET_RATIO if line == "0.5" else None,
        "meets_target": ratio <= TARGET_RATIO if line == "0.5" else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--databases", type=int, default=10)
    options = parser.parse_args()
    import compileall

    import pylitestream

    compileall.compile_dir(str(Path(pylitestream.__file__).parent), quiet=1)
    report: dict[str, object] = {"runs": options.runs}
    for version in ("0.5.17", "0.3.13"):
        with tempfile.TemporaryDirectory() as tmp:
            report[version] = bench_version(version, options.runs, options.databases, Path(tmp))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
