"""The dashboard mounted by pylitestream.flask.init_app in a real Flask app (flask-login, a user
store, a login view, roles), served by Gunicorn, with the config written and the daemon run by
`flask litestream` on both Litestream lines replicating to moto S3; the S3 credentials live only
in app.config["LITESTREAM"]. Checked over HTTP (every surface behind the same rules) and in a
real browser (Playwright driving Debian's chromium; screenshots in artifacts/flask/)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import (
    ROOT,
    S3_KEY_ID,
    S3_SECRET,
    Litestream,
    S3Server,
    create_db,
    insert_rows,
    pid_alive,
    stop_process,
    wait_for,
)
from dashboard_client import csrf
from flask_project import SECRET_KEY, USERS, FlaskApp, write_app
from support import _free_port

ARTIFACTS = ROOT / "artifacts" / "flask"
LITESTREAM = """{
        "replica_bucket": os.environ["APP_BUCKET"],
        "replica_key_id": os.environ["APP_KEY_ID"],
        "replica_access_key": os.environ["APP_SECRET"],
        "replica_endpoint": os.environ["APP_ENDPOINT"],
        "replica_region": "us-east-1",
    }"""
BASIC_PASSWORD = "basic-auth-pass-never-asked-7d3"
SECRETS = [S3_SECRET, S3_KEY_ID, SECRET_KEY, BASIC_PASSWORD,
           *(password for _, password in USERS.values())]  # fmt: skip
STATIC = "/litestream/static/dashboard.css"


@dataclass
class Served:
    url: str
    app: FlaskApp
    dbs: list[Path]
    line: str


@pytest.fixture
def site(
    request: pytest.FixtureRequest, ls: Litestream, s3_server: S3Server, s3_bucket: str,
    tmp_path: Path,
) -> Iterator[Served]:  # fmt: skip
    """Two databases, `flask litestream init` and `flask litestream replicate`, and Gunicorn
    serving the app factory with `request.param` workers (default one: an action's progress
    lives in its worker, and the browser follows it). A basic-auth password is set, and never
    asked for."""
    workers = str(getattr(request, "param", 1))
    app = write_app(tmp_path / "site", LITESTREAM)
    dbs = [app.root / name for name in ("users.db", "orders.db")]
    for db in dbs:
        create_db(db)
        insert_rows(db, ["a", "b", "c"])
    env = {**os.environ, "APP_BUCKET": s3_bucket, "APP_KEY_ID": S3_KEY_ID,
           "APP_SECRET": S3_SECRET, "APP_ENDPOINT": s3_server.endpoint,
           "PYLITESTREAM_DASHBOARD_USERNAME": "ops",
           "PYLITESTREAM_DASHBOARD_PASSWORD": BASIC_PASSWORD}  # fmt: skip
    init = app.flask("litestream", "init", *(f"--database={db.name}" for db in dbs), env=env)
    assert init.code == 0, init.err
    procs: list[subprocess.Popen[bytes]] = []
    port = _free_port()
    flask = [sys.executable, "-m", "flask", "--app", "app", "litestream", "replicate"]
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", workers, "--no-control-socket",
                "--bind", f"127.0.0.1:{port}", "app:create_app()"]  # fmt: skip
    try:
        for name, argv in (("replicate", flask), ("gunicorn", gunicorn)):
            with (tmp_path / f"{name}.log").open("wb") as out:
                procs.append(subprocess.Popen(argv, cwd=app.root, stdout=out,
                                              stderr=subprocess.STDOUT, env=env))  # fmt: skip
        import httpx

        replicating = tmp_path / "replicate.log"
        wait_for(lambda: replicating.read_text().count("initialized db") == 2, 60)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{url}/login").status_code == 200, 60)
        yield Served(url, app, dbs, ls.line)
    finally:
        for proc in procs:
            stop_process(proc)
        assert not any(pid_alive(proc.pid) for proc in procs)


def login(url: str, name: str) -> Any:
    import httpx

    web = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    done = web.post("/login", data={"username": name, "password": USERS[name][1]})
    assert done.status_code == 302, done.text
    return web


@pytest.mark.parametrize("site", [2], indirect=True)
def test_every_surface_has_the_apps_rules(site: Served) -> None:
    """Anonymous: to flask-login's login page; a plain user: 403; an ops user views but may not
    act; an admin acts with the dashboard's CSRF token, and not without it. The same for pages,
    JSON, static files and actions, in each of two Gunicorn workers (a page from one posts to
    either)."""
    import httpx

    url = site.url
    pages: list[str] = []
    anonymous = httpx.Client(base_url=url, follow_redirects=False)
    for path in ("/litestream/", "/litestream/overview.json", STATIC, "/litestream/nowhere"):
        refused = anonymous.get(path)
        assert refused.status_code == 302, path
        assert refused.headers["location"].startswith("/login?next="), path
    assert anonymous.post("/litestream/actions/verify").status_code == 302
    assert "www-authenticate" not in anonymous.get("/litestream/").headers

    plain = login(url, "plain")
    for path in ("/litestream/", "/litestream/overview.json", STATIC):
        assert plain.get(path).status_code == 403, path
    assert plain.post("/litestream/actions/verify", data={"database": "x"}).status_code == 403

    watcher = login(url, "watcher")
    page = watcher.get("/litestream/")
    assert page.status_code == 200, page.text
    pages.append(page.text)
    assert all(str(db) in page.text for db in site.dbs)
    detail = f"/litestream/database?{urlencode({'path': str(site.dbs[0])})}"
    page = watcher.get(detail)
    pages.append(page.text)
    assert "Verify now" not in page.text  # ops view; only admins act
    assert 'href="/litestream/static/dashboard.css"' in page.text  # links follow the mount
    assert watcher.get(STATIC).status_code == 200
    data = watcher.get("/litestream/overview.json")
    pages.append(data.text)
    assert sorted(d["database"] for d in data.json()["databases"]) == sorted(map(str, site.dbs))
    form = {"csrf_token": csrf(page.text), "database": str(site.dbs[0])}
    assert watcher.post("/litestream/actions/verify", data=form).status_code == 403

    root = login(url, "root")
    page = root.get(detail)
    pages.append(page.text)
    assert "Verify now" in page.text
    # The dashboard's own CSRF cookie reached it through Flask; the session cookie did not.
    assert "pylitestream_csrf" in root.cookies and "session" in root.cookies
    cookie = next(c for c in root.cookies.jar if c.name == "pylitestream_csrf")
    assert cookie.path == "/litestream/"
    token = csrf(page.text)
    json_ = {"accept": "application/json"}
    db = str(site.dbs[0])
    for bad in ({"database": db}, {"database": db, "csrf_token": "forged" * 8}):
        refused = root.post("/litestream/actions/verify", data=bad, headers=json_)
        assert refused.status_code == 403 and "CSRF" in refused.text
    started = root.post("/litestream/actions/verify", data={"csrf_token": token, "database": db},
                        headers=json_)  # fmt: skip
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = wait_for(lambda: (j := root.get(f"/litestream/jobs/{job_id}").json())["state"]
                   != "running" and j, 120)  # fmt: skip
    assert job["state"] == "ok", job  # verify restored from S3 with the app's credentials
    back = root.post("/litestream/actions/verify", data={"csrf_token": token, "database": db})
    assert back.status_code == 303 and back.headers["location"] == detail
    pages.append(root.get("/litestream/").text)
    pages.append(root.get(f"/litestream/jobs/{job_id}").text)
    for text in pages:
        for secret in SECRETS:
            assert secret not in text


def browser_login(browser: Any, site: Served, name: str | None) -> tuple[Any, Any]:
    """A fresh browser context, logged in through the app's login form (None: anonymous)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    if name is not None:
        page.goto(site.url + "/login")
        page.fill('input[name="username"]', name)
        page.fill('input[name="password"]', USERS[name][1])
        page.click("button")
        page.wait_for_url(site.url + "/")
    return context, page


