"""What one page load shows, gathered through the public API only, plus sizes and the kept
verify results from disk. Nothing a page shows is asked of litestream inside the page load:

- 0.5: a background refresher keeps the daemon's state and every database's health
  (`FleetHealth`: one /info, one /list and at most a few /sync probes per refresh, every
  HEALTH_TTL_05 s at most, whatever the number of databases and of open pages);
- 0.3, which has no control socket: a background `check` (one `litestream generations` per
  database, a few at a time), every HEALTH_TTL_03 s at most;
- restore points (`ltx` on 0.5, `generations`/`snapshots` on 0.3; one litestream process per
  database) are refreshed in the background too, at most RESTORE_POINTS_PER_SECOND a second.

A page shows what the refreshers have, with its age."""

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

from .. import api
from ..api import FleetHealth, Profile

log = logging.getLogger(__name__)
Record = dict[str, Any]
RESTORE_POINTS_TTL = 60.0
"""Seconds a database's restore points are shown before they are fetched again (longer with
many databases: see RESTORE_POINTS_PER_SECOND)."""
RESTORE_POINTS_PER_SECOND = 2.0
"""At most this many litestream processes a second for restore points, on average."""
HEALTH_TTL_05 = 5.0
"""Seconds between two looks at the 0.5 daemon, however many pages are open."""
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


class Kept:
    """Results fetched in the background and kept between page loads, so a page load never runs
    litestream itself. A look at a missing or stale key starts one fetch for it (never two at a
    time); a failed fetch keeps showing the last good value beside its error, unless
    `shown_on_error` says what to show instead."""

    field = "value"
    """The key the result has in what `get` returns."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._kept: dict[str, Record] = {}
        self._busy: set[str] = set()
        self._changed = threading.Condition()
        self.version = 0
        """Moves on whenever a kept value changes or is marked stale."""

    def ttl(self) -> float:
        raise NotImplementedError

    def fetch(self, key: str) -> Any:
        raise NotImplementedError

    def shown_on_error(self, key: str, error: str) -> Any:
        return None

    def get(self, key: str, wait: float = 0.0) -> Record:
        """{field, "error", "fetched_at", "refreshing"}; waits up to `wait` seconds for the
        first fetch of `key`."""
        with self._changed:
            kept = self._kept.get(key)
            stale = kept is None or time.monotonic() - kept["_at"] > self.ttl()
            if stale and key not in self._busy:
                self._busy.add(key)
                self._pool.submit(self._fetch, key)
            if kept is None and wait:
                self._changed.wait_for(lambda: key in self._kept, wait)
                kept = self._kept.get(key)
            shown: Record = {self.field: None, "error": None, "fetched_at": None}
            shown.update((k, v) for k, v in (kept or {}).items() if not k.startswith("_"))
            shown["refreshing"] = key in self._busy
            return shown

    def refresh(self, key: str) -> None:
        """Fetch again on the next look (after an action changed what was fetched)."""
        with self._changed:
            if key in self._kept:
                self._kept[key]["_at"] = float("-inf")
                self.version += 1

    def _fetch(self, key: str) -> None:
        entry: Record = {self.field: None, "error": None, "fetched_at": now_iso()}
        try:
            entry[self.field] = self.fetch(key)
        except pylitestream.PylitestreamError as exc:
            entry["error"] = str(exc)
        except Exception as exc:  # a refresher thread must not die silently
            log.exception("%s of %s", type(self).__name__, key)
            entry["error"] = f"{type(exc).__name__}: {exc}"
        with self._changed:
            if entry["error"] is not None:
                old = self._kept.get(key) or {}
                instead = self.shown_on_error(key, entry["error"])
                entry[self.field] = old.get(self.field) if instead is None else instead
            entry["_at"] = time.monotonic()
            self._kept[key] = entry
            self.version += 1
            self._busy.discard(key)
            self._changed.notify_all()


class RestorePoints(Kept):
    """Restore points per database (one litestream process per database)."""

    field = "points"

    def __init__(self, pool: ThreadPoolExecutor, config: str, profile: Profile) -> None:
        super().__init__(pool)
        self.config, self.profile = config, profile

    def ttl(self) -> float:
        return max(RESTORE_POINTS_TTL, len(self._kept) / RESTORE_POINTS_PER_SECOND)

    def fetch(self, key: str) -> Record:
        return restore_points(key, self.config, self.profile)


HISTORY_EVERY = 60.0
"""Seconds between the dashboard's own entries in the history (0.5)."""


class KeptFleet(Kept):
    """The 0.5 daemon's state and every database's health, kept under the config's path and
    refreshed by one FleetHealth (see its cost to the daemon). A failed refresh shows every
    database as unknown, never the last good health."""

    field = "records"

    def __init__(self, pool: ThreadPoolExecutor, config: str, timeout: float = 5.0) -> None:
        super().__init__(pool)
        self.timeout = timeout
        self.fleet = FleetHealth(config, timeout=timeout)
        self.daemon: Record | None = None
        self.recorded_at = float("-inf")

    def ttl(self) -> float:
        return HEALTH_TTL_05

    def fetch(self, key: str) -> list[Record]:
        try:
            self.daemon = pylitestream.daemon_status(config=key, timeout=self.timeout)
        except pylitestream.PylitestreamError as exc:
            # A frozen daemon: the health below still says how far each database has fallen
            # behind since its last sync (health._down), rather than "unknown".
            log.warning("daemon status: %s", exc)
            self.daemon = None
        records = self.fleet.refresh()
        # Into the history like every check, at most once a minute: at a thousand databases a
        # row per database every 5 s would fill its row cap within the hour.
        if time.monotonic() - self.recorded_at >= HISTORY_EVERY:
            api.record_history(records)
            self.recorded_at = time.monotonic()
        return records

    def shown_on_error(self, key: str, error: str) -> list[Record]:
        return unchecked(key, error)


