"""Plain helpers shared by the tests (through conftest) and the benchmarks in bench/:
databases, configs, processes and a moto S3 server. No pytest here, so bench/ can import it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def write_config(path: Path, line: str, dbs: list[tuple[Path, dict[str, Any]]],
                 socket: Path | None = None) -> Path:  # fmt: skip
    """A litestream.yml in the layout of `line`: 0.3 a `replicas:` list, 0.5 one `replica:`;
    with `socket`, 0.5's control socket enabled there."""
    import yaml

    entries = []
    for db, replica in dbs:
        entry: dict[str, Any] = {"path": str(db)}
        if line == "0.3":
            entry["replicas"] = [replica]
        else:
            entry["replica"] = replica
        entries.append(entry)
    settings: dict[str, Any] = {"dbs": entries}
    if socket is not None:
        settings["socket"] = {"enabled": True, "path": str(socket)}
    path.write_text(yaml.safe_dump(settings))
    return path


def create_db(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()


def insert_rows(path: Path, names: list[str]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO items (name) VALUES (?)", [(n,) for n in names])
    conn.close()


def read_rows(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM items ORDER BY id")]
    finally:
        conn.close()


def default_sigint() -> None:
    """preexec_fn for a child a test will Ctrl-C: a shell that started the suite in the
    background (`&`, nohup) leaves SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll `check` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the daemon may not have written anything yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last error: {last_error})")


def stop_process(proc: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """SIGTERM by pid, wait, SIGKILL if it does not go: nothing a test starts outlives it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def start_replicate(config: Path, log: Path, count: int = 1) -> subprocess.Popen[bytes]:
    """`pylitestream replicate --config CONFIG` (it execs litestream), logging to `log`, once
    litestream has opened `count` databases."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylitestream", "replicate", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: log.read_text().count("initialized db") >= count, 30)
    except BaseException:
        stop_process(proc)
        raise
    return proc


@contextmanager
def replicate_process(config: Path, log: Path, count: int = 1) -> Iterator[subprocess.Popen[bytes]]:
    """start_replicate, stopped by its pid at the end."""
    proc = start_replicate(config, log, count)
    try:
        yield proc
    finally:
        stop_process(proc)
        assert not pid_alive(proc.pid)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- S3: moto's real S3 API on loopback ---------------------------------------------------------


@dataclass
class S3Server:
    endpoint: str
    proc: subprocess.Popen[bytes]

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        stop_process(self.proc)


S3_KEY_ID = "AKIAPYLITESTREAMTEST"
S3_SECRET = "pylitestream-test-secret-value"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_s3() -> S3Server:
    """Start moto_server on 127.0.0.1 and a free port; the caller stops it (by pid)."""
    import urllib.request

    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(endpoint + "/", timeout=1).status == 200, 30)
    except BaseException:
        stop_process(proc)
        raise
    return S3Server(endpoint, proc)


def s3_credentials(server: S3Server, bucket: str) -> dict[str, str]:
    """The LITESTREAM_* variables `init` writes as placeholders, with moto's values."""
    return {
        "LITESTREAM_REPLICA_BUCKET": bucket,
        "LITESTREAM_ACCESS_KEY_ID": S3_KEY_ID,
        "LITESTREAM_SECRET_ACCESS_KEY": S3_SECRET,
        "LITESTREAM_REPLICA_ENDPOINT": server.endpoint,
        "LITESTREAM_REPLICA_REGION": "us-east-1",
    }


def s3_replica(server: S3Server, bucket: str, path: str) -> dict[str, Any]:
    """A replica config block for moto, credentials inline."""
    return {
        "type": "s3",
        "bucket": bucket,
        "path": path,
        "endpoint": server.endpoint,
        "region": "us-east-1",
        "access-key-id": S3_KEY_ID,
        "secret-access-key": S3_SECRET,
        "force-path-style": True,
    }


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` on a loopback port, answered in threads, until the block ends: yields its base
    URL, http://127.0.0.1:PORT. Quiet: the handlers' access log is dropped."""
    import threading

    class Quiet(handler):  # type: ignore[valid-type,misc]
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
