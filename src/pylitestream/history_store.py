"""History: what every `check` saw and every `verify` proved, kept in one SQLite file in the
user state dir ($XDG_STATE_HOME/pylitestream/history/history.sqlite3), so `pylitestream
history` and the dashboard's charts can show lag over time and verify outcomes.

Bounded two ways, checked on every write: rows older than KEEP_DAYS go, and each table keeps at
most its newest MAX_CHECKS / MAX_VERIFIES rows (about 20 MB at most, docs/metrics.md). It never
opens a replicated database: its only file is its own.

Keeping history is beside the point of a check or a verify: a write that fails (a corrupt or
unwritable file, a lock held too long) is logged as one warning and the caller carries on.
Reading it (`history`, the charts) raises HistoryError instead, one line naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from . import cache, logs
from .errors import HistoryError

Record = dict[str, Any]
log = logs.get(__name__)

KEEP_DAYS = 14
MAX_CHECKS = 200_000
"""Check rows kept: a check a minute for 14 days of 10 databases (201,600 rows) fits."""
MAX_VERIFIES = 20_000
BUSY_TIMEOUT = 2.0
"""Seconds a writer waits for another process's write: a check never waits longer on history."""
KEYS = ("at", "database", "kind", "ok", "status", "lag_seconds", "seconds_since_sync",
        "local_txid", "replica_txid")  # fmt: skip
"""A history row (`history --json`): kind "check" or "verify"; for a verify, status is "ok" or
its failure reason."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS databases (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY, db INTEGER NOT NULL, at REAL NOT NULL, ok INTEGER NOT NULL,
    status TEXT, lag REAL, since_sync REAL, local_txid TEXT, replica_txid TEXT);
CREATE INDEX IF NOT EXISTS checks_at ON checks (at);
CREATE TABLE IF NOT EXISTS verifies (
    id INTEGER PRIMARY KEY, db INTEGER NOT NULL, at REAL NOT NULL, ok INTEGER NOT NULL,
    status TEXT);
CREATE INDEX IF NOT EXISTS verifies_at ON verifies (at);
"""


def history_path() -> Path:
    return cache.state_dir("history") / "history.sqlite3"


def _problem(path: Path, exc: BaseException) -> str:
    return (
        f"history file {path} is unusable ({exc}); move it aside and the next check starts a "
        "new one"
    )


@contextlib.contextmanager
def _connect(create: bool) -> Iterator[sqlite3.Connection | None]:
    """The history database (None when it does not exist and `create` is false); sqlite3 and
    OS errors propagate for the callers to judge."""
    path = history_path()
    if not create and not path.exists():
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # readers (the dashboard) never block a check
        conn.execute("PRAGMA synchronous=NORMAL")  # losing the last rows to a power cut is fine
        conn.executescript(SCHEMA)
        yield conn
    finally:
        conn.close()


def _db_ids(conn: sqlite3.Connection, paths: Iterable[str]) -> dict[str, int]:
    ids = {}
    for path in dict.fromkeys(paths):
        conn.execute("INSERT OR IGNORE INTO databases (path) VALUES (?)", (path,))
        ids[path] = conn.execute("SELECT id FROM databases WHERE path = ?", (path,)).fetchone()[0]
    return ids


def _prune(conn: sqlite3.Connection, table: str, cap: int, now: float) -> None:
    conn.execute(f"DELETE FROM {table} WHERE at < ?", (now - KEEP_DAYS * 86400,))
    conn.execute(f"DELETE FROM {table} WHERE id <= (SELECT max(id) FROM {table}) - ?", (cap,))


