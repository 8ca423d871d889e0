"""Proving a backup works: write a sentinel row, wait until a restore shows it, check the copy.

A verification never touches anything but one row of `_litestream_verification` in the live
database and a private temporary directory, and it removes both whatever happens (success,
failure, timeout, Ctrl-C). docs/verify.md has the record keys and failure reasons.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import cache
from .about import docs
from .config import configured_databases, database_entry, load_config, socket_path
from .config.load import replicas_of
from .config.settings import known_secrets
from .errors import (
    CommandFailed,
    CommandTimeout,
    IntegrityCheckFailed,
    Interrupted,
    PylitestreamError,
    UsageError,
    VerificationFailure,
)
from .litestream.binary import find_binary
from .litestream.failures import PERMANENT, classify, endpoint_of, timeout_reason
from .masking import is_secret_name, mask_urls, redact
from .services.prepare import checked_config, database_arg

Record = dict[str, Any]
PathLike = str | os.PathLike[str]

TABLE = "_litestream_verification"
RECORD_KEYS = ("database", "ok", "reason", "message", "seconds_to_visible", "restored_size",
               "replica", "litestream", "integrity", "contents", "method")  # fmt: skip
TABLE_KEYS = ("database", "ok", "reason", "seconds_to_visible", "restored_size", "integrity",
              "contents", "method")  # fmt: skip

BUSY_TIMEOUT = 5.0
"""Seconds to wait for a writer holding the live database's lock."""
MIN_ATTEMPT = 1.0
"""The last restore gets at least this long, so a verify may end up to a second past its timeout
rather than misreport a restore cut short as an unreachable replica."""
FIRST_BACKOFF, MAX_BACKOFF = 0.05, 0.5


def describe_replica(replica: dict[str, Any]) -> str:
    """Where a replica lives, with nothing secret: 'file:/srv/backup', 's3://bucket/path'."""
    if replica.get("url"):
        return mask_urls(str(replica["url"]).split("?", 1)[0])
    kind = str(replica.get("type") or "file")
    if kind == "file":
        return f"file:{replica.get('path', '')}"
    where = replica.get("bucket") or replica.get("host") or replica.get("account-name") or ""
    return f"{kind}://{where}/{str(replica.get('path') or '').lstrip('/')}"


def _config_secrets(entry: dict[str, Any]) -> list[str]:
    return [
        str(value)
        for replica in replicas_of(entry)
        for key, value in replica.items()
        if value and is_secret_name(str(key).replace("-", "_"))
    ]


def live_connection(db: Path) -> sqlite3.Connection:
    """verify's one connection to the live database, held from the sentinel to the comparison:
    its `PRAGMA data_version` changes only when another connection commits."""
    # mode=rw: never create a database that is not there.
    return sqlite3.connect(
        f"{db.as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None
    )


def insert_sentinel(conn: sqlite3.Connection) -> str:
    """Commit a new sentinel row in one short transaction; return its id. Rows older than an
    hour (left by a verify that was killed outright) go in the same transaction."""
    sentinel = uuid.uuid4().hex
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, created_at TEXT)")
        conn.execute(
            f"DELETE FROM {TABLE} WHERE created_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', "
            "'-1 hour')"
        )
        conn.execute(
            f"INSERT INTO {TABLE} VALUES (?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", (sentinel,)
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return sentinel


def delete_sentinel(conn: sqlite3.Connection, sentinel: str) -> None:
    conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (sentinel,))


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def compare_contents(live: sqlite3.Connection, version: int, copy: Path) -> tuple[str, str]:
    """("same" | "different" | "not compared", why) for the restored `copy` against the live
    database. Compared only if no other connection committed since `version` was read, right
    after the sentinel: then the latest restore must hold exactly what the database holds, and
    any difference is rows that never reached the replica."""
    from .services.contents import first_difference

    try:
        live.execute("BEGIN")
        try:
            live.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot
            if _data_version(live) != version:
                return "not compared", "the database changed while verify waited"
            difference = first_difference(live, copy)
        finally:
            live.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return "not compared", f"the database could not be read: {exc}"
    return ("same", "") if difference is None else ("different", difference)