def shoot(page: Any, site: Served, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{site.line}-{name}.png"), full_page=True)


def test_in_a_browser(browser: Any, site: Served) -> None:
    html: list[str] = []
    context, page = browser_login(browser, site, None)
    try:
        page.goto(site.url + "/litestream/")
        assert page.url.startswith(site.url + "/login?next=")  # flask-login's redirect
        assert page.locator("h1").inner_text() == "Log in"
        # Logging in from there comes back to the dashboard (the app's own ?next=).
        page.fill('input[name="username"]', "root")
        page.fill('input[name="password"]', USERS["root"][1])
        page.click("button")
        page.wait_for_url(site.url + "/litestream/")
    finally:
        context.close()

    context, page = browser_login(browser, site, "plain")
    try:
        assert page.goto(site.url + "/litestream/").status == 403
        assert page.goto(site.url + STATIC).status == 403
        html.append(page.content())
    finally:
        context.close()

    context, page = browser_login(browser, site, "root")
    try:
        assert page.goto(site.url + "/litestream/").status == 200
        rows = page.locator("tr.database")
        assert rows.count() == len(site.dbs)
        assert {rows.nth(i).get_attribute("data-database") for i in range(len(site.dbs))} == {
            str(db) for db in site.dbs
        }
        page.locator(f'tr.database[data-database="{site.dbs[1]}"] a.name').click()
        page.wait_for_url(re.compile(r".*/litestream/database\?path="))
        box = page.locator(f'article.database[data-database="{site.dbs[1]}"]')
        box.locator('button[data-kind="verify"]').click()
        page.wait_for_selector(
            f'article.database[data-database="{site.dbs[1]}"] .job[data-kind="verify"]'
            '[data-state="ok"]', timeout=120_000)  # fmt: skip
        assert "passed" in box.locator(".verify-result").inner_text()
        refused = page.request.post(site.url + "/litestream/actions/verify",
                                    form={"database": str(site.dbs[0])})  # fmt: skip
        assert refused.status == 403 and "CSRF" in refused.text()
        html.append(page.content())
        shoot(page, site, "admin-verified")
    finally:
        context.close()
    for text in html:
        for secret in SECRETS:
            assert secret not in text
