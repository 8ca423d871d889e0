"""Prometheus metrics of the backups, written with the `prometheus-client` library (the extra
`py-litestream[metrics]`): what `check` finds per database, the last verify, the newest restore
point, and whether the daemon is up. Litestream's own `/metrics` has no replica TXID and no lag;
these are the numbers an alert needs.

Every gauge is labelled by `database` (its absolute path) except the daemon's. Nothing here asks
litestream anything: the caller hands over what `check` (and the dashboard) already gathered, so
a scrape costs what one check costs, bounded as the check is.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import MissingExtra

log = logging.getLogger(__name__)
EXTRA = "py-litestream[metrics]"
PREFIX = "pylitestream_"

# name (without the prefix): help text. The docs' metrics table is this dict (tests/docs).
GAUGES = {
    "up": "1 when the litestream daemon is running, 0 when it is not",
    "database_ok": "1 when the database's backup is current (check's verdict), else 0",
    "lag_seconds": "Seconds the newest committed data has waited for the replica",
    "seconds_since_sync": "Seconds since the replica last received this database's data",
    "local_txid": "The database's newest transaction ID (Litestream 0.5)",
    "replica_txid": "The newest transaction ID the replica holds (Litestream 0.5)",
    "stalled": "1 when the database moves on but the replica does not",
    "replica_reachable": "1 when the replica answered the last check",
    "max_lag_seconds": "The lag check allows before it fails (its --max-lag)",
    "newest_restore_point_age_seconds": "Seconds since the newest restore point was written",
    "last_verify_timestamp_seconds": "When the last verify finished (Unix time)",
    "last_verify_ok": "1 when the last verify passed, 0 when it failed",
}


def _seconds(iso: Any) -> float | None:
    try:
        when = dt.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _txid(value: Any) -> float | None:
    try:
        return float(int(str(value), 16))
    except ValueError:
        return None


def registry(records: Iterable[Mapping[str, Any]], *, daemon_up: bool | None,
             max_lag: float, verifies: Mapping[str, Mapping[str, Any] | None] | None = None,
             newest_restore_points: Mapping[str, str | None] | None = None,
             now: float | None = None) -> Any:  # fmt: skip
    """A prometheus_client CollectorRegistry holding the gauges for `records` (check's rows).
    A value nobody knows (a TXID on 0.3, a lag when the replica did not answer) is left out
    rather than shown as 0."""
    try:
        from prometheus_client import CollectorRegistry, Gauge
    except ImportError:
        raise MissingExtra(f"metrics need prometheus-client: pip install '{EXTRA}'") from None

    now = dt.datetime.now(dt.timezone.utc).timestamp() if now is None else now
    found = CollectorRegistry(auto_describe=True)
    gauges = {
        name: Gauge(PREFIX + name, text, [] if name == "up" else ["database"], registry=found)
        for name, text in GAUGES.items()
    }
    if daemon_up is not None:
        gauges["up"].set(1 if daemon_up else 0)
    for record in records:
        db = str(record["database"])
        verify = (verifies or {}).get(db)
        newest = _seconds((newest_restore_points or {}).get(db))
        values = {
            "database_ok": 1 if record.get("ok") else 0,
            "lag_seconds": record.get("lag_seconds"),
            "seconds_since_sync": record.get("seconds_since_sync"),
            "local_txid": _txid(record.get("local_txid")),
            "replica_txid": _txid(record.get("replica_txid")),
            "stalled": 1 if record.get("status") == "stalled" else 0,
            "replica_reachable": None if record.get("replica_reachable") is None
            else 1 if record["replica_reachable"] else 0,
            "max_lag_seconds": max_lag,
            "newest_restore_point_age_seconds": None if newest is None else max(now - newest, 0),
            "last_verify_timestamp_seconds": _seconds(verify.get("finished_at")) if verify
            else None,
            "last_verify_ok": None if not verify else 1 if verify.get("ok") else 0,
        }  # fmt: skip
        for name, value in values.items():
            if value is not None:
                gauges[name].labels(database=db).set(float(value))
    return found


def exposition(found: Any, openmetrics: bool = False) -> tuple[bytes, str]:
    """(the text, its Content-Type): Prometheus' text format, or OpenMetrics."""
    if openmetrics:
        from prometheus_client.openmetrics import exposition as om

        text: bytes = om.generate_latest(found)  # type: ignore[no-untyped-call]
        return text, om.CONTENT_TYPE_LATEST
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(found), CONTENT_TYPE_LATEST


def serve(host: str, port: int, collect: Callable[[], tuple[bytes, str]],
          wanted: tuple[str, str] | None) -> None:  # fmt: skip
    """Serve `collect()` at GET /metrics until interrupted (a small threaded WSGI server: a
    scrape waits for nothing but `collect`). With `wanted` (user, password), every request
    needs them as HTTP basic auth, compared in constant time."""
    import base64
    import hmac
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    expected = None
    if wanted is not None:
        expected = "Basic " + base64.b64encode(f"{wanted[0]}:{wanted[1]}".encode()).decode()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        given = str(environ.get("HTTP_AUTHORIZATION", ""))
        if expected is not None and not hmac.compare_digest(given.encode(), expected.encode()):
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="metrics"'),
                                                ("Content-Type", "text/plain")])  # fmt: skip
            return [b"authentication required\n"]
        if environ.get("PATH_INFO") != "/metrics" or environ.get("REQUEST_METHOD") != "GET":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"metrics are at /metrics\n"]
        try:
            text, kind = collect()
        except Exception as exc:  # a scrape that fails says why, and the server goes on
            log.warning("metrics scrape failed: %s", exc)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"{exc}\n".encode()]
        start_response("200 OK", [("Content-Type", kind)])
        return [text]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug(format, *args)

    class Threaded(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    with make_server(host, port, application, server_class=Threaded,
                     handler_class=Quiet) as server:  # fmt: skip
        server.serve_forever()
