#!/usr/bin/env python3
"""Litestream 0.5 loses committed rows when it restarts after the WAL restarted without it.

    python3 repro_wal_restart_gap.py --litestream /path/to/litestream [--checkpoint-truncate]

Needs only a litestream 0.5 binary and moto (`pip install 'moto[server]'`, for `moto_server`).

1. litestream replicates a database to S3 (moto); the replica restores every row.
2. litestream is SIGKILLed. The app commits 20 rows, checkpoints (nothing holds the checkpoint
   back now) and writes once to another table: that write restarts the WAL under a new salt,
   and SQLite leaves the old frames in the file past it.
3. litestream starts again. db.go, DB.verifyWithExecutor: the salt differs, but lastPageMatch
   still finds its last synced frame at the recorded offset, and detectFullCheckpoint sees one
   unknown salt, so the `!saltMatch` branch logs "wal restarted" and resumes at offset 32 of the
   new WAL without a snapshot. The 20 commits are in no LTX file; once a level-1 compaction is
   built over the restart, the latest restore misses them.

--checkpoint-truncate runs `PRAGMA wal_checkpoint(TRUNCATE)` before the restart: litestream
then finds the WAL shorter than its position, snapshots, and nothing is missing.
Exit status: 1 "BUG REPRODUCED", 0 "no rows missing", 2 the setup failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    print(f"setup failed: no {what} within {timeout:g} s")
    sys.exit(2)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def count(ls: str, config: Path, db: Path, out: Path, table: str, env: dict[str, str]) -> int:
    out.unlink(missing_ok=True)
    done = subprocess.run([ls, "restore", "-config", str(config), "-o", str(out), str(db)],
                          capture_output=True, text=True, check=False, env=env)  # fmt: skip
    if done.returncode != 0:
        return -1
    with sqlite3.connect(out) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--litestream", required=True)
    parser.add_argument("--checkpoint-truncate", action="store_true")
    args = parser.parse_args()
    ls, work = args.litestream, Path(tempfile.mkdtemp(prefix="repro-"))
    moto = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    daemon: subprocess.Popen[bytes] | None = None
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # 0.5 fails with it
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="y")
    try:
        wait_for("moto", lambda: listening(port))
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/repro", method="PUT")).read()
        db, config, log = work / "app.db", work / "litestream.yml", work / "litestream.log"
        config.write_text(
            "levels: [{interval: 1s}]\n"  # a level-1 compaction every second
            f"dbs:\n  - path: {db}\n    replica:\n      type: s3\n      bucket: repro\n"
            f"      path: db\n      endpoint: {endpoint}\n      region: us-east-1\n"
            "      force-path-style: true\n      sync-interval: 1s\n"
        )
        app = sqlite3.connect(db, isolation_level=None)  # the app's connection, open throughout
        app.execute("PRAGMA journal_mode=WAL")
        app.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        app.execute("CREATE TABLE later (id INTEGER PRIMARY KEY)")

        def start() -> subprocess.Popen[bytes]:
            with log.open("ab") as out:
                return subprocess.Popen([ls, "replicate", "-config", str(config), "-log-level",
                                         "trace"], stdout=out, stderr=out, env=env)  # fmt: skip

        def restored(table: str) -> int:
            return count(ls, config, db, work / "probe.db", table, env)

        daemon = start()
        wait_for("level-9 snapshot", lambda: "snapshot complete" in log.read_text())
        for n in range(10):
            app.execute("INSERT INTO items (name) VALUES (?)", (f"synced-{n}",))
        wait_for("replica with 10 rows", lambda: restored("items") == 10)
        print("1. the replica restores 10 rows; SIGKILL litestream")
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        for n in range(20):
            app.execute("INSERT INTO items (name) VALUES (?)", (f"after-the-kill-{n}",))
        print("2. committed 20 rows; checkpoint:", app.execute("PRAGMA wal_checkpoint").fetchone())
        app.execute("INSERT INTO later DEFAULT VALUES")  # restarts the WAL
        if args.checkpoint_truncate:
            print("   TRUNCATE:", app.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone())
        mark = len(log.read_text())
        daemon = start()
        wait_for("the replica to hold the restart", lambda: restored("later") == 1)
        time.sleep(5)  # level-1 compactions over the restart
        said = [
            line
            for line in log.read_text()[mark:].splitlines()
            if any(k in line for k in ("wal restarted", "truncated", "snapshot complete"))
        ]
        print("3. litestream restarted:", *said[:4], sep="\n   ")
        have, got = app.execute("SELECT count(*) FROM items").fetchone()[0], restored("items")
        if got < have:
            print(f"BUG REPRODUCED: {have - got} committed row(s) missing ({got} of {have})")
            return 1
        print(f"no rows missing ({got} of {have})")
        return 0
    finally:
        for proc in (daemon, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
