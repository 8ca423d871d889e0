"""The dashboard hardened like a public web app: security headers on every response, a Host
allow-list on the standalone server (no DNS rebinding of a loopback dashboard), authentication on
every route (static files included), and a slow-down after repeated failed basic-auth attempts
that never locks out the right password."""

from __future__ import annotations

import http.client
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Litestream, stop_process, wait_for
from dashboard_client import PASSWORD, basic, client, two_databases

from pylitestream.web.security import HEADERS, FailedLogins, HostAllowList

SURFACES = ("/", "/overview", "/overview.json", "/static/dashboard.css", "/static/dashboard.js")


LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@pytest.fixture
def config(ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return two_databases(ls.line, tmp_path, monkeypatch)


def assert_headers(response: Any) -> None:
    for name, value in HEADERS:
        assert response.headers.get(name.decode()) == value.decode(), (response.url, name)


@LS05
def test_every_response_carries_the_security_headers(config: Path) -> None:
    from pylitestream.web import create_app

    app = create_app(config)
    for path in SURFACES:
        response = client(app).get(path)
        assert response.status_code == 200, (path, response.text)
        assert_headers(response)
    for auth in (None, ("ops", "wrong")):
        refused = client(app, auth).get("/overview.json")
        assert refused.status_code == 401
        assert_headers(refused)
    missing = client(app).get("/no-such-page")
    assert missing.status_code == 404
    assert_headers(missing)


@LS05
def test_a_foreign_host_gets_400_on_every_surface(config: Path) -> None:
    from pylitestream.web import create_app

    app = HostAllowList(create_app(config), ["localhost", "127.0.0.1", "::1", "dash.example"])
    for path in SURFACES:
        evil = client(app).get(path, headers={"Host": "evil.example"})
        assert evil.status_code == 400, path
        assert "evil.example" in evil.text and "--allowed-host" in evil.text
        for good in ("localhost:8765", "127.0.0.1", "[::1]:8765", "DASH.example:443"):
            assert client(app).get(path, headers={"Host": good}).status_code == 200, (path, good)


@LS05
def test_the_command_answers_only_its_allowed_hosts(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS", "env.example, ")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = config.parent / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylitestream", "dashboard", "--port", str(port), "-c",
             str(config), "--allowed-host", "dash.example"], stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "answering Host" in log.read_text(), 30)

        def status(host: str) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request(
                    "GET", "/overview.json", headers={"Host": host, **basic("ops", PASSWORD)}
                )
                return conn.getresponse().status
            finally:
                conn.close()

        wait_for(lambda: status(f"127.0.0.1:{port}") == 200, 30)
        assert status("evil.example") == 400
        assert status(f"dash.example:{port}") == 200 and status("env.example") == 200
    finally:
        stop_process(proc)
    assert "answering Host: localhost, 127.0.0.1, ::1, dash.example, env.example" in log.read_text()


def test_failed_logins_slow_down_and_never_lock_out() -> None:
    now = [0.0]
    logins = FailedLogins(clock=lambda: now[0])
    for _ in range(FailedLogins.FREE):
        assert logins.delay("a") == 0.0
        logins.failed("a")
    delays = []
    for _ in range(10):
        delays.append(logins.delay("a"))
        logins.failed("a")
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    assert logins.delay("b") == 0.0  # per client
    logins.succeeded("a")
    assert logins.delay("a") == 0.0  # the right password clears it
    for _ in range(15):
        logins.failed("a")
    now[0] += FailedLogins.WINDOW
    assert logins.delay("a") == 0.0  # old failures expire
    for n in range(FailedLogins.CLIENTS + 10):
        logins.failed(f"client-{n}")
    assert len(logins._seen) == FailedLogins.CLIENTS  # bounded


@LS05
def test_twenty_wrong_passwords_slow_the_next_attempt(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pylitestream.web import create_app

    monkeypatch.setattr(FailedLogins, "FIRST_DELAY", 0.02)  # the real ones: 0.25 s up to 5 s
    monkeypatch.setattr(FailedLogins, "MAX_DELAY", 0.5)
    app = create_app(config)
    wrong = client(app, ("ops", "wrong"))

    def timed(web: Any) -> tuple[int, float]:
        started = time.monotonic()
        status = web.get("/overview.json").status_code
        return status, time.monotonic() - started

    first = timed(wrong)
    for _ in range(19):
        assert wrong.get("/overview.json").status_code == 401
    twenty_first = timed(wrong)
    assert first[0] == twenty_first[0] == 401
    assert twenty_first[1] >= 0.5 > first[1]
    right = timed(client(app))
    assert right[0] == 200 and right[1] >= 0.5  # waited, then let in
    assert timed(client(app))[1] < 0.5  # and the count is cleared


def _a_request_for_each_route(app: Any) -> list[tuple[str, str]]:
    """(method, path) for every route of the app: each method of each Route, with its path
    parameters filled in, and a file under each Mount (static files)."""
    from starlette.routing import Mount, Route

    requests = []
    for route in app.routes:
        # A WebSocket route would not be an HTTP request the middleware sees: refuse it here, so
        # it cannot be added without deciding how it is authenticated.
        assert isinstance(route, (Route, Mount)), f"{route!r}: authenticate it, then list it here"
        if isinstance(route, Mount):
            requests.append(("GET", f"{route.path}/dashboard.css"))
            continue
        path = re.sub(r"\{[^}]*\}", "1", route.path_format)
        requests += [(method, path) for method in sorted(route.methods or ["GET"])]
    return requests


@LS05
def test_every_route_refuses_an_unauthenticated_request(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Authentication wraps the router: a route added later cannot be served without it."""
    from pylitestream.web import create_app

    monkeypatch.setattr(FailedLogins, "MAX_DELAY", 0.0)  # many refusals here, none slowed
    app = create_app(config, allow_actions=True)
    requests = _a_request_for_each_route(app)
    assert ("POST", "/actions/1") in requests and ("GET", "/static/dashboard.css") in requests
    for method, path in [*requests, ("GET", "/no-such-page")]:
        for auth in (None, ("ops", "wrong")):
            refused = client(app, auth).request(method, path)
            assert refused.status_code == 401, (method, path, auth)
            assert refused.headers["www-authenticate"] == 'Basic realm="pylitestream"'
            assert refused.text == ("" if method == "HEAD" else "authentication required")
            assert_headers(refused)


@LS05
def test_every_route_asks_authorize_first(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no password, a host's `authorize` gates every route, static files included."""
    from pylitestream.web import create_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    asked: list[str] = []

    def nobody(request: Any) -> bool:
        asked.append(request.url.path)
        return False

    app = create_app(config, authorize=nobody)
    for method, path in _a_request_for_each_route(app):
        refused = client(app, auth=None).request(method, path)
        assert refused.status_code == 403, (method, path)
    assert "/static/dashboard.css" in asked


@LS05
def test_the_static_files_need_the_password_like_the_page(config: Path) -> None:
    from pylitestream.web import create_app

    app = create_app(config)
    for path in ("/static/dashboard.css", "/static/dashboard.js"):
        assert client(app, auth=None).get(path).status_code == 401
        served = client(app).get(path)
        assert served.status_code == 200 and served.text
