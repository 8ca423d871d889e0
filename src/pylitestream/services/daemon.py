"""The running daemon's commands: info, list, sync, txid, register, unregister, start, stop.

Each is one request to Litestream 0.5's control socket (control_socket.ControlSocket), found
through the config's `socket:` section. On 0.3, which has no socket, each is refused with one
line naming what to use instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import socket_path
from ..errors import SocketNotConfigured
from ..litestream.control_socket import ControlSocket
from .prepare import checked_config, database_arg

if TYPE_CHECKING:
    pass

Record = dict[str, Any]
PathLike = str | os.PathLike[str]

INFO_KEYS = ("version", "pid", "uptime_seconds", "started_at", "database_count", "socket")
LIST_KEYS = ("database", "status", "last_sync_at")
SYNC_KEYS = ("database", "status", "txid", "replica_txid")
CONTROL_KEYS = ("database", "status", "txid")

# What Litestream 0.3 offers in place of each socket command.
ON_03 = {
    "info": "use 'pylitestream ps' to see the replicate pylitestream started",
    "list": "use 'pylitestream databases' and 'pylitestream ps'",
    "sync": "0.3 uploads every second on its own; 'pylitestream verify' proves a row arrived",
    "txid": "0.3 has no TXIDs; use 'pylitestream generations' or 'pylitestream wal' for positions",
    "register": "add the database to the config and restart 'pylitestream replicate'",
    "unregister": "remove the database from the config and restart 'pylitestream replicate'",
    "start": "restart 'pylitestream replicate' (0.3 starts and stops all databases together)",
    "stop": "stop 'pylitestream replicate' (0.3 starts and stops all databases together)",
}


def connect(
    command: str, config: PathLike | None = None, timeout: float | None = None
) -> ControlSocket:
    """The control socket of the daemon for `config`; refuses on 0.3 and when the config has
    no socket, naming the fix."""
    from ..errors import UnsupportedOnVersion, UsageError
    from ..litestream.binary import find_binary
    from ..litestream.timeouts import default_timeout

    binary = find_binary()
    if not binary.profile.control_socket:
        raise UnsupportedOnVersion(
            f"Litestream 0.3 has no control socket, so no '{command}'; {ON_03[command]}"
        )
    path = Path(checked_config(binary, config)).absolute()
    socket = socket_path(path)
    if socket is None:
        raise SocketNotConfigured(
            f"{path} does not enable litestream's control socket; add 'socket: {{enabled: true, "
            "path: /run/user/UID/litestream.sock}' (the 'socket.enabled' key) and restart "
            "replicate, or write a new config with 'pylitestream init'"
        )
    seconds = default_timeout() if timeout is None else float(timeout)
    if seconds <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {seconds:g}")
    return ControlSocket(socket, timeout=seconds)


def database_path(db: PathLike | None) -> str:
    """The absolute path the daemon knows a database by (see 'pylitestream list')."""
    return database_arg(db, listed_by="list")


def daemon_info(*, config: PathLike | None = None, timeout: float | None = None) -> Record:
    """The running daemon: {"version", "pid", "uptime_seconds", "started_at", "database_count",
    "socket"} (`pylitestream info --json`)."""
    return connect("info", config, timeout).info()


def daemon_databases(
    *, config: PathLike | None = None, timeout: float | None = None
) -> list[Record]:
    """The daemon's databases: [{"database", "status", "last_sync_at"}] (`list --json`)."""
    return connect("list", config, timeout).databases()


def sync(
    db: PathLike | None = None,
    *,
    wait: bool = False,
    config: PathLike | None = None,
    timeout: float | None = None,
) -> list[Record]:
    """Sync `db` (default: every database the daemon replicates) now. Without wait this only
    moves the WAL into local LTX files; with wait it also uploads, and returns once the replica
    holds it. [{"database", "status", "txid", "replica_txid"}]."""
    client = connect("sync", config, timeout)
    names = [database_path(db)] if db is not None else [r["database"] for r in client.databases()]
    return [client.sync(name, wait=wait, timeout=client.timeout) for name in names]


def txid(
    db: PathLike | None, *, config: PathLike | None = None, timeout: float | None = None
) -> Record:
    """{"database", "txid"}: the latest TXID the daemon has taken from `db`'s WAL."""
    return connect("txid", config, timeout).txid(database_path(db))


def register(
    db: PathLike | None,
    replica_url: str | None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
) -> Record:
    """Start replicating `db` to `replica_url` in the running daemon (until it restarts; add
    it to the config to keep it). {"database", "status", "txid"}."""
    from ..errors import UsageError

    client = connect("register", config, timeout)
    path = database_path(db)
    if not replica_url:
        raise UsageError("register needs --replica URL (e.g. s3://bucket/path or file:///dir)")
    return client.register(path, replica_url)


def unregister(
    db: PathLike | None, *, config: PathLike | None = None, timeout: float | None = None
) -> Record:
    """Stop replicating `db` and forget it (until the daemon restarts). {"database", "status",
    "txid"}."""
    client = connect("unregister", config, timeout)
    return client.unregister(database_path(db), timeout=client.timeout)


def start(
    db: PathLike | None, *, config: PathLike | None = None, timeout: float | None = None
) -> Record:
    """Resume replicating a stopped database. {"database", "status", "txid"}."""
    client = connect("start", config, timeout)
    return client.start(database_path(db), timeout=client.timeout)


def stop(
    db: PathLike | None, *, config: PathLike | None = None, timeout: float | None = None
) -> Record:
    """Pause replicating `db` after a final sync. {"database", "status", "txid"}."""
    client = connect("stop", config, timeout)
    return client.stop(database_path(db), timeout=client.timeout)