def _write(table: str, rows: list[tuple[Any, ...]], paths: list[str], cap: int) -> None:
    if not rows:
        return
    now = time.time()
    try:
        with _connect(create=True) as conn:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                ids = _db_ids(conn, paths)
                marks = ", ".join("?" * (len(rows[0]) + 2))
                conn.executemany(
                    f"INSERT INTO {table} VALUES (NULL, {marks})",
                    [(ids[path], now, *row) for path, row in zip(paths, rows)],
                )
                _prune(conn, table, cap, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    except (sqlite3.Error, OSError) as exc:
        log.warning("not kept in the history: %s", _problem(history_path(), exc))


def check_row(record: Record) -> tuple[Any, ...]:
    """What the history keeps of one check record: (database, ok, status, lag_seconds,
    seconds_since_sync, local_txid, replica_txid). A check of thousands holds these rather than
    its records until it ends."""
    r = record
    return (str(r["database"]), int(bool(r.get("ok"))), r.get("status"), r.get("lag_seconds"),
            r.get("seconds_since_sync"), r.get("local_txid"), r.get("replica_txid"))  # fmt: skip


def record_checks(records: list[Record]) -> None:
    """Keep one row per check record. Never raises: a failure is one logged warning."""
    record_check_rows([check_row(r) for r in records])


def record_check_rows(rows: list[tuple[Any, ...]]) -> None:
    """record_checks, from check_row's rows."""
    _write("checks", [row[1:] for row in rows], [row[0] for row in rows], MAX_CHECKS)


def record_verifies(records: list[Record]) -> None:
    """Keep verify outcomes. Never raises: a failure is one logged warning."""
    rows = [(int(bool(r.get("ok"))), "ok" if r.get("ok") else str(r.get("reason") or "failed"))
            for r in records]  # fmt: skip
    _write("verifies", rows, [str(r["database"]) for r in records], MAX_VERIFIES)


def read(db: str | None = None, since: float | None = None) -> list[Record]:
    """Rows (KEYS) oldest first, of `db` (else every database), from `since` (a Unix time; else
    everything kept). Raise HistoryError when the file cannot be read."""
    import datetime as dt

    where: list[str] = ["c.at >= ?"]
    args: list[Any] = [since or 0.0]
    if db is not None:
        where.append("d.path = ?")
        args.append(db)
    condition = " AND ".join(where)
    query = f"""
        SELECT c.at, d.path, 'check', c.ok, c.status, c.lag, c.since_sync, c.local_txid,
               c.replica_txid
        FROM checks c JOIN databases d ON d.id = c.db WHERE {condition}
        UNION ALL
        SELECT c.at, d.path, 'verify', c.ok, c.status, NULL, NULL, NULL, NULL
        FROM verifies c JOIN databases d ON d.id = c.db WHERE {condition}
        ORDER BY 1, 2"""
    try:
        with _connect(create=False) as conn:
            rows = [] if conn is None else conn.execute(query, args * 2).fetchall()
    except (sqlite3.Error, OSError) as exc:
        raise HistoryError(_problem(history_path(), exc)) from None
    found = []
    for row in rows:
        record = dict(zip(KEYS, row))
        moment = dt.datetime.fromtimestamp(record["at"], dt.timezone.utc)
        record["at"] = moment.isoformat(timespec="seconds")
        record["ok"] = bool(record["ok"])
        found.append(record)
    return found


def charts(since: float, buckets: int = 120, db: str | None = None) -> dict[str, Record]:
    """Per database (or of `db` alone), what the dashboard draws from `since` to now: {"lag":
    [(at, highest lag in the bucket)], "verifies": [(at, ok)], "start", "end"} (Unix times;
    `buckets` lag points at most). Raise HistoryError when the file cannot be read."""
    now = time.time()
    try:
        with _connect(create=False) as conn:
            if conn is None:
                return {}
            # The charts start at the oldest row kept, so a young history fills their width.
            oldest = conn.execute(
                "SELECT min(at) FROM (SELECT min(at) AS at FROM checks WHERE at >= ? "
                "UNION ALL SELECT min(at) FROM verifies WHERE at >= ?)",
                (since, since),
            ).fetchone()[0]
            since = since if oldest is None else float(oldest)
            width = max((now - since) / buckets, 0.001)
            one = "" if db is None else " AND d.path = ?"
            only = () if db is None else (db,)
            lags = conn.execute(
                "SELECT d.path, min(c.at), max(c.lag) FROM checks c JOIN databases d "
                f"ON d.id = c.db WHERE c.at >= ? AND c.lag IS NOT NULL{one} "
                "GROUP BY c.db, CAST((c.at - ?) / ? AS INTEGER) ORDER BY 2",
                (since, *only, since, width),
            ).fetchall()
            verifies = conn.execute(
                "SELECT d.path, c.at, c.ok FROM verifies c JOIN databases d ON d.id = c.db "
                f"WHERE c.at >= ?{one} ORDER BY c.at",
                (since, *only),
            ).fetchall()
    except (sqlite3.Error, OSError) as exc:
        raise HistoryError(_problem(history_path(), exc)) from None
    found: dict[str, Record] = {}
    for path, at, lag in lags:
        found.setdefault(path, {"lag": [], "verifies": []})["lag"].append((at, lag))
    for path, at, ok in verifies:
        found.setdefault(path, {"lag": [], "verifies": []})["verifies"].append((at, bool(ok)))
    for chart in found.values():
        chart.update(start=since, end=now)
    return found
