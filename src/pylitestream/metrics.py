"""Prometheus metrics from what `check` and the dashboard already gather: one gauge family per
fact, labelled by database, made with prometheus_client (the optional extra
`py-litestream[metrics]`; the dashboard's extra includes it). docs/metrics.md lists them.

The input is the dashboard's overview (web/overview.gather): {"daemon", "databases": [{
"database", "health" (a check record), "restore_points" (kept by the refresher, or None),
"verify" (the latest verify, or None)}], "line", "seconds"}. A value nobody knows (0.3's
TXIDs, a restore point not listed yet) is left out rather than sent as 0. Only numbers and
database paths go out: never a reason line, an endpoint or anything else that could hold a
secret.

An audit's records (services/audit.py) become metrics of their own, `pylitestream_audit_*`.
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


def newest_restore_point_at(points: Record | None) -> str | None:
    """When the newest restore point was written, as its listing says it (ISO 8601): on 0.5
    the newest LTX file of any level, on 0.3 the end of the newest generation or the newest
    snapshot. Compared as times, not as text."""
    if not points:
        return None
    times = [level.get("newest") for level in points.get("levels") or []]
    times += [row.get("end") for row in points.get("generations") or []]
    times += [row.get("created") for row in points.get("snapshots") or []]
    found = [(moment, str(value)) for value in times if (moment := _moment(value)) is not None]
    return max(found)[1] if found else None


def newest_restore_point(points: Record | None) -> float | None:
    """newest_restore_point_at as a Unix time."""
    return _moment(newest_restore_point_at(points))


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
    yield _build_info(str(overview.get("line") or ""))
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
    yield from _gauges(DATABASE_GAUGES, values)


# The audit's (pylitestream audit --format openmetrics): named apart from check's, so that a
# host running both through node_exporter's textfile collector exposes no metric twice.
AUDIT_GAUGES = (
    ("audit_database_ok", "1 when the audit finds nothing wrong with the backup, else 0"),
    ("audit_restore_point_timestamp_seconds",
     "When the newest restore point reached the replica (Unix time)"),
    ("audit_restore_point_age_seconds",
     "Seconds since the newest restore point reached the replica, when the audit ran"),
    ("audit_restore_point_span_seconds",
     "Seconds from the oldest backup a restore can start from to the newest restore point"),
    ("audit_drill_ok", "1 when the restore drill passed, 0 when it failed"),
)  # fmt: skip


def _audit_values(record: Record) -> dict[str, float | None]:
    drill = record.get("drill")
    return {
        "audit_database_ok": _flag(record.get("ok")),
        "audit_restore_point_timestamp_seconds": _moment(record.get("newest_at")),
        "audit_restore_point_age_seconds": record.get("age_seconds"),
        "audit_restore_point_span_seconds": record.get("span_seconds"),
        # An inconclusive drill proved nothing either way: left out, as is a drill not run.
        "audit_drill_ok": {"ok": 1, "failed": 0}.get(str(drill)),
    }


def audit_families(records: list[Record], seconds: float, storage_ok: bool) -> Iterator[Any]:
    """The metric families of one audit: its records, how long it took, and whether anything
    under the URL could be audited at all (`storage_ok`; with no records when not)."""
    from prometheus_client.core import GaugeMetricFamily

    yield _build_info(str(records[0].get("line") or "") if records else "")
    storage = GaugeMetricFamily(
        PREFIX + "audit_storage_ok",
        "1 when the audit found backups to audit, 0 when nothing could be audited (unreachable, "
        "credentials refused, no such bucket, an empty prefix or other files)",
    )
    storage.add_metric([], int(storage_ok))
    yield storage
    ran = GaugeMetricFamily(PREFIX + "audit_timestamp_seconds", "When this audit ran (Unix time)")
    ran.add_metric([], time.time())
    yield ran
    took = GaugeMetricFamily(PREFIX + "audit_duration_seconds", "Seconds this audit took")
    took.add_metric([], float(seconds))
    yield took
    status = GaugeMetricFamily(PREFIX + "audit_database_status",
                               "1 for the database's audit status (label status)",
                               labels=["database", "status"])  # fmt: skip
    for record in records:
        if record.get("status"):
            status.add_metric([str(record["database"]), str(record["status"])], 1)
    yield status
    yield from _gauges(AUDIT_GAUGES, [(str(r["database"]), _audit_values(r)) for r in records])


def _build_info(line: str) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    info = GaugeMetricFamily(PREFIX + "build_info", "pylitestream and the Litestream line in use",
                             labels=["version", "line"])  # fmt: skip
    info.add_metric([__version__, line], 1)
    return info


def _gauges(gauges: tuple[tuple[str, str], ...],
            values: list[tuple[str, dict[str, float | None]]]) -> Iterator[Any]:  # fmt: skip
    """One gauge family per name, labelled by database; an unknown value is left out."""
    from prometheus_client.core import GaugeMetricFamily

    for name, text in gauges:
        family = GaugeMetricFamily(PREFIX + name, text, labels=["database"])
        for db, found in values:
            if found[name] is not None:
                family.add_metric([db], float(found[name]))  # type: ignore[arg-type]
        yield family


class FamiliesCollector:
    """A prometheus_client collector yielding the families `collect` makes at each scrape."""

    def __init__(self, collect: Callable[[], Iterator[Any]]) -> None:
        self._collect = collect

    def collect(self) -> Iterator[Any]:
        yield from self._collect()


def registry(gather: Callable[[], Record]) -> Any:
    """A CollectorRegistry holding only pylitestream's metrics, gathered at each scrape."""
    return _registry(lambda: families(gather()))


def _registry(collect: Callable[[], Iterator[Any]]) -> Any:
    require_extra()
    from prometheus_client import CollectorRegistry

    found = CollectorRegistry(auto_describe=False)
    found.register(FamiliesCollector(collect))
    return found


def _exposition(kept: Any, openmetrics: bool) -> bytes:
    if openmetrics:
        from prometheus_client.openmetrics.exposition import generate_latest as generate

        return bytes(generate(kept))  # type: ignore[no-untyped-call]
    from prometheus_client import generate_latest

    return bytes(generate_latest(kept))


def render(overview: Record, *, openmetrics: bool = False) -> bytes:
    """The overview in Prometheus's text format, or in OpenMetrics' (ends with `# EOF`)."""
    return _exposition(registry(lambda: overview), openmetrics)


def render_audit(records: list[Record], seconds: float, *, storage_ok: bool = True,
                 openmetrics: bool = True) -> bytes:  # fmt: skip
    """One audit's records as metrics (docs/audit.md lists them), OpenMetrics by default."""
    kept = _registry(lambda: audit_families(records, seconds, storage_ok))
    return _exposition(kept, openmetrics)


def content_type(openmetrics: bool = False) -> str:
    from prometheus_client import CONTENT_TYPE_LATEST
    from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

    return OPENMETRICS if openmetrics else CONTENT_TYPE_LATEST
