"""The integrity check every restore passes before anything is placed or reported.

A replica can restore, with litestream's exit code 0, to a database SQLite calls malformed (a
real 0.5.17 replica doing so is in tests/data/replica-malformed-l0). Litestream 0.5 checks the
result itself with `restore -integrity-check`; 0.3 cannot, so pylitestream runs the same PRAGMA
on its private scratch copy. Either way a failed check means nothing is linked into place.

When the check fails, `newest_passing` steps back through older restore points, newest first,
and names the first that passes, so the message says where a sound restore can still be had.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..litestream import records
from ..litestream.binary import Binary
from ..litestream.records import Record
from ..litestream.runner import run_litestream

DEFAULT_CHECK = "quick"
_PRAGMA = {"quick": "quick_check", "full": "integrity_check"}

STEP_BACK_LIMIT = 8
"""Older restore points tried at most when the requested one fails its check: each try is a
whole restore, and a replica broken further back than this needs a person looking at it."""

# Flags that pick the restore point: stepping back replaces them with each older point's own.
POINT_FLAGS = ("txid", "timestamp", "index", "generation")


def immutable_uri(path: Path) -> str:
    """A URI opening the private copy at `path` immutable: nobody else writes it, and reading
    it must neither create -wal/-shm nor change it."""
    return f"{path.absolute().as_uri()}?immutable=1"


def sqlite_check(path: Path, check: str) -> str:
    """'ok', or SQLite's first complaint about the private copy at `path` (quick_check for
    "quick", integrity_check for "full")."""
    try:
        conn = sqlite3.connect(immutable_uri(path), uri=True)
        try:
            rows = [str(row[0]) for row in conn.execute(f"PRAGMA {_PRAGMA[check]}")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "ok" if rows == ["ok"] else (rows[0] if rows else "no result")


def litestream_complaint(message: str) -> str | None:
    """The check's own words when a failed 0.5 restore failed its -integrity-check, else None.
    0.5 says `post-restore integrity check: integrity check: database disk image is malformed
    (11)`."""
    marker = "integrity check:"
    if marker not in message:
        return None
    return message.rsplit(marker, 1)[1].strip() or message


def older_points(
    binary: Binary, config: str, db: str, flags: dict[str, str | bool], timeout: float | None
) -> list[tuple[dict[str, str], str]]:
    """The replica's restore points older than the one `flags` asked for (the latest when they
    name none), newest first, each as (the flags that restore exactly it, its name for a
    person)."""
    if binary.profile.ltx_levels:
        listing = ["ltx", "-config", config, "-level", "all", "-json", db]
        files = records.ltx_05(run_litestream(binary, listing, timeout=timeout).stdout)
        return _older_txids(files, flags)
    listing = ["wal", "-config", config, db]
    segments = records.wal_03(
        run_litestream(binary, listing, timeout=timeout, errors_in_log_fail=True).stdout
    )
    return _older_indexes(segments, flags)


def _moment(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _newest_by(
    items: list[Record], key: Callable[[Record], Any], flags: dict[str, str | bool]
) -> dict[Any, str]:
    """key(item) -> the time its newest item was written, for the items written by the
    -timestamp asked for (all of them without one)."""
    limit = flags.get("timestamp")
    newest: dict[Any, str] = {}
    for item in items:
        if isinstance(limit, str) and _moment(item["created"]) > _moment(limit):
            continue
        point = key(item)
        newest[point] = max(newest.get(point, ""), str(item["created"]))
    return newest


def _older_txids(
    files: list[Record], flags: dict[str, str | bool]
) -> list[tuple[dict[str, str], str]]:
    newest = _newest_by(files, lambda item: str(item["max_txid"]).lower(), flags)
    txids = sorted(newest, reverse=True)
    asked = flags.get("txid")
    # The point asked for: that TXID, or the newest one the -timestamp (or the latest) reached.
    older = [t for t in txids if t < asked.lower()] if isinstance(asked, str) else txids[1:]
    return [({"txid": t}, f"TXID {t} ({newest[t]})") for t in older]


def _older_indexes(
    segments: list[Record], flags: dict[str, str | bool]
) -> list[tuple[dict[str, str], str]]:
    newest = _newest_by(segments, lambda item: (str(item["generation"]), int(item["index"])), flags)
    generation, index = flags.get("generation"), flags.get("index")
    if isinstance(generation, str):
        newest = {point: at for point, at in newest.items() if point[0] == generation}
    points = sorted(newest, key=lambda point: (newest[point], point[1]), reverse=True)
    if isinstance(generation, str) and isinstance(index, str):
        older = [point for point in points if point[1] < int(index, 16)]
    else:
        older = points[1:]
    return [
        ({"generation": g, "index": f"{i:08x}"}, f"generation {g} index {i:08x} ({newest[(g, i)]})")
        for g, i in older
    ]


def newest_passing(
    points: list[tuple[dict[str, str], str]],
    fails: Callable[[dict[str, str]], bool],
    deadline: float | None,
) -> tuple[dict[str, str], str] | None:
    """The first of `points` (newest first) for which `fails` is False, trying at most
    STEP_BACK_LIMIT of them and none once `deadline` (time.monotonic) has passed."""
    for point in points[:STEP_BACK_LIMIT]:
        if deadline is not None and time.monotonic() > deadline:
            return None
        if not fails(point[0]):
            return point
    return None
