"""The dashboard's actions: verify now, sync now (0.5), restore plan (0.5) and restore to a
timestamped sibling file. Each runs in the background and keeps its real outcome: litestream's
own line on failure, and "restored" only for a file that exists and passes quick_check."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pylitestream

from ..api import Profile
from ..errors import ActionFailed
from .overview import now_iso

Record = dict[str, Any]
KINDS = ("verify", "sync", "plan", "restore")
KEEP = 5
"""Finished jobs kept per database (newest first)."""


def quick_check(path: Path) -> str:
    """'ok', or what SQLite's quick_check found; opened read-only so nothing is changed."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # not a database at all, or too broken to check
        return str(exc)
    return "; ".join(str(r[0]) for r in rows)


def run_action(kind: str, db: str, config: str, profile: Profile) -> tuple[str, Record]:
    """(one-line outcome, details); raises ActionFailed with the reason."""
    try:
        if kind == "verify":
            record = pylitestream.verify(db, config=config)
            seconds = record.get("seconds_to_visible")
            contents = (
                "holds exactly what the database holds"
                if record.get("contents") == "same"
                else "was not compared with the database"
            )
            return (f"verified: a fresh restore shows the sentinel row after {seconds} s, "
                    f"passes its integrity check and {contents}", record)  # fmt: skip
        if kind == "sync":
            synced = pylitestream.sync(db, wait=True, config=config)
            record = synced[0] if isinstance(synced, list) else synced
            return (f"synced: replica at TXID {record.get('replica_txid')}, local "
                    f"{record.get('txid')}", record)  # fmt: skip
        if kind == "plan":
            if "-dry-run" in profile.missing:
                return ("Litestream 0.3 cannot show a restore plan (no -dry-run); the restore "
                        "takes the latest generation", {})  # fmt: skip
            plan = pylitestream.restore_plan(db, config=config)
            return (f"plan: {len(plan['files'])} LTX file(s), TXIDs {plan['min_txid']}.."
                    f"{plan['max_txid']}", plan)  # fmt: skip
        if kind == "restore":
            return restore_sibling(db, config)
    except pylitestream.VerificationFailure as exc:
        raise ActionFailed(str(exc)) from None
    except pylitestream.PylitestreamError as exc:
        raise ActionFailed(str(exc)) from None
    raise ActionFailed(f"unknown action {kind!r}")


def restore_sibling(db: str, config: str) -> tuple[str, Record]:
    """Restore into a new timestamped file beside `db` (never over anything), then prove it."""
    written = pylitestream.restore(db, config=config)
    if written is None:
        raise ActionFailed(
            "litestream restored nothing: the replica has no backup of this database"
        )
    path = Path(written)
    if not path.is_file() or path.stat().st_size == 0:
        raise ActionFailed(f"litestream reported success but {path} is missing or empty")
    verdict = quick_check(path)
    if verdict != "ok":
        raise ActionFailed(f"{path} was written but fails quick_check: {verdict}")
    size = path.stat().st_size
    return (f"restored to {path} ({size} bytes, quick_check ok)",
            {"path": str(path), "size": size, "quick_check": verdict})  # fmt: skip


class Jobs:
    """Background actions, at most one running per database and kind."""

    def __init__(self, config: str, profile: Profile, on_done: Any = None) -> None:
        self.config, self.profile, self.on_done = config, profile, on_done
        self._jobs: dict[str, list[Record]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pylitestream-action")

    def start(self, kind: str, db: str) -> Record:
        with self._lock:
            for running in self._jobs.get(db, []):
                if running["kind"] == kind and running["state"] == "running":
                    return dict(running)
            job: Record = {"id": next(self._ids), "kind": kind, "database": db,
                           "state": "running", "message": f"{kind} running…", "details": None,
                           "started_at": now_iso(), "finished_at": None}  # fmt: skip
            self._jobs[db] = [job, *self._jobs.get(db, [])][: KEEP + 1]
        self._pool.submit(self._run, job)
        return dict(job)

    def _run(self, job: Record) -> None:
        try:
            message, details = run_action(job["kind"], job["database"], self.config, self.profile)
            state = "ok"
        except ActionFailed as exc:
            message, details, state = str(exc), None, "failed"
        except Exception as exc:  # keep the page honest even for a bug of ours
            message, details, state = (
                f"{job['kind']} failed: {type(exc).__name__}: {exc}",
                None,
                "failed",
            )
        with self._lock:
            job.update(state=state, message=message, details=details, finished_at=now_iso())
        if self.on_done is not None:
            self.on_done(job["database"])

    def snapshot(self) -> dict[str, list[Record]]:
        with self._lock:
            return {db: [dict(job) for job in jobs] for db, jobs in self._jobs.items()}

    def get(self, job_id: int) -> Record | None:
        with self._lock:
            for jobs in self._jobs.values():
                for job in jobs:
                    if job["id"] == job_id:
                        return dict(job)
        return None
