"""Running `litestream replicate` beside an app: the state file, the Replicator, `run` and `ps`.

Every way of starting replicate (`replicate`, `run`, Gunicorn, `Replicator`) records what it
started in a state file keyed by the config path, so a second daemon for the same config is
refused (0.5 has no lock of its own) and `ps` can tell what is running.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Literal

from .. import logs
from ..config import configured_databases, load_config
from ..config.settings import known_secrets
from ..errors import AlreadyRunning, CommandFailed, CommandTimeout, UsageError
from ..litestream.binary import Binary, find_binary
from ..litestream.records import error_line
from ..litestream.runner import litestream_env
from ..litestream.timeouts import default_timeout
from ..services.prepare import checked_config

PathLike = str | os.PathLike[str]
Record = dict[str, Any]

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


STOP_TIMEOUT = 30.0
"""Seconds litestream gets for its final sync after SIGTERM before it is killed."""
MAX_BACKOFF = 30.0
FIRST_LOOK = 2.0
"""Seconds. litestream looks at each database once a second and its final sync on SIGTERM
covers only the databases it has looked at: a stop sooner than this after start would lose
the writes of a short-lived app."""
STATE_KEYS = (
    "config",
    "pid",
    "status",
    "started_by",
    "started_at",
    "litestream",
    "supervisor_pid",
    "state_file",
)


# --- processes ----------------------------------------------------------------------------------


def _child_setup(deathsig: bool = True) -> Callable[[], None]:
    """A preexec_fn that unblocks the signals our watcher threads block (a child inherits the
    mask of the thread that forks it) and, on Linux with `deathsig`, makes the child get SIGTERM
    when that thread dies, even by SIGKILL (PR_SET_PDEATHSIG). prctl is looked up here: loading
    a library after fork can deadlock. Not for litestream: see GUARD."""
    prctl: Callable[[int, int], int] | None = None
    if deathsig and sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if prctl is not None:
            prctl(pr_set_pdeathsig, sigterm)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), sigterm)

    return setup


GUARD = """\
import os, select, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
pid = int(sys.argv[1])
try:
    select.select([os.pidfd_open(pid)], [], [])
