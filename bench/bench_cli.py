#!/usr/bin/env python3
"""What the pylitestream wrapper adds to the raw litestream binary, per command.

    .venv/bin/python bench/bench_cli.py [--runs 30] [--baseline OTHER_CHECKOUT/src]

Runs `pylitestream version` against `litestream version` and `pylitestream databases --json`
against `litestream databases`, interleaved in the same process so machine noise hits both alike.
Prints JSON: medians in ms, the added ms, and the ratio. Target: added median <= 60 ms.
With --baseline, the same wrapper also runs another checkout's package (e.g. a worktree of an
older commit) in the same loop, so a change is compared with what came before it.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fetch_litestream  # noqa: E402

TARGET_ADDED_MS = 60.0


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def bench_version(
    version: str, runs: int, workdir: Path, baseline: Path | None
) -> dict[str, object]:
    exe = fetch_litestream.fetch(version, fetch_litestream.host_target())
    db = workdir / f"{version}.db"
    config = workdir / f"{version}.yml"
    replica = "replicas:\n      - type: file\n        path: /tmp/r" if version.startswith("0.3") \
        else "replica:\n      type: file\n      path: /tmp/r"  # fmt: skip
    config.write_text(f"dbs:\n  - path: {db}\n    {replica}\n")
    env = {**os.environ, "LITESTREAM_INSTALL_DIR": str(exe.parent), "XDG_CACHE_HOME": str(workdir)}
    wrapper = str(Path(sys.executable).with_name("pylitestream"))
    raw_databases = [str(exe), "databases", "-config", str(config)]
    if not version.startswith("0.3"):
        raw_databases.append("-json")
    pairs = {
        "version": ([wrapper, "version", "--json"], [str(exe), "version"]),
        "databases --json": (
            [wrapper, "databases", "--json", "--config", str(config)],
            raw_databases,
        ),
    }
    # The entry-point script imports pylitestream.cli from sys.path, where PYTHONPATH comes first.
    baseline_env = {**env, "PYTHONPATH": str(baseline)} if baseline else None
    results: dict[str, object] = {}
    for name, (ours, raw) in pairs.items():
        timed(ours, env)  # warm the version cache and the page cache once
        ours_ms, raw_ms, baseline_ms = [], [], []
        for _ in range(runs):
            ours_ms.append(timed(ours, env))
            raw_ms.append(timed(raw, env))
            if baseline_env:
                baseline_ms.append(timed(ours, baseline_env))
        ours_median, raw_median = statistics.median(ours_ms), statistics.median(raw_ms)
        result = {
            "pylitestream_median_ms": round(ours_median, 1),
            "litestream_median_ms": round(raw_median, 1),
            "added_median_ms": round(ours_median - raw_median, 1),
            "ratio": round(ours_median / raw_median, 2),
            "meets_target": ours_median - raw_median <= TARGET_ADDED_MS,
        }
        if baseline_ms:
            baseline_median = statistics.median(baseline_ms)
            result["baseline_median_ms"] = round(baseline_median, 1)
            result["baseline_ratio"] = round(baseline_median / raw_median, 2)
        results[name] = result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--baseline", type=Path, help="another checkout's src/ directory")
    options = parser.parse_args()
    baseline = options.baseline.resolve() if options.baseline else None
    if baseline:
        # The package the wrapper imports with that PYTHONPATH must be the one under it.
        probe = "import pylitestream.cli as cli; print(cli.__file__)"
        env = {**os.environ, "PYTHONPATH": str(baseline)}
        where = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                               text=True, check=False)  # fmt: skip
        if not where.stdout.startswith(str(baseline)):
            parser.error(f"--baseline {baseline}: the wrapper would not import it ({where})")
    # pip compiles an installed wheel's bytecode; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run instead.
    import compileall

    import pylitestream

    compileall.compile_dir(str(Path(pylitestream.__file__).parent), quiet=1)
    if baseline:
        compileall.compile_dir(str(baseline / "pylitestream"), quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        report = {
            "runs": options.runs,
            "target_added_ms": TARGET_ADDED_MS,
            "baseline": str(baseline) if baseline else None,
            "litestream": {
                version: bench_version(version, options.runs, Path(tmp), baseline)
                for version in ("0.3.13", "0.5.17")
            },
        }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
