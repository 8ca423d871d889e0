"""`pylitestream demo`: replicate a demo database to a local file replica and prove it restores.

No cloud account, no config of the user's: everything lives in one directory, which must not
hold any of the demo's files yet (so nothing of the user's is touched, and the replica always
starts empty: a litestream that does not replicate makes the demo fail). A temporary directory
the demo made itself is removed afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..config.init import replica_lines
from ..errors import CommandFailed, PylitestreamError, UsageError
from ..litestream.binary import find_binary
from ..litestream.runner import litestream_env
from ..litestream.timeouts import default_timeout
from . import placement
from .restore import replicate_argv, restore

ROWS = 1000
FILES = ("demo.db", "replica", "litestream.yml", "restored.db", "litestream.log")


def _config_text(line: str, db: Path, replica: Path) -> str:
    block = [("type", "file"), ("path", str(replica))]
    return "\n".join(["dbs:", f"  - path: {db}", *replica_lines(block, line)]) + "\n"


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


@contextlib.contextmanager
def _workdir(directory: Path | None) -> Iterator[Path]:
    if directory is None:
        made = Path(tempfile.mkdtemp(prefix="pylitestream-demo-"))
        try:
            yield made
        finally:
            shutil.rmtree(made, ignore_errors=True)
        return
    root = directory.absolute()
    form = placement.existing_form(root)
    if form not in (None, "a directory"):
        raise UsageError(f"--dir {root} is {form}, not a directory: pick an empty or new directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --dir {root}: {exc.strerror or exc}") from None
    taken = [
        f"{path.name} ({form})"
        for name in FILES
        for path, form in placement.occupied(root / name, sidecars=name.endswith(".db"))
    ]
    if taken:
        raise UsageError(
            f"--dir {root} already holds {', '.join(taken)}; the demo never touches existing "
            "files: pick an empty or new directory"
        )
    yield root


def run_demo(directory: Path | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Replicate, write, restore, compare. Returns a summary; raises a PylitestreamError (one
    line) if anything fails or the restore differs. timeout defaults to PYLITESTREAM_TIMEOUT."""
    timeout = default_timeout() if timeout is None else timeout
    with _workdir(directory) as root:
        try:
            return _demo(root, timeout, kept=directory is not None)
        except PylitestreamError:
            raise
        except (OSError, sqlite3.Error) as exc:
            raise CommandFailed(f"demo failed: {exc}") from None


def _demo(root: Path, timeout: float, kept: bool) -> dict[str, Any]:
    binary = find_binary()
    db, replica, config = root / "demo.db", root / "replica", root / "litestream.yml"
    restored = root / "restored.db"
    with config.open("x") as handle:  # "x": never over a file that appeared meanwhile
        handle.write(_config_text(binary.line, db, replica))

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, cents INTEGER)")
    conn.commit()

    with (root / "litestream.log").open("xb") as log:
        daemon = subprocess.Popen(
            [str(binary.path), *replicate_argv(config)],
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
        visible = _wait_restorable(db, config, root, restored, written + timeout)
        if visible is None:
            hint = f" (see {root / 'litestream.log'})" if kept else ""
            raise CommandFailed(
                f"demo failed: the {ROWS} rows did not reach the replica within {timeout:g} s"
                + hint
            )
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
    return {
        "litestream": binary.version,
        "directory": str(root) if kept else f"{root} (removed)",
        "database": str(db),
        "replica": str(replica),
        "restored": str(restored),
        "rows_written": ROWS,
        "rows_restored": ROWS,
        "seconds_to_replica": round(visible - written, 3),
        "seconds_total": round(visible - started, 3),
    }


def _wait_restorable(
    db: Path, config: Path, root: Path, restored: Path, deadline: float
) -> float | None:
    """Restore into a private scratch file until it holds every row; then keep that copy as
    `restored`. Returns when that happened, or None at the deadline."""
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        probe = root / f".probe-{attempt}.db"
        try:
            got = restore(db, probe, config=config, if_replica_exists=True)
            if got is not None and _count(probe) == ROWS:
                now = time.monotonic()
                placement.place(probe, restored)
                return now
        except (PylitestreamError, sqlite3.Error):
            pass
        finally:
            for leftover in (probe, Path(f"{probe}-wal"), Path(f"{probe}-shm")):
                leftover.unlink(missing_ok=True)
        time.sleep(0.2)
    return None