def _has_sentinel(copy: Path, sentinel: str) -> bool:
    conn = sqlite3.connect(copy)
    try:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        if not exists:
            return False
        return (
            conn.execute(f"SELECT 1 FROM {TABLE} WHERE id = ?", (sentinel,)).fetchone() is not None
        )
    finally:
        conn.close()


def check_integrity(copy: Path, *, quick: bool = False) -> str:
    """'ok', or SQLite's first complaint about the file."""
    from .services.integrity import sqlite_check

    return sqlite_check(copy, "quick" if quick else "full")


class _Attempt:
    """One verification's state, so the record can be filled in whichever way it ends."""

    def __init__(self, db: Path, timeout: float, quick: bool, cancel: threading.Event) -> None:
        self.db = db
        self.timeout = timeout
        self.quick = quick
        self.cancel = cancel
        self.deadline = time.monotonic() + timeout
        self.record: Record = dict.fromkeys(RECORD_KEYS)
        self.record.update(database=str(db), ok=False)
        self.secrets: list[str] = []
        self.endpoint: str | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def fail(self, reason: str, message: str) -> VerificationFailure:
        message = redact(message, [*known_secrets(), *self.secrets])
        self.record.update(ok=False, reason=reason, message=message)
        return VerificationFailure(
            f"verify {self.db}: {reason}: {message}", reason=reason, record=dict(self.record)
        )

    def sleep(self, seconds: float) -> None:
        if self.cancel.wait(seconds):
            raise Interrupted()


def _sync_wait(socket: str, attempt: _Attempt) -> bool:
    """0.5: ask the running daemon to upload now and wait until it has. False if it could not."""
    from .errors import SocketError
    from .litestream.control_socket import ControlSocket

    seconds = max(attempt.remaining(), MIN_ATTEMPT)
    try:
        ControlSocket(socket, timeout=seconds).sync(str(attempt.db), wait=True, timeout=seconds)
    except (SocketError, UsageError):
        return False  # no daemon on that socket, or it timed out: polling tells which
    return True


def _clear(workdir: Path) -> None:
    for leftover in workdir.iterdir():
        leftover.unlink(missing_ok=True)


def _poll(config: Path, sentinel: str, workdir: Path, attempt: _Attempt) -> Path:
    """Restore into `workdir` until a copy holds the sentinel; return that copy."""
    from .services.restore import restore

    copy = workdir / "restore.db"
    backoff = FIRST_BACKOFF
    reason, message = "timeout", ""  # the latest failure
    restored_once = False
    while True:
        _clear(workdir)  # one restored copy at a time, 0.3's .tmp-* leftovers included
        seconds = max(attempt.remaining(), MIN_ATTEMPT)
        try:
            # The config was checked (or, asked for by name, not) before the first attempt.
            restored = restore(attempt.db, copy, config=config, timeout=seconds, validate=False)
        except IntegrityCheckFailed as exc:
            # Permanent: waiting longer only restores the same broken chain again.
            raise attempt.fail("corrupt", str(exc)) from None
        except CommandTimeout:
            # A last attempt cut short says nothing about the replica; a full-length one does.
            if not message or seconds > MIN_ATTEMPT:
                reason, why = timeout_reason(attempt.endpoint)
                message = f"the replica did not answer within {seconds:.1f} s" + (
                    f" ({why})" if why else ""
                )
        except CommandFailed as exc:
            reason, message = classify(str(exc)), f"restore failed: {exc}"
            if reason in PERMANENT:
                raise attempt.fail(reason, message) from None
        else:
            if restored is None:
                reason, message = "no_backup", "no backup"
            else:
                try:
                    if _has_sentinel(copy, sentinel):
                        return copy
                    restored_once = True
                    reason, message = "stale", "stale"
                except sqlite3.DatabaseError as exc:
                    reason, message = "corrupt", f"the restored copy cannot be read: {exc}"
        if attempt.remaining() <= 0:
            break
        attempt.sleep(min(backoff, attempt.remaining()))
        backoff = min(backoff * 1.6, MAX_BACKOFF)
    if reason == "stale" or (restored_once and reason == "no_backup"):
        integrity = check_integrity(copy, quick=attempt.quick) if copy.exists() else None
        attempt.record["integrity"] = integrity
        if integrity not in (None, "ok"):
            raise attempt.fail("corrupt", f"the latest restored copy fails its check: {integrity}")
        raise attempt.fail(
            "stale",
            f"a backup exists but the sentinel row did not reach it within {attempt.timeout:g} s "
            "(is replication running?)",
        )
    if reason == "no_backup":
        message = f"no backup of this database on {attempt.record['replica']}"
    raise attempt.fail(reason, message)


