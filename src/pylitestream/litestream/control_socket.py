"""A client for Litestream 0.5's control socket: plain HTTP/1.1 over a Unix socket, in process.

It talks to litestream and to nothing above it. Every answer comes back as a normalised record:

- TXIDs are the 16-hex-digit strings the rest of pylitestream (and litestream's `-txid`) uses,
  although the socket sends integers;
- the socket's `replicated_txid` (the CLI's `replica_txid`) is `replica_txid`;
- a database is `database` (the socket says `path`); times are ISO 8601 UTC to the second.

Every failure is one of the socket errors in pylitestream.errors (SocketError and its
subclasses, UnknownDatabase), each with one line saying what to do. The endpoints are the ones
ControlSocket's methods name (/info, /list, /txid, /sync, /register, ...);
tests/services/test_daemon.py drives each of them against a real Litestream 0.5.17.
"""

from __future__ import annotations

import datetime as dt
import errno
import http.client
import json as jsonlib
import os
import socket
import threading
from typing import Any
from urllib.parse import urlencode

from ..errors import (
    DaemonError,
    DaemonNotRunning,
    SocketError,
    SocketPermissionDenied,
    SocketTimeout,
    UnknownDatabase,
)

Record = dict[str, Any]


def hex_txid(value: Any) -> str | None:
    """An integer TXID from the socket as the 16-hex-digit string `-txid` takes."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return f"{value:016x}"


def txid_number(value: str | None) -> int | None:
    """The integer behind a 16-hex-digit TXID string (None stays None)."""
    return None if value is None else int(value, 16)


def _second(value: Any) -> str | None:
    """'2026-11-27T02:32:24.37Z' (nanoseconds, as litestream sends it) -> '2026-11-27T02:32:24Z'."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.split(".")[0].rstrip("Z"))
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> dt.datetime | None:
    """A record's ISO time back as an aware datetime."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a Unix socket (the standard library's client: httpx costs about four times
    as much CPU per request, which at a thousand /sync requests was most of a `check`)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("litestream", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class ControlSocket:
    """One litestream daemon's control socket. `timeout` bounds each request (seconds); a
    request that waits on the daemon (sync wait, stop) gets its own timeout plus a second.
    Safe to share between threads: each thread keeps its own kept-alive connection."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 10.0) -> None:
        self.path = str(path)
        self.timeout = float(timeout)
        self._local = threading.local()

    # --- the endpoints ----------------------------------------------------------------------

    def info(self) -> Record:
        """{"version", "pid", "uptime_seconds", "started_at", "database_count", "socket"}."""
        data = self._request("GET", "/info")
        return {
            "version": data.get("version"),
            "pid": data.get("pid"),
            "uptime_seconds": data.get("uptime_seconds"),
            "started_at": _second(data.get("started_at")),
            "database_count": data.get("database_count"),
            "socket": self.path,
        }

    def databases(self) -> list[Record]:
        """[{"database", "status" (replicating/open/stopped), "last_sync_at" (or None)}]."""
        data = self._request("GET", "/list")
        entries = data.get("databases") or []
        return [
            {
                "database": entry.get("path"),
                "status": entry.get("status"),
                "last_sync_at": _second(entry.get("last_sync_at")),
            }
            for entry in entries
            if isinstance(entry, dict)
        ]

    def txid(self, db: str) -> Record:
        """{"database", "txid"}: the latest TXID litestream has taken from the WAL."""
        data = self._request("GET", "/txid", params={"path": db}, db=db)
        return {"database": db, "txid": hex_txid(data.get("txid"))}

    def sync(self, db: str, *, wait: bool = False, timeout: float | None = None) -> Record:
        """{"database", "status" (synced_local/synced/no_change), "txid", "replica_txid"}.
        With wait, returns once the replica holds everything (the daemon's own timeout is
        `timeout`, default 30 s)."""
        body: Record = {"path": db, "wait": wait}
        if timeout is not None:
            body["timeout"] = max(1, round(timeout))
        data = self._request("POST", "/sync", json=body, db=db, waits=timeout if wait else None)
        return {
            "database": db,
            "status": data.get("status"),
            "txid": hex_txid(data.get("txid")),
            "replica_txid": hex_txid(data.get("replicated_txid")),
        }

    def register(self, db: str, replica_url: str) -> Record:
        """{"database", "status" (registered/already_registered), "txid": None}."""
        data = self._request("POST", "/register", json={"path": db, "replica_url": replica_url})
        return {"database": db, "status": data.get("status"), "txid": None}

    def unregister(self, db: str, *, timeout: float | None = None) -> Record:
        """{"database", "status" (unregistered/already_unregistered), "txid"}."""
        return self._control("/unregister", db, timeout)

    def start(self, db: str, *, timeout: float | None = None) -> Record:
        """{"database", "status" (started/already_running), "txid"}."""
        return self._control("/start", db, timeout)

    def stop(self, db: str, *, timeout: float | None = None) -> Record:
        """{"database", "status" (stopped/already_stopped), "txid"}."""
        return self._control("/stop", db, timeout)

    # --- plumbing ---------------------------------------------------------------------------

    def _control(self, endpoint: str, db: str, timeout: float | None) -> Record:
        body: Record = {"path": db}
        if timeout is not None:
            body["timeout"] = max(1, round(timeout))
        data = self._request("POST", endpoint, json=body, db=db, waits=timeout)
        return {"database": db, "status": data.get("status"), "txid": hex_txid(data.get("txid"))}

    def _check_file(self) -> None:
        try:
            os.stat(self.path)
        except FileNotFoundError:
            raise DaemonNotRunning(
                f"litestream is not running: its control socket {self.path} does not exist "
                "(start it with 'pylitestream replicate')"
            ) from None
        except PermissionError:
            raise self._denied() from None

    def _denied(self) -> SocketPermissionDenied:
        return SocketPermissionDenied(
            f"permission denied on litestream's control socket {self.path}: it belongs to "
            "another user (run as the user that runs litestream)"
        )

    def _request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Record | None = None,
        json: Record | None = None,
        db: str | None = None,
        waits: float | None = None,
    ) -> Record:
        self._check_file()
        seconds = self.timeout if waits is None else max(self.timeout, waits + 1)
        target = endpoint + (f"?{urlencode(params)}" if params else "")
        body = None if json is None else jsonlib.dumps(json).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):
            connection: _UnixConnection | None = getattr(self._local, "connection", None)
            reused = connection is not None
            if connection is None:
                connection = self._local.connection = _UnixConnection(self.path, seconds)
            try:
                if connection.sock is not None:
                    connection.sock.settimeout(seconds)
                connection.timeout = seconds
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                status, answer = response.status, response.read()
            except TimeoutError:
                self._forget(connection)
                raise SocketTimeout(
                    f"litestream did not answer on its control socket {self.path} within "
                    f"{seconds:g} s (is it frozen or overloaded?)"
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self._forget(connection)
                # A kept-alive connection the daemon closed while idle fails before any answer:
                # once on a fresh connection (every endpoint is safe to repeat).
                if (
                    reused
                    and attempt == 1
                    and isinstance(
                        exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                    )
                ):
                    continue
                raise self._connect_error(exc) from None
            if response.will_close:
                self._forget(connection)
            return self._answer(status, answer, endpoint, db)
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget(self, connection: _UnixConnection) -> None:
        connection.close()
        self._local.connection = None

    def _connect_error(self, exc: Exception) -> SocketError:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, OSError):
            cause = cause.__cause__ or cause.__context__
        code = cause.errno if isinstance(cause, OSError) else None
        if code in (errno.EACCES, errno.EPERM):
            return self._denied()
        if code in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK):
            return DaemonNotRunning(
                f"litestream is not running: nothing listens on its control socket {self.path} "
                "(a stale socket from a crash; start it with 'pylitestream replicate')"
            )
        return SocketError(f"cannot talk to litestream on {self.path}: {exc}")

    def _answer(self, status: int, body: bytes, endpoint: str, db: str | None) -> Record:
        try:
            data = jsonlib.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            text = " ".join(body.decode("utf-8", "replace").split())[:200]
            raise DaemonError(
                f"litestream answered {endpoint} with HTTP {status} and no JSON: {text!r}"
            )
        if status < 400:
            return data
        message = str(data.get("error") or f"HTTP {status}")
        if data.get("details"):
            message += f": {data['details']}"
        if status == 404 and db is not None and "not found" in message:
            raise UnknownDatabase(
                f"litestream does not replicate {db} (see 'pylitestream list'; add it to the "
                "config, or 'pylitestream register')"
            )
        if status == 409:
            message += " (the database is stopped; 'pylitestream start -d DB' resumes it)"
        raise DaemonError(f"litestream {endpoint.lstrip('/')} {db or ''}: {message}".strip())
