"""`pylitestream demo`: replicate a demo database to a local file replica and prove it restores.

No cloud account, no config of the user's: everything lives in one directory.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from . import api
from .binary import find_binary
from .runner import litestream_env

ROWS = 1000


def _config_text(line: str, db: Path, replica: Path) -> str:
    if line == "0.3":
        return f"dbs:\n  - path: {db}\n    replicas:\n      - type: file\n        path: {replica}\n"
    return f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n"


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


def run_demo(directory: Path | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Replicate, write, restore, compare. Returns a summary; raises if the restore differs."""
    binary = find_binary()
    root = Path(directory or tempfile.mkdtemp(prefix="pylitestream-demo-")).absolute()
    root.mkdir(parents=True, exist_ok=True)
    db, replica, config = root / "demo.db", root / "replica", root / "litestream.yml"
    restored = root / "restored.db"
    for stale in (db, restored, root / "demo.db-wal", root / "demo.db-shm"):
        stale.unlink(missing_ok=True)
    config.write_text(_config_text(binary.line, db, replica))

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, cents INTEGER)")
    conn.commit()

    log = (root / "litestream.log").open("wb")
    daemon = subprocess.Popen(
        [str(binary.path), *api.replicate_argv(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=litestream_env(binary),
    )
    try:
        started = time.monotonic()
        with conn:
            conn.executemany(
                "INSERT INTO orders (item, cents) VALUES (?, ?)",
                [(f"item-{i}", i * 7) for i in range(ROWS)],
            )
        written = time.monotonic()
        conn.close()
        deadline = written + timeout
        while True:
            restored.unlink(missing_ok=True)
            try:
                api.restore(db, restored, config=config, if_replica_exists=True)
                if restored.exists() and _count(restored) == ROWS:
                    break
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"rows did not reach the replica within {timeout:g} s")
            time.sleep(0.2)
        visible = time.monotonic()
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()
    return {
        "litestream": binary.version,
        "directory": str(root),
        "database": str(db),
        "replica": str(replica),
        "restored": str(restored),
        "rows_written": ROWS,
        "rows_restored": _count(restored),
        "seconds_to_replica": round(visible - written, 3),
        "seconds_total": round(visible - started, 3),
    }
