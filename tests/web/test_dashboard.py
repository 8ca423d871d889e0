"""The dashboard in-process (Starlette's TestClient, Flask's and werkzeug's test clients, no
browser): packaging, auth, CSRF, secrets, template overrides, and mounting into FastAPI, Flask
and Django. Against real litestream 0.5.17 with a config whose daemon is not running (the page
must still render) or running (test_daemon's fixture). The browser tests are in
test_dashboard_browser.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Litestream, assert_one_error_line, cli, create_db, wait_for
from dashboard_client import PASSWORD, SECRET, basic, client, csrf, run_job, two_databases
from dashboard_support import http_status
from servers import Daemon, socket_config

import pylitestream

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@pytest.fixture
def config(ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return two_databases(ls.line, tmp_path, monkeypatch)


def test_import_never_loads_the_extra() -> None:
    code = ("import sys, pylitestream, pylitestream.web; pylitestream.check; "
            "loaded = {'starlette', 'jinja2', 'uvicorn', 'a2wsgi'} & set(sys.modules); "
            "assert not loaded, loaded")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dashboard_without_the_extra_names_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['starlette'] = None; from pylitestream.cli import main; "
            "main(['dashboard'])")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "pylitestream: error: the dashboard needs starlette: pip install 'py-litestream[dashboard]'"
    ]


@LS05
def test_page_renders_without_a_daemon_and_shows_no_secret(config: Path) -> None:
    from pylitestream.web import create_app

    web = client(create_app(config))
    for path in ("/", "/overview", "/overview.json"):
        response = web.get(path)
        assert response.status_code == 200, response.text
        assert SECRET not in response.text and PASSWORD not in response.text
        assert "orders.db" in response.text and "users.db" in response.text
    page = web.get("/").text
    assert "not running" in page and "not_running" in page
    assert "Verify now" not in page  # actions are off unless enabled
    data = web.get("/overview.json").json()
    assert [d["name"] for d in data["databases"]] == ["orders.db", "users.db"]
    assert data["daemon"]["running"] is False


@LS05
@pytest.mark.parametrize("prefix", ["PYLITESTREAM_DASHBOARD_", "LITESTREAM_"])
def test_basic_auth(config: Path, prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import create_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_USERNAME")
    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    monkeypatch.setenv(f"{prefix}USERNAME", "ops")
    monkeypatch.setenv(f"{prefix}PASSWORD", PASSWORD)
    app = create_app(config)
    refused = client(app, auth=None).get("/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    for wrong in [("ops", PASSWORD + "x"), ("opz", PASSWORD), ("ops", ""), ("", "")]:
        assert client(app, auth=wrong).get("/overview.json").status_code == 401
    assert client(app).get("/").status_code == 200


@LS05
def test_actions_need_authentication(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import create_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    with pytest.raises(pylitestream.UsageError, match="actions need authentication"):
        create_app(config, allow_actions=True)
    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_ACTIONS", "1")
    with pytest.raises(pylitestream.UsageError, match="actions need authentication"):
        create_app(config)
    assert create_app(config, allow_actions=True, authorize=lambda request: True) is not None


@LS05
def test_an_app_without_authentication_is_refused(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials and no authorize: building refuses, in one line naming both ways out;
    each way out (credentials, authorize, public=True) builds."""
    from pylitestream.web import create_app, create_wsgi_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    monkeypatch.delenv("LITESTREAM_PASSWORD", raising=False)
    for make in (create_app, create_wsgi_app):
        with pytest.raises(pylitestream.UsageError) as refused:
            make(config)
        assert str(refused.value) == (
            "the dashboard would be open to anyone: set PYLITESTREAM_DASHBOARD_USERNAME and "
            "PYLITESTREAM_DASHBOARD_PASSWORD, or pass authorize=... (public=True opens it on "
            "purpose)"
        )
    assert client(create_app(config, public=True), auth=None).get("/").status_code == 200
    allowed = client(create_app(config, authorize=lambda request: True), auth=None)
    assert allowed.get("/").status_code == 200
    for variable in ("PYLITESTREAM_DASHBOARD_PASSWORD", "LITESTREAM_PASSWORD"):
        monkeypatch.setenv(variable, PASSWORD)
        assert client(create_app(config), auth=None).get("/").status_code == 401
        monkeypatch.delenv(variable)
    # public=True never switches actions on without authentication.
    with pytest.raises(pylitestream.UsageError, match="actions need authentication"):
        create_app(config, public=True, allow_actions=True)


