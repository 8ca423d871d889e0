"""The control socket client's connection handling, against a small HTTP server of our own on a
Unix socket that behaves as litestream's does, or worse: a kept-alive connection closed by the
server between two requests, many threads sharing one client, an answer that never comes, and
one that is not JSON. Every endpoint against the real daemon is in tests/services/test_daemon.py."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from pylitestream.errors import DaemonError, SocketTimeout
from pylitestream.litestream.control_socket import ControlSocket

Reply = Callable[[bytes], bytes | None]
"""The request's bytes -> the whole response to send (None: send nothing and hang up)."""


def answer(body: object, status: str = "200 OK") -> bytes:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
    return head.encode() + b"\r\n\r\n" + data


@contextmanager
def unix_server(path: Path, reply: Reply, *, requests_per_connection: int) -> Iterator[list[int]]:
    """Serves `reply` on `path`, closing each connection after `requests_per_connection`
    requests without saying so (as a server closing an idle kept-alive connection does).
    Yields a list that counts the connections accepted."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(64)
    server.settimeout(0.1)  # closing a socket does not wake an accept() blocked on it
    accepted: list[int] = []
    done = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            for _ in range(requests_per_connection):
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                head, _, body = request.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                while len(body) < length:
                    body += conn.recv(65536)
                response = reply(head + b"\r\n\r\n" + body)
                if response is None:
                    done.wait(10)
                    return
                conn.sendall(response)

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            accepted.append(1)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        done.set()
        server.close()
        thread.join(5)


def info_reply(request: bytes) -> bytes:
    assert request.startswith(b"GET /info HTTP/1.1")
    return answer({"version": "0.5.17", "pid": 7, "started_at": "2026-12-05T10:00:00.5Z"})


def test_a_connection_the_daemon_closed_is_replaced(tmp_path: Path) -> None:
    """Each request after the first finds its kept-alive connection closed by the server: the
    client opens a fresh one and the caller never sees it."""
    sock = tmp_path / "ls.sock"
    with unix_server(sock, info_reply, requests_per_connection=1) as accepted:
        client = ControlSocket(sock, timeout=2)
        for _ in range(3):
            assert client.info()["started_at"] == "2026-12-05T10:00:00Z"
    assert len(accepted) == 3


def test_threads_share_one_client_with_a_connection_each(tmp_path: Path) -> None:
    def sync_reply(request: bytes) -> bytes:
        body = json.loads(request.partition(b"\r\n\r\n")[2])
        number = int(body["path"].rsplit("-", 1)[1])
        return answer({"status": "synced_local", "path": body["path"], "txid": number,
                       "replicated_txid": number - 1})  # fmt: skip

    sock = tmp_path / "ls.sock"
    with unix_server(sock, sync_reply, requests_per_connection=10_000) as accepted:
        client = ControlSocket(sock, timeout=5)
        with ThreadPoolExecutor(max_workers=4) as pool:
            found = list(pool.map(client.sync, [f"/db-{n}" for n in range(1, 401)]))
    assert [r["txid"] for r in found] == [f"{n:016x}" for n in range(1, 401)]
    assert [r["replica_txid"] for r in found] == [f"{n - 1:016x}" for n in range(1, 401)]
    assert len(accepted) <= 4  # kept alive: one connection per thread


def test_an_answer_that_never_comes_is_a_timeout(tmp_path: Path) -> None:
    sock = tmp_path / "ls.sock"
    with unix_server(sock, lambda request: None, requests_per_connection=1):
        started = time.monotonic()
        with pytest.raises(SocketTimeout, match="did not answer on its control socket"):
            ControlSocket(sock, timeout=0.5).info()
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("response", "said"),
    [
        (answer(b"<html>oops</html>", "502 Bad Gateway"), "with HTTP 502 and no JSON"),
        (answer({"error": "boom", "details": "disk"}, "500 Internal Server Error"), "boom: disk"),
        (answer({"error": "stopped"}, "409 Conflict"), "'pylitestream start -d DB' resumes it"),
    ],
)
def test_a_bad_answer_is_one_daemon_error(tmp_path: Path, response: bytes, said: str) -> None:
    sock = tmp_path / "ls.sock"
    with (
        unix_server(sock, lambda request: response, requests_per_connection=1),
        pytest.raises(DaemonError) as raised,
    ):
        ControlSocket(sock, timeout=2).sync("/srv/app.db")
    assert said in str(raised.value) and "\n" not in str(raised.value)
