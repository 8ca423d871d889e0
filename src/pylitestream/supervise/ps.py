"""`ps`: the litestream daemons pylitestream started, checked against the live processes, and 0.5's
control socket when the config enables it."""

from __future__ import annotations

from typing import Any

from ..litestream.binary import find_binary
from .process import is_litestream
from .state import STATE_KEYS, read_state, state_dir

Record = dict[str, Any]


# --- ps -----------------------------------------------------------------------------------------


def processes(*, timeout: float = 5.0) -> list[Record]:
    """What pylitestream started: each state file checked against the live process, plus 0.5's
    control socket when the config enables it. Keys: STATE_KEYS + "socket", "info",
    "databases"."""
    directory = state_dir()
    rows = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        record = read_state(path)
        if record is None:
            continue
        pid = record.get("pid")
        alive = isinstance(pid, int) and is_litestream(pid, record.get("config"))
        row: Record = {key: record.get(key) for key in STATE_KEYS}
        row["status"] = "running" if alive else "stale"
        row["state_file"] = str(path)
        row.update(_socket_view(record.get("config"), timeout) if alive else _NO_SOCKET)
        rows.append(row)
    return rows


_NO_SOCKET: Record = {"socket": None, "info": None, "databases": None}


def _socket_view(config: str | None, timeout: float) -> Record:
    """0.5's control socket, when the config enables it: the daemon's info and databases."""
    from ..config import socket_path
    from ..litestream.control_socket import ControlSocket, SocketError

    try:
        enabled = socket_path(config or "")
    except (OSError, ValueError):
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
