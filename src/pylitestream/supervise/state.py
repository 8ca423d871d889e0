"""The state file and the lock: what each way of starting replicate records, so a second daemon for
one config is refused and `ps` can tell what runs; and the snapshot after an unclean stop."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time
from pathlib import Path
from typing import Any

from .. import cache, logs
from ..config.settings import known_secrets
from ..errors import AlreadyRunning, CommandFailed
from ..litestream.binary import Binary
from ..litestream.timeouts import default_timeout
from .process import STOP_TIMEOUT, is_litestream, pid_alive

PathLike = str | os.PathLike[str]
Record = dict[str, Any]

log = logs.get(__name__)


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


# --- state file ---------------------------------------------------------------------------------


def state_dir() -> Path:
    return cache.state_dir("replicate")


def state_path(config: PathLike) -> Path:
    return cache.state_path("replicate", str(Path(config).resolve()))


def read_state(path: Path) -> Record | None:
    return cache.read_json(path)


def write_state(
    config: Path, pid: int, binary: Binary, started_by: str, supervisor_pid: int | None
) -> Path:
    path = state_path(config)
    record = {
        "config": str(config),
        "pid": pid,
        "started_by": started_by,
        "started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "litestream": binary.version,
        "supervisor_pid": supervisor_pid,
    }
    cache.write_json(path, record)
    return path


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
