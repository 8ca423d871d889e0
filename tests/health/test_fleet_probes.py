"""The dashboard's bounded probes (FleetHealth, 0.5), in process: a database judged without a
probe is never `ok` once its last sync is older than max_lag and no recent probe cleared it,
and the probes reach every database whose last sync is old in turn, so an outage of a thousand
databases shows in every row at once and is confirmed probe by probe. The real daemon's side is
in test_tenants.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from internals import unconfirmed_unless_cleared

from pylitestream.api import FleetHealth


def judged(since_sync: float | None, probed_ago: float, **record: Any) -> dict[str, Any]:
    found = {"database": "/srv/t.db", "ok": True, "status": "ok", "lag_seconds": None,
             "seconds_since_sync": since_sync, **record}  # fmt: skip
    unconfirmed_unless_cleared(found, probed_ago, 60.0)
    return found


def test_an_old_last_sync_without_a_recent_probe_is_unconfirmed() -> None:
    never = judged(61.0, float("inf"))
    assert (never["ok"], never["status"]) == (False, "unconfirmed")
    assert never["reason"].startswith("/srv/t.db: no sync has reached the replica for 61 s")
    assert judged(90.0, 120.0)["status"] == "unconfirmed"  # the last probe is too old
    assert judged(90.0, 30.0)["ok"]  # a probe within max_lag found it caught up: idle
    assert judged(59.0, float("inf"))["ok"]  # syncing
    assert judged(None, float("inf"))["ok"]  # no sync yet to judge by (just started)
    lagging = judged(90.0, float("inf"), ok=False, status="lagging")
    assert lagging["status"] == "lagging"  # what a probe found stays


def test_the_probes_reach_every_database_whose_last_sync_is_old() -> None:
    """Forty databases, none synced for two minutes (a replica outage): 8 probes a refresh
    reach all forty in five refreshes, the least recently probed first."""
    fleet = FleetHealth("unused.yml", probes=8, max_lag=60)
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=120)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    dbs = [f"/srv/t{n:02d}.db" for n in range(40)]
    listing = {db: {"database": db, "status": "replicating", "last_sync_at": old} for db in dbs}
    reached: list[str] = []
    for refresh in range(5):
        chosen = fleet._choose(dbs, listing)
        assert len(chosen) == 8 and not set(chosen) & set(reached)
        reached += chosen
        for db in chosen:  # as refresh() marks them, and all of them failed
            fleet._probed_at[db] = float(refresh)
            fleet._failed.add(db)
    assert sorted(reached) == dbs
    assert fleet._choose(dbs, listing) == reached[:8]  # round again, in the same order
