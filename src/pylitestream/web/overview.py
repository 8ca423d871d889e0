"""What one page load shows, gathered through the public API only: the daemon
(`daemon_status`) and every database's health (`check`) concurrently, plus sizes and the kept
verify results from disk. Restore points (`ltx` on 0.5, `generations`/`snapshots` on 0.3) cost
one litestream process per database, so they never run inside a page load: a background
refresher keeps them, and a page shows what it has with its age."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pylitestream

from ..litestream.profile import Profile

log = logging.getLogger(__name__)
Record = dict[str, Any]
RESTORE_POINTS_TTL = 60.0
"""Seconds a database's restore points are shown before they are fetched again."""
HEALTH_TTL_03 = 5.0
"""Litestream 0.3 has no control socket, so its check runs one `litestream generations` per
database: page loads show the latest check, refreshed in the background at most this often."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def restore_points(db: str, config: str, profile: Profile) -> Record:
    """0.5: the LTX files by level (count, bytes, newest) and the snapshots (level 9);
    0.3: generations and snapshots."""
    if not profile.ltx_levels:
        return {
            "generations": pylitestream.generations(db, config=config, validate=False),
            "snapshots": pylitestream.snapshots(db, config=config, validate=False),
        }
    files = pylitestream.ltx(db, level="all", config=config, validate=False)
    levels: dict[int, Record] = {}
    for entry in files:
        level = levels.setdefault(int(entry["level"]), {"level": int(entry["level"]), "files": 0,
                                                        "size": 0, "newest": None})  # fmt: skip
        level["files"] += 1
        level["size"] += int(entry.get("size") or 0)
        if entry.get("created") and (level["newest"] is None or entry["created"] > level["newest"]):
            level["newest"] = entry["created"]
    snapshots = [f for f in files if int(f["level"]) == 9]
    return {"levels": [levels[k] for k in sorted(levels)], "snapshots": snapshots}


class RestorePoints:
    """Restore points per database, refreshed in the background (at most one litestream
    process per database at a time, none inside a request)."""

    def __init__(self, config: str, profile: Profile) -> None:
        self.config, self.profile = config, profile
        self._kept: dict[str, Record] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pylitestream-points")

    def get(self, db: str) -> Record:
        """{"points", "fetched_at", "error", "refreshing"}; starts a refresh when stale."""
        with self._lock:
            kept = self._kept.get(db)
            stale = kept is None or time.monotonic() - kept["_at"] > RESTORE_POINTS_TTL
            if stale and db not in self._busy:
                self._busy.add(db)
                self._pool.submit(self._fetch, db)
            shown: Record = {"points": None, "error": None, "fetched_at": None}
            shown.update((k, v) for k, v in (kept or {}).items() if not k.startswith("_"))
            shown["refreshing"] = db in self._busy
            return shown

    def refresh(self, db: str) -> None:
        """Fetch again on the next look (after an action changed the replica)."""
        with self._lock:
            if db in self._kept:
                self._kept[db]["_at"] = float("-inf")

    def _fetch(self, db: str) -> None:
        entry: Record = {"points": None, "error": None, "fetched_at": now_iso()}
        try:
            entry["points"] = restore_points(db, self.config, self.profile)
        except pylitestream.PylitestreamError as exc:
            entry["error"] = str(exc)
        except Exception as exc:  # a refresher thread must not die silently
            log.exception("restore points of %s", db)
            entry["error"] = f"{type(exc).__name__}: {exc}"
        with self._lock:
            old = self._kept.get(db)
            if entry["points"] is None and old and old.get("points") is not None:
                entry["points"] = old["points"]  # keep showing the last good listing
            entry["_at"] = time.monotonic()
            self._kept[db] = entry
            self._busy.discard(db)


class KeptCheck:
    """`check` on 0.3, kept between page loads and refreshed in the background (never more than
    one at a time). Only the first page load waits for it."""

    def __init__(self, config: str) -> None:
        self.config = config
        self._kept: tuple[float, list[Record], str | None, str] | None = None
        self._busy = False
        self._changed = threading.Condition()

    def get(self, timeout: float) -> tuple[list[Record], str | None, str]:
        """(records, error, checked_at) of the latest check; starts a refresh when stale."""
        with self._changed:
            kept = self._kept
            if (kept is None or time.monotonic() - kept[0] > HEALTH_TTL_03) and not self._busy:
                self._busy = True
                threading.Thread(target=self._check, args=(timeout,), daemon=True).start()
            if kept is None:
                self._changed.wait_for(lambda: self._kept is not None, timeout + 60)
                kept = self._kept
        if kept is None:
            return unchecked(self.config, "check did not finish"), "check did not finish", now_iso()
        return kept[1], kept[2], kept[3]

    def _check(self, timeout: float) -> None:
        error: str | None = None
        try:
            records = pylitestream.check(config=self.config, timeout=timeout)
        except pylitestream.PylitestreamError as exc:
            error = str(exc)
            records = unchecked(self.config, error)
        except Exception as exc:  # a refresher thread must not die silently
            log.exception("check of %s", self.config)
            error = f"{type(exc).__name__}: {exc}"
            records = unchecked(self.config, error)
        with self._changed:
            self._kept = (time.monotonic(), records, error, now_iso())
            self._busy = False
            self._changed.notify_all()


def unchecked(config: str, reason: str) -> list[Record]:
    """The config's databases with unknown health, when `check` cannot run (for example a 0.5
    config without the control socket): the page still lists every database."""
    try:
        entries = pylitestream.show_config(config)["settings"].get("dbs") or []
    except pylitestream.PylitestreamError:
        return []
    paths = [e["path"] for e in entries if isinstance(e, dict) and isinstance(e.get("path"), str)]
    unknown = dict.fromkeys(("local_txid", "replica_txid", "lag_seconds", "seconds_since_sync",
                             "last_sync_at", "replica_reachable"))  # fmt: skip
    return [{**unknown, "database": str(Path(p).expanduser().absolute()), "ok": False,
             "status": "unknown", "reason": reason} for p in paths]  # fmt: skip


def file_size(db: str) -> int | None:
    try:
        return os.stat(db).st_size
    except OSError:
        return None


def gather(config: str, line: str, points: RestorePoints, jobs: dict[str, list[Record]],
           kept_check: KeptCheck | None = None, timeout: float = 5.0) -> Record:  # fmt: skip
    """The overview: {"generated_at", "health_checked_at", "seconds", "line", "config",
    "daemon", "databases", "error"}. With `kept_check` (0.3), health is its latest check."""
    started = time.monotonic()
    errors = []
    daemon: Record | None = None
    health: list[Record] = []
    checked_at = None
    with ThreadPoolExecutor(max_workers=2) as pool:
        daemon_future = pool.submit(pylitestream.daemon_status, config=config, timeout=timeout)
        if kept_check is None:
            check_future = pool.submit(pylitestream.check, config=config, timeout=timeout)
        else:
            health, error, checked_at = kept_check.get(timeout)
            errors += [error] if error else []
        try:
            daemon = daemon_future.result()
        except pylitestream.PylitestreamError as exc:
            errors.append(str(exc))
        if kept_check is None:
            try:
                health = check_future.result()
            except pylitestream.PylitestreamError as exc:
                errors.append(str(exc))
                health = unchecked(config, str(exc))
    databases = []
    for record in health:
        db = str(record["database"])
        databases.append({
            "database": db,
            "name": Path(db).name,
            "size": file_size(db),
            "health": record,
            "restore_points": points.get(db),
            "verify": pylitestream.last_verify(db),
            "jobs": jobs.get(db, []),
        })  # fmt: skip
    return {
        "generated_at": now_iso(),
        "health_checked_at": checked_at,
        "seconds": round(time.monotonic() - started, 3),
        "line": line,
        "config": config,
        "daemon": daemon,
        "databases": databases,
        "error": "; ".join(errors) or None,
    }