@LS05
def test_csrf(config: Path, daemon: Daemon) -> None:
    from pylitestream.web import create_app

    web = client(create_app(daemon.config, allow_actions=True))
    token = csrf(web.get("/").text)
    db = str(daemon.db)
    for form, headers in [
        ({"database": db}, {}),
        ({"database": db, "csrf_token": "forged"}, {}),
        ({"database": db, "csrf_token": token[:-1]}, {}),
        ({"database": db, "csrf_token": token}, {"sec-fetch-site": "cross-site"}),
    ]:
        refused = web.post("/actions/sync", data=form, headers=headers)
        assert refused.status_code == 403, form
    assert web.get("/overview.json").json()["databases"][0]["jobs"] == []
    accepted = web.post("/actions/sync", data={"database": db, "csrf_token": token},
                        headers={"accept": "application/json"})  # fmt: skip
    assert accepted.status_code == 202
    assert accepted.json()["kind"] == "sync"
    synced = run_job(web, "sync", daemon.db, token)  # sync now: the replica's TXID afterwards
    assert synced["state"] == "ok", synced
    assert synced["message"].startswith("synced: replica at TXID 0000")
    assert synced["details"]["replica_txid"] == synced["details"]["txid"]
    unknown = web.post("/actions/sync", data={"database": "/etc/passwd", "csrf_token": token})
    assert unknown.status_code == 404
    off = client(create_app(daemon.config, allow_actions=False))
    assert off.post("/actions/sync", data={"database": db, "csrf_token": token}).status_code == 403

    # Stateless (double-submit cookie): another worker process of a multi-process host, with its
    # own app instance, accepts this browser's token; another browser's token is refused.
    other_worker = client(create_app(daemon.config, allow_actions=True))
    other_worker.cookies.set("pylitestream_csrf", web.cookies.get("pylitestream_csrf"))
    accepted = other_worker.post(
        "/actions/sync", data={"database": db, "csrf_token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303
    other_browser = client(create_app(daemon.config, allow_actions=True))
    their_token = csrf(other_browser.get("/").text)
    assert their_token != token
    stolen = web.post("/actions/sync", data={"database": db, "csrf_token": their_token})
    assert stolen.status_code == 403


@LS05
def test_a_host_without_csrf_of_its_own_gets_the_dashboards(config: Path) -> None:
    """Hosted (FastAPI, Flask): the host vouches for who may view and act in the scope, and the
    dashboard keeps its own double-submit CSRF check; a request the host did not vouch for is
    refused whatever it carries."""
    from pylitestream.web import hosted_app
    from pylitestream.web.hosting import HOST_KEY

    def vouched(actions: bool) -> Any:
        inner = hosted_app(config)

        async def host(scope: Any, receive: Any, send: Any) -> None:
            await inner({**scope, HOST_KEY: {"actions": actions}}, receive, send)

        return host

    assert client(hosted_app(config), auth=None).get("/").status_code == 403
    web = client(vouched(True), auth=None)
    db = str(config.parent / "orders.db")
    page = web.get("/database", params={"path": db})
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = csrf(page.text)
    assert web.post("/actions/verify", data={"database": db}).status_code == 403
    assert (
        web.post("/actions/verify", data={"database": db, "csrf_token": "forged"}).status_code
        == 403
    )
    accepted = web.post("/actions/verify", data={"database": db, "csrf_token": token},
                        headers={"accept": "application/json"})  # fmt: skip
    assert accepted.status_code == 202
    viewer = client(vouched(False), auth=None)
    viewer_token = csrf(viewer.get("/").text)
    refused = viewer.post("/actions/verify", data={"database": db, "csrf_token": viewer_token})
    assert refused.status_code == 403


@LS05
def test_authorize_gates_the_mounted_app(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import create_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    seen: list[str] = []

    def staff_only(request: Any) -> bool:
        seen.append(request.url.path)
        return request.headers.get("x-staff") == "yes"

    app = client(create_app(config, authorize=staff_only), auth=None)
    assert app.get("/").status_code == 403
    assert app.get("/", headers={"x-staff": "yes"}).status_code == 200
    assert seen

    async def async_no(request: Any) -> bool:
        return False

    assert client(create_app(config, authorize=async_no), auth=None).get("/").status_code == 403


@LS05
def test_template_overrides(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import create_app

    first = tmp_path / "mine"
    first.mkdir()
    (first / "base.html").write_text(
        '{% extends "default:base.html" %}'
        "{% block header %}<h1>ACME backups</h1>{{ super() }}{% endblock %}"
    )
    second = tmp_path / "env"
    second.mkdir()
    (second / "daemon.html").write_text('<p class="my-daemon">pid {{ o.daemon.pid }}</p>')
    (second / "base.html").write_text("never used: template_dirs come first")
    monkeypatch.setenv("PYLITESTREAM_TEMPLATES", str(second))
    page = client(create_app(config, template_dirs=[first])).get("/").text
    assert "<h1>ACME backups</h1>" in page
    assert "<h1>Litestream backups</h1>" in page  # the packaged header, through super()
    assert "dashboard.js" in page  # the rest of the packaged layout
    assert '<p class="my-daemon">pid None</p>' in page
    assert "never used" not in page
    assert "orders.db" in page  # the packaged database.html still renders


@LS05
def test_mount_in_fastapi(config: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from pylitestream.web import create_app

    host = FastAPI()

    @host.get("/")
    def home() -> dict[str, str]:
        return {"app": "host"}

    host.mount("/ops/litestream", create_app(config))
    web = TestClient(host, headers=basic("ops", PASSWORD))
    assert web.get("/").json() == {"app": "host"}
    page = web.get("/ops/litestream/")
    assert page.status_code == 200 and "orders.db" in page.text
    assert 'href="/ops/litestream/static/dashboard.css"' in page.text
    assert web.get("/ops/litestream/static/dashboard.css").status_code == 200
    assert web.get("/ops/litestream/overview").status_code == 200


@LS05
def test_mount_in_flask(config: Path) -> None:
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from pylitestream.web import create_wsgi_app

    host = Flask("host")

    @host.get("/")
    def home() -> str:
        return "host app"

    host.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        host.wsgi_app, {"/ops/litestream": create_wsgi_app(config)}
    )
    auth = basic("ops", PASSWORD)
    web = host.test_client()
    assert web.get("/").text == "host app"
    assert web.get("/ops/litestream/").status_code == 401
    page = web.get("/ops/litestream/", headers=auth)
    assert page.status_code == 200 and "orders.db" in page.text
    assert 'href="/ops/litestream/static/dashboard.css"' in page.text
    assert web.get("/ops/litestream/static/dashboard.css").status_code == 401
    assert web.get("/ops/litestream/static/dashboard.css", headers=auth).status_code == 200
    assert web.get("/ops/litestream/overview.json", headers=auth).json["databases"]


@LS05
def test_mount_in_django(config: Path) -> None:
    import django
    from django.conf import settings
    from django.http import HttpResponse
    from django.urls import path
    from werkzeug.test import Client

    from pylitestream.web import create_wsgi_app

    urlpatterns = [path("", lambda request: HttpResponse("django home"))]
    module = type(sys)("dashboard_test_urls")
    module.urlpatterns = urlpatterns  # type: ignore[attr-defined]
    sys.modules["dashboard_test_urls"] = module
    if not settings.configured:
        settings.configure(ROOT_URLCONF="dashboard_test_urls", ALLOWED_HOSTS=["*"], DEBUG=False,
                           SECRET_KEY="test-only")  # fmt: skip
        django.setup()
    from django.core.wsgi import get_wsgi_application

    # The docs' recipe: wsgi.py serves the dashboard under a path prefix beside Django, with
    # nothing but Django and the dashboard extra (no werkzeug).
    prefix = "/ops/litestream"
    django_app = get_wsgi_application()
    dashboard = create_wsgi_app(config)

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            environ["PATH_INFO"] = path[len(prefix) :]
            return dashboard(environ, start_response)
        return django_app(environ, start_response)

    web = Client(application)
    assert web.get("/").text == "django home"
    auth = basic("ops", PASSWORD)
    page = web.get("/ops/litestream/", headers=auth)
    assert page.status_code == 200 and "orders.db" in page.text
    assert 'href="/ops/litestream/static/dashboard.css"' in page.text
    assert web.get("/ops/litestream/static/dashboard.css", headers=auth).status_code == 200
    assert web.get("/ops/litestream/").status_code == 401


@LS05
def test_non_loopback_without_credentials_is_refused(config: Path) -> None:
    env = {"PYLITESTREAM_DASHBOARD_PASSWORD": "", "LITESTREAM_PASSWORD": ""}
    for host in ("0.0.0.0", "192.0.2.7", "::"):
        result = cli("dashboard", "--host", host, "-c", str(config), env=env)
        assert_one_error_line(result, 2, f"refusing to serve the dashboard on {host}")


@LS05
def test_failed_actions_show_litestreams_line(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing was ever replicated (no daemon): each action fails, in litestream's words, and
    nothing claims success or appears on disk."""
    from pylitestream.web import create_app

    monkeypatch.setenv("PYLITESTREAM_TIMEOUT", "3")  # verify waits that long for a backup
    web = client(create_app(config, allow_actions=True))
    token = csrf(web.get("/").text)
    db = config.parent / "orders.db"
    before = sorted(config.parent.iterdir())
    for kind in ("plan", "restore", "verify", "sync"):
        job = run_job(web, kind, db, token)
        assert job["state"] == "failed", job
        assert job["message"] and "\n" not in job["message"]
        assert "restored" not in job["message"] and SECRET not in job["message"]
    assert sorted(config.parent.iterdir()) == before
    page = web.get("/database", params={"path": str(db)}).text
    assert 'data-kind="restore" data-state="failed"' in page
    assert "FAILED" in page  # the failed verify is now the database's "last verify"
    assert pylitestream.last_verify(db)["ok"] is False  # type: ignore[index]


@LS05
def test_restore_that_fails_quick_check_is_not_reported_restored(
    config: Path,
    daemon: Daemon,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault injected between litestream's restore and the dashboard's check: the real
    restored file gets its pages overwritten. The outcome must be a failure naming quick_check."""
    from conftest import insert_rows

    from pylitestream.web import create_app

    insert_rows(daemon.db, [f"r{n}" for n in range(200)])
    pylitestream.sync(daemon.db, wait=True, config=daemon.config)
    real_restore = pylitestream.restore

    def restore_then_corrupt(*args: Any, **kwargs: Any) -> str | None:
        written = real_restore(*args, **kwargs)
        assert written is not None
        with open(written, "r+b") as file:
            file.seek(4096)
            file.write(b"\xde\xad" * 2048)
        return written

    monkeypatch.setattr(pylitestream, "restore", restore_then_corrupt)
    web = client(create_app(daemon.config, allow_actions=True))
    job = run_job(web, "restore", daemon.db, csrf(web.get("/").text))
    assert job["state"] == "failed"
    assert "fails quick_check" in job["message"] and "restored to" not in job["message"]


@LS05
def test_daemon_not_started_by_pylitestream_is_found(ls: Litestream, tmp_path: Path) -> None:
    """As in a container where litestream is the entrypoint: no state file, no systemctl, no
    ps; the control socket answers."""
    from conftest import stop_process, wait_for

    from pylitestream.web import create_app

    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    proc = subprocess.Popen([str(ls.exe), "replicate", "-config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for((tmp_path / "ls.sock").exists, 30)
        data = client(create_app(config, public=True), auth=None).get("/overview.json").json()
        assert data["daemon"]["running"] is True
        assert data["daemon"]["pid"] == proc.pid
        assert data["daemon"]["version"] == "0.5.17"
        assert "not pylitestream" in data["daemon"]["started_by"]
        assert data["daemon"]["state_file"] is None
    finally:
        stop_process(proc)


def socketless_config(root: Path, line: str, dbs: list[Path]) -> Path:
    """`dbs` created, each replicated to its own file replica; no control socket."""
    from conftest import write_config

    for db in dbs:
        create_db(db)
    replicas = [(db, {"type": "file", "path": str(root / db.stem)}) for db in dbs]
    return write_config(root / "litestream.yml", line, replicas)


@LS05
def test_every_database_is_listed_even_when_check_cannot_run(
    ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.5 without the control socket: check refuses, naming socket.enabled; the page says so
    and still lists each database (health unknown) with its restore points."""
    from pylitestream.web import create_app

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD", raising=False)
    dbs = [tmp_path / "a.db", tmp_path / "b.db"]
    config = socketless_config(tmp_path, ls.line, dbs)
    web = client(create_app(config, public=True), auth=None)
    data = web.get("/overview.json").json()
    assert "socket.enabled" in data["error"]
    assert [d["database"] for d in data["databases"]] == [str(db) for db in dbs]
    assert {d["health"]["status"] for d in data["databases"]} == {"unknown"}
    page = web.get("/").text
    assert "socket.enabled" in page and "a.db" in page and "b.db" in page


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_on_03_page_loads_share_one_background_check(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """0.3 has no socket: check spawns one litestream per database, so page loads show the
    latest check (at most HEALTH_TTL_03 old) instead of each running its own."""
    from pylitestream.web import create_app, overview

    calls: list[float] = []
    real_check = pylitestream.check

    def counted(**kwargs: Any) -> Any:
        calls.append(1)
        return real_check(**kwargs)

    monkeypatch.setattr(pylitestream, "check", counted)
    monkeypatch.setattr(overview, "HEALTH_TTL_03", 3600.0)
    web = client(create_app(config))
    pages = [web.get("/overview.json").json() for _ in range(5)]
    assert len(calls) == 1
    assert len({page["health_checked_at"] for page in pages}) == 1
    assert [d["name"] for d in pages[-1]["databases"]] == ["orders.db", "users.db"]
    assert all(d["health"]["status"] for d in pages[-1]["databases"])
    # Stale: the next page load starts one refresh in the background and still answers.
    monkeypatch.setattr(overview, "HEALTH_TTL_03", 0.0)
    web.get("/overview.json")
    assert wait_for(lambda: len(calls) == 2, 30)


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_a_failed_background_check_shows_unknown_health_never_the_last_good_one(
    ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylitestream.web import create_app, overview

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD", raising=False)
    config = socketless_config(tmp_path, ls.line, [tmp_path / "orders.db", tmp_path / "users.db"])

    real_check = pylitestream.check
    failing: list[bool] = []

    def check(**kwargs: Any) -> Any:
        if failing:
            raise pylitestream.CommandFailed("litestream exited 1: replica unreachable")
        return real_check(**kwargs)

    monkeypatch.setattr(pylitestream, "check", check)
    web = client(create_app(config, public=True), auth=None)
    good = web.get("/overview.json").json()
    assert good["error"] is None
    assert {d["health"]["status"] for d in good["databases"]} != {"unknown"}
    failing.append(True)
    monkeypatch.setattr(overview, "HEALTH_TTL_03", 0.0)
    web.get("/overview.json")  # starts the refresh that fails

    def failed_page() -> Any:
        page = web.get("/overview.json").json()
        return page if page["error"] else None

    page = wait_for(failed_page, 30)
    assert page["error"] == "litestream exited 1: replica unreachable"
    assert [d["name"] for d in page["databases"]] == ["orders.db", "users.db"]
    assert {d["health"]["status"] for d in page["databases"]} == {"unknown"}
    assert not any(d["health"]["ok"] for d in page["databases"])


def test_failed_restore_point_listing_keeps_the_last_listing_beside_its_error(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylitestream.web import create_app, overview

    web = client(create_app(config))

    def listed() -> Any:
        points = web.get("/overview.json").json()["databases"][0]["restore_points"]
        return points if points["points"] is not None and not points["refreshing"] else None

    first = wait_for(listed, 30)
    assert first["error"] is None

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise pylitestream.CommandFailed("litestream exited 1: replica unreachable")

    for name in ("ltx", "generations", "snapshots"):
        monkeypatch.setattr(pylitestream, name, broken)
    monkeypatch.setattr(overview, "RESTORE_POINTS_TTL", 0.0)
    web.get("/overview.json")  # stale: starts the refresh that fails

    def failed() -> Any:
        points = web.get("/overview.json").json()["databases"][0]["restore_points"]
        return points if points["error"] else None

    after = wait_for(failed, 30)
    assert after["error"] == "litestream exited 1: replica unreachable"
    assert after["points"] == first["points"]


@LS05
@pytest.mark.parametrize("with_password", [True, False], ids=["auth", "loopback"])
def test_the_command_says_where_it_serves(
    config: Path, monkeypatch: pytest.MonkeyPatch, with_password: bool
) -> None:
    """One line on start: the URL, the authentication (never the password) and the actions."""
    import socket

    from conftest import stop_process

    if not with_password:
        monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = config.parent / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylitestream", "dashboard", "--port", str(port), "-c",
             str(config)], stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for(lambda: "serving the dashboard" in log.read_text(), 30)
        url = f"http://127.0.0.1:{port}/"
        if with_password:
            assert wait_for(lambda: http_status(url) == 401, 30)
        else:  # loopback without a password: served, on purpose, without authentication
            assert wait_for(lambda: http_status(url) == 200, 30)
    finally:
        stop_process(proc)
    auth = "basic auth as ops" if with_password else "no authentication: loopback only"
    assert log.read_text().splitlines()[0] == (
        f"serving the dashboard for {config} at http://127.0.0.1:{port}/ ({auth}; actions off); "
        "Ctrl-C stops it"
    )
    assert PASSWORD not in log.read_text() and SECRET not in log.read_text()


@LS05
def test_the_overview_links_filter_sort_and_page(config: Path) -> None:
    """Without JavaScript: each status count filters, each header sorts (again: reversed), the
    pages link to each other, and a database's row links to its page."""
    import html
    import re

    from pylitestream.web import create_app

    web = client(create_app(config))

    def links(page: str) -> list[str]:
        return [html.unescape(h) for h in re.findall(r'href="(\?[^"]*)"', page)]

    first = web.get("/", params={"per_page": "1"}).text
    assert "?page=2&per_page=1" in links(first)  # next; the filters and sort kept
    assert 'aria-sort="ascending"' in first  # the default sort: status, failing first
    assert "?sort=lag&per_page=1" in links(first)
    counts = web.get("/overview.json").json()["counts"]
    assert counts and all(f"?status={status}&per_page=1" in links(first) for status in counts)
    by_lag = web.get("/", params={"sort": "lag", "per_page": "1"}).text
    assert "?sort=lag&order=desc&per_page=1" in links(by_lag)  # the same header: reversed
    second = web.get("/", params={"per_page": "1", "page": "2"}).text
    assert "?per_page=1" in links(second)  # previous: page 1 is the default, left out
    db = config.parent / "users.db"
    assert f'href="/database?path={db}"' in second  # the path quoted, its slashes kept
    detail = web.get("/database", params={"path": str(db)})
    assert detail.status_code == 200 and f'data-database="{db}"' in detail.text
    assert web.get("/database", params={"path": "/etc/passwd"}).status_code == 404
