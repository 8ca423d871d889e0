#!/usr/bin/env python3
"""Resident memory pylitestream adds beside litestream, and proof `replicate` adds none.

    .venv/bin/python bench/bench_memory.py [--samples 9]

For each real litestream (0.3.13, 0.5.17):
- `pylitestream run -- sleep 600`: VmRSS of the Python supervisor and of its litestream, sampled
  after start-up; medians in KiB and their ratio; also their private memory (USS, from
  /proc/PID/smaps_rollup), which leaves out pages shared with other processes.
- `pylitestream replicate`: after it has opened the database, its pid is litestream itself
  (/proc/PID/exe), it has no children, and no Python process is left on that pid.
Prints JSON. Linux only (reads /proc).
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from support import stop_process, wait_for  # noqa: E402

WRAPPER = str(Path(sys.executable).with_name("pylitestream"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def private_kib(pid: int) -> int:
    """Memory only this process holds (USS): RSS minus pages shared with others (libc, ...)."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return fields["Private_Clean"] + fields["Private_Dirty"]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def workspace(version: str, root: Path) -> Path:
    db = root / f"{version}.db"
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.commit()
    conn.close()
    replica = root / f"replica-{version}"
    block = (
        f"replicas:\n      - type: file\n        path: {replica}"
        if version.startswith("0.3")
        else f"replica:\n      type: file\n      path: {replica}"
    )
    config = root / f"{version}.yml"
    config.write_text(f"dbs:\n  - path: {db}\n    {block}\n")
    return config


def litestream_pid(state_dir: Path, config: Path) -> int:
    for path in (state_dir / "pylitestream" / "replicate").glob("*.json"):
        record = json.loads(path.read_text())
        if record["config"] == str(config):
            return int(record["pid"])
    raise ValueError("no state yet")


def bench_run(config: Path, env: dict[str, str], state_dir: Path, samples: int) -> dict[str, Any]:
    proc = subprocess.Popen(
        [WRAPPER, "run", "-c", str(config), "--", "sleep", "600"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ls_pid = wait_for(lambda: litestream_pid(state_dir, config))
        app_pid = wait_for(lambda: [c for c in children(proc.pid) if c != ls_pid])[0]
        time.sleep(1.5)  # past start-up and litestream's first look at the database
        supervisor, litestream, sup_private, ls_private = [], [], [], []
        for _ in range(samples):
            supervisor.append(rss_kib(proc.pid))
            litestream.append(rss_kib(ls_pid))
            sup_private.append(private_kib(proc.pid))
            ls_private.append(private_kib(ls_pid))
            time.sleep(0.2)
    finally:
        stop_process(proc, 30)
    left = [pid for pid in (proc.pid, ls_pid, app_pid) if Path(f"/proc/{pid}").exists()]
    sup, ls = statistics.median(supervisor), statistics.median(litestream)
    return {
        "supervisor_rss_kib": sup,
        "litestream_rss_kib": ls,
        "added_rss_kib": sup,
        "supervisor_to_litestream_ratio": round(sup / ls, 2),
        "supervisor_private_kib": statistics.median(sup_private),
        "litestream_private_kib": statistics.median(ls_private),
        "exit_code": proc.returncode,
        "processes_left": left,
    }


def bench_replicate(config: Path, env: dict[str, str], samples: int) -> dict[str, Any]:
    with tempfile.TemporaryFile() as log:
        return _replicate(config, env, samples, log)


def _replicate(config: Path, env: dict[str, str], samples: int, log: Any) -> dict[str, Any]:
    proc = subprocess.Popen(
        [WRAPPER, "replicate", "-c", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:

        def opened() -> bool:
            log.seek(0)
            return b"initialized db" in log.read()

        wait_for(opened)
        exe = os.readlink(f"/proc/{proc.pid}/exe")
        argv0 = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        kids = children(proc.pid)
        rss = statistics.median(rss_kib(proc.pid) for _ in range(samples))
    finally:
        stop_process(proc, 30)
    return {
        "pid_is_litestream": Path(exe).name == "litestream",
        "exe": exe,
        "argv0": argv0,
        "python_processes": int("python" in Path(exe).name) + len(kids),
        "litestream_rss_kib": rss,
        "exit_code": proc.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=9)
    samples = parser.parse_args().samples
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        state = root / "state"
        for version in ("0.3.13", "0.5.17"):
            exe = fetch_litestream.fetch(version, fetch_litestream.host_target())
            env = {
                **os.environ,
                "LITESTREAM_INSTALL_DIR": str(exe.parent),
                "XDG_STATE_HOME": str(state),
            }
            config = workspace(version, root)
            results[version] = {
                "run": bench_run(config, env, state, samples),
                "replicate": bench_replicate(config, env, samples),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
