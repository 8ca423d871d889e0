"""The overview of a fleet of databases: what one page (or one overview.json) shows of many.

Every database is summed up in `counts`; the page lists one row per database, failing ones first
by default, filtered by status and by a search on the name or path, sorted by any column, and
cut into pages, so that a page stays the same size at ten databases and at ten thousand. Each
row links to the database's own page, where its restore points, its last verify and the actions
are."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import api

Record = dict[str, Any]

PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_SEARCH = 200
SORTS = ("status", "name", "lag", "sync", "verify", "restore")


@dataclass(frozen=True)
class View:
    """Which part of the fleet a request asks for (its query string), always valid: a value
    that makes no sense falls back to the default rather than failing the page."""

    status: str = ""
    search: str = ""
    sort: str = "status"
    descending: bool = False
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> View:
        def number(name: str, default: int, top: int) -> int:
            try:
                value = int(query.get(name, ""))
            except ValueError:
                return default
            return min(max(value, 1), top)

        sort = query.get("sort", "status")
        return cls(
            status=query.get("status", "")[:40],
            search=query.get("q", "").strip()[:MAX_SEARCH],
            sort=sort if sort in SORTS else "status",
            descending=query.get("order") == "desc",
            page=number("page", 1, 1_000_000),
            per_page=number("per_page", PER_PAGE, MAX_PER_PAGE),
        )

    def query(self, **changes: Any) -> str:
        """This view's query string with `changes`, defaults left out (for links)."""
        from urllib.parse import urlencode

        wanted = {"status": self.status, "q": self.search, "sort": self.sort,
                  "order": "desc" if self.descending else "", "page": self.page,
                  "per_page": self.per_page, **changes}  # fmt: skip
        defaults = {"status": "", "q": "", "sort": "status", "order": "", "page": 1,
                    "per_page": PER_PAGE}  # fmt: skip
        return urlencode({k: v for k, v in wanted.items() if v != defaults[k]})


# The time of the newest restore point a listing shows (0.5's newest LTX file, 0.3's newest
# snapshot or generation end), as the metrics compute it.
newest_restore_point = api.newest_restore_point_at


def row(database: Record) -> Record:
    """One database as a row of the overview ("record" is the whole of it)."""
    health = database["health"]
    verify = database.get("verify") or {}
    return {
        "record": database,
        "database": database["database"],
        "name": database["name"],
        "status": health.get("status") or "unknown",
        "ok": bool(health.get("ok")),
        "reason": health.get("reason"),
        "lag_seconds": health.get("lag_seconds"),
        "seconds_since_sync": health.get("seconds_since_sync"),
        "last_verify_ok": verify.get("ok"),
        "last_verify_at": verify.get("finished_at"),
        "newest_restore_point": newest_restore_point(
            (database.get("restore_points") or {}).get("points")
        ),
        "jobs": [job for job in database.get("jobs") or [] if job.get("state") == "running"],
    }


def _key(view: View) -> Any:
    # None sorts last whichever way the column is sorted: an unknown is never "the best".
    def missing_last(value: Any) -> tuple[bool, Any]:
        return (value is None) != view.descending, value if value is not None else 0

    columns = {
        "name": lambda r: (r["name"], r["database"]),
        "status": lambda r: (r["ok"], r["status"], r["name"], r["database"]),
        "lag": lambda r: (missing_last(r["lag_seconds"]), r["name"]),
        "sync": lambda r: (missing_last(r["seconds_since_sync"]), r["name"]),
        "verify": lambda r: (missing_last(r["last_verify_at"]), r["name"]),
        "restore": lambda r: (missing_last(r["newest_restore_point"]), r["name"]),
    }
    return columns[view.sort]


class Rows:
    """row() of every database, and their counts, kept for as long as the overview hands out
    the same list (overview.Assembled): a page load then filters and sorts, nothing more."""

    def __init__(self) -> None:
        self._kept: tuple[list[Record], list[Record], dict[str, int], int] | None = None

    def __call__(self, databases: list[Record]) -> tuple[list[Record], dict[str, int], int]:
        """The rows, the count of each status, and how many are failing."""
        kept = self._kept
        if kept is None or kept[0] is not databases:
            rows = [row(d) for d in databases]
            counts: dict[str, int] = {}
            for r in rows:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
            failing = sum(not r["ok"] for r in rows)
            kept = self._kept = (databases, rows, dict(sorted(counts.items())), failing)
        return kept[1], kept[2], kept[3]


def select(databases: list[Record], view: View, rows_of: Rows | None = None) -> Record:
    """{"counts", "failing", "total", "matched", "page", "pages", "per_page", "databases",
    "rows"}: every status counted, then the databases the view asks for, whole ("databases",
    as overview.json gives them) and as rows (for the page)."""
    rows, counts, failing = (rows_of or Rows())(databases)
    needle = view.search.casefold()
    matched = [r for r in rows
               if (not view.status or r["status"] == view.status
                   or (view.status == "failing" and not r["ok"]))
               and (not needle or needle in r["database"].casefold())]  # fmt: skip
    matched.sort(key=_key(view), reverse=view.descending)
    pages = max(1, math.ceil(len(matched) / view.per_page))
    page = min(view.page, pages)
    start = (page - 1) * view.per_page
    return {
        "counts": dict(counts),
        "failing": failing,
        "total": len(rows),
        "matched": len(matched),
        "page": page,
        "pages": pages,
        "per_page": view.per_page,
        "databases": [r["record"] for r in matched[start : start + view.per_page]],
        "rows": matched[start : start + view.per_page],
    }