def _verify(db: PathLike, config: PathLike | None, timeout: float | None, quick: bool,
            cancel: threading.Event, validate: bool = True) -> Record:  # fmt: skip
    from .litestream.timeouts import check_timeout, default_timeout

    db_path = Path(db).expanduser().absolute()
    seconds = default_timeout() if timeout is None else check_timeout(timeout, "timeout")
    attempt = _Attempt(db_path, seconds, quick, cancel)
    binary = find_binary()
    config_path = Path(checked_config(binary, config, validate))
    settings = load_config(config_path)
    entry = database_entry(settings, db_path)
    if entry is None:
        raise attempt.fail("not_in_config", f"{db_path} is not in {config_path}")
    attempt.secrets = _config_secrets(entry)
    attempt.record["replica"] = ", ".join(describe_replica(r) for r in replicas_of(entry)) or None
    attempt.endpoint = endpoint_of(entry)
    attempt.record["litestream"] = binary.version
    if not db_path.is_file():
        raise attempt.fail("no_database", f"{db_path} does not exist")
    socket = socket_path(config_path) if binary.profile.control_socket else None
    attempt.record["method"] = "restore-poll" if socket is None else "sync-wait"

    try:
        workdir = Path(tempfile.mkdtemp(prefix="pylitestream-verify-"))
    except OSError as exc:
        raise UsageError(f"cannot create a temporary directory ({exc}); set TMPDIR") from None
    sentinel: str | None = None
    live: sqlite3.Connection | None = None
    try:
        try:
            live = live_connection(db_path)
            sentinel = insert_sentinel(live)
            version = _data_version(live)
        except sqlite3.Error as exc:
            raise attempt.fail("database_error", f"cannot write the sentinel row: {exc}") from None
        written = time.monotonic()
        if socket is not None and not _sync_wait(socket, attempt):
            attempt.record["method"] = "restore-poll"
        copy = _poll(config_path, sentinel, workdir, attempt)
        attempt.record["seconds_to_visible"] = round(time.monotonic() - written, 3)
        attempt.record["restored_size"] = copy.stat().st_size
        integrity = check_integrity(copy, quick=quick)
        attempt.record["integrity"] = integrity
        if integrity != "ok":
            raise attempt.fail("corrupt", f"the restored copy fails its check: {integrity}")
        contents, why = compare_contents(live, version, copy)
        attempt.record["contents"] = contents
        if contents == "different":
            raise attempt.fail(
                "incomplete",
                f"the latest restore is missing what the database held before it: {why} (rows "
                f"that never reached the replica; see {docs('verify/#holes-in-a-replica')})",
            )
        message = "the sentinel row came back intact"
        if contents != "same":
            message += f" (contents not compared: {why})"
        attempt.record.update(ok=True, reason=None, message=message)
        return dict(attempt.record)
    finally:
        try:
            if sentinel is not None and live is not None:
                delete_sentinel(live, sentinel)
        except sqlite3.Error as exc:
            # Rare (locked for BUSY_TIMEOUT); the next verify removes it once an hour old.
            raise attempt.fail("database_error", f"cannot delete the sentinel row: {exc}") from None
        finally:
            if live is not None:
                live.close()
            shutil.rmtree(workdir, ignore_errors=True)


def verify(db: PathLike, *, config: PathLike | None = None, timeout: float | None = None,
           quick: bool = False, validate: bool = True) -> Record:  # fmt: skip
    """Prove `db`'s backup is restorable, fresh and intact; return the record (RECORD_KEYS) or
    raise VerificationFailure, whose `reason` and `record` say what went wrong."""
    try:
        record = _verify(db, config, timeout, quick, threading.Event(), validate)
    except VerificationFailure as exc:
        keep_results([{**exc.record, "database": database_arg(db), "ok": False,
                       "reason": exc.reason, "message": str(exc)}])  # fmt: skip
        raise
    keep_results([record])
    return record