except (AttributeError, OSError):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
"""
"""litestream's `-exec` child: it exits when the supervisor (pid argv[1]) dies, and litestream
then shuts down with its final sync, exactly once. PR_SET_PDEATHSIG is not used for litestream:
in a multi-threaded supervisor killed by SIGKILL, the kernel re-parents the child to each dying
thread in turn and sends the signal every time, and Litestream 0.5 takes a second SIGTERM as
"skip the shutdown sync" (it logs "shutdown sync skipped, interrupted by signal")."""


def guarded_argv(binary: Binary, config: Path, supervisor: int) -> list[str]:
    import shlex

    guard = shlex.join([sys.executable, "-c", GUARD, str(supervisor)])
    return [str(binary.path), "replicate", "-config", str(config), "-exec", guard]


def _cmdline(pid: int) -> list[str] | None:
    """The argv of a live process, or None if it is gone or a zombie."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return None
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, IndexError):
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    try:
        result = subprocess.run(
            ["ps", "-p", str(pid), "-o", "stat=", "-o", "command="],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = result.stdout.split()
    if result.returncode != 0 or not fields or fields[0].startswith("Z"):
        return None
    return fields[1:]


def is_litestream(pid: int | None, config: PathLike | None = None) -> bool:
    """Whether `pid` is alive and is `litestream replicate` (for `config`, when given)."""
    if not pid or pid <= 0:
        return False
    argv = _cmdline(pid)
    if not argv or Path(argv[0]).name != "litestream" or "replicate" not in argv:
        return False
    # Joined: `ps` on macOS splits a config path that has spaces in it.
    return config is None or str(config) in " ".join(argv)


def pid_alive(pid: int | None) -> bool:
    return bool(pid) and _cmdline(int(pid or 0)) is not None


def exit_status(returncode: int) -> int:
    """A Popen returncode as a shell exit status: killed by signal N -> 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


# --- state file ---------------------------------------------------------------------------------


def state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("pylitestream")) / "replicate"


def state_path(config: PathLike) -> Path:
    key = hashlib.sha256(str(Path(config).resolve()).encode()).hexdigest()[:16]
    return state_dir() / f"{key}.json"


def read_state(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(
    config: Path, pid: int, binary: Binary, started_by: str, supervisor_pid: int | None
) -> Path:
    path = state_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "config": str(config),
        "pid": pid,
        "started_by": started_by,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "litestream": binary.version,
        "supervisor_pid": supervisor_pid,
    }
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)
    return path


def log_paths(config: PathLike) -> tuple[Path, Path]:
    """Where the litestream a supervisor starts writes its stdout and stderr."""
    path = state_path(config)
    return path.with_suffix(".stdout.log"), path.with_suffix(".stderr.log")


def remove_state(config: Path, pid: int) -> None:
    """Remove the state file if it still records `pid` (a newer starter may own it by now)."""
    path = state_path(config)
    record = read_state(path)
    if record is not None and record.get("pid") == pid:
        path.unlink(missing_ok=True)


def lock_path(config: PathLike) -> Path:
    return state_path(config).with_suffix(".lock")


def _locked(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def claim(config: Path) -> tuple[int, bool]:
    """Take the daemon lock for `config`: an exclusive flock on its lock file, whose descriptor
    the litestream we start inherits and holds for its whole life (across exec, and after a
    killed supervisor), so "a daemon is alive" means "the lock is held" and no race can start a
    second one. Returns (the lock's fd, whether the previous daemon stopped uncleanly: its state
    file was left behind). Raises AlreadyRunning if another daemon holds the lock."""
    path = lock_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if not _locked(fd):
            _wait_for_orphan(config, fd)
        unclean = _previous_stopped_uncleanly(config)
    except BaseException:
        os.close(fd)
        raise
    return fd, unclean


def _already_running(config: Path, record: Record) -> AlreadyRunning:
    pid = record.get("pid")
    pid_text = f"pid {pid}" if isinstance(pid, int) else "still starting"
    return AlreadyRunning(
        f"litestream is already replicating {config} ({pid_text}, started by "
        f"{record.get('started_by', '?')} at {record.get('started_at', '?')}); stop it first "
        "(see 'pylitestream ps')"
    )


def _orphan(record: Record) -> int | None:
    """The pid of the litestream `record` names if its supervisor is gone, else None."""
    pid, supervisor = record.get("pid"), record.get("supervisor_pid")
    if (
        isinstance(pid, int)
        and isinstance(supervisor, int)
        and not pid_alive(supervisor)
        and is_litestream(pid, record.get("config"))
    ):
        return pid
    return None


def _wait_for_orphan(config: Path, fd: int) -> None:
    """The lock is held. If its holder is a litestream whose supervisor is gone (its guard should
    stop it within moments; this covers one that did not), stop it (SIGTERM: final sync) and
    take over; else AlreadyRunning."""
    record = read_state(state_path(config)) or {}
    orphan = _orphan(record)
    if orphan is not None:
        _stop_orphan(orphan, record["supervisor_pid"])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _locked(fd):
                return
            time.sleep(0.05)
    raise _already_running(config, record)


def _previous_stopped_uncleanly(config: Path) -> bool:
    """With the lock held: a state file left behind means its daemon did not stop cleanly. A
    daemon that runs without our lock (started by hand, or by an older pylitestream) is still
    refused, or stopped if it is the orphan of a dead supervisor."""

    path = state_path(config)
    record = read_state(path)
    if record is None:
        return path.exists()
    pid = record.get("pid")
    if isinstance(pid, int) and is_litestream(pid, record.get("config")):
        orphan = _orphan(record)
        if orphan is None:
            raise _already_running(config, record)
        _stop_orphan(orphan, record["supervisor_pid"])
        return True
    log.info(f"replacing stale state file {path} (pid {pid} is not running)")
    return True


def _stop_orphan(pid: int, supervisor: int) -> None:

    log.info(f"stopping litestream pid {pid}: its supervisor (pid {supervisor}) is gone")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while is_litestream(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_litestream(pid):
            os.kill(pid, signal.SIGKILL)


def claim_for_exec(config: Path, binary: Binary) -> None:
    """For `replicate`, which execs litestream: take the lock, leave its descriptor open across
    exec (litestream then holds it), and record this process, whose pid litestream keeps."""
    logs.to_terminal_unless_configured(known_secrets)
    fd, unclean = claim(config)
    try:
        if unclean:
            snapshot_after_unclean_stop(binary, config)
        write_state(config, os.getpid(), binary, "replicate", None)
        os.set_inheritable(fd, True)
    except BaseException:
        os.close(fd)
        raise


# --- after an unclean stop ----------------------------------------------------------------------

SNAPSHOT_VAR = "PYLITESTREAM_SNAPSHOT_AFTER_UNCLEAN_STOP"


def snapshot_enabled(environ: dict[str, str] | None = None) -> bool:
    source = os.environ if environ is None else environ
    return source.get(SNAPSHOT_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def snapshot_after_unclean_stop(binary: Binary, config: Path) -> None:
    """Litestream 0.5 can leave a permanent gap in the replica when the database was
    checkpointed while no daemon ran (upstream PR #761: "not fixed in all cases"). A full
    snapshot (`replicate -once -force-snapshot`) before the daemon starts again closes it. It
    costs one upload of every database; PYLITESTREAM_SNAPSHOT_AFTER_UNCLEAN_STOP=0 skips it.
    0.3 starts a new generation by itself (tests/faults measure both)."""
    from ..litestream.runner import run_litestream

    if not binary.profile.force_snapshot or not snapshot_enabled():
        return
    log.info(
        f"the previous litestream for {config} did not stop cleanly: taking a full snapshot "
        f"first (replicate -once -force-snapshot; {SNAPSHOT_VAR}=0 skips it)"
    )
    try:
        run_litestream(
            binary,
            ["replicate", "-config", str(config), "-once", "-force-snapshot"],
            timeout=default_timeout(),
        )
    except CommandFailed as exc:
        log.info(f"the snapshot failed ({exc}); starting litestream anyway")


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
        self._lock_fd, unclean = claim(config)
        try:
            if self._restore:
                self.restored = restore_missing(config, chosen)
                require_directories(configured)
            if unclean:
                snapshot_after_unclean_stop(self.binary, config)
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

    # One thread spawns litestream, waits for it and restarts it.
    def _watch(self) -> None:

        # Signals for the app are the main thread's to handle: a blocking wait there is only
        # interrupted if the kernel delivers the signal to that thread.
        signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
        backoff = 1.0
        while True:
            try:
                proc = self._spawn()
            except OSError as exc:
                message = f"cannot run litestream: {exc.strerror or exc}"
                if not self._ready.is_set():
                    self._fail(CommandFailed(message))
                    return
                log.info(f"{message}; stopping the app")  # a restart that cannot happen
                self.died_with = 1
                self._on_stop(1)
                return
            if proc is None:
                return
            started = time.monotonic()
            code = exit_status(proc.wait())
            for reader in self._readers:
                reader.join(5)
            if self._stopping.is_set():
                return
            if not self._ready.is_set():
                tail = "\n".join(self._tail)
                message = error_line(tail, tail) or f"litestream exited {code} at start"
                self._fail(CommandFailed(message, returncode=code))
                if self.config is not None:
                    remove_state(self.config, proc.pid)
                return
            if self.on_litestream_exit == "restart":
                if time.monotonic() - started > 60:
                    backoff = 1.0
                log.info(
                    f"litestream (pid {proc.pid}) exited with status {code}; restarting it in "
                    f"{backoff:g} s (on-litestream-exit=restart)"
                )
                if self._stopping.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF)
                self.restarts += 1
                assert self.binary is not None and self.config is not None
                snapshot_after_unclean_stop(self.binary, self.config)
                continue
            log.info(
                f"litestream (pid {proc.pid}) exited with status {code}; stopping the app "
                "(on-litestream-exit=stop)"
            )
            # The state file stays: the next start sees that this daemon did not stop cleanly.
            self.died_with = code
            self._on_stop(code)
            return

    def _spawn(self) -> subprocess.Popen[bytes] | None:
        assert self.binary is not None and self.config is not None
        with self._lock:
            if self._stopping.is_set():
                return None
            # litestream logs to files, never to a pipe: a pipe's reader (this process) can be
            # SIGKILLed first, and litestream's next log line ("signal received") would then
            # kill it by SIGPIPE before its final sync. Threads relay the files to our streams.
            logs = log_paths(self.config)
            with logs[0].open("wb") as out, logs[1].open("wb") as err:
                proc = subprocess.Popen(
                    guarded_argv(self.binary, self.config, os.getpid()),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=litestream_env(self.binary),
                    # It inherits the daemon lock and holds it for its whole life.
                    pass_fds=() if self._lock_fd is None else (self._lock_fd,),
                    # Its own session: a terminal's Ctrl-C goes to the app, and we stop
                    # litestream after the app, so the last writes are synced.
                    start_new_session=True,
                    preexec_fn=_child_setup(deathsig=False),
                )
            self._proc = proc
            self._spawned_at = time.monotonic()
            self._absent_at_spawn = [db for db in self._configured if not db.exists()]
        write_state(self.config, proc.pid, self.binary, self.started_by, os.getpid())
        self._readers = [
            threading.Thread(target=self._relay, args=(logs[0], proc, False), daemon=True),
            threading.Thread(target=self._relay, args=(logs[1], proc, True), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        if self._expected == 0:
            self._ready.set()
        return proc

    def _relay(self, path: Path, proc: subprocess.Popen[bytes], to_stderr: bool) -> None:
        """Follow litestream's log file until it has exited and the file is read to its end."""
        with path.open("rb") as stream:
            pending = b""
            while True:
                chunk = stream.read(65536)
                if not chunk:
                    if proc.poll() is not None:
                        chunk = stream.read()  # what it wrote just before exiting
                        if not chunk:
                            break
                    else:
                        time.sleep(0.05)
                        continue
                *lines, pending = (pending + chunk).split(b"\n")
                for raw in lines:
                    self._take(raw.decode(errors="replace"), to_stderr)
            if pending:
                self._take(pending.decode(errors="replace"), to_stderr)

    def _take(self, line: str, to_stderr: bool) -> None:

        relayed.info(line, extra={"to_stderr": to_stderr})
        self._tail.append(line)
        if error_line(line, ""):
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


# --- run: the container entrypoint --------------------------------------------------------------

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _from_terminal(signum: int) -> bool:
    """Ctrl-C in a terminal reaches the whole foreground process group, the app included:
    forwarding it again would interrupt the app's own shutdown."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def run(
    command: Sequence[str],
    *,
    config: PathLike | None = None,
    databases: Sequence[PathLike] | None = None,
    on_litestream_exit: OnExit = "stop",
    validate: bool = True,
) -> int:
    """Restore missing databases, start litestream, wait until it has opened every database,
    run `command`, forward SIGINT/SIGTERM/SIGHUP to it, and when it exits stop litestream with
    SIGTERM (final sync). Returns the app's exit status (non-zero if litestream died and the
    app was stopped)."""

    if not command:
        raise UsageError("run needs a command after --, e.g. pylitestream run -- gunicorn app:app")
    app: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def stop_app(_code: int) -> None:
        if app and app[0].poll() is None:
            app[0].send_signal(signal.SIGTERM)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not app:
            pending.append(signum)
        elif not _from_terminal(signum) and app[0].poll() is None:
            app[0].send_signal(signum)

    replicator = Replicator(
        config, databases=databases, on_litestream_exit=on_litestream_exit, on_stop=stop_app,
        started_by="run", validate=validate,
    )  # fmt: skip
    replicator.start()
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        try:
            app.append(subprocess.Popen(list(command), preexec_fn=_child_setup()))
        except OSError as exc:
            raise UsageError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        log.info(f"started {command[0]} (pid {app[0].pid}) beside litestream")
        for signum in pending:
            app[0].send_signal(signum)
        code = exit_status(app[0].wait())
    finally:
        replicator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if replicator.died_with is not None:
        return code or 1
    if replicator.errors:
        # A database litestream could not sync is a failure, whatever the app's status.
        last = replicator.errors[-1]
        message = (
            f"litestream reported {len(replicator.errors)} error(s) while {command[0]} ran "
            f"(it exited with status {code}); the last: {error_line(last, '') or last}"
        )
        if code == 0:
            raise CommandFailed(message)
        log.info(message)
        return code
    log.info(f"{command[0]} exited with status {code}; litestream stopped after its final sync")
    return code


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
