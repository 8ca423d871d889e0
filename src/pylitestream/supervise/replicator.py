"""The Replicator: litestream started beside your own code, watched, restarted or reported when it
dies, and stopped after its final sync."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from .. import logs
from ..config import configured_databases, load_config
from ..config.settings import known_secrets
from ..errors import CommandFailed, CommandTimeout, PylitestreamError, UsageError
from ..litestream.binary import Binary, find_binary
from ..litestream.records import error_line
from ..litestream.runner import litestream_env
from ..litestream.timeouts import default_timeout
from ..services.prepare import checked_config
from .process import FORWARDED, STOP_TIMEOUT, _child_setup, exit_status, guarded_argv
from .state import claim, close_wal_gaps, remove_state, write_state

PathLike = str | os.PathLike[str]

log = logs.get(__name__)
relayed = logs.get(logs.RELAYED)  # litestream's own lines


OnExit = Literal["stop", "restart"]


def on_exit_mode(value: str, source: str) -> OnExit:
    """`value` as a mode for when litestream dies on its own, or UsageError naming `source`
    (the argument, option or variable it came from)."""
    if value == "stop":
        return "stop"
    if value == "restart":
        return "restart"
    raise UsageError(f"{source} must be 'stop' or 'restart', not {value!r}")


MAX_BACKOFF = 30.0
FIRST_LOOK = 2.0
"""Seconds. litestream looks at each database once a second and its final sync on SIGTERM
covers only the databases it has looked at: a stop sooner than this after start would lose
the writes of a short-lived app."""
SYNC_BEFORE_STOP = 10.0
"""Seconds a stop waits, in all, for the daemon's sync of every database (0.5, socket)."""
# --- configured databases -----------------------------------------------------------------------


def _choose(configured: list[Path], named: Sequence[PathLike] | None) -> list[Path]:
    if not named:
        return configured
    chosen = []
    for name in named:
        path = Path(name).expanduser().absolute()
        if path not in configured:
            raise UsageError(f"database {path} is not in the config (see 'pylitestream databases')")
        chosen.append(path)
    return chosen


def restore_missing(config: Path, databases: Sequence[Path]) -> list[str]:
    """Restore each missing database that has a replica, by the rules of api.restore: into a
    private file that is then linked into place, never over anything that exists (an empty file
    included). A database whose -wal or -shm is present without it is an error: the app must not
    start on half a state. The database's directory is created only when there is a backup to
    restore into it. Returns the paths restored."""
    from ..services import placement
    from ..services.restore import restore

    restored = []
    for db in databases:
        if os.path.lexists(db):
            continue
        for sidecar, form in placement.occupied(db)[:1]:
            raise UsageError(
                f"database {db} is missing but {sidecar} exists ({form}); the app was not "
                "started: move it away (or restore the database) first"
            )
        # start() validated the config already (allowing this not-yet-created directory).
        got = restore(db, db, config=config, if_replica_exists=True, validate=False)
        if got is not None:
            restored.append(str(db))
            log.info(f"restored {db} from its replica")
        elif db.parent.is_dir():  # else require_directories() reports it
            log.info(f"{db} is missing and its replica has no backup: starting empty")
    return restored


def require_directories(databases: Sequence[Path]) -> None:
    """After restore_missing: a directory still missing had no backup to restore into it, so it
    is the same error validation gives (litestream cannot open a database there)."""
    for db in databases:
        if not db.parent.is_dir():
            raise UsageError(
                f"directory {db.parent} of database path '{db}' does not exist, and the "
                "replica has no backup to restore into it"
            )


# --- litestream's log ---------------------------------------------------------------------------

_OPENED_TEXT = re.compile(r'msg="initialized db".*?\bpath=("(?:[^"\\]|\\.)*"|\S+)')
_OPENED_JSON = re.compile(r'"msg":\s*"initialized db"')
_JSON_PATH = re.compile(r'"path":\s*"((?:[^"\\]|\\.)*)"')
_QUIET_LEVELS = ("warn", "warning", "error")


def opened_path(line: str) -> str | None:
    """The database path of an 'initialized db' log line (text or JSON logging), else None."""
    match = _OPENED_TEXT.search(line)
    if match:
        return match.group(1).strip('"')
    if _OPENED_JSON.search(line):
        found = _JSON_PATH.search(line)
        return found.group(1) if found else ""
    return None


