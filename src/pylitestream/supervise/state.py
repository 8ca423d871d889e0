"""The state file and the lock: what each way of starting replicate records, so a second daemon for
one config is refused and `ps` can tell what runs; and the snapshot litestream 0.5 needs when
the app wrote while it was not running."""

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
from ..errors import AlreadyRunning
from ..litestream.binary import Binary
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


def remove_stale_state(path: Path) -> bool:
    """Remove the state file at `path` if no daemon holds its config's lock (a daemon starting
    now holds it before it writes its state file) and the pid it records is not a litestream
    for that config. The lock file stays: removing it could let two daemons lock two files."""
    try:
        fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None  # never locked: written by hand, or by an older pylitestream
    try:
        if fd is not None and not _locked(fd):
            return False
        record = read_state(path) or {}
        pid = record.get("pid")
        if isinstance(pid, int) and is_litestream(pid, record.get("config")):
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        if fd is not None:
            os.close(fd)


def lock_path(config: PathLike) -> Path:
    return state_path(config).with_suffix(".lock")


def _locked(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def claim(config: Path) -> int:
    """Take the daemon lock for `config`: an exclusive flock on its lock file, whose descriptor
    the litestream we start inherits and holds for its whole life (across exec, and after a
    killed supervisor), so "a daemon is alive" means "the lock is held" and no race can start a
    second one. Returns the lock's fd. Raises AlreadyRunning if another daemon holds the lock."""
    path = lock_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if not _locked(fd):
            _wait_for_orphan(config, fd)
        _replace_previous_state(config)
    except BaseException:
        os.close(fd)
        raise
    return fd


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


def _replace_previous_state(config: Path) -> None:
    """With the lock held: a state file left behind is stale (its daemon did not stop cleanly). A
    daemon that runs without our lock (started by hand, or by an older pylitestream) is still
    refused, or stopped if it is the orphan of a dead supervisor."""

    path = state_path(config)
    record = read_state(path)
    if record is None:
        return
    pid = record.get("pid")
    if isinstance(pid, int) and is_litestream(pid, record.get("config")):
        orphan = _orphan(record)
        if orphan is None:
            raise _already_running(config, record)
        _stop_orphan(orphan, record["supervisor_pid"])
        return
    log.info(f"replacing stale state file {path} (pid {pid} is not running)")


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
    fd = claim(config)
    try:
        close_wal_gaps(binary, config)
        write_state(config, os.getpid(), binary, "replicate", None)
        os.set_inheritable(fd, True)
    except BaseException:
        os.close(fd)
        raise


# --- before litestream starts ------------------------------------------------------------------

SNAPSHOT_VAR = "PYLITESTREAM_SNAPSHOT_AFTER_WAL_RESTART"
CHECKPOINT_BUSY_SECONDS = 10.0
"""How long the checkpoint waits for the app's own transactions to finish."""


def snapshot_enabled(environ: dict[str, str] | None = None) -> bool:
    source = os.environ if environ is None else environ
    return source.get(SNAPSHOT_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def close_wal_gaps(binary: Binary, config: Path) -> None:
    """Before litestream 0.5 starts: make it snapshot every database whose WAL holds commits it
    has not read, instead of resuming past a gap.

    0.5 resumes from the WAL offset and salt its newest LTX file records. If, while no
    litestream ran (killed, or stopped cleanly while the app kept writing), the app checkpointed
    and its next write restarted the WAL, the old frames still sit past that offset, so 0.5 takes
    the new salt for a checkpoint of its own and carries on from the start of the new WAL
    (db.go, DB.verifyWithExecutor, the salt-mismatch branch after lastPageMatch): the commits
    between its last sync and that checkpoint are in no LTX file, a later compaction folds that
    chain over any snapshot, and the latest restore misses rows the database holds. The WAL can
    also restart after this check, in the second or so before litestream first reads it, so a
    WAL that merely grew past litestream's position is treated the same way. A TRUNCATE
    checkpoint empties the WAL: litestream then finds it shorter than its position (or frames
    of another salt there, if the app wrote again meanwhile) and snapshots the whole database.
    It costs one full upload of that database, and only when the app wrote while litestream was
    not running; PYLITESTREAM_SNAPSHOT_AFTER_WAL_RESTART=0 skips it. 0.3 starts a new generation
    by itself (tests/faults measure both lines)."""
    from ..config.load import database_entries, load_config
    from ..litestream.wal_position import has_unread_commits

    if not binary.profile.resumes_from_wal_position or not snapshot_enabled():
        return
    for db, entry in database_entries(load_config(config), config):
        if has_unread_commits(db, entry):
            log.info(
                f"{db}: its WAL holds commits litestream has not read: checkpointing it "
                f"(TRUNCATE) so that litestream starts from a full snapshot ({SNAPSHOT_VAR}=0 "
                "skips this)"
            )
            truncate_wal(db)


def truncate_wal(db: Path) -> None:
    """`PRAGMA wal_checkpoint(TRUNCATE)` on `db`: SQLite's own checkpoint, which moves every
    committed page into the database file. Never creates a database (mode=rw)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=rw", uri=True,
                               timeout=CHECKPOINT_BUSY_SECONDS)  # fmt: skip
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        busy, reason = 1, str(exc)
    else:
        reason = "the app kept a transaction open"
    if busy:
        log.warning(
            f"could not checkpoint {db} ({reason}); litestream may resume past a gap: run "
            "'pylitestream verify' once it is up"
        )
