"""Supervision in process, fast: the state file and its lock, the snapshot after a WAL restart, the
process helpers, restore-if-missing, the Replicator's named states and its watcher's decisions,
`run`'s exit codes and `ps`/daemon status. Real litestream 0.5 (and 0.3 where the lines differ)
runs wherever a process is needed; a fake process object stands in only to drive the watcher's
restart/stop decisions and `run`'s exit-code rules, whose real-process versions are in
test_supervise.py. Written so mutation testing (scripts/mutation) can judge supervise/."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import DATA, binary_dir, create_db, insert_rows, read_rows, stop_process, wait_for
from conftest import write_config as _write_config
from internals import (
    supervise_entrypoint,
    supervise_process,
    supervise_ps,
    supervise_replicator,
    supervise_state,
)

from pylitestream.errors import AlreadyRunning, CommandFailed, CommandTimeout, UsageError
from pylitestream.litestream.binary import Binary

process, state, replicator, entrypoint, ps = (
    supervise_process,
    supervise_state,
    supervise_replicator,
    supervise_entrypoint,
    supervise_ps,
)
Life = replicator._Life

# A mutant that makes something hang fails in seconds, not at the suite's 300 s.
pytestmark = pytest.mark.timeout(10)

LS05 = "0.5.17"
LS03 = "0.3.13"


def binary(version: str = LS05) -> Binary:
    return Binary(path=binary_dir(version) / "litestream", source="test", version=version)


@pytest.fixture(autouse=True)
def no_sigterm() -> Iterator[list[int]]:
    """A SIGTERM to this process (a Replicator's default on_stop) would end the test run:
    record it instead, and fail the test that caused it."""
    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: got.append(signum))
    try:
        yield got
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert got == [], "SIGTERM sent to the test process"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private state dir, litestream 0.5, no first-look wait before a stop, and pylitestream's
    log lines reaching caplog whatever an earlier test configured."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(binary_dir(LS05)))
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv(state.SNAPSHOT_VAR, raising=False)
    monkeypatch.setattr(replicator, "FIRST_LOOK", 0.0)
    monkeypatch.setenv("PYLITESTREAM_TIMEOUT", "5")  # start's wait for litestream
    monkeypatch.setattr(state, "STOP_TIMEOUT", 3.0)
    logger = logging.getLogger("pylitestream")
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "level", logging.INFO)
    return tmp_path


def config_for(root: Path, *dbs: Path, line: str = "0.5", **extra: Any) -> Path:
    """A config replicating each db to a file replica under root/replica."""
    config = _write_config(
        root / "litestream.yml",
        line,
        [(db, {"type": "file", "path": str(root / "replica" / db.name)}) for db in dbs],
    )
    if extra:
        config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), **extra}))
    return config


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name != "pylitestream.relayed"]


@contextlib.contextmanager
def running(argv: list[str], **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen(argv, **{**quiet, **kwargs})
    try:
        # Right after exec, /proc/PID/cmdline can still read empty.
        wait_for(lambda: process._cmdline(proc.pid), interval=0.01, timeout=5)
        yield proc
    finally:
        stop_process(proc)


@contextlib.contextmanager
def litestream_daemon(config: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real `litestream replicate` of `config` (0.5), up: it has opened its databases, so it
    has its signal handlers and a SIGTERM is its clean stop."""
    log = config.with_suffix(".daemon.log")
    with log.open("wb") as out:
        argv = [str(binary().path), "replicate", "-config", str(config)]
        with running(argv, stdout=out, **kwargs) as daemon:
            wait_for(lambda: "initialized db" in log.read_text(), interval=0.02, timeout=5)
            yield daemon


def named_litestream(code: str, *args: str) -> list[str]:
    """argv of a Python process that calls itself `litestream` (argv[0]) and runs `code`."""
    return ["/opt/bin/litestream", "-c", code, *args]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def lock_fds(config: Path) -> list[int]:
    """Our descriptors of the config's lock file."""
    target = str(state.lock_path(config))
    found = []
    for entry in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if os.readlink(entry) == target:
                found.append(int(entry.name))
    return found


# --- process helpers ----------------------------------------------------------------------------


def test_exit_status_maps_signals_to_shell_codes() -> None:
    assert [process.exit_status(c) for c in (0, 3, 255, -9, -15, -1)] == [0, 3, 255, 137, 143, 129]


def test_cmdline_and_liveness_of_live_zombie_and_dead_processes() -> None:
    code = "import sys; sys.stdin.read()"
    argv = [sys.executable, "-c", code, "a b", "", b"\xff"]
    live = subprocess.Popen(argv, stdin=subprocess.PIPE)
    try:
        wait_for(lambda: process._cmdline(live.pid), interval=0.01, timeout=5)  # exec done
        assert process._cmdline(live.pid) == [sys.executable, "-c", code, "a b", "\ufffd"]
        assert process.pid_alive(live.pid)
    finally:
        assert live.stdin is not None
        live.stdin.close()
    wait_for(lambda: Path(f"/proc/{live.pid}/stat").read_text().split(") ")[1][0] == "Z", timeout=5)
    assert process._cmdline(live.pid) is None  # a zombie is not alive
    assert not process.pid_alive(live.pid)
    live.wait()
    assert process._cmdline(live.pid) is None
    assert not process.pid_alive(live.pid)
    assert not process.pid_alive(None) and not process.pid_alive(0)
    assert process.pid_alive(os.getpid())


def test_cmdline_through_ps_where_there_is_no_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import sys; sys.stdin.read()"
    live = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    wait_for(lambda: process._cmdline(live.pid), interval=0.01, timeout=5)  # exec done
    monkeypatch.setattr(sys, "platform", "darwin")
    # Linux's ps stands in for macOS's here; it cuts lines at 80 columns when it cannot tell
    # the width (macOS's never cuts output that is not a terminal).
    monkeypatch.setenv("COLUMNS", "4000")
    try:
        assert process._cmdline(live.pid) == [sys.executable, "-c", *code.split()]
    finally:
        assert live.stdin is not None
        live.stdin.close()
    wait_for(lambda: process._cmdline(live.pid) is None, timeout=5)  # the zombie: stat Z
    live.wait()
    assert process._cmdline(live.pid) is None  # gone: ps exits 1
    assert process.pid_alive(os.getpid())
    # ps splits the command at spaces: a config path with one still matches.
    config = "/srv/my app/litestream.yml"
    argv = named_litestream("import sys; sys.stdin.read()", "replicate", "-config", config)
    with running(argv, executable=sys.executable, stdin=subprocess.PIPE) as fake:
        assert process.is_litestream(fake.pid, config)
        assert not process.is_litestream(fake.pid, "/srv/my app/other.yml")


NAMED = """\
import ctypes, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode())  # PR_SET_NAME: what /proc/PID/stat shows
print(1, flush=True)
sys.stdin.read()
"""


def test_a_process_named_with_a_parenthesis_is_not_taken_for_a_zombie() -> None:
    with running(
        [sys.executable, "-c", NAMED, "x) Z ("], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as odd:
        assert odd.stdout is not None and odd.stdout.readline() == b"1\n"
        assert "(x) Z () " in Path(f"/proc/{odd.pid}/stat").read_text()
        assert process._cmdline(odd.pid) == [sys.executable, "-c", NAMED, "x) Z ("]


def test_is_litestream_needs_litestream_replicate_for_the_config(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = config_for(tmp_path, db)
    with litestream_daemon(config) as daemon:
        assert process.is_litestream(daemon.pid)
        assert process.is_litestream(daemon.pid, config)
        assert process.is_litestream(daemon.pid, str(config))
        assert not process.is_litestream(daemon.pid, tmp_path / "other.yml")
    assert not process.is_litestream(daemon.pid)
    idle = "import sys; sys.stdin.read()"
    for argv, expected in [
        (named_litestream(idle, "replicate", "-config", str(config)), True),
        (named_litestream(idle, "restore", "-config", str(config)), False),
        (["/opt/bin/litestreamx", "-c", idle, "replicate", "-config", str(config)], False),
    ]:
        with running(argv, executable=sys.executable, stdin=subprocess.PIPE) as proc:
            assert process.is_litestream(proc.pid, config) is expected, argv
    for nothing in (None, 0, -1):
        assert not process.is_litestream(nothing)


@pytest.mark.parametrize("line", [LS03, LS05])
def test_guard_argv_runs_litestream_with_the_guard_as_its_exec_child(
    line: str, tmp_path: Path
) -> None:
    """On 0.5 the guard also gets the socket and the databases, to sync them if the supervisor
    dies first."""
    ls = binary(line)
    db, config = tmp_path / "app.db", tmp_path / "ls.yml"
    _write_config(config, ls.line, [(db, {"path": str(tmp_path / "r")})])
    synced: list[str] = []
    if ls.line == "0.5":
        socket = str(tmp_path / "ls.sock")
        config.write_text(config.read_text() + f"socket:\n  enabled: true\n  path: {socket}\n")
        synced = [socket, str(db)]
    argv = process.guarded_argv(ls, config, 4242)
    guard = shlex.join([sys.executable, "-c", process.GUARD, "4242", *synced])
    assert argv == [str(ls.path), "replicate", "-config", str(config), "-exec", guard]


CHILD_REPORT = """\
import ctypes, os, sys
blocked = [l for l in open('/proc/self/status') if l.startswith('SigBlk:')][0].split()[1]
value = ctypes.c_int(-1)
ctypes.CDLL(None).prctl(2, ctypes.byref(value))  # PR_GET_PDEATHSIG
print(int(blocked, 16), value.value)
"""


@pytest.mark.parametrize("deathsig", [True, False, None])
def test_child_setup_unblocks_signals_and_sets_the_death_signal(deathsig: bool | None) -> None:
    setup = process._child_setup() if deathsig is None else process._child_setup(deathsig)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGHUP])
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD_REPORT],
            preexec_fn=setup,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert out == ["0", str(0 if deathsig is False else int(signal.SIGTERM))]  # on by default


