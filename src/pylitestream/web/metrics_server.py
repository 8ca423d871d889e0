"""`pylitestream metrics --serve`: the Prometheus metrics on their own small HTTP server
(prometheus_client's WSGI app, threaded), without the dashboard's extra. Each scrape gathers
what a dashboard page load gathers (overview.gather: one check, the daemon's status, the kept
verify results) and the restore points its background refresher keeps, so a scrape never runs
one litestream per database. The same rules as the dashboard guard it: basic auth from the same
variables, the Host allow-list, the slow-down after failed logins."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import api
from .overview import KeptCheck, RestorePoints, gather
from .security import FailedLogins, basic_auth_ok, host_name

Record = dict[str, Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PATH = "/metrics"


def overview_gatherer(config: str, timeout: float = 5.0) -> Callable[[], Record]:
    """A function returning a fresh overview of `config` at each call, with the restore points
    (and, on 0.3, the check) kept by background refreshers as on the dashboard."""
    line = api.version()["line"]
    profile = api.profile(line)
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pylitestream-refresh")
    points = RestorePoints(pool, config, profile)
    kept_check = None if profile.control_socket else KeptCheck(pool, timeout)

    def one() -> Record:
        return gather(config, line, points, {}, kept_check, timeout)

    return one


def _reply(start: Callable[..., Any], status: str, text: str,
           headers: Iterable[tuple[str, str]] = ()) -> list[bytes]:  # fmt: skip
    body = text.encode()
    start(status, [("Content-Type", "text/plain; charset=utf-8"),
                   ("Content-Length", str(len(body))), *headers])  # fmt: skip
    return [body]


def guarded(app: WSGIApp, wanted: tuple[str, str] | None, allowed: Iterable[str],
            logins: FailedLogins | None = None) -> WSGIApp:  # fmt: skip
    """`app` behind the Host allow-list and, when `wanted` is set, basic auth."""
    hosts = {host_name(name) for name in allowed}
    failed = logins or FailedLogins()

    def guard(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST") or "")
        if host_name(host) not in hosts:
            why = (f"Host {host!r} is not allowed here: pass it with --allowed-host (or "
                   "PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS)\n")  # fmt: skip
            return _reply(start, "400 Bad Request", why)
        if wanted is not None:
            client = str(environ.get("REMOTE_ADDR") or "unknown")
            time.sleep(failed.delay(client))
            if not basic_auth_ok(environ.get("HTTP_AUTHORIZATION"), wanted):
                failed.failed(client)
                challenge = [("WWW-Authenticate", 'Basic realm="pylitestream"')]
                return _reply(start, "401 Unauthorized", "authentication required", challenge)
            failed.succeeded(client)
        if environ.get("PATH_INFO") != PATH:
            return _reply(start, "404 Not Found", f"not found: the metrics are at {PATH}")
        return app(environ, start)

    return guard


def serve(gatherer: Callable[[], Record], host: str, port: int,
          wanted: tuple[str, str] | None, allowed: Iterable[str]) -> None:  # fmt: skip
    """Serve the metrics until interrupted. OSError when the address cannot be bound."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per scrape is noise; failures show in Prometheus's `up`

    family = socket.getaddrinfo(host.strip("[]"), port, proto=socket.IPPROTO_TCP)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    app = guarded(make_wsgi_app(api.metrics_registry(gatherer)), wanted, allowed)
    with make_server(host.strip("[]"), port, app, Server, handler_class=Quiet) as server:
        server.serve_forever()