class KeptCheck(Kept):
    """`check` where it spawns one litestream per database (0.3), kept under the config's path.
    A failed check shows every database as unknown, never the last good health."""

    field = "records"

    def __init__(self, pool: ThreadPoolExecutor, timeout: float = 5.0) -> None:
        super().__init__(pool)
        self.timeout = timeout

    def ttl(self) -> float:
        return HEALTH_TTL_03

    def fetch(self, key: str) -> list[Record]:
        return pylitestream.check(config=key, timeout=self.timeout)

    def shown_on_error(self, key: str, error: str) -> list[Record]:
        return unchecked(key, error)


def unchecked(config: str, reason: str) -> list[Record]:
    """The config's databases with unknown health, when `check` cannot run (for example a 0.5
    config without the control socket): the page still lists every database (those of `dir:`
    entries as found on disk)."""
    try:
        paths = [row["path"] for row in api.config_databases(config)["databases"]]
    except pylitestream.PylitestreamError:
        return []
    unknown = dict.fromkeys(("local_txid", "replica_txid", "lag_seconds", "seconds_since_sync",
                             "last_sync_at", "replica_reachable"))  # fmt: skip
    return [{**unknown, "database": str(Path(p).expanduser().absolute()), "ok": False,
             "status": "unknown", "reason": reason} for p in paths]  # fmt: skip


def file_size(db: str) -> int | None:
    try:
        return os.stat(db).st_size
    except OSError:
        return None


def with_sizes(databases: list[Record]) -> list[Record]:
    """The databases a page shows, each with its file's size: a stat per database shown, not
    per database in the fleet."""
    return [{**d, "size": file_size(d["database"])} for d in databases]


POINTS_SETTLE = 5.0
"""Seconds a kept list of databases may show restore points that have since been refreshed."""


class Assembled:
    """The overview's list of databases, kept while nothing it is made of changes: the same
    health records, the same kept verify results, and restore points at most POINTS_SETTLE s
    behind (at a thousand databases they are refreshed a couple of times a second). A page
    load then costs the rows it shows rather than a pass over the fleet. The same list is
    handed out until then, so what is derived from it (fleet.Rows) can be kept too."""

    def __init__(self) -> None:
        self._kept: tuple[list[Record], Any, int, float, list[Record]] | None = None

    def get(self, health: list[Record], verified: Any, points: RestorePoints) -> list[Record]:
        kept, now = self._kept, time.monotonic()
        if (kept is not None and kept[0] is health and kept[1] == verified
                and (kept[2] == points.version or now - kept[3] < POINTS_SETTLE)):  # fmt: skip
            return kept[4]
        version = points.version  # before the build: a change during it is seen next time
        databases = _assemble(health, points)
        self._kept = (health, verified, version, now, databases)
        return databases


def _assemble(health: list[Record], points: RestorePoints) -> list[Record]:
    dbs = [str(record["database"]) for record in health]
    verified = api.last_verifies(dbs)
    return [
        {"database": db, "name": os.path.basename(db), "health": record,
         "restore_points": points.get(db), "verify": verified.get(db), "jobs": []}
        for db, record in zip(dbs, health)
    ]  # fmt: skip


def gather(config: str, line: str, points: RestorePoints, jobs: dict[str, list[Record]],
           kept_check: KeptCheck | KeptFleet | None = None,
           timeout: float = 5.0, assembled: Assembled | None = None) -> Record:  # fmt: skip
    """The overview: {"generated_at", "health_checked_at", "seconds", "line", "config",
    "daemon", "databases", "error"}. Health is `kept_check`'s latest (0.5: KeptFleet, 0.3:
    KeptCheck); without one, a `check` now. With `assembled`, the list of databases is reused
    while nothing it is made of has changed."""
    started = time.monotonic()
    errors = []
    daemon: Record | None = None
    health: list[Record] = []
    checked_at = None
    if kept_check is None:
        # Both at once: with a frozen daemon each waits out its timeout, and check still says
        # how far behind each database is.
        with ThreadPoolExecutor(max_workers=2) as pool:
            asked = pool.submit(pylitestream.daemon_status, config=config, timeout=timeout)
            checked = pool.submit(pylitestream.check, config=config, timeout=timeout)
            try:
                daemon = asked.result()
            except pylitestream.PylitestreamError as exc:
                errors.append(str(exc))
            try:
                health = checked.result()
            except pylitestream.PylitestreamError as exc:
                errors.append(str(exc))
                health = unchecked(config, str(exc))
    else:
        kept = kept_check.get(config, wait=timeout + 60)
        finished = kept["records"] is not None
        error = kept["error"] or (None if finished else "check did not finish")
        health = kept["records"] if finished else unchecked(config, str(error))
        errors += [error] if error else []
        checked_at = kept["fetched_at"] or now_iso()
        if isinstance(kept_check, KeptFleet):
            daemon = kept_check.daemon
        else:
            try:
                daemon = pylitestream.daemon_status(config=config, timeout=timeout)
            except pylitestream.PylitestreamError as exc:
                errors.append(str(exc))
    if assembled is None:
        databases = _assemble(health, points)
    else:
        databases = assembled.get(health, api.last_verifies_stamp(), points)
    if jobs:
        databases = [{**d, "jobs": jobs[d["database"]]} if d["database"] in jobs else d
                     for d in databases]  # fmt: skip
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
