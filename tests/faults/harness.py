"""Fault injection against real processes, shared by tests/faults and bench/bench_faults.py (no
pytest here): a loopback TCP fault proxy for S3, the supervisors pylitestream offers started as
real processes, a writer that logs every committed row, and row counting after a restore."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import stop_process, wait_for, write_config

# --- a TCP proxy that can reset or stall connections ----------------------------------------


class FaultProxy:
    """Forwards 127.0.0.1:port to `upstream` (host, port). mode "pass" forwards; "reset" closes
    every connection, new and open, with RST; "stall" accepts and forwards nothing."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        assert mode in ("pass", "reset", "stall")
        self.mode = mode
        if mode == "reset":
            with self._lock:
                conns, self._conns = self._conns, []
            for conn in conns:
                _reset(conn)

    def close(self) -> None:
        self._closed = True
        self._server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _reset(conn)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.mode == "reset":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "stall" and not self._closed:
                    time.sleep(0.05)
                if self.mode == "reset" or self._closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            _reset(sock) if self.mode == "reset" else _close(sock)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


# --- configs ------------------------------------------------------------------------------------


def replica_block(
    kind: str, root: Path, s3: dict[str, Any] | None, interval: str
) -> dict[str, Any]:
    if kind == "file":
        return {"type": "file", "path": str(root / "replica"), "sync-interval": interval}
    assert s3 is not None
    return {**s3, "sync-interval": interval}


def fault_config(
    line: str, root: Path, db: Path, replica: dict[str, Any], monitor: str | None = None
) -> Path:
    path = write_config(root / "litestream.yml", line, [(db, replica)])
    if monitor:
        import yaml

        data = yaml.safe_load(path.read_text())
        data["dbs"][0]["monitor-interval"] = monitor
        path.write_text(yaml.safe_dump(data))
    return path


# --- supervisors as real processes ----------------------------------------------------------------

# An app for `run`: it sleeps until SIGTERM and then exits 0; the test writes the rows itself.
SLEEPER = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n" \
    "time.sleep(3600)\n"  # fmt: skip

REPLICATOR_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    import pylitestream
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with pylitestream.Replicator(config=sys.argv[1]):
        print("ready", flush=True)
        time.sleep(3600)
    """
)

SUPERVISORS = ("replicate", "run", "Replicator")


def start_supervisor(
    kind: str, config: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `pylitestream replicate`, `pylitestream run -- SLEEPER` or a script holding a
    Replicator, logging to `log`. The caller stops it by pid (stop_process)."""
    python = sys.executable
    if kind == "replicate":
        argv = [python, "-m", "pylitestream", "replicate", "-c", str(config)]
    elif kind == "run":
        argv = [python, "-m", "pylitestream", "run", "-c", str(config), "--", python, "-c", SLEEPER]
    else:
        argv = [python, "-c", REPLICATOR_SCRIPT, str(config)]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def litestream_pids(config: Path) -> list[int]:
    """Every live `litestream replicate` process for `config`, found in /proc (not in our state
    files, so a daemon pylitestream lost track of is counted too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z" or not argv or Path(argv[0].decode(errors="replace")).name != "litestream":
            continue
        if b"replicate" in argv and str(config).encode() in argv:
            found.append(int(entry.name))
    return found


def wait_daemon(config: Path, timeout: float = 30) -> int:
    """The pid of the one litestream for `config`, once it has opened its database."""
    pids: list[int] = wait_for(lambda: litestream_pids(config), timeout)
    return pids[0]


def kill_all(config: Path) -> list[int]:
    """SIGKILL every litestream for `config`; return the pids that were found (orphans)."""
    pids = litestream_pids(config)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


# --- rows -----------------------------------------------------------------------------------------


@dataclass
class Writer:
    """Commits numbered rows to `db` and remembers when each was committed."""

    db: Path
    committed: dict[int, float] = field(default_factory=dict)
    _next: int = 0

    def create(self) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.close()

    def commit(self, count: int = 1) -> list[int]:
        conn = sqlite3.connect(self.db, timeout=10)
        ids = []
        try:
            for _ in range(count):
                with conn:
                    conn.execute("INSERT INTO items (name) VALUES (?)", (f"row-{self._next}",))
                self.committed[self._next] = time.monotonic()
                ids.append(self._next)
                self._next += 1
        finally:
            conn.close()
        return ids

    def checkpoint(self) -> None:
        conn = sqlite3.connect(self.db, timeout=10)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


def restored_ids(db: Path, config: Path, out: Path) -> tuple[set[int], str]:
    """The row numbers in a fresh restore of `db`, and its integrity_check verdict."""
    import pylitestream

    for leftover in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        leftover.unlink(missing_ok=True)
    if pylitestream.restore(db, out, config=config, if_replica_exists=True) is None:
        return set(), "ok"
    conn = sqlite3.connect(out)
    try:
        verdict = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        names = [r[0] for r in conn.execute("SELECT name FROM items")]
    finally:
        conn.close()
    return {int(n.split("-")[1]) for n in names}, verdict


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, 40)