def _logs_opening(config: Path) -> bool:
    """Whether litestream will log 'initialized db' (not at log level warn or error)."""
    logging = load_config(config).get("logging")
    level = str(logging.get("level", "")) if isinstance(logging, dict) else ""
    level = os.environ.get("LOG_LEVEL", "") or level
    return level.lower() not in _QUIET_LEVELS


# --- the Replicator -----------------------------------------------------------------------------

LifeEnd = Literal["asked_to_stop", "failed_to_start", "cannot_restart", "died"]
"""How one life of litestream under a Replicator ends: stop() asked for it; it could not run or
exited before opening every database (start() raises); it could not be run again after a
death (the app is stopped); it exited on its own after start (restart or stop the app)."""


class _Life(NamedTuple):
    end: LifeEnd
    code: int | None
    """litestream's exit status; None when it never ran."""
    pid: int | None
    message: str
    seconds: float
    """How long it ran: a life over a minute resets the restart backoff."""


# Room for litestream's lines between our last read and its exit, should we be killed first:
# a full pipe would block its logging, and so its shutdown (Linux lets us grow the buffer).
_PIPE_BYTES = 1 << 20


def _log_pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # capped by /proc/sys/fs/pipe-max-size
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    return read_end, write_end


class Replicator:
    """`litestream replicate` as a child of this process, watched:

        with Replicator(config="litestream.yml"):
            serve()

    start() restores missing databases (restore=True), starts litestream, waits until it has
    opened every database and writes the state file; stop() sends SIGTERM and waits for the
    final sync. If litestream dies on its own, on_litestream_exit="restart" restarts it with
    backoff, and "stop" (the default) calls on_stop(exit_code), which by default sends SIGTERM
    to this process so the server in it shuts down.
    """

    def __init__(
        self,
        config: PathLike | None = None,
        *,
        databases: Sequence[PathLike] | None = None,
        restore: bool = True,
        on_litestream_exit: OnExit = "stop",
        on_stop: Callable[[int], None] | None = None,
        ready_timeout: float | None = None,
        started_by: str = "Replicator",
        validate: bool = True,
    ) -> None:
        on_exit_mode(on_litestream_exit, "on_litestream_exit")
        self._config_arg = config
        self._validate = validate
        self._databases = databases
        self._restore = restore
        self.on_litestream_exit = on_litestream_exit
        self._on_stop = on_stop or _terminate_self
        self._ready_timeout = ready_timeout
        self.started_by = started_by
        self.config: Path | None = None
        self.binary: Binary | None = None
        self.restored: list[str] = []
        self.restarts = 0
        self.died_with: int | None = None
        """litestream's exit status when it died on its own and the app was stopped."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._failure: Exception | None = None
        self._expected = 0
        self._opened: set[str] = set()
        self._tail: deque[str] = deque(maxlen=50)
        self._configured: list[Path] = []
        self._readers: list[threading.Thread] = []
        self._owner = os.getpid()
        self._spawned_at = 0.0
        self._absent_at_spawn: list[Path] = []
        self._lock_fd: int | None = None
        self.errors: list[str] = []
        """litestream's ERROR log lines (sync errors among them), newest last."""

    @property
    def pid(self) -> int | None:
        """The pid of the litestream running now."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def __enter__(self) -> Replicator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Replicator:
        if self._thread is not None:
            raise UsageError("this Replicator was already started")
        # A program that has not configured logging sees litestream's lines and these events on
        # its terminal, as it always has.
        logs.to_terminal_unless_configured(known_secrets)
        self._owner = os.getpid()
        self.binary = find_binary()
        self.config = config = Path(
            checked_config(
                self.binary, self._config_arg, self._validate, missing_dirs_ok=self._restore
            )
        )
        configured = configured_databases(config)
        self._configured = configured
        chosen = _choose(configured, self._databases)
        self._expected = len(configured) if _logs_opening(config) else 0
        timeout = default_timeout() if self._ready_timeout is None else self._ready_timeout
        self._lock_fd = claim(config)
        try:
            if self._restore:
                self.restored = restore_missing(config, chosen)
                require_directories(configured)
            close_wal_gaps(self.binary, config)
        except BaseException:
            self._release()
            raise
        self._thread = threading.Thread(
            target=self._watch, name="pylitestream-litestream", daemon=True
        )
        self._thread.start()
        ready = self._ready.wait(timeout)
        if self._failure is not None:
            self._thread.join()
            self._release()
            raise self._failure
        if not ready:
            self.stop()
            raise CommandTimeout(
                f"litestream did not open every database within {timeout:g} s "
                f"(raise the limit with PYLITESTREAM_TIMEOUT)"
            )
        atexit.register(self.stop)
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM litestream and wait for its final sync; SIGKILL after `timeout` s. Returns
        litestream's exit status (None if it was not running)."""
        if os.getpid() != self._owner:
            return None  # a forked worker (Gunicorn) inherits this object and our atexit hook
        atexit.unregister(self.stop)
        if self._proc is not None and self._proc.poll() is None and not self._stopping.is_set():
            self._wait_first_look()
            self._sync_before_stop()
        self._stopping.set()
        with self._lock:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive() and proc is not None:
                log.info(f"litestream (pid {proc.pid}) did not stop within {timeout:g} s")
                proc.kill()
                self._thread.join()
        if proc is None:
            self._release()
            return None
        code = exit_status(proc.wait())
        if self.config is not None and code == 0:
            remove_state(self.config, proc.pid)  # else kept: the next start snapshots first
        self._release()  # only now: litestream has stopped, and held it until then
        return code

    def _release(self) -> None:
        """Close our descriptor of the daemon lock (once: the number may be reused after)."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def _sync_before_stop(self) -> None:
        """0.5 with the control socket: have the daemon sync every database and wait for the
        upload, so that a stop ships what the app committed even where litestream has not looked
        yet (it looks once per monitor interval, and its final sync covers only what it has
        seen). Bounded by SYNC_BEFORE_STOP s in all; a failure leaves the final sync to do what
        it can."""
        from ..config import socket_path
        from ..litestream.control_socket import ControlSocket

        if self.binary is None or self.config is None or not self.binary.profile.control_socket:
            return
        socket = socket_path(self.config)
        if socket is None:
            return
        deadline = time.monotonic() + SYNC_BEFORE_STOP
        for db in self._configured:
            left = deadline - time.monotonic()
            if left <= 0 or not db.exists():
                continue
            try:
                ControlSocket(socket, timeout=left).sync(str(db), wait=True, timeout=left)
            except PylitestreamError as exc:
                log.info(f"could not sync {db} before the stop ({exc}); the final sync still runs")

    def _wait_first_look(self) -> None:
        """Give litestream its first look at every database before SIGTERM, so the final sync
        covers them: FIRST_LOOK s after start, and for a database the app created, until
        litestream has made its .NAME-litestream directory (at most FIRST_LOOK s more)."""
        time.sleep(max(0.0, self._spawned_at + FIRST_LOOK - time.monotonic()))
        deadline = time.monotonic() + FIRST_LOOK
        for db in self._absent_at_spawn:
            meta = db.with_name(f".{db.name}-litestream")
            while db.exists() and not meta.exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    # One thread spawns litestream, waits for it and restarts it. Each life of litestream ends
    # in one of the named states of _Life, and each state has one way out, handled here.
    def _watch(self) -> None:
        # Signals for the app are the main thread's to handle: a blocking wait there is only
        # interrupted if the kernel delivers the signal to that thread.
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        backoff = 1.0
        while True:
            life = self._one_life()
            if life.end == "asked_to_stop":
                return
            if life.end == "failed_to_start":  # start() raises this
                self._fail(CommandFailed(life.message, returncode=life.code))
                if life.pid is not None and self.config is not None:
                    remove_state(self.config, life.pid)
                return
            if life.end == "cannot_restart":  # a restart that cannot happen
                log.info(f"{life.message}; stopping the app")
                self.died_with = 1
                self._on_stop(1)
                return
            # "died": litestream exited on its own after start.
            if self.on_litestream_exit == "restart":
                if life.seconds > 60:
                    backoff = 1.0
                log.info(
                    f"litestream (pid {life.pid}) exited with status {life.code}; restarting it "
                    f"in {backoff:g} s (on-litestream-exit=restart)"
                )
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF)
                self.restarts += 1
                assert self.binary is not None and self.config is not None
                close_wal_gaps(self.binary, self.config)
                continue
            log.info(
                f"litestream (pid {life.pid}) exited with status {life.code}; stopping the app "
                "(on-litestream-exit=stop)"
            )
            # The state file stays: the next start sees that this daemon did not stop cleanly.
            assert life.code is not None
            self.died_with = life.code
            self._on_stop(life.code)
            return

    def _one_life(self) -> _Life:
        """Spawn litestream, wait for it to exit, and say how its life ended."""
        try:
            proc = self._spawn()
        except OSError as exc:
            message = f"cannot run litestream: {exc.strerror or exc}"
            end: LifeEnd = "cannot_restart" if self._ready.is_set() else "failed_to_start"
            return _Life(end, None, None, message, 0.0)
        if proc is None:
            return _Life("asked_to_stop", None, None, "", 0.0)
        started = time.monotonic()
        code = exit_status(proc.wait())
        for reader in self._readers:
            reader.join(5)
        seconds = time.monotonic() - started
        if self._stopping.is_set():
            return _Life("asked_to_stop", code, proc.pid, "", seconds)
        if not self._ready.is_set():
            tail = "\n".join(self._tail)
            message = error_line(tail, tail) or f"litestream exited {code} at start"
            return _Life("failed_to_start", code, proc.pid, message, seconds)
        return _Life("died", code, proc.pid, "", seconds)

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        assert self.binary is not None and self.config is not None
        with self._lock:
            if self._stopping.is_set():
                return None
            # litestream logs into pipes of which it holds a read end too: if this process is
            # SIGKILLed, its next log line ("signal received") still has a reader, so it is
            # never killed by SIGPIPE before its final sync. Its logs never touch the disk,
            # where a secret in one of its lines would outlive the redaction we apply.
            out_r, out_w = _log_pipe()
            err_r, err_w = _log_pipe()
            kept = (out_r, err_r) if self._lock_fd is None else (out_r, err_r, self._lock_fd)
            try:
                proc = subprocess.Popen(
                    guarded_argv(self.binary, self.config, os.getpid()),
                    stdin=subprocess.DEVNULL,
                    stdout=out_w,
                    stderr=err_w,
                    env=litestream_env(self.binary),
                    # It inherits the daemon lock and holds it for its whole life.
                    pass_fds=kept,
                    # Its own session: a terminal's Ctrl-C goes to the app, and we stop
                    # litestream after the app, so the last writes are synced.
                    start_new_session=True,
                    preexec_fn=_child_setup(deathsig=False),
                )
            except BaseException:
                for fd in (out_r, err_r):
                    os.close(fd)
                raise
            finally:
                os.close(out_w)
                os.close(err_w)
            self._proc = proc
            self._spawned_at = time.monotonic()
            self._absent_at_spawn = [db for db in self._configured if not db.exists()]
        write_state(self.config, proc.pid, self.binary, self.started_by, os.getpid())
        self._readers = [
            threading.Thread(target=self._relay, args=(out_r, False), daemon=True),
            threading.Thread(target=self._relay, args=(err_r, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        if self._expected == 0:
            self._ready.set()
        return proc

    def _relay(self, fd: int, to_stderr: bool) -> None:
        """Relay litestream's lines from one of its pipes until it (and its -exec guard) exit."""
        with os.fdopen(fd, "rb") as stream:
            for raw in stream:
                self._take(raw.rstrip(b"\n").decode(errors="replace"), to_stderr)

    def _take(self, line: str, to_stderr: bool) -> None:
        is_error = bool(error_line(line, ""))
        # litestream's errors as warnings, so they still show under -q.
        relayed.log(logs.WARNING if is_error else logs.INFO, line, extra={"to_stderr": to_stderr})
        self._tail.append(line)
        if is_error:
            self.errors.append(line)
        path = opened_path(line)
        if path is not None and not self._ready.is_set():
            self._opened.add(path)
            if len(self._opened) >= self._expected:
                self._ready.set()

    def _fail(self, exc: Exception) -> None:
        self._failure = exc
        self._ready.set()


def _terminate_self(_code: int) -> None:
    os.kill(os.getpid(), signal.SIGTERM)