# --- the state file -----------------------------------------------------------------------------


def test_state_path_is_keyed_by_the_resolved_config(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(home)
    config = home / "ls.yml"
    key = hashlib.sha256(str(config.resolve()).encode()).hexdigest()[:16]
    where = home / "state" / "pylitestream" / "replicate"
    assert state.state_dir() == where
    assert state.state_path(config) == where / f"{key}.json"
    assert state.state_path("ls.yml") == where / f"{key}.json"
    assert state.lock_path(config) == where / f"{key}.lock"


def test_write_read_and_remove_the_state_file(home: Path) -> None:
    config = home / "ls.yml"
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    path = state.write_state(config, 123, binary(), "tester", 77)
    after = dt.datetime.now(dt.timezone.utc)
    assert path == state.state_path(config)
    record = json.loads(path.read_text())
    assert path.read_text() == json.dumps(record, indent=2) + "\n"
    started = dt.datetime.fromisoformat(record.pop("started_at"))
    assert before <= started <= after and started.microsecond == 0
    assert started.utcoffset() == dt.timedelta(0)
    assert record == {"config": str(config), "pid": 123, "started_by": "tester",
                      "litestream": LS05, "supervisor_pid": 77}  # fmt: skip
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left
    assert state.read_state(path) == {**record, "started_at": started.isoformat()}
    state.remove_state(config, 124)  # a newer starter's file stays
    assert path.exists()
    state.remove_state(config, 123)
    assert not path.exists()
    state.remove_state(config, 123)  # nothing to remove: no error


def test_read_state_refuses_what_is_not_a_record(home: Path) -> None:
    path = home / "x.json"
    assert state.read_state(path) is None
    for text in (b"[1, 2]", b"{not json", b"\xff\xfe", b'"text"'):
        path.write_bytes(text)
        assert state.read_state(path) is None, text
    path.write_text('{"pid": 5}')
    assert state.read_state(path) == {"pid": 5}


# --- the lock -----------------------------------------------------------------------------------


def test_second_claim_is_refused_while_the_first_holds_the_lock(home: Path) -> None:
    config = home / "ls.yml"
    idle = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    fd = state.claim(config)
    try:
        assert not os.get_inheritable(fd)
        assert state.lock_path(config).stat().st_mode & 0o777 == 0o600
        open_before = sorted(os.listdir("/proc/self/fd"))
        with pytest.raises(AlreadyRunning) as refused:
            state.claim(config)
        assert str(refused.value) == (
            f"litestream is already replicating {config} (still starting, started by ? at ?); "
            "stop it first (see 'pylitestream ps')"
        )
        assert sorted(os.listdir("/proc/self/fd")) == open_before  # its descriptor closed
        state.write_state(config, idle.pid, binary(), "run", None)
        record = state.read_state(state.state_path(config))
        assert record is not None
        with pytest.raises(AlreadyRunning) as named:
            state.claim(config)
        assert idle.poll() is None  # not a litestream: left alone
        assert str(named.value) == (
            f"litestream is already replicating {config} (pid {idle.pid}, started by run at "
            f"{record['started_at']}); stop it first (see 'pylitestream ps')"
        )
    finally:
        os.close(fd)
        stop_process(idle)
    os.close(state.claim(config))  # released: the next daemon may start


def test_a_stale_state_file_is_replaced(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = home / "ls.yml"
    path = state.state_path(config)
    path.parent.mkdir(parents=True)
    path.write_text("garbage")
    os.close(state.claim(config))
    assert path.read_text() == "garbage"  # unreadable: replaced by the next write_state
    gone = dead_pid()
    path.write_text(json.dumps({"pid": gone, "config": str(config)}))
    os.close(state.claim(config))
    assert messages(caplog) == [f"replacing stale state file {path} (pid {gone} is not running)"]
    idle = "import sys; sys.stdin.read()"
    other = named_litestream(idle, "replicate", "-config", str(home / "other.yml"))
    with running(other, executable=sys.executable, stdin=subprocess.PIPE) as elsewhere:
        path.write_text(json.dumps({"pid": elsewhere.pid, "config": str(config)}))
        os.close(state.claim(config))  # a litestream, but for another config: stale
        assert elsewhere.poll() is None


def test_ps_prune_removes_only_the_state_files_of_daemons_that_are_gone(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pylitestream.supervise import processes

    gone, starting, by_hand = home / "gone.yml", home / "starting.yml", home / "by-hand.yml"
    for config in (gone, starting, by_hand):
        state.write_state(config, dead_pid(), binary(), "run", None)
    os.close(state.claim(gone))  # locked once, released: its daemon is gone
    state.lock_path(by_hand).unlink(missing_ok=True)  # never locked (an older pylitestream)
    held = state.claim(starting)  # a daemon starting: its lock is held before it runs
    try:
        listed = {Path(r["config"]).name: r["status"] for r in processes()}
        assert listed == {"gone.yml": "stale", "starting.yml": "stale", "by-hand.yml": "stale"}
        rows = processes(prune=True)
        assert [Path(r["config"]).name for r in rows] == ["starting.yml"]
        assert state.state_path(starting).exists() and not state.state_path(gone).exists()
        assert not state.state_path(by_hand).exists()
        assert state.lock_path(gone).exists()  # lock files stay
        removed = [m for m in messages(caplog) if m.startswith("removed stale state file")]
        assert len(removed) == 2
    finally:
        os.close(held)
    result = subprocess.run(
        [sys.executable, "-m", "pylitestream", "ps", "--prune", "--json"],
        capture_output=True, text=True, env={**os.environ}, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []  # the last stale one, pruned by the CLI


def test_a_litestream_running_without_our_lock_is_refused_or_taken_over(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = home / "app.db"
    create_db(db)
    config = config_for(home, db)
    path = state.state_path(config)
    with litestream_daemon(config) as daemon:
        state.write_state(config, daemon.pid, binary(), "by hand", os.getpid())
        with pytest.raises(AlreadyRunning) as refused:
            state.claim(config)
        assert str(refused.value).startswith(
            f"litestream is already replicating {config} (pid {daemon.pid}, started by by hand at "
        )
        assert lock_fds(config) == []
        path.write_text(json.dumps({"pid": daemon.pid, "config": str(config)}))
        with pytest.raises(AlreadyRunning):  # no supervisor recorded: not an orphan
            state.claim(config)
        supervisor = dead_pid()
        state.write_state(config, daemon.pid, binary(), "run", supervisor)
        os.close(state.claim(config))
        assert daemon.wait(10) == 0  # SIGTERM: its final sync, a clean exit
    assert messages(caplog) == [
        f"stopping litestream pid {daemon.pid}: its supervisor (pid {supervisor}) is gone"
    ]


def test_the_orphan_holding_the_lock_is_stopped_and_the_lock_taken(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = home / "app.db"
    create_db(db)
    config = config_for(home, db)
    fd = state.claim(config)
    with litestream_daemon(config, pass_fds=(fd,)) as orphan:
        os.close(fd)  # the orphan holds the lock alone now
        state.write_state(config, orphan.pid, binary(), "run", os.getpid())
        with pytest.raises(AlreadyRunning, match=f"pid {orphan.pid}"):  # its supervisor lives
            state.claim(config)
        gone = dead_pid()
        state.write_state(config, orphan.pid, binary(), "run", gone)
        os.close(state.claim(config))
        assert orphan.wait(10) == 0
    assert f"stopping litestream pid {orphan.pid}: its supervisor (pid {gone}) is gone" in messages(
        caplog
    )


def test_an_orphan_that_ignores_sigterm_is_killed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state, "STOP_TIMEOUT", 0.3)
    code = "import signal, sys; signal.signal(15, signal.SIG_IGN); print(1, flush=True); input()"
    with running(
        named_litestream(code, "replicate"),
        executable=sys.executable,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as stubborn:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == b"1\n"
        started = time.monotonic()
        state._stop_orphan(stubborn.pid, 1)
        assert stubborn.wait(5) == -signal.SIGKILL
        assert time.monotonic() - started >= 0.3
    state._stop_orphan(stubborn.pid, 1)  # gone already: nothing to do, no error


def test_orphan_needs_a_dead_supervisor_and_a_live_litestream(tmp_path: Path) -> None:
    idle = "import sys; sys.stdin.read()"
    config = str(tmp_path / "ls.yml")
    argv = named_litestream(idle, "replicate", "-config", config)
    with running(argv, executable=sys.executable, stdin=subprocess.PIPE) as fake:
        gone = dead_pid()
        assert state._orphan({"pid": fake.pid, "supervisor_pid": gone, "config": config}) == (
            fake.pid
        )
        assert state._orphan({"pid": fake.pid, "supervisor_pid": os.getpid()}) is None
        assert state._orphan({"pid": fake.pid, "supervisor_pid": None}) is None
        assert state._orphan({"pid": str(fake.pid), "supervisor_pid": gone}) is None
        assert state._orphan({"pid": fake.pid, "supervisor_pid": gone, "config": "/x"}) is None
        assert state._orphan({"pid": os.getpid(), "supervisor_pid": gone}) is None


def test_claim_for_exec_records_this_process_and_hands_the_lock_on(
    home: Path, gap_checks: list[Path]
) -> None:
    config = home / "ls.yml"
    state.claim_for_exec(config, binary())
    held = lock_fds(config)
    try:
        assert len(held) == 1 and os.get_inheritable(held[0])
        record = state.read_state(state.state_path(config))
        assert record is not None
        assert (record["pid"], record["started_by"], record["supervisor_pid"]) == (
            os.getpid(),
            "replicate",
            None,
        )
        other = os.open(state.lock_path(config), os.O_RDWR)
        try:
            assert not state._locked(other)  # held for litestream, which keeps this pid
        finally:
            os.close(other)
    finally:
        for fd in held:
            os.close(fd)


def test_claim_for_exec_closes_wal_gaps_and_lets_go_on_failure(
    home: Path, gap_checks: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = home / "ls.yml"
    state.write_state(config, dead_pid(), binary(), "run", None)  # left behind
    state.claim_for_exec(config, binary())
    for fd in lock_fds(config):
        os.close(fd)
    assert gap_checks == [config]

    def full_disk(*_args: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state, "write_state", full_disk)
    with pytest.raises(OSError, match="No space left"):
        state.claim_for_exec(config, binary())
    assert lock_fds(config) == []  # the lock let go


# --- the snapshot after the WAL restarted -------------------------------------------------------


def test_snapshot_switch_reads_the_variable() -> None:
    for value in ("0", "false", "no", "off", " OFF ", "False"):
        assert not state.snapshot_enabled({state.SNAPSHOT_VAR: value}), value
    for value in ("1", "", "yes", "on"):
        assert state.snapshot_enabled({state.SNAPSHOT_VAR: value}), value
    assert state.snapshot_enabled({})


@pytest.fixture
def gap_checks(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The configs close_wal_gaps was asked about (its real work is tested below)."""
    seen: list[Path] = []
    for module in (state, replicator):
        monkeypatch.setattr(module, "close_wal_gaps", lambda _binary, config: seen.append(config))
    return seen


def backup_once(config: Path) -> None:
    """One `replicate -once`: a backup, and litestream's position in its meta directory."""
    from pylitestream.litestream.runner import run_litestream

    run_litestream(binary(), ["replicate", "-config", str(config), "-once"], timeout=30)


@contextlib.contextmanager
def app_connection(db: Path) -> Iterator[sqlite3.Connection]:
    """The app's own connection, open throughout as in a real app: the last connection to close
    would checkpoint the WAL and delete it."""
    create_db(db)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def restart_wal(app: sqlite3.Connection) -> None:
    """What an app's checkpoint and next write do while no litestream runs: a new WAL salt."""
    app.execute("PRAGMA wal_checkpoint(RESTART)")
    app.execute("INSERT INTO items (name) VALUES ('after the restart')")


def wal_size(db: Path) -> int:
    return Path(f"{db}-wal").stat().st_size


def test_wal_gap_closed_only_when_the_wal_holds_commits_litestream_has_not_read(
    home: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = home / "app.db"
    config = config_for(home, db)
    said = (
        f"{db}: its WAL holds commits litestream has not read: checkpointing it (TRUNCATE) so "
        f"that litestream starts from a full snapshot ({state.SNAPSHOT_VAR}=0 skips this)"
    )
    with app_connection(db) as app:
        app.execute("INSERT INTO items (name) VALUES ('first')")
        state.close_wal_gaps(binary(), config)  # no position yet: litestream snapshots anyway
        backup_once(config)
        state.close_wal_gaps(binary(), config)  # litestream read it all: it resumes correctly
        assert messages(caplog) == [] and wal_size(db) > 0
        for write in (
            lambda: app.execute("INSERT INTO items (name) VALUES ('grown')"),  # past its position
            lambda: restart_wal(app),  # another salt
        ):
            backup_once(config)
            write()
            for off in (binary(LS03), None):
                if off is None:
                    monkeypatch.setenv(state.SNAPSHOT_VAR, "0")
                state.close_wal_gaps(off or binary(), config)
                assert messages(caplog) == [] and wal_size(db) > 0
            monkeypatch.delenv(state.SNAPSHOT_VAR)
            state.close_wal_gaps(binary(), config)
            assert messages(caplog) == [said] and wal_size(db) == 0
            caplog.clear()
    assert read_rows(db) == ["first", "grown", "after the restart"]


def test_a_wal_gap_that_cannot_be_closed_is_a_warning(
    home: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = home / "app.db"
    config = config_for(home, db)
    monkeypatch.setattr(state, "CHECKPOINT_BUSY_SECONDS", 0.1)
    with app_connection(db) as app:
        backup_once(config)
        restart_wal(app)
        app.execute("BEGIN IMMEDIATE")  # the app holds the write lock
        app.execute("INSERT INTO items (name) VALUES ('pending')")
        state.close_wal_gaps(binary(), config)
        app.execute("COMMIT")
    assert messages(caplog)[-1] == (
        f"could not checkpoint {db} (the app kept a transaction open); litestream may resume past "
        "a gap: run 'pylitestream verify' once it is up"
    )


def test_wal_position_reads_litestreams_own_files(tmp_path: Path) -> None:
    from pylitestream.litestream import wal_position as wp

    db = tmp_path / "app.db"
    assert wp.meta_path(db, {}) == tmp_path / ".app.db-litestream"
    assert wp.meta_path(db, {"meta-path": "~/m"}) == Path.home() / "m"
    level0 = tmp_path / "meta" / "ltx" / "0"
    level0.mkdir(parents=True)
    assert wp.synced_position(tmp_path / "meta") is None
    assert wp.synced_position(tmp_path / "absent") is None

    def ltx(txid: int, offset: int, size: int, salt: tuple[int, int]) -> None:
        header = wp.LTX_HEADER.pack(b"LTX1", 0, 512, 2, txid, txid, 0, 0, offset, size, *salt)
        (level0 / f"{txid:016x}-{txid:016x}.ltx").write_bytes(header)

    ltx(1, 32, 536, (7, 8))
    ltx(2, 568, 536, (7, 8))
    assert wp.synced_position(tmp_path / "meta") == ((7, 8), 1104)  # the newest file
    (level0 / "0000000000000003-0000000000000003.ltx").write_bytes(b"LTX1")  # damaged
    assert wp.synced_position(tmp_path / "meta") is None
    (level0 / "0000000000000003-0000000000000003.ltx").unlink()

    wal = Path(f"{db}-wal")
    assert wp.wal_position(db) is None
    header = wp.WAL_HEADER.pack(0x377F0682, 3007000, 512, 0, 7, 8) + bytes(8)
    wal.write_bytes(header[:31])
    assert wp.wal_position(db) is None  # shorter than a header

    def frame(commit: int, salt: tuple[int, int] = (7, 8)) -> bytes:
        return wp.FRAME_HEADER.pack(5, commit, *salt) + bytes(8 + 512)

    wal.write_bytes(header)
    assert wp.wal_position(db) == ((7, 8), 32)
    wal.write_bytes(header + frame(0) + frame(9) + frame(0))  # the last frame, uncommitted
    assert wp.wal_position(db) == ((7, 8), 1104)
    entry = {"meta-path": str(tmp_path / "meta")}
    assert not wp.has_unread_commits(db, entry)  # litestream read up to there
    wal.write_bytes(header + frame(0) + frame(9) + frame(9) + frame(9, (6, 1)))  # an old frame
    assert wp.wal_position(db) == ((7, 8), 1640)
    assert wp.has_unread_commits(db, entry)
    wal.write_bytes(
        wp.WAL_HEADER.pack(0x377F0682, 3007000, 512, 0, 8, 1) + bytes(8) + frame(9, (8, 1))
    )
    assert wp.wal_position(db) == ((8, 1), 568)  # restarted: shorter, but another salt
    assert wp.has_unread_commits(db, entry)
    assert not wp.has_unread_commits(db, {})  # no position: no gap


# --- restore-if-missing -------------------------------------------------------------------------


def test_choose_the_named_databases_of_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    configured = [tmp_path / "a.db", tmp_path / "b.db"]
    assert replicator._choose(configured, None) == configured
    assert replicator._choose(configured, []) == configured
    assert replicator._choose(configured, ["b.db", str(tmp_path / "a.db")]) == configured[::-1]
    with pytest.raises(UsageError) as refused:
        replicator._choose(configured, ["c.db"])
    assert str(refused.value) == (
        f"database {tmp_path / 'c.db'} is not in the config (see 'pylitestream databases')"
    )


def test_restore_missing_leaves_what_exists_and_refuses_a_lone_wal(home: Path) -> None:
    db = home / "app.db"
    db.write_bytes(b"")  # even an empty file is the user's database
    config = config_for(home, db)
    assert replicator.restore_missing(config, [db]) == []
    assert db.read_bytes() == b""
    db.unlink()
    wal = Path(f"{db}-wal")
    wal.write_bytes(b"wal")
    with pytest.raises(UsageError) as refused:
        replicator.restore_missing(config, [db])
    assert str(refused.value).startswith(f"database {db} is missing but {wal} exists (")
    assert str(refused.value).endswith(
        "); the app was not started: move it away (or restore the database) first"
    )
    assert not db.exists() and wal.read_bytes() == b"wal"


def test_restore_missing_without_a_backup_creates_nothing(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = home / "app.db"
    lost = home / "new" / "x.db"
    config = config_for(home, db, lost)
    assert replicator.restore_missing(config, [db, lost]) == []
    assert not db.exists() and not lost.parent.exists()
    assert messages(caplog) == [f"{db} is missing and its replica has no backup: starting empty"]
    replicator.require_directories([db])
    with pytest.raises(UsageError) as refused:
        replicator.require_directories([db, lost])
    assert str(refused.value) == (
        f"directory {lost.parent} of database path '{lost}' does not exist, and the replica "
        "has no backup to restore into it"
    )


def test_start_restores_a_missing_database_from_its_replica(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = home / "sub" / "app.db"
    db.parent.mkdir()
    create_db(db)
    insert_rows(db, ["a", "b"])
    config = config_for(home, db)
    backup_once(config)
    shutil.rmtree(db.parent)  # the directory too: made again only because there is a backup
    second = replicator.Replicator(config)
    second.start()
    try:
        assert second.restored == [str(db)]
        assert read_rows(db) == ["a", "b"]
        assert f"restored {db} from its replica" in messages(caplog)
    finally:
        assert second.stop() == 0
    third = replicator.Replicator(config, restore=False)
    db.unlink()
    third.start()
    try:
        assert third.restored == [] and (not db.exists() or db.stat().st_size == 0)
    finally:
        third.stop()


# --- litestream's log ---------------------------------------------------------------------------


def test_logs_opening_unless_the_level_hides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    config = tmp_path / "ls.yml"
    for logging_section, expected in [
        (None, True),
        ({"level": "info"}, True),
        ({"level": "debug"}, True),
        ({"level": "WARN"}, False),
        ({"level": "warning"}, False),
        ({"level": "error"}, False),
        (["level", "error"], True),
    ]:
        settings: dict[str, Any] = {"dbs": []}
        if logging_section is not None:
            settings["logging"] = logging_section
        config.write_text(yaml.safe_dump(settings))
        assert replicator._logs_opening(config) is expected, logging_section
    monkeypatch.setenv("LOG_LEVEL", "ERROR")  # the variable wins over the config
    config.write_text(yaml.safe_dump({"dbs": [], "logging": {"level": "info"}}))
    assert not replicator._logs_opening(config)
    monkeypatch.setenv("LOG_LEVEL", "debug")
    config.write_text(yaml.safe_dump({"dbs": [], "logging": {"level": "error"}}))
    assert replicator._logs_opening(config)
    monkeypatch.setenv("LOG_LEVEL", "")  # empty: the config's level
    assert not replicator._logs_opening(config)


def test_opened_path_edge_cases() -> None:
    escaped = r'level=INFO msg="initialized db" path="/tmp/a \"b\".db" x=1'
    assert replicator.opened_path(escaped) == r"/tmp/a \"b\".db"
    assert replicator.opened_path('{"msg": "initialized db", "level": "INFO"}') == ""
    assert replicator.opened_path('{"msg": "initialized db", "path": "/a b.db"}') == "/a b.db"
    assert replicator.opened_path('msg="initialized db"') is None
    assert replicator.opened_path('{"msg":"replicating to","path":"/r"}') is None


NOT_IN_CONFIG = (DATA / "0.3-not-in-config.stdout.txt").read_text().splitlines()[0]


def fresh(config: Path | None = None, **kwargs: Any) -> Any:
    """A Replicator not started: its line handling and decisions driven by the test."""
    return replicator.Replicator(config, **kwargs)


class Records(logging.Handler):
    """The records one logger emits, whatever handlers earlier tests left elsewhere."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_take_relays_lines_keeps_errors_and_counts_opened_databases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got = Records()
    logger = logging.getLogger("pylitestream.relayed")
    monkeypatch.setattr(logging.getLogger("pylitestream"), "level", logging.INFO)
    monkeypatch.setattr(logger, "handlers", [got])
    rep = fresh()
    rep._expected = 2
    opened = 'time=x level=INFO msg="initialized db" path=/srv/a.db'
    rep._take(opened, False)
    rep._take(opened, True)  # the same database twice is one
    assert not rep._ready.is_set() and rep._opened == {"/srv/a.db"}
    rep._take(NOT_IN_CONFIG, True)
    assert rep.errors == [NOT_IN_CONFIG]
    rep._take(opened.replace("a.db", "b.db"), False)
    assert rep._ready.is_set()
    rep._take(opened.replace("a.db", "c.db"), False)  # after ready: no longer counted
    assert rep._opened == {"/srv/a.db", "/srv/b.db"}
    relayed = [(r.getMessage(), r.levelno, r.to_stderr) for r in got.records]  # type: ignore[attr-defined]
    assert len(relayed) == 5
    assert relayed[2] == (NOT_IN_CONFIG, logging.WARNING, True)
    assert relayed[0] == (opened, logging.INFO, False)
    assert relayed[1][2] is True
    assert list(rep._tail)[-1].endswith("c.db") and len(rep._tail) == 5
    for n in range(60):
        rep._take(f"line {n}", False)
    assert list(rep._tail) == [f"line {n}" for n in range(10, 60)]
    rep._expected = 0
    fresh_one = fresh()
    fresh_one._take("no database here", False)
    assert not fresh_one._ready.is_set()


def test_relay_reads_a_pipe_line_by_line_until_it_closes() -> None:
    rep = fresh()
    taken: list[tuple[str, bool]] = []
    rep._take = lambda line, to_stderr: taken.append((line, to_stderr))
    read_end, write_end = replicator._log_pipe()
    assert fcntl.fcntl(write_end, 1032) == replicator._PIPE_BYTES  # F_GETPIPE_SZ
    os.write(write_end, b"one \ntwo \xff\nmaX\nlast")
    os.close(write_end)
    rep._relay(read_end, True)
    assert taken == [("one ", True), ("two \ufffd", True), ("maX", True), ("last", True)]
    with pytest.raises(OSError):
        os.fstat(read_end)  # closed with the stream


# --- the watcher's decisions, with a scripted life of litestream --------------------------------


class Stopping:
    """The Event stop() sets, for the watcher: its backoff waits recorded, never slept."""

    def __init__(self, stop_at_wait: int | None = None) -> None:
        self.waits: list[float] = []
        self.stop_at_wait = stop_at_wait

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return len(self.waits) == self.stop_at_wait

    def is_set(self) -> bool:
        return False


@pytest.fixture
def watched(home: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run a Replicator's watcher over scripted lives; returns (replicator, calls)."""

    def watch(lives: list[Any], mode: str = "stop", stop_at_wait: int | None = None) -> Any:
        calls: list[tuple[Any, ...]] = []
        monkeypatch.setattr(replicator, "close_wal_gaps", lambda *a: calls.append(("gaps", *a)))
        monkeypatch.setattr(replicator, "remove_state", lambda *a: calls.append(("remove", *a)))
        rep = fresh(home / "ls.yml", on_litestream_exit=mode,
                    on_stop=lambda code: calls.append(("on_stop", code)))  # fmt: skip
        rep.binary, rep.config = binary(), home / "ls.yml"
        rep._stopping = Stopping(stop_at_wait)
        script = list(lives)
        rep._one_life = lambda: script.pop(0)
        watcher = threading.Thread(target=rep._watch)
        watcher.start()
        watcher.join(10)
        assert not watcher.is_alive() and script == []
        return rep, calls

    return watch


def test_watch_asked_to_stop_does_nothing(watched: Callable[..., Any]) -> None:
    rep, calls = watched([Life("asked_to_stop", 0, 5, "", 1.0)])
    assert calls == [] and rep.died_with is None and rep._failure is None


def test_watch_failed_to_start_fails_start_and_removes_the_state(
    watched: Callable[..., Any], home: Path
) -> None:
    rep, calls = watched([Life("failed_to_start", 3, 55, "bad config", 0.1)])
    assert isinstance(rep._failure, CommandFailed) and str(rep._failure) == "bad config"
    assert rep._failure.returncode == 3 and rep._ready.is_set()
    assert calls == [("remove", home / "ls.yml", 55)]
    rep, calls = watched([Life("failed_to_start", None, None, "cannot run litestream: x", 0.0)])
    assert calls == [] and str(rep._failure) == "cannot run litestream: x"


def test_watch_cannot_restart_stops_the_app_with_1(
    watched: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    rep, calls = watched([Life("cannot_restart", None, None, "cannot run litestream: gone", 0)])
    assert calls == [("on_stop", 1)] and rep.died_with == 1
    assert messages(caplog) == ["cannot run litestream: gone; stopping the app"]


def test_watch_died_stops_the_app_with_litestreams_status(
    watched: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    rep, calls = watched([Life("died", 137, 42, "", 5.0)])
    assert calls == [("on_stop", 137)] and rep.died_with == 137 and rep.restarts == 0
    assert messages(caplog) == [
        "litestream (pid 42) exited with status 137; stopping the app (on-litestream-exit=stop)"
    ]


def test_watch_restarts_with_doubling_backoff_reset_by_a_long_life(
    watched: Callable[..., Any], caplog: pytest.LogCaptureFixture, home: Path
) -> None:
    lives = [Life("died", 1, n, "", s) for n, s in enumerate([1, 1, 60, 61, 1, 1, 1, 1, 1, 1])]
    rep, calls = watched([*lives, Life("asked_to_stop", 0, 99, "", 1.0)], mode="restart")
    assert rep._stopping.waits == [1, 2, 4, 1, 2, 4, 8, 16, 30, 30]
    assert rep.restarts == 10 and rep.died_with is None
    assert calls == [("gaps", binary(), home / "ls.yml")] * 10
    assert messages(caplog)[0] == (
        "litestream (pid 0) exited with status 1; restarting it in 1 s (on-litestream-exit=restart)"
    )
    assert messages(caplog)[8].endswith("restarting it in 30 s (on-litestream-exit=restart)")


def test_watch_restart_gives_way_to_a_stop_during_the_backoff(
    watched: Callable[..., Any],
) -> None:
    rep, calls = watched([Life("died", 1, 7, "", 1.0)] * 2, mode="restart", stop_at_wait=2)
    assert rep.restarts == 1 and len(calls) == 1 and rep._stopping.waits == [1, 2]


class FakeProc:
    """The Popen a life waits on: its pid and exit status only."""

    def __init__(self, returncode: int, pid: int = 4321) -> None:
        self.returncode, self.pid = returncode, pid

    def wait(self) -> int:
        return self.returncode


def life_of(rep: Any, spawn: Callable[[], Any]) -> Any:
    rep._spawn = spawn
    return rep._one_life()


def test_one_life_names_how_it_ended() -> None:
    rep = fresh()

    def missing() -> None:
        raise FileNotFoundError(2, "No such file or directory")

    def odd() -> None:
        raise OSError("odd")

    assert life_of(rep, missing) == Life(
        "failed_to_start", None, None, "cannot run litestream: No such file or directory", 0.0
    )
    assert life_of(rep, odd).message == "cannot run litestream: odd"
    assert life_of(rep, lambda: None) == Life("asked_to_stop", None, None, "", 0.0)
    start = life_of(rep, lambda: FakeProc(1))
    assert start[:4] == ("failed_to_start", 1, 4321, "litestream exited 1 at start")
    assert 0 <= start.seconds < 5
    rep._tail.extend(["time=x level=INFO msg=starting", NOT_IN_CONFIG])
    assert life_of(rep, lambda: FakeProc(-9)).message == (
        "database not found in config: /tmp/other.db"
    )
    rep._ready.set()
    died = life_of(rep, lambda: FakeProc(-9, 77))
    assert died[:4] == ("died", 137, 77, "") and 0 <= died.seconds < 5
    assert life_of(rep, missing).end == "cannot_restart"
    rep._stopping.set()
    assert life_of(rep, lambda: FakeProc(0, 78))[:4] == ("asked_to_stop", 0, 78, "")


def test_on_exit_mode_and_the_replicators_first_state(home: Path) -> None:
    assert replicator.on_exit_mode("stop", "x") == "stop"
    assert replicator.on_exit_mode("restart", "x") == "restart"
    with pytest.raises(UsageError) as refused:
        replicator.on_exit_mode("Restart", "--on-litestream-exit")
    assert str(refused.value) == "--on-litestream-exit must be 'stop' or 'restart', not 'Restart'"
    with pytest.raises(UsageError, match="on_litestream_exit must be"):
        replicator.Replicator(on_litestream_exit="later")  # type: ignore[arg-type]
    rep = replicator.Replicator(home / "ls.yml")
    assert (rep.pid, rep.running, rep.restarts, rep.died_with, rep.errors, rep.restored) == (
        None, False, 0, None, [], []
    )  # fmt: skip
    assert (rep.started_by, rep.on_litestream_exit, rep.config, rep.binary) == (
        "Replicator", "stop", None, None
    )  # fmt: skip
    assert rep.stop() is None  # never started: nothing to stop


def test_terminate_self_sends_sigterm_to_this_process() -> None:
    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: got.append(signum))
    try:
        replicator._terminate_self(3)
        wait_for(lambda: got, interval=0.01, timeout=5)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert got == [signal.SIGTERM]


# --- the Replicator with a real litestream ------------------------------------------------------


@pytest.fixture
def replicated(home: Path) -> tuple[Path, Path]:
    db = home / "app.db"
    create_db(db)
    return db, config_for(home, db)


def test_replicator_starts_records_holds_the_lock_and_stops_cleanly(
    home: Path, replicated: tuple[Path, Path]
) -> None:
    db, config = replicated
    rep = replicator.Replicator(config, started_by="tester")
    assert rep.start() is rep
    try:
        pid = rep.pid
        assert pid is not None and rep.running and process.is_litestream(pid, config)
        assert rep.config == config and rep.binary is not None and rep.binary.version == LS05
        assert rep._opened == {str(db)}
        record = state.read_state(state.state_path(config))
        assert record is not None
        assert (record["pid"], record["started_by"], record["supervisor_pid"]) == (
            pid, "tester", os.getpid()
        )  # fmt: skip
        assert record["config"] == str(config) and record["litestream"] == LS05
        assert os.getsid(pid) == pid  # its own session: a terminal's Ctrl-C is the app's
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        rep._release()  # our copy of the lock closed: litestream holds it for its whole life
        rep._release()
        with pytest.raises(AlreadyRunning):
            state.claim(config)
        with pytest.raises(UsageError) as again:
            rep.start()
        assert str(again.value) == "this Replicator was already started"
    finally:
        code = rep.stop()
    assert code == 0 and rep.pid is None and not rep.running
    assert not rep._thread.is_alive()
    assert not process.pid_alive(pid)
    assert not state.state_path(config).exists()
    os.close(state.claim(config))
    assert rep.stop() == 0  # again: nothing left to do


def test_replicator_as_a_context_manager(
    replicated: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, config = replicated
    hooks: list[tuple[str, Any]] = []

    class AtExit:
        def register(self, hook: Any) -> None:
            hooks.append(("register", hook))

        def unregister(self, hook: Any) -> None:
            hooks.append(("unregister", hook))

    monkeypatch.setattr(replicator, "atexit", AtExit())
    rep = replicator.Replicator(config)
    with rep as entered:
        assert entered is rep and rep.running
        pid = rep.pid
        assert hooks == [("register", rep.stop)]  # stopped at exit if the app forgets
    assert hooks == [("register", rep.stop), ("unregister", rep.stop)]
    assert not rep.running and not process.pid_alive(pid)
    assert lock_fds(config) == []
    assert not [m for m in messages(caplog) if "did not stop" in m]


def test_a_litestream_that_does_not_stop_in_time_is_killed(
    replicated: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    _, config = replicated
    rep = replicator.Replicator(config)
    rep.start()
    pid = rep.pid
    assert pid is not None
    wait_for(lambda: guard_watching(pid), interval=0.01, timeout=5)
    os.kill(pid, signal.SIGSTOP)  # frozen: the SIGTERM waits, SIGKILL does not
    try:
        assert rep.stop(timeout=0.2) == 128 + signal.SIGKILL
    finally:
        frozen = rep._proc
        if frozen is not None and frozen.poll() is None:  # never leave it frozen behind
            frozen.kill()
            frozen.wait()
    assert f"litestream (pid {pid}) did not stop within 0.2 s" in messages(caplog)
    assert not rep._thread.is_alive() and lock_fds(config) == []
    assert state.read_state(state.state_path(config)) is not None  # not a clean stop


def test_a_forked_copy_of_the_replicator_does_not_stop_litestream(
    replicated: tuple[Path, Path],
) -> None:
    _, config = replicated
    rep = replicator.Replicator(config)
    rep.start()
    try:
        owner, rep._owner = rep._owner, -1
        assert rep.stop() is None and rep.running
    finally:
        rep._owner = owner
        assert rep.stop() == 0


def test_replicator_that_fails_at_start_raises_and_cleans_up(home: Path) -> None:
    db = home / "app.db"
    create_db(db)
    config = home / "ls.yml"
    config.write_text(yaml.safe_dump({"dbs": [{"path": str(db), "replica": {"type": "bogus"}}]}))
    rep = replicator.Replicator(config, validate=False)
    with pytest.raises(CommandFailed) as failed:
        rep.start()
    assert "bogus" in str(failed.value) and failed.value.returncode == 1
    assert not state.state_path(config).exists()
    assert lock_fds(config) == []
    assert rep._thread is not None and not rep._thread.is_alive()


def test_replicator_not_ready_in_time_is_stopped(replicated: tuple[Path, Path]) -> None:
    _, config = replicated
    rep = replicator.Replicator(config, ready_timeout=0.0)
    with pytest.raises(CommandTimeout) as late:
        rep.start()
    assert str(late.value) == (
        "litestream did not open every database within 0 s (raise the limit with "
        "PYLITESTREAM_TIMEOUT)"
    )
    assert not rep.running and lock_fds(config) == []


def test_replicator_does_not_wait_for_a_line_litestream_will_not_log(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = home / "app.db"
    create_db(db)
    config = config_for(home, db, logging={"level": "warn"})
    monkeypatch.setattr(replicator, "FIRST_LOOK", 0.3)  # no line to say it is up: give it time
    rep = replicator.Replicator(config)
    rep.start()
    try:
        assert rep._expected == 0 and rep._opened == set() and rep.running
    finally:
        assert rep.stop() == 0


def guard_watching(litestream: int) -> bool:
    """Whether litestream's -exec guard has its pidfds open (it then exits with litestream;
    killed before that, litestream leaves the guard waiting on its supervisor)."""
    tasks = Path(f"/proc/{litestream}/task").glob("*/children")  # Go forks from any thread
    for child in [c for task in tasks for c in task.read_text().split()]:
        with contextlib.suppress(OSError):
            fds = [os.readlink(f) for f in Path(f"/proc/{child}/fd").iterdir()]
            if sum("pidfd" in target for target in fds) == 2:
                return True
    return False


def test_replicator_when_litestream_dies_stops_the_app_and_keeps_the_state(
    replicated: tuple[Path, Path], no_sigterm: list[int]
) -> None:
    _, config = replicated
    stops: list[int] = []
    rep = replicator.Replicator(config, on_stop=stops.append)
    rep.start()
    pid = rep.pid
    assert pid is not None
    wait_for(lambda: guard_watching(pid), interval=0.01, timeout=5)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: stops, interval=0.01, timeout=5)
    assert stops == [137] and rep.died_with == 137 and not rep.running
    assert rep.stop() == 137
    assert state.read_state(state.state_path(config)) is not None  # the next start snapshots
    assert lock_fds(config) == []


def test_stop_gives_litestream_its_first_look(
    replicated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = replicated
    monkeypatch.setattr(replicator, "FIRST_LOOK", 0.4)
    rep = replicator.Replicator(config)
    started = time.monotonic()
    rep.start()
    assert rep.stop() == 0
    assert time.monotonic() - started >= 0.4


# --- run: the exit-code rules, with a stand-in Replicator ---------------------------------------


class StandIn:
    """The Replicator `run` drives, as far as run sees it: start, stop, died_with, errors."""

    made: ClassVar[list[StandIn]] = []
    on_start: ClassVar[Callable[[StandIn], None]] = staticmethod(lambda _r: None)

    def __init__(self, config: Any, **kwargs: Any) -> None:
        self.config, self.kwargs = config, kwargs
        self.on_stop: Callable[[int], None] = kwargs["on_stop"]
        self.died_with: int | None = None
        self.errors: list[str] = []
        self.events: list[str] = []
        StandIn.made.append(self)

    def start(self) -> StandIn:
        self.events.append("start")
        type(self).on_start(self)
        return self

    def stop(self) -> int:
        self.events.append("stop")
        return 0


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[StandIn]]:
    """run() with a StandIn Replicator. The forwarded signals are recorded meanwhile unless run
    installs its own handlers, so a run that failed to would not end the test session."""
    unhandled: list[int] = []
    previous = {s: signal.signal(s, lambda n, _f: unhandled.append(n)) for s in process.FORWARDED}
    monkeypatch.setattr(logging.getLogger("pylitestream"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("pylitestream"), "level", logging.INFO)
    monkeypatch.setattr(StandIn, "made", [])
    monkeypatch.setattr(StandIn, "on_start", staticmethod(lambda _r: None))
    monkeypatch.setattr(entrypoint, "Replicator", StandIn)
    try:
        yield StandIn
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert unhandled == [], "a signal reached the test process instead of run's handler"


def py(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def test_run_returns_the_apps_status_and_passes_its_options(
    stand_in: type[StandIn], caplog: pytest.LogCaptureFixture
) -> None:
    handlers = {s: signal.getsignal(s) for s in process.FORWARDED}
    code = entrypoint.run(py("import sys; sys.exit(3)"), config="c.yml", databases=["a.db"],
                          on_litestream_exit="restart", validate=False)  # fmt: skip
    assert code == 3
    (made,) = stand_in.made
    assert made.config == "c.yml" and made.events == ["start", "stop"]
    assert {k: v for k, v in made.kwargs.items() if k != "on_stop"} == {
        "databases": ["a.db"], "on_litestream_exit": "restart", "started_by": "run",
        "validate": False,
    }  # fmt: skip
    assert {s: signal.getsignal(s) for s in process.FORWARDED} == handlers
    assert messages(caplog)[-1] == (
        f"{sys.executable} exited with status 3; litestream stopped after its final sync"
    )
    assert messages(caplog)[0].startswith(f"started {sys.executable} (pid ")
    assert entrypoint.run(py("pass")) == 0
    assert stand_in.made[1].kwargs["on_litestream_exit"] == "stop"
    assert stand_in.made[1].kwargs["validate"] is True and stand_in.made[1].config is None


def test_run_refuses_a_missing_command(stand_in: type[StandIn]) -> None:
    with pytest.raises(UsageError) as empty:
        entrypoint.run([])
    assert str(empty.value) == (
        "run needs a command after --, e.g. pylitestream run -- gunicorn app:app"
    )
    assert stand_in.made == []
    with pytest.raises(UsageError) as missing:
        entrypoint.run(["/nonexistent/app", "x"])
    assert str(missing.value) == "cannot run '/nonexistent/app': No such file or directory"
    assert stand_in.made[0].events == ["start", "stop"]  # litestream stopped all the same


def test_run_after_litestream_died_is_never_success(stand_in: type[StandIn]) -> None:
    def dies(replicator: StandIn) -> None:
        replicator.died_with = 137

    stand_in.on_start = staticmethod(dies)
    assert entrypoint.run(py("pass")) == 1
    assert entrypoint.run(py("import sys; sys.exit(4)")) == 4


def test_run_fails_on_litestream_errors_whatever_the_app_said(
    stand_in: type[StandIn], caplog: pytest.LogCaptureFixture
) -> None:
    def errs(replicator: StandIn) -> None:
        replicator.errors = ["first", NOT_IN_CONFIG]

    stand_in.on_start = staticmethod(errs)
    with pytest.raises(CommandFailed) as failed:
        entrypoint.run(py("pass"))
    assert str(failed.value) == (
        f"litestream reported 2 error(s) while {sys.executable} ran (it exited with status 0); "
        "the last: database not found in config: /tmp/other.db"
    )
    assert entrypoint.run(py("import sys; sys.exit(2)")) == 2
    assert messages(caplog)[-1] == str(failed.value).replace("status 0", "status 2")

    def unparsed(replicator: StandIn) -> None:
        replicator.errors = ["odd line"]

    stand_in.on_start = staticmethod(unparsed)
    with pytest.raises(CommandFailed, match=r"error\(s\) while .* the last: odd line$"):
        entrypoint.run(py("pass"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_while_litestream_starts_never_starts_the_app(
    stand_in: type[StandIn], caplog: pytest.LogCaptureFixture, tmp_path: Path, signum: int
) -> None:
    stand_in.on_start = staticmethod(lambda _r: os.kill(os.getpid(), signum))
    marker = tmp_path / "ran"
    assert entrypoint.run(py("import pathlib, sys; pathlib.Path(sys.argv[1]).touch()",
                             str(marker))) == 128 + signum  # fmt: skip
    assert not marker.exists() and stand_in.made[0].events == ["start", "stop"]
    assert messages(caplog) == [f"stopped by signal {signum} before {sys.executable} started"]


def test_a_signal_while_litestream_starts_reaches_the_app_once_it_runs(
    stand_in: type[StandIn],
) -> None:
    stand_in.on_start = staticmethod(lambda _r: os.kill(os.getpid(), signal.SIGHUP))
    assert entrypoint.run(["sleep", "30"]) == 128 + signal.SIGHUP


def when_started(marker: Path, action: Callable[[], None]) -> threading.Thread:
    """Do `action` from another thread once the app has made `marker`."""

    def act() -> None:
        wait_for(marker.exists, interval=0.01, timeout=5)
        action()

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


APP = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).touch(); time.sleep(30)"


def test_signals_are_forwarded_to_the_app(stand_in: type[StandIn], tmp_path: Path) -> None:
    marker = tmp_path / "up"
    main = threading.main_thread().ident
    assert main is not None
    thread = when_started(marker, lambda: signal.pthread_kill(main, signal.SIGTERM))
    assert entrypoint.run(py(APP, str(marker))) == 128 + signal.SIGTERM
    thread.join()


def test_litestream_dying_stops_the_app(stand_in: type[StandIn], tmp_path: Path) -> None:
    marker = tmp_path / "up"
    threads: list[threading.Thread] = []

    def later(replicator: StandIn) -> None:
        def died() -> None:
            replicator.died_with = 1
            replicator.on_stop(1)

        threads.append(when_started(marker, died))

    stand_in.on_start = staticmethod(later)
    assert entrypoint.run(py(APP, str(marker))) == 128 + signal.SIGTERM
    threads[0].join()
    stand_in.made[0].on_stop(1)  # the app gone: nothing to stop, no error


COUNTS_SIGINT = """\
import pathlib, signal, sys
got = []
signal.signal(signal.SIGINT, lambda *_: got.append(1))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(len(got)))
pathlib.Path(sys.argv[1]).touch()
while True:
    signal.pause()
"""


def test_a_terminals_ctrl_c_is_not_forwarded_but_other_signals_are(
    stand_in: type[StandIn], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrypoint, "_from_terminal", lambda signum: signum == signal.SIGINT)
    marker = tmp_path / "up"
    main = threading.main_thread().ident
    assert main is not None

    def ctrl_c_then_term() -> None:
        signal.pthread_kill(main, signal.SIGINT)  # the app got it from the terminal itself
        signal.pthread_kill(main, signal.SIGTERM)

    thread = when_started(marker, ctrl_c_then_term)
    assert entrypoint.run(py(COUNTS_SIGINT, str(marker))) == 0  # SIGINT never forwarded
    thread.join()


def test_the_app_dies_with_run(stand_in: type[StandIn]) -> None:
    report = (
        "import ctypes, sys\nv = ctypes.c_int(0)\nctypes.CDLL(None).prctl(2, ctypes.byref(v))\n"
    )
    assert entrypoint.run(py(report + "sys.exit(v.value)")) == signal.SIGTERM  # PDEATHSIG


def test_litestream_dying_before_the_app_starts_is_handled(stand_in: type[StandIn]) -> None:
    def dies_at_once(replicator: StandIn) -> None:
        replicator.died_with = 1
        replicator.on_stop(1)  # no app yet: nothing to stop

    stand_in.on_start = staticmethod(dies_at_once)
    assert entrypoint.run(py("pass")) == 1


def test_ctrl_c_from_the_terminal_is_not_forwarded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def fileno(self) -> int:
            return 0

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(os, "getpgrp", lambda: 42)
    monkeypatch.setattr(os, "tcgetpgrp", lambda fd: 42 if fd == 0 else 0)
    assert entrypoint._from_terminal(signal.SIGINT)
    assert not entrypoint._from_terminal(signal.SIGTERM)
    monkeypatch.setattr(os, "tcgetpgrp", lambda fd: 41)
    assert not entrypoint._from_terminal(signal.SIGINT)

    def no_terminal(fd: int) -> int:
        raise OSError(25, "Inappropriate ioctl for device")

    monkeypatch.setattr(os, "tcgetpgrp", no_terminal)
    assert not entrypoint._from_terminal(signal.SIGINT)


def test_run_with_a_real_litestream_returns_the_apps_status(
    replicated: tuple[Path, Path],
) -> None:
    db, config = replicated
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('select 1'); sys.exit(5)"
    )
    assert entrypoint.run(py(code, str(db)), config=config) == 5
    assert lock_fds(config) == [] and not state.state_path(config).exists()


# --- ps and the daemon status -------------------------------------------------------------------


def test_ps_checks_each_state_file_against_the_live_process(home: Path) -> None:
    assert ps.processes() == []  # no state directory yet
    db = home / "app.db"
    create_db(db)
    config = config_for(home, db)
    stale_config = home / "gone.yml"
    state.write_state(stale_config, dead_pid(), binary(), "run", None)
    where = state.state_dir()
    (where / "0-broken.json").write_text("{")
    (where / "x.lock").write_text("")
    with litestream_daemon(config) as daemon:
        state.write_state(config, daemon.pid, binary(), "replicate", None)
        rows = ps.processes()
    by_config = {row["config"]: row for row in rows}
    assert len(rows) == 2 and [r["state_file"] for r in rows] == sorted(
        str(p) for p in where.glob("*.json") if p.name != "0-broken.json"
    )
    keys = [*state.STATE_KEYS, "socket", "info", "databases"]
    live, stale = by_config[str(config)], by_config[str(stale_config)]
    assert list(live) == keys and list(stale) == keys
    assert (live["status"], live["pid"], live["started_by"], live["litestream"]) == (
        "running", daemon.pid, "replicate", LS05
    )  # fmt: skip
    assert live["state_file"] == str(state.state_path(config))
    assert (live["socket"], live["info"], live["databases"]) == (None, None, None)
    assert stale["status"] == "stale" and stale["supervisor_pid"] is None
    assert (stale["socket"], stale["info"], stale["databases"]) == (None, None, None)
    idle = "import sys; sys.stdin.read()"
    other = named_litestream(idle, "replicate", "-config", str(home / "other.yml"))
    with running(other, executable=sys.executable, stdin=subprocess.PIPE) as elsewhere:
        state.write_state(config, elsewhere.pid, binary(), "replicate", None)
        statuses = {row["config"]: row["status"] for row in ps.processes()}
        assert statuses[str(config)] == "stale"  # a litestream, but for another config
        assert ps.daemon_status(config=config)["running"] is False


@pytest.fixture
def socket_config(home: Path) -> tuple[Path, Path, Path]:
    db = home / "app.db"
    create_db(db)
    sock = home / "ls.sock"
    return db, config_for(home, db, socket={"enabled": True, "path": str(sock)}), sock


def test_ps_asks_the_control_socket_when_the_config_enables_it(
    socket_config: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, config, sock = socket_config
    with litestream_daemon(config) as daemon:
        wait_for(sock.exists, interval=0.02, timeout=5)
        state.write_state(config, daemon.pid, binary(), "replicate", None)
        (row,) = ps.processes()
        assert row["socket"] == str(sock) and row["info"]["pid"] == daemon.pid
        assert [d["database"] for d in row["databases"]] == [str(db)]
        monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(binary_dir(LS03)))
        (row,) = ps.processes()
        assert (row["socket"], row["info"], row["databases"]) == (str(sock), None, None)
    assert ps._socket_view(str(config), 1.0) == {"socket": str(sock), "info": None,
                                                  "databases": None}  # fmt: skip
    (row,) = ps.processes()  # the daemon gone: stale, and its socket not asked
    assert (row["status"], row["socket"]) == ("stale", None)
    monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(binary_dir(LS05)))
    assert ps._socket_view(str(config), 1.0) == {"socket": str(sock), "info": None,
                                                  "databases": None}  # fmt: skip
    none = {"socket": None, "info": None, "databases": None}
    assert ps._socket_view(None, 1.0) == none
    assert ps._socket_view(str(config.parent / "missing.yml"), 1.0) == none
    view = ps._socket_view(None, 1.0)
    view["socket"] = "changed"
    assert ps._socket_view(None, 1.0) == none  # a copy each time


def test_ps_lists_a_daemon_whose_config_was_removed_since(
    socket_config: tuple[Path, Path, Path],
) -> None:
    _, config, sock = socket_config
    with litestream_daemon(config) as daemon:
        wait_for(sock.exists, interval=0.02, timeout=5)
        state.write_state(config, daemon.pid, binary(), "run", None)
        config.rename(config.with_suffix(".moved"))
        (row,) = ps.processes()
    assert (row["status"], row["pid"], row["socket"]) == ("running", daemon.pid, None)


def daemon_row(**values: Any) -> dict[str, Any]:
    return {**dict.fromkeys(ps.DAEMON_KEYS), "running": False, **values}


def test_daemon_status_of_a_config_nobody_replicates(replicated: tuple[Path, Path]) -> None:
    _, config = replicated
    assert ps.daemon_status(config=config) == daemon_row()
    stale = state.write_state(config, dead_pid(), binary(), "run", None)
    assert ps.daemon_status(config=config) == daemon_row(state_file=str(stale))


def test_daemon_status_from_the_state_file(replicated: tuple[Path, Path]) -> None:
    _, config = replicated
    with litestream_daemon(config) as daemon:
        path = state.write_state(config, daemon.pid, binary(), "run", os.getpid())
        record = json.loads(path.read_text())
        for started_at, uptimes in [
            (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=100), range(100, 130)),
            (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=100), range(1)),
        ]:
            record["started_at"] = started_at.isoformat(timespec="seconds").replace("+00:00", "Z")
            path.write_text(json.dumps(record))
            row = ps.daemon_status(config=config)
            assert row["uptime_seconds"] in uptimes
            assert row == daemon_row(
                running=True, pid=daemon.pid, version=LS05, started_at=record["started_at"],
                started_by="run", state_file=str(path), uptime_seconds=row["uptime_seconds"],
            )  # fmt: skip
        record["started_at"] = "not a time"
        path.write_text(json.dumps(record))
        assert ps.daemon_status(config=config)["uptime_seconds"] is None


def test_daemon_status_finds_a_daemon_pylitestream_did_not_start(
    replicated: tuple[Path, Path],
) -> None:
    _, config = replicated
    with litestream_daemon(config) as daemon:
        assert ps.daemon_status(config=config) == daemon_row(
            running=True, pid=daemon.pid, version=LS05,
            started_by="not pylitestream (found in /proc)",
        )  # fmt: skip


def test_daemon_status_through_the_control_socket(
    socket_config: tuple[Path, Path, Path],
) -> None:
    from pylitestream.litestream.control_socket import ControlSocket

    _, config, sock = socket_config
    idle = "import sys; sys.stdin.read()"
    fake = named_litestream(idle, "replicate", "-config", str(config))
    with running(fake, executable=sys.executable, stdin=subprocess.PIPE) as silent:
        state.write_state(config, silent.pid, binary(), "run", None)
        row = ps.daemon_status(config=config, timeout=1.0)  # a daemon whose socket is not up
        assert (row["running"], row["socket"]) == (False, str(sock)) and row["error"]
    state.state_path(config).unlink()
    down = ps.daemon_status(config=config, timeout=1.0)
    assert down == daemon_row(socket=str(sock), error=down["error"])
    assert str(sock) in down["error"]
    with litestream_daemon(config) as daemon:
        wait_for(sock.exists, interval=0.02, timeout=5)
        row = ps.daemon_status(config=config)
        assert row["started_by"] == "not pylitestream (found through the control socket)"
        assert (row["running"], row["pid"], row["version"], row["socket"], row["error"]) == (
            True, daemon.pid, "0.5.17", str(sock), None
        )  # fmt: skip
        info = ControlSocket(sock, timeout=2).info()
        assert info["uptime_seconds"] <= row["uptime_seconds"] <= info["uptime_seconds"] + 5
        assert row["started_at"] == info["started_at"]
        path = state.write_state(config, daemon.pid, binary(), "replicate", None)
        row = ps.daemon_status(config=config)
        assert (row["started_by"], row["state_file"]) == ("replicate", str(path))
        state.write_state(config, daemon.pid + 1, binary(), "replicate", None)
        assert ps.daemon_status(config=config)["started_by"] == (
            "not pylitestream (found through the control socket)"
        )


# --- the Replicator's start, more closely -------------------------------------------------------


def test_replicator_waits_for_every_database_and_relays_stdout(
    home: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    no_sigterm: list[int],
) -> None:
    import atexit

    bundle = home / "bundle.pem"
    bundle.write_text("")
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    caplog.set_level(logging.INFO, logger="pylitestream")
    dbs = [home / "a.db", home / "b.db"]
    for db in dbs:
        create_db(db)
    config = config_for(home, *dbs)
    callbacks = atexit._ncallbacks()
    rep = replicator.Replicator(config, databases=[dbs[1]])
    rep.start()
    try:
        assert rep._opened == {str(db) for db in dbs} and rep._expected == 2
        assert atexit._ncallbacks() == callbacks + 1  # stopped at exit if the app forgets
        environ = Path(f"/proc/{rep.pid}/environ").read_bytes().split(b"\0")
        assert f"SSL_CERT_FILE={bundle}".encode() in environ  # litestream_env's, for 0.5
        assert not [v for v in environ if v.startswith(b"AWS_CA_BUNDLE=")]
        assert rep._thread is not None and rep._thread.native_id is not None
        task = Path(f"/proc/self/task/{rep._thread.native_id}/status").read_text()
        blocked = int(next(x for x in task.splitlines() if x.startswith("SigBlk:")).split()[1], 16)
        for signum in process.FORWARDED:  # the app's signals are the main thread's
            assert blocked & (1 << (signum - 1)), signum
        opened = [r for r in caplog.records if "initialized db" in r.getMessage()]
        assert [r.to_stderr for r in opened] == [False, False]  # type: ignore[attr-defined]
    finally:
        assert rep.stop() == 0


def test_replicator_restores_only_the_chosen_databases(home: Path) -> None:
    dbs = [home / "a.db", home / "b.db"]
    for db in dbs:
        create_db(db)
    config = config_for(home, *dbs)
    backup_once(config)  # a backup of both
    for db in dbs:
        for name in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            name.unlink(missing_ok=True)
    rep = replicator.Replicator(config, databases=[dbs[1]], ready_timeout=0.0)
    with pytest.raises(CommandTimeout):  # not waiting for litestream here
        rep.start()
    assert rep.restored == [str(dbs[1])] and read_rows(dbs[1]) == []


def test_replicator_with_a_missing_directory(home: Path) -> None:
    db = home / "new" / "app.db"
    config = config_for(home, db)
    with pytest.raises(UsageError) as no_backup:
        replicator.Replicator(config).start()
    assert str(no_backup.value).startswith(f"directory {db.parent} of database path '{db}'")
    assert str(no_backup.value).endswith("the replica has no backup to restore into it")
    assert lock_fds(config) == [] and not db.parent.exists()
    with pytest.raises(UsageError) as invalid:  # without restore, validation refuses it
        replicator.Replicator(config, restore=False).start()
    assert str(invalid.value) != str(no_backup.value) and str(db.parent) in str(invalid.value)
    assert lock_fds(config) == []


def test_replicator_refuses_a_lone_wal_and_lets_the_lock_go(home: Path) -> None:
    db = home / "app.db"
    config = config_for(home, db)
    Path(f"{db}-wal").write_bytes(b"x")
    with pytest.raises(UsageError, match="is missing but"):
        replicator.Replicator(config).start()
    assert lock_fds(config) == [] and not state.state_path(config).exists()


def test_replicator_closes_wal_gaps_at_every_start(
    replicated: tuple[Path, Path], gap_checks: list[Path]
) -> None:
    _, config = replicated
    for _ in range(2):  # after a clean stop too: the app may have restarted the WAL since
        rep = replicator.Replicator(config)
        rep.start()
        rep.stop()
    assert gap_checks == [config, config]


def test_replicator_whose_litestream_cannot_run(
    replicated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, config = replicated
    gone = Binary(path=config.parent / "no-litestream", source="test", version=LS05)
    monkeypatch.setattr(replicator, "find_binary", lambda: gone)
    open_before = sorted(os.listdir("/proc/self/fd"))
    rep = replicator.Replicator(config, validate=False)
    with pytest.raises(CommandFailed) as failed:
        rep.start()
    assert str(failed.value) == "cannot run litestream: No such file or directory"
    assert failed.value.returncode is None
    assert sorted(os.listdir("/proc/self/fd")) == open_before  # pipes and lock closed
    assert not state.state_path(config).exists()


def test_replicate_logs_to_the_terminal_with_secrets_redacted(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replicate` execs litestream from a program that has not configured logging: its own
    lines go to the terminal through the redacting handler."""
    from pylitestream import logs
    from pylitestream.masking import MASK

    monkeypatch.setattr(logs, "_wanted", None)
    monkeypatch.setattr(logs, "_applied", None)
    for name in ("", "pylitestream"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", "s3cr3t-value")
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "s3cr3t-value"))
    config = home / "ls.yml"
    state.write_state(config, dead_pid(), binary(LS03), "run", None)  # left behind
    state.claim_for_exec(config, binary(LS03))
    for fd in lock_fds(config):
        os.close(fd)
    err = capsys.readouterr().err
    assert err.startswith("pylitestream: replacing stale state file ")
    assert "s3cr3t-value" not in err and f"{MASK}/pylitestream/replicate/" in err


def test_litestream_itself_holds_the_daemon_lock(replicated: tuple[Path, Path]) -> None:
    _, config = replicated
    rep = replicator.Replicator(config)
    rep.start()
    try:
        rep._release()  # our descriptor closed: only litestream's is left
        other = os.open(state.lock_path(config), os.O_RDWR)
        try:
            assert not state._locked(other)
        finally:
            os.close(other)
    finally:
        rep.stop()


def test_start_waits_for_the_opening_lines_it_expects(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = home / "app.db"
    create_db(db)
    config = config_for(home, db, logging={"level": "warn"})  # litestream logs no opening
    monkeypatch.setattr(replicator, "_logs_opening", lambda _config: True)
    rep = replicator.Replicator(config, ready_timeout=0.5)
    with pytest.raises(CommandTimeout):
        rep.start()
    assert rep._expected == 1 and not rep.running


def test_opened_path_keeps_the_characters_around_quotes() -> None:
    assert replicator.opened_path('msg="initialized db" path="/tmp/X b/aX"') == "/tmp/X b/aX"


def test_replicator_logs_to_the_terminal_when_nothing_configured_logging(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pylitestream import logs
    from pylitestream.masking import MASK

    monkeypatch.setattr(logs, "_wanted", None)
    monkeypatch.setattr(logs, "_applied", None)
    for name in ("", "pylitestream", "pylitestream.relayed"):
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", "s3cr3t-value")
    db = home / "s3cr3t-value" / "app.db"
    db.parent.mkdir()
    config = config_for(home, db)
    rep = replicator.Replicator(config)
    rep.start()
    rep.stop()
    captured = capsys.readouterr()
    assert "s3cr3t-value" not in captured.out + captured.err
    assert f"pylitestream: {home}/{MASK}/app.db is missing and its replica has no backup" in (
        captured.err
    )
    assert f'msg="initialized db" path={home}/{MASK}/app.db' in captured.out  # its stdout
