"""Prometheus metrics from what `check` and the dashboard already gather: one gauge family per
fact, labelled by database, made with prometheus_client (the optional extra
`py-litestream[metrics]`; the dashboard's extra includes it). docs/metrics.md lists them.

The input is the dashboard's overview (web/overview.gather): {"daemon", "databases": [{
"database", "health" (a check record), "restore_points" (kept by the refresher, or None),
"verify" (the latest verify, or None)}], "line", "seconds"}. A value nobody knows (0.3's
TXIDs, a restore point not listed yet) is left out rather than sent as 0. Only numbers and
database paths go out: never a reason line, an endpoint or anything else that could hold a
secret.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

from .about import __version__
from .errors import MissingExtra

Record = dict[str, Any]
EXTRA = "py-litestream[metrics]"
PREFIX = "pylitestream_"


def require_extra() -> None:
    import importlib.util

    if importlib.util.find_spec("prometheus_client") is None:
        raise MissingExtra(f"metrics need prometheus_client: pip install '{EXTRA}'")


def _moment(value: Any) -> float | None:
    """A record's ISO time as a Unix time (None when absent or unreadable)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def newest_restore_point(points: Record | None) -> float | None:
    """When the newest restore point was written (Unix time): on 0.5 the newest LTX file of any
    level, on 0.3 the end of the newest generation or the newest snapshot."""
    if not points:
        return None
    times = [level.get("newest") for level in points.get("levels") or []]
    times += [row.get("end") for row in points.get("generations") or []]
    times += [row.get("created") for row in points.get("snapshots") or []]
    found = [t for t in (_moment(v) for v in times) if t is not None]
    return max(found) if found else None


def _txid(value: Any) -> int | None:
    try:
        return int(str(value), 16) if value else None
    except ValueError:
        return None


def _flag(value: Any) -> int | None:
    return None if value is None else int(bool(value))


# name, help; every family is a gauge labelled by database.
DATABASE_GAUGES = (
    ("database_ok", "1 when check finds nothing wrong with the database's backup, else 0"),
    ("database_lag_seconds", "How long committed data has waited to reach the replica"),
    ("database_seconds_since_sync", "Seconds since the last sync that reached the replica"),
    ("database_local_txid", "The daemon's local TXID (Litestream 0.5)"),
    ("database_replica_txid", "The replica's TXID (Litestream 0.5)"),
    ("database_stalled", "1 when the local position moves on while the replica's stays, else 0"),
    ("database_replica_reachable", "1 when the daemon's syncs reach the replica, 0 when not"),
    ("database_restore_point_age_seconds", "Seconds since the newest restore point was written"),
    ("database_last_verify_timestamp_seconds", "When the latest verify finished (Unix time)"),
    ("database_last_verify_ok", "1 when the latest verify passed, 0 when it failed"),
)


def _database_values(entry: Record, now: float) -> dict[str, float | None]:
    health = entry.get("health") or {}
    kept = entry.get("restore_points") or {}
    verify = entry.get("verify") or {}
    newest = newest_restore_point(kept.get("points"))
    finished = _moment(verify.get("finished_at"))
    return {
        "database_ok": _flag(health.get("ok")),
        "database_lag_seconds": health.get("lag_seconds"),
        "database_seconds_since_sync": health.get("seconds_since_sync"),
        "database_local_txid": _txid(health.get("local_txid")),
        "database_replica_txid": _txid(health.get("replica_txid")),
        "database_stalled": None if health.get("status") is None
        else int(health.get("status") == "stalled"),
        "database_replica_reachable": _flag(health.get("replica_reachable")),
        "database_restore_point_age_seconds": None if newest is None
        else round(max(now - newest, 0.0), 3),
        "database_last_verify_timestamp_seconds": finished,
        "database_last_verify_ok": _flag(verify.get("ok")) if verify else None,
    }  # fmt: skip


def families(overview: Record) -> Iterator[Any]:
    """The metric families of one overview."""
    from prometheus_client.core import GaugeMetricFamily

    now = time.time()
    info = GaugeMetricFamily(PREFIX + "build_info", "pylitestream and the Litestream line in use",
                             labels=["version", "line"])  # fmt: skip
    info.add_metric([__version__, str(overview.get("line") or "")], 1)
    yield info
    daemon = overview.get("daemon")
    if isinstance(daemon, dict) and daemon.get("running") is not None:
        up = GaugeMetricFamily(PREFIX + "daemon_up", "1 when litestream replicate runs, else 0")
        up.add_metric([], int(bool(daemon["running"])))
        yield up
    if overview.get("seconds") is not None:
        took = GaugeMetricFamily(
            PREFIX + "gather_duration_seconds", "Seconds this scrape took to gather the health"
        )
        took.add_metric([], float(overview["seconds"]))
        yield took
    entries = overview.get("databases") or []
    values = [(str(e["database"]), _database_values(e, now)) for e in entries]
    status = GaugeMetricFamily(PREFIX + "database_status",
                               "1 for the database's check status (label status)",
                               labels=["database", "status"])  # fmt: skip
    for entry in entries:
        state = (entry.get("health") or {}).get("status")
        if state:
            status.add_metric([str(entry["database"]), str(state)], 1)
    yield status
    for name, text in DATABASE_GAUGES:
        family = GaugeMetricFamily(PREFIX + name, text, labels=["database"])
        for db, found in values:
            if found[name] is not None:
                family.add_metric([db], float(found[name]))  # type: ignore[arg-type]
        yield family


class OverviewCollector:
    """A prometheus_client collector that gathers a fresh overview on every scrape."""

    def __init__(self, gather: Callable[[], Record]) -> None:
        self.gather = gather

    def collect(self) -> Iterator[Any]:
        yield from families(self.gather())


def registry(gather: Callable[[], Record]) -> Any:
    """A CollectorRegistry holding only pylitestream's metrics, gathered at each scrape."""
    require_extra()
    from prometheus_client import CollectorRegistry

    found = CollectorRegistry(auto_describe=False)
    found.register(OverviewCollector(gather))
    return found


def render(overview: Record, *, openmetrics: bool = False) -> bytes:
    """The overview in Prometheus's text format, or in OpenMetrics' (ends with `# EOF`)."""
    kept = registry(lambda: overview)
    if openmetrics:
        from prometheus_client.openmetrics.exposition import generate_latest as generate

        return bytes(generate(kept))  # type: ignore[no-untyped-call]
    from prometheus_client import generate_latest

    return bytes(generate_latest(kept))


def content_type(openmetrics: bool = False) -> str:
    from prometheus_client import CONTENT_TYPE_LATEST
    from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

    return OPENMETRICS if openmetrics else CONTENT_TYPE_LATEST
