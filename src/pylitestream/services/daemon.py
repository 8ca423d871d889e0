"""The running daemon's commands: info, list, sync, txid, register, unregister, start, stop.

Each is one request to Litestream 0.5's control socket (control_socket.ControlSocket), found
through the config's `socket:` section. On 0.3, which has no socket, each is refused with one
line naming what to use instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..litestream.control_socket import DEFAULT_PATH, ControlSocket, SocketNotConfigured

if TYPE_CHECKING:
    from ..litestream.binary import Binary

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


def socket_of(config: PathLike) -> str | None:
    """The control socket path a config enables, or None when it does not enable one."""
    from ..config import load_config

    section = load_config(config).get("socket")
    if not isinstance(section, dict) or not section.get("enabled"):
        return None
    return str(Path(str(section.get("path") or DEFAULT_PATH)).expanduser().absolute())


def checked_config(config: PathLike | None, binary: Binary) -> Path:
    """The config, found and checked the way every command checks it (cached verdicts)."""
    from ..config import find_config, validate_config
    from ..litestream.runner import litestream_env

    path = find_config(config).absolute()
    validate_config(path, binary.line, litestream_env(binary))
    return path


def connect(
    command: str, config: PathLike | None = None, timeout: float | None = None
) -> ControlSocket:
    """The control socket of the daemon for `config`; refuses on 0.3 and when the config has
    no socket, naming the fix."""
    from ..errors import UnsupportedOnVersion, UsageError
    from ..litestream.binary import find_binary
    from ..litestream.runner import default_timeout

    binary = find_binary()
    if binary.line == "0.3":
        raise UnsupportedOnVersion(
            f"Litestream 0.3 has no control socket, so no '{command}'; {ON_03[command]}"
        )
    path = checked_config(config, binary)
    socket = socket_of(path)
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
    """The absolute path the daemon knows a database by."""
    from ..errors import DatabaseRequired

    if db is None or str(db) == "":
        raise DatabaseRequired("this command needs --database PATH (see 'pylitestream list')")
    return str(Path(db).expanduser().absolute())


# --- the API ----------------------------------------------------------------------------------


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


# --- the socket's place: init writes it, the config check guards it ----------------------------


def runtime_dir() -> Path:
    """pylitestream's per-user runtime directory (platformdirs): $XDG_RUNTIME_DIR/pylitestream,
    /tmp/runtime-UID/pylitestream without it, a private per-user folder on macOS. Never
    /var/run, where only root may create a socket."""
    import warnings

    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "XDG_RUNTIME_DIR is not set, falling back to /tmp/..."
        return Path(user_runtime_dir("pylitestream"))


def default_socket_path() -> Path:
    return runtime_dir() / "litestream.sock"


def socket_problem(path: str, permissions: str | None) -> str | None:
    """What is wrong with a control socket at `path` (litestream creates it there with
    `permissions`), or None. pylitestream's own runtime directory is created (mode 0700) when
    missing: it lives on a tmpfs that a reboot empties."""
    import stat

    directory = Path(path).expanduser().absolute().parent
    if directory == runtime_dir() and not directory.exists():
        missing = [directory, *(p for p in directory.parents if not p.exists())]
        for each in reversed(missing):  # each one private, as platformdirs expects its parents
            each.mkdir(mode=0o700, exist_ok=True)
    if not directory.is_dir():
        return (
            f"directory {directory} of the control socket path '{path}' does not exist, so "
            f"litestream cannot create its socket; create it (mkdir -m 700 {directory}) or use "
            f"the per-user default {default_socket_path()}"
        )
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        return (
            f"directory {directory} of the control socket is open to other users (mode "
            f"{mode:04o}); make it private (chmod 700 {directory}) or use the per-user "
            f"default {default_socket_path()}"
        )
    if permissions is not None:
        raw = permissions.strip()
        try:
            bits = int(raw, 8) if raw.startswith("0") else int(raw)
        except ValueError:
            return f"socket permissions '{raw}' are not a file mode such as 0600"
        if bits & 0o077:
            return (
                f"socket permissions {bits:04o} let other users drive litestream (stop "
                "replication, register databases); use 0600"
            )
    return None
