"""A real Gunicorn with pylitestream's server hooks, serving a WSGI app that writes to SQLite,
against real litestream 0.3.13 and 0.5.17. Every process is checked by pid at the end."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from conftest import (
    Litestream,
    create_db,
    pid_alive,
    read_rows,
    wait_for,
    write_config,
)
from servers import WSGI_APP, Server

import pylitestream
from pylitestream import supervise
from pylitestream.integrations import gunicorn as hooks


def _setup(ls: Litestream, root: Path) -> tuple[Path, Path]:
    (root / "wsgiapp.py").write_text(WSGI_APP)
    db = root / "app.db"
    create_db(db)
    # A long interval: the rows reach the replica only through litestream's final sync.
    replica = {"type": "file", "path": str(root / "replica"), "sync-interval": "1h"}
    return db, write_config(root / "litestream.yml", ls.line, [(db, replica)])


def _local_state(db: Path) -> list[tuple[str, int, int]]:
    """litestream's own files beside the database (0.3's shadow WAL, 0.5's local LTX): they
    change once litestream has taken in a write, which its final sync then ships."""
    root = db.parent / f".{db.name}-litestream"
    return sorted(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
    )


def _restored(db: Path, config: Path, out: Path) -> list[str]:
    out.unlink(missing_ok=True)
    pylitestream.restore(db, out, config=config)
    return read_rows(out)


def test_gunicorn_sigterm_then_sigkill_leaves_no_litestream(ls: Litestream, tmp_path: Path) -> None:
    db, config = _setup(ls, tmp_path)

    # SIGTERM to the arbiter: litestream is stopped after the workers, with its final sync.
    server = Server(tmp_path, config, db)
    try:
        first = server.litestream()["pid"]
        assert supervise.is_litestream(first, str(config))
        for i in range(6):
            server.get(f"term-{i}")
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0, server.log()
    finally:
        left = server.cleanup()
    assert not pid_alive(first) and left == []
    assert "pylitestream: litestream stopped" in server.log()
    assert [r for r in supervise.processes() if r["config"] == str(config)] == []
    assert _restored(db, config, tmp_path / "r1.db") == [f"term-{i}" for i in range(6)]

    # SIGKILL to the arbiter: PR_SET_PDEATHSIG still stops litestream, with a final sync.
    server = Server(tmp_path, config, db)
    try:
        second = server.litestream()["pid"]
        assert second != first
        wait_for(lambda: _local_state(db) != [], 15)  # litestream's first look at the database
        before = _local_state(db)
        server.get("kill-0")
        # Only a write litestream has taken in can survive the kill; on a loaded machine its
        # once-a-second look may come late, so wait for it rather than for a fixed time.
        wait_for(lambda: _local_state(db) != before, 15)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        wait_for(lambda: not pid_alive(second), 5)
        # The orphaned workers notice their arbiter is gone (--timeout 4: within about 2 s).
        wait_for(lambda: not any(pid_alive(pid) for pid in server.workers), 10)
    finally:
        left = server.cleanup()
    assert left == []
    assert _restored(db, config, tmp_path / "r2.db")[-1] == "kill-0"
    stale = [r for r in supervise.processes() if r["config"] == str(config)]
    assert [r["status"] for r in stale] == ["stale"]  # replaced by the next start


def test_gunicorn_stops_when_litestream_dies(ls: Litestream, tmp_path: Path) -> None:
    db, config = _setup(ls, tmp_path)
    server = Server(tmp_path, config, db)
    try:
        pid = server.litestream()["pid"]
        server.get("a")
        os.kill(pid, signal.SIGKILL)
        assert server.proc.wait(30) == 1, server.log()
    finally:
        left = server.cleanup()
    assert "stopping the app (on-litestream-exit=stop)" in server.log()
    assert left == []


def test_gunicorn_restarts_litestream_when_asked(ls: Litestream, tmp_path: Path) -> None:
    db, config = _setup(ls, tmp_path)
    server = Server(tmp_path, config, db, PYLITESTREAM_ON_LITESTREAM_EXIT="restart")
    try:
        first = server.litestream()["pid"]
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: (p := server.litestream()["pid"]) != first and p)
        server.get("after-restart")  # the server kept serving
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0, server.log()
    finally:
        left = server.cleanup()
    assert not pid_alive(second) and not pid_alive(first) and left == []
    assert "restarting it in 1 s" in server.log()


def test_gunicorn_hooks_are_off_outside_production(tmp_path: Path) -> None:
    assert hooks.enabled({"PYLITESTREAM_ENV": "production"})
    assert not hooks.enabled({})
    assert not hooks.enabled({"PYLITESTREAM_ENV": "development"})
    assert hooks.enabled({"PYLITESTREAM_REPLICATE": "1"})
    assert not hooks.enabled({"PYLITESTREAM_ENV": "production", "PYLITESTREAM_REPLICATE": "0"})
    assert hooks.on_exit_mode({}) == "stop"
    assert hooks.on_exit_mode({"PYLITESTREAM_ON_LITESTREAM_EXIT": "restart"}) == "restart"
    # The one-line form: a gunicorn.conf.py that star-imports the hooks exposes exactly them.
    namespace: dict[str, Any] = {}
    exec("from pylitestream.gunicorn import *", namespace)
    assert {k for k in namespace if not k.startswith("__")} == {"when_ready", "on_exit"}
    assert hooks.__all__ == ["on_exit", "when_ready"]
