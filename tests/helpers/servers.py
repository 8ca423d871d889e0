"""Servers the tests start and stop by pid: Gunicorn with pylitestream's hooks, and litestream
replicating with its control socket on. No pytest here, so bench/ can import it too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import pid_alive, serve_http, stop_process, wait_for, write_config

from pylitestream import supervise

WSGI_APP = textwrap.dedent(
    """
    import os, sqlite3

    def app(environ, start_response):
        conn = sqlite3.connect(os.environ["APP_DB"])
        with conn:
            conn.execute("INSERT INTO items (name) VALUES (?)", (environ["PATH_INFO"][1:],))
        conn.close()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    """
)


class Server:
    def __init__(
        self, root: Path, config: Path, db: Path, *, app: str = "wsgiapp:app",
        config_from_env: bool = True, **env: str,
    ) -> None:  # fmt: skip
        """Gunicorn serving `app`. config_from_env=False leaves LITESTREAM_CONFIG unset, so the
        hooks must find `config` themselves (in Django's settings.LITESTREAM, say)."""
        self.log_path = root / f"gunicorn-{len(list(root.glob('gunicorn-*.log')))}.log"
        self.config = config
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "python:pylitestream.gunicorn",
             "--bind", "127.0.0.1:0", "--workers", "2", "--chdir", str(root),
             # Short timeouts: orphaned workers notice a dead arbiter within 2 s, not 15 s, and a
             # SIGTERM that meets a booting worker waits 5 s for it, not the default 30 s.
             "--timeout", "4", "--graceful-timeout", "5", "--no-control-socket", app],
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **({"LITESTREAM_CONFIG": str(config)} if config_from_env else {}),
                 "APP_DB": str(db), "PYLITESTREAM_ENV": "production", **env},
        )  # fmt: skip
        log.close()
        self.workers: set[int] = set()

    def litestream(self) -> dict[str, Any]:
        """Wait until the state file names a live litestream started by this arbiter."""

        def ready() -> dict[str, Any] | None:
            rows = [r for r in supervise.processes() if r["config"] == str(self.config)]
            if rows and rows[0]["status"] == "running":
                return rows[0]
            return None

        row: dict[str, Any] = wait_for(ready, 20)
        assert row["started_by"] == "gunicorn" and row["supervisor_pid"] == self.proc.pid
        workers = wait_for(lambda: len(k := children(self.proc.pid) - {row["pid"]}) >= 2 and k)
        self.workers |= workers
        return row

    def port(self) -> int:
        """Gunicorn picks a free port itself (port 0): no race with other tests for one."""
        match = wait_for(lambda: re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log()))
        return int(match[1])

    def get(self, name: str) -> None:
        url = f"http://127.0.0.1:{self.port()}/{name}"
        with urllib.request.urlopen(url, timeout=10) as response:
            self.workers.add(int(response.read()))

    def log(self) -> str:
        return self.log_path.read_text()

    def cleanup(self) -> list[int]:
        """Stop the arbiter and kill any worker left; return the workers that were left."""
        stop_process(self.proc)
        left = [pid for pid in self.workers if pid_alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        return left


def children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return {int(c) for task in tasks for c in (task / "children").read_text().split()}


@dataclass
class Daemon:
    config: Path
    db: Path
    replica: Path
    socket: Path
    proc: subprocess.Popen[bytes]
    log: Path


def socket_config(root: Path, line: str, dbs: list[Path], **replica: str) -> Path:
    """A config replicating `dbs` to file replicas under root/replica, socket enabled."""
    config = write_config(
        root / "litestream.yml",
        line,
        [(db, {"type": "file", "path": str(root / "replica" / db.name), **replica}) for db in dbs],
        socket=root / "ls.sock",
    )
    return config


def assert_the_arbiter_replicates(server: Server, config: Path) -> None:
    """The Gunicorn arbiter of `server` started litestream for `config` (found from the app's
    own settings), and a SIGTERM to the arbiter stops both and leaves nothing running."""
    try:
        row = server.litestream()
        assert row["config"] == str(config) and supervise.is_litestream(row["pid"], str(config))
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0, server.log()
    finally:
        left = server.cleanup()
    assert not pid_alive(row["pid"]) and left == []
    assert f"replicating {config}" in server.log()


class Pings(list[tuple[str, str]]):
    """The pings a ping_server received, in order: (path with query, body)."""


@contextmanager
def ping_server() -> Iterator[tuple[str, Pings]]:
    """A healthchecks.io stand-in on loopback: (its base URL, the pings it receives). Every POST
    is answered 200."""
    from http.server import BaseHTTPRequestHandler

    received = Pings()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append((self.path, self.rfile.read(length).decode()))
            self.send_response(200)
            self.end_headers()

    with serve_http(Handler) as base:
        yield base, received