def verify_all(*, config: PathLike | None = None, timeout: float | None = None,
               quick: bool = False, validate: bool = True) -> list[Record]:  # fmt: skip
    """Verify every database in the config at once; one record per database, in config order.
    Failures are records with ok=False, not exceptions."""
    from .litestream.timeouts import check_timeout

    if timeout is not None:
        check_timeout(timeout, "timeout")  # a usage error, not one failure per database
    config_path = Path(checked_config(find_binary(), config, validate))
    # An empty dbs: list fails validation above: verifying nothing must not look like success.
    dbs = [str(path) for path in configured_databases(config_path)]
    cancel = threading.Event()

    def one(db: str) -> Record:
        try:
            return _verify(db, config_path, timeout, quick, cancel, validate=False)
        except VerificationFailure as exc:
            return exc.record
        except PylitestreamError as exc:
            record: Record = dict.fromkeys(RECORD_KEYS)
            message = redact(str(exc), known_secrets())
            record.update(database=db, ok=False, reason="error", message=message)
            return record

    with ThreadPoolExecutor(max_workers=max(len(dbs), 1)) as pool:
        futures = [pool.submit(one, db) for db in dbs]
        try:
            records = [future.result() for future in futures]
        except KeyboardInterrupt:
            cancel.set()  # each worker cleans up after its current restore, then stops
            raise
    keep_results(records)
    return records


# --- the latest outcome per database and the history (never kept in the database) -------------


def keep_results(records: list[Record]) -> None:
    """Keep each record as its database's latest verify outcome, with "finished_at", and add
    the outcomes to the history (history_store.py)."""
    import datetime as dt

    from . import history_store as history

    records = [r for r in records if r.get("database")]
    finished = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    for record in records:
        # A result we cannot keep is still returned (or raised) to the caller.
        with contextlib.suppress(OSError):
            cache.write_json(cache.state_path("verify", str(record["database"])),
                             {**record, "finished_at": finished})  # fmt: skip
    history.record_verifies(records)


def last_verify(db: PathLike) -> Record | None:
    """The latest verify outcome kept for `db`, or None."""
    return cache.read_json(cache.state_path("verify", database_arg(db)))


def last_verifies(dbs: Iterable[PathLike]) -> dict[str, Record | None]:
    """last_verify for many databases at once, by their absolute paths: the state dir is listed
    once and only the files in it are read (a fleet of a thousand, most never verified, costs a
    listing rather than a thousand failed opens)."""
    folder = cache.state_dir("verify")
    try:
        present = set(os.listdir(folder))
    except OSError:
        present = set()
    found: dict[str, Record | None] = {}
    for db in dbs:
        key = str(db) if os.path.isabs(db) else database_arg(db)  # the fleet's are absolute
        name = cache.state_name(key)
        found[key] = cache.read_json(folder / name) if name in present else None
    return found


def last_verifies_stamp() -> int | None:
    """Changes whenever a verify result is kept (a file is renamed into the state dir, which
    moves its mtime), so a caller can keep last_verifies' answer until then."""
    try:
        return os.stat(cache.state_dir("verify")).st_mtime_ns
    except OSError:
        return None


def summary(records: list[Record]) -> str:
    """One line about a set of results, for the CLI and the ping body."""
    failed = [r for r in records if not r["ok"]]
    if not failed:
        return f"verified {len(records)} database(s)"
    return f"{len(failed)} of {len(records)} database(s) failed verification: " + "; ".join(
        f"{r['database']} ({r['reason']}): {r['message']}" for r in failed
    )


def failure_of(records: list[Record]) -> VerificationFailure | None:
    """What `verify --all` fails with when any database failed: the summary line as its
    message, and the first failed database's reason and record (exit 1)."""
    failed = [r for r in records if not r["ok"]]
    if not failed:
        return None
    return VerificationFailure(summary(records), reason=failed[0]["reason"], record=failed[0])
