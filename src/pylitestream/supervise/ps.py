"""`ps`: the litestream daemons pylitestream started, checked against the live processes, and 0.5's
control socket when the config enables it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .. import logs
from ..litestream.binary import find_binary
from .process import is_litestream
from .state import STATE_KEYS, read_state, remove_stale_state, state_dir, state_path

Record = dict[str, Any]

log = logs.get(__name__)


# --- ps -----------------------------------------------------------------------------------------


def processes(*, timeout: float = 5.0, prune: bool = False) -> list[Record]:
    """What pylitestream started: each state file checked against the live process, plus 0.5's
    control socket when the config enables it. Keys: STATE_KEYS + "socket", "info",
    "databases". With prune, the state files of daemons that are gone (status "stale") are
    removed, and left out."""
    directory = state_dir()
    rows = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        record = read_state(path)
        if record is None:
            continue
        pid = record.get("pid")
        alive = isinstance(pid, int) and is_litestream(pid, record.get("config"))
        row: Record = {key: record.get(key) for key in STATE_KEYS}
        if not alive and prune and remove_stale_state(path):
            log.info(f"removed stale state file {path} (pid {pid} is not running)")
            continue
        row["status"] = "running" if alive else "stale"
        row["state_file"] = str(path)
        row.update(_socket_view(record.get("config"), timeout) if alive else _NO_SOCKET)
        rows.append(row)
    return rows


_NO_SOCKET: Record = {"socket": None, "info": None, "databases": None}


def _socket_view(config: str | None, timeout: float) -> Record:
    """0.5's control socket, when the config enables it: the daemon's info and databases."""
    from ..config import socket_path
    from ..errors import SocketError, UsageError
    from ..litestream.control_socket import ControlSocket

    try:
        enabled = socket_path(config or "")
    except (OSError, ValueError, UsageError):  # a config removed or broken since the start
        return dict(_NO_SOCKET)
    if enabled is None:
        return dict(_NO_SOCKET)
    view: Record = {"socket": enabled, "info": None, "databases": None}
    if not find_binary().profile.control_socket:
        return view
    client = ControlSocket(enabled, timeout=timeout)
    try:
        view["info"] = client.info()
        view["databases"] = client.databases()
    except SocketError:
        pass  # the socket is optional; the state file is the record
    return view


# --- the daemon of one config, as the dashboard shows it ----------------------------------------

DAEMON_KEYS = ("running", "pid", "version", "uptime_seconds", "started_at", "started_by",
               "state_file", "socket", "error")  # fmt: skip


def daemon_status(*, config: str | os.PathLike[str] | None = None, timeout: float = 5.0) -> Record:
    """The litestream replicate for `config`, without systemctl or ps (so it works in a
    container): DAEMON_KEYS. On 0.5 the control socket answers (pid, version, uptime); the
    state file pylitestream writes when it starts litestream says who started it; on 0.3 the
    state file, then /proc. Never raises for a daemon that is down: running is False then."""
    import datetime as dt

    from ..config import socket_path as socket_of
    from ..errors import SocketError
    from ..litestream.control_socket import ControlSocket
    from ..services.prepare import checked_config

    binary = find_binary()
    path = Path(checked_config(binary, config))
    row: Record = dict.fromkeys(DAEMON_KEYS)
    row["running"] = False
    state_file = state_path(path)
    state = read_state(state_file)
    if state is not None:
        row["state_file"] = str(state_file)
        if is_litestream(state.get("pid"), path):
            row.update(running=True, pid=state.get("pid"), version=state.get("litestream"))
            row.update(started_at=state.get("started_at"), started_by=state.get("started_by"))
    socket = socket_of(path) if binary.profile.control_socket else None
    row["socket"] = socket
    if socket is not None:
        try:
            info = ControlSocket(socket, timeout=timeout).info()
        except SocketError as exc:
            row.update(running=False, error=str(exc))
        else:
            row.update(running=True, pid=info.get("pid"), version=info.get("version"),
                       uptime_seconds=info.get("uptime_seconds"),
                       started_at=info.get("started_at"))  # fmt: skip
            if not (state and state.get("pid") == info.get("pid")):
                row["started_by"] = "not pylitestream (found through the control socket)"
    elif not row["running"] and sys.platform.startswith("linux"):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and is_litestream(int(entry.name), path):
                row.update(running=True, pid=int(entry.name), version=binary.version,
                           started_by="not pylitestream (found in /proc)")  # fmt: skip
                break
    if row["running"] and row["uptime_seconds"] is None and row["started_at"]:
        try:
            started = dt.datetime.fromisoformat(str(row["started_at"]).replace("Z", "+00:00"))
            age = dt.datetime.now(dt.timezone.utc) - started
            row["uptime_seconds"] = max(int(age.total_seconds()), 0)
        except ValueError:
            pass
    return row
