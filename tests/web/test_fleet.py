"""The fleet overview's selection (pylitestream.web.fleet): counts, failing first, filters,
search, sorting with unknowns last, and pages that stay bounded whatever the query says."""

from __future__ import annotations

from typing import Any

import pytest

from pylitestream.web.fleet import MAX_PER_PAGE, PER_PAGE, View, newest_restore_point, select


def database(name: str, status: str = "ok", lag: float | None = 0.0, **extra: Any) -> Any:
    return {
        "database": f"/srv/tenants/{name}.db",
        "name": f"{name}.db",
        "health": {"status": status, "ok": status == "ok", "lag_seconds": lag,
                   "seconds_since_sync": lag, "reason": None if status == "ok" else status},
        "verify": extra.get("verify"),
        "restore_points": {"points": extra.get("points")},
        "jobs": extra.get("jobs", []),
    }  # fmt: skip


FLEET = [database(f"t{n:04d}", lag=n / 10) for n in range(1000)] + [
    database("zeta", "stalled", 500.0),
    database("alpha", "stopped", None),
]


def test_failing_first_then_by_name_and_everything_counted() -> None:
    chosen = select(FLEET, View())
    assert chosen["counts"] == {"ok": 1000, "stalled": 1, "stopped": 1}
    assert (chosen["total"], chosen["matched"], chosen["failing"]) == (1002, 1002, 2)
    assert [r["name"] for r in chosen["rows"][:3]] == ["zeta.db", "alpha.db", "t0000.db"]
    # "status" sorts by (ok, status name): stalled < stopped
    assert len(chosen["rows"]) == len(chosen["databases"]) == PER_PAGE
    assert chosen["databases"][0] is FLEET[1000]  # the whole record, as overview.json gives it
    assert chosen["pages"] == 21


def test_filter_search_and_pages() -> None:
    failing = select(FLEET, View(status="failing"))
    assert [r["name"] for r in failing["rows"]] == ["zeta.db", "alpha.db"]
    assert [r["name"] for r in select(FLEET, View(status="stopped"))["rows"]] == ["alpha.db"]
    found = select(FLEET, View(search="T0999"))  # case-insensitive, on the path
    assert [r["name"] for r in found["rows"]] == ["t0999.db"] and found["matched"] == 1
    last = select(FLEET, View(page=21))
    assert last["page"] == 21 and len(last["rows"]) == 1002 - 20 * PER_PAGE
    beyond = select(FLEET, View(page=500))  # past the end: the last page
    assert beyond["page"] == 21
    nothing = select(FLEET, View(search="nobody"))
    assert (nothing["matched"], nothing["pages"], nothing["rows"]) == (0, 1, [])


def test_sorting_keeps_unknown_values_last_both_ways() -> None:
    up = [r["name"] for r in select(FLEET, View(sort="lag", per_page=MAX_PER_PAGE, page=3))["rows"]]
    assert up[-1] == "alpha.db"  # no lag known: last
    down = select(FLEET, View(sort="lag", descending=True))["rows"]
    assert [r["name"] for r in down[:2]] == ["zeta.db", "t0999.db"]
    assert select(FLEET, View(sort="lag", descending=True, page=21))["rows"][-1]["name"] == (
        "alpha.db"
    )
    by_name = select(FLEET, View(sort="name"))["rows"]
    assert by_name[0]["name"] == "alpha.db"


@pytest.mark.parametrize(
    ("query", "view"),
    [
        ({}, View()),
        ({"page": "0", "per_page": "100000"}, View(page=1, per_page=MAX_PER_PAGE)),
        ({"page": "two", "per_page": "-3"}, View(page=1, per_page=1)),
        ({"sort": "evil();", "order": "sideways"}, View()),
        (
            {"sort": "lag", "order": "desc", "status": "stalled"},
            View(status="stalled", sort="lag", descending=True),
        ),
        ({"q": "  acme  " + "x" * 500}, View(search=("acme  " + "x" * 500)[:200])),
    ],
)
def test_any_query_gives_a_valid_bounded_view(query: dict[str, str], view: View) -> None:
    assert View.from_query(query) == view


def test_links_keep_the_view_and_leave_defaults_out() -> None:
    view = View(status="failing", search="acme co", sort="lag", descending=True, page=3)
    assert view.query(page=4) == "status=failing&q=acme+co&sort=lag&order=desc&page=4"
    assert View().query() == ""
    assert View().query(sort="name") == "sort=name"


def test_newest_restore_point_on_both_lines() -> None:
    assert newest_restore_point(None) is None
    assert newest_restore_point({"levels": [{"newest": "2026-12-01T00:00:00Z"},
                                            {"newest": "2026-12-02T00:00:00Z"}],
                                 "snapshots": []}) == "2026-12-02T00:00:00Z"  # fmt: skip
    assert newest_restore_point({"generations": [{"end": "2026-11-30T00:00:00Z"}],
                                 "snapshots": [{"created": "2026-11-29T00:00:00Z"}]}) == (
        "2026-11-30T00:00:00Z"
    )  # fmt: skip


def test_rows_carry_last_verify_and_running_jobs() -> None:
    busy = database("busy", verify={"ok": False, "finished_at": "2026-12-05T10:00:00Z"},
                    jobs=[{"kind": "verify", "state": "running"},
                          {"kind": "sync", "state": "ok"}])  # fmt: skip
    (line,) = select([busy], View())["rows"]
    assert (line["last_verify_ok"], line["last_verify_at"]) == (False, "2026-12-05T10:00:00Z")
    assert [job["kind"] for job in line["jobs"]] == ["verify"]


class FakePoints:
    """What Assembled asks of the restore points: get(db) and a version that moves on."""

    def __init__(self) -> None:
        self.version = 0
        self.asked = 0

    def get(self, db: str) -> dict[str, Any]:
        self.asked += 1
        return {"points": None, "version": self.version}


def test_the_fleet_is_assembled_once_per_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same list while the health, the kept verifies and (for POINTS_SETTLE s) the restore
    points stand still, and its rows with it; anew when any of them moves on."""
    from pylitestream.web import overview
    from pylitestream.web.fleet import Rows

    monkeypatch.setattr(overview.api, "last_verifies", lambda dbs: {})
    clock = [1000.0]
    monkeypatch.setattr(overview.time, "monotonic", lambda: clock[0])
    health = [{"database": f"/srv/t{n}.db", "status": "ok", "ok": True} for n in range(3)]
    points, assembled, rows_of = FakePoints(), overview.Assembled(), Rows()

    first = assembled.get(health, 1, points)  # type: ignore[arg-type]
    assert [d["name"] for d in first] == ["t0.db", "t1.db", "t2.db"] and points.asked == 3
    rows = rows_of(first)
    assert assembled.get(health, 1, points) is first  # type: ignore[arg-type]
    assert rows_of(first)[0] is rows[0]

    points.version += 1  # a restore point refreshed: shown within POINTS_SETTLE s
    assert assembled.get(health, 1, points) is first  # type: ignore[arg-type]
    clock[0] += overview.POINTS_SETTLE
    moved = assembled.get(health, 1, points)  # type: ignore[arg-type]
    assert moved is not first and moved[0]["restore_points"]["version"] == 1
    assert rows_of(moved)[0] is not rows[0]

    assert assembled.get(health, 2, points) is not moved  # type: ignore[arg-type]  # a verify
    fresh = [dict(record) for record in health]  # the next health refresh
    assert assembled.get(fresh, 2, points)[0]["health"] is fresh[0]  # type: ignore[arg-type]
