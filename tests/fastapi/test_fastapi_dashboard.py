"""The dashboard in a real FastAPI app (tests/helpers/fastapi_project.py), mounted with
`dashboard_router(view=Depends(require_staff), actions=Depends(require_admin))` behind a session
login, served by uvicorn and by Gunicorn with two uvicorn workers, against a real litestream
daemon of each line replicating to moto S3: the app's dependencies decide who sees every path
and who acts, and the dashboard's CSRF token guards every action."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import (
    ROOT,
    S3_SECRET,
    Litestream,
    S3Server,
    create_db,
    insert_rows,
    pid_alive,
    start_replicate,
    stop_process,
    wait_for,
)
from dashboard_client import csrf
from fastapi_project import (
    SERVERS,
    SESSION_KEY,
    USERS,
    Project,
    Served,
    login,
    make_project,
    python,
    serve,
)

import pylitestream

ENV_SECRET = "wJalrXUtnFEMI-fastapi-dashboard-secret"
PATHS = ("/litestream/", "/litestream/overview", "/litestream/overview.json",
         "/litestream/static/dashboard.css", "/litestream/jobs/1",
         "/litestream/no-such-page")  # fmt: skip
SECRETS = (S3_SECRET, ENV_SECRET, SESSION_KEY, *(password for _, password in USERS.values()))


@dataclass
class Site:
    url: str
    project: Project
    dbs: list[Path]
    server: Served


@pytest.fixture(params=sorted(SERVERS))
def site(request: Any, ls: Litestream, s3_server: S3Server, tmp_path: Path) -> Iterator[Site]:
    project = make_project(tmp_path / "app", ls.line, s3_server, ["app.db", "audit.db"])
    dbs = [project.db, project.root / "audit.db"]
    for db in dbs:
        with_rows(db)
    daemon = start_replicate(project.config, tmp_path / "replicate.log", count=2)
    try:
        server = serve(project, python(*SERVERS[request.param]),
                       project.env(LITESTREAM_SECRET_ACCESS_KEY=ENV_SECRET))  # fmt: skip
        try:
            yield Site(server.url, project, dbs, server)
        finally:
            server.stop()
            assert server.proc.poll() is not None
    finally:
        stop_process(daemon)
        assert not pid_alive(daemon.pid)


def with_rows(db: Path) -> None:
    create_db(db)
    insert_rows(db, ["first", "second"])


def test_the_apps_dependencies_gate_every_path_and_action(site: Site) -> None:
    import httpx

    url = site.url
    pages: list[str] = []
    anonymous = httpx.Client(base_url=url, follow_redirects=False)
    for path in PATHS:
        refused = anonymous.get(path)
        assert refused.status_code == 303, path
        assert refused.headers["location"] == f"/login?next={path}"
    assert anonymous.post("/litestream/actions/verify").status_code == 303
    # The app's login is the only gate: no basic-auth challenge of the dashboard's own.
    assert "www-authenticate" not in anonymous.get("/litestream/").headers

    plain = login(url, "plain")
    for path in PATHS:
        assert plain.get(path).status_code == 403, path
    assert plain.post("/litestream/actions/verify").status_code == 403

    staffer = login(url, "staffer")
    page = staffer.get("/litestream/")
    assert page.status_code == 200, page.text
    pages.append(page.text)
    detail = f"/litestream/database?{urlencode({'path': str(site.dbs[0])})}"
    page = staffer.get(detail)
    pages.append(page.text)
    assert "Verify now" not in page.text  # staff see; only admins act
    assert 'href="/litestream/static/dashboard.css"' in page.text  # links follow the prefix
    assert staffer.get("/litestream/static/dashboard.css").status_code == 200
    assert staffer.get("/litestream/no-such-page").status_code == 404  # the dashboard's own
    data = staffer.get("/litestream/overview.json")
    pages.append(data.text)
    assert sorted(d["database"] for d in data.json()["databases"]) == sorted(map(str, site.dbs))
    form = {"csrf_token": csrf(page.text), "database": str(site.dbs[0])}
    refused = staffer.post("/litestream/actions/verify", data=form)
    assert refused.status_code == 403 and "admins only" in refused.text  # the app's refusal

    root = login(url, "root")
    page = root.get(detail)
    pages.append(page.text)
    assert "Verify now" in page.text and 'name="csrf_token"' in page.text
    token = csrf(page.text)
    json_ = {"accept": "application/json"}
    for bad in ({"database": str(site.dbs[0])},
                {"database": str(site.dbs[0]), "csrf_token": "forged" * 8}):  # fmt: skip
        refused = root.post("/litestream/actions/verify", data=bad, headers=json_)
        assert refused.status_code == 403 and "CSRF" in refused.text
    form = {"csrf_token": token, "database": str(site.dbs[0])}
    started = root.post("/litestream/actions/verify", data=form, headers=json_)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    # Behind Gunicorn's two workers the job lives in the worker that runs it: ask until that
    # one answers (the kept verify result is what every worker sees).
    wait_for(lambda: (kept := pylitestream.last_verify(site.dbs[0])) and kept["ok"], 120)
    job = root.get(f"/litestream/jobs/{job_id}")
    assert job.status_code in (200, 404)
    # Without JS the form posts and is redirected back to the database's page.
    back = root.post("/litestream/actions/verify", data=form)
    assert back.status_code == 303 and back.headers["location"] == detail
    pages.append(root.get("/litestream/").text)
    for text in pages:
        for secret in SECRETS:
            assert secret not in text
    # The app started no litestream of its own (APP_REPLICATE unset: enabled=False).
    config = str(site.project.config)
    running = [row for row in pylitestream.processes()
               if row["config"] == config and row["status"] == "running"]  # fmt: skip
    started_by = {row["started_by"] for row in running}
    assert started_by == {"replicate"}


ARTIFACTS = ROOT / "artifacts" / "fastapi"


def browse_as(browser: Any, site: Site, name: str | None) -> tuple[Any, Any, Any]:
    """A new browser context, logged in through the app's login form when `name` is given;
    returns (context, page, the response to /litestream/)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    response = page.goto(site.url + "/litestream/")
    if name is not None:
        page.fill('input[name="username"]', name)
        page.fill('input[name="password"]', USERS[name][1])
        with page.expect_navigation():
            page.click('button[type="submit"]')
        response = page.goto(site.url + "/litestream/")
    return context, page, response


def shoot(page: Any, site: Site, ls: Litestream, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    server = "gunicorn" if "gunicorn" in " ".join(site.server.proc.args) else "uvicorn"
    page.screenshot(path=str(ARTIFACTS / f"{ls.line}-{server}-{name}.png"), full_page=True)


def test_in_a_browser_login_decides_and_admins_verify(
    browser: Any, site: Site, ls: Litestream
) -> None:
    # Anonymous: the app's login page, with the dashboard as where to go next; the static
    # files are refused the same way.
    context, page, _ = browse_as(browser, site, None)
    try:
        assert page.url == site.url + "/login?next=/litestream/"
        assert page.locator("h1").inner_text() == "Log in"
        css = context.request.get(site.url + "/litestream/static/dashboard.css", max_redirects=0)
        assert css.status == 303 and css.headers["location"].startswith("/login")
        shoot(page, site, ls, "anonymous")
    finally:
        context.close()

    context, page, response = browse_as(browser, site, "plain")
    try:
        assert response.status == 403
        assert "staff only" in page.content()
    finally:
        context.close()

    context, page, response = browse_as(browser, site, "staffer")
    try:
        assert response.status == 200
        assert page.locator("tr.database").count() == len(site.dbs)
        page.locator(f'tr.database[data-database="{site.dbs[1]}"] a.name').click()
        page.wait_for_url(re.compile(r".*/litestream/database\?path="))
        assert page.locator("article.database").count() == 1
        assert page.locator('button[data-kind="verify"]').count() == 0
    finally:
        context.close()

    context, page, response = browse_as(browser, site, "root")
    try:
        assert response.status == 200
        rows = page.locator("tr.database")
        assert rows.count() == len(site.dbs)
        assert {rows.nth(i).get_attribute("data-database") for i in range(len(site.dbs))} == {
            str(db) for db in site.dbs
        }
        radius = "e => getComputedStyle(e).borderTopLeftRadius"
        assert page.locator("section.daemon").evaluate(radius) == "8px"  # the stylesheet
        page.locator(f'tr.database[data-database="{site.dbs[0]}"] a.name').click()
        page.wait_for_url(re.compile(r".*/litestream/database\?path="))
        selector = f'article.database[data-database="{site.dbs[0]}"]'
        # A POST without the page's token is refused, and starts nothing.
        refused = page.request.post(site.url + "/litestream/actions/verify",
                                    form={"database": str(site.dbs[0])})  # fmt: skip
        assert refused.status == 403 and "CSRF" in refused.text()
        # "Verify now" posts with the page's token (the dashboard's script).
        page.locator(f'{selector} button[data-kind="verify"]').click()
        done = f'{selector} .job[data-kind="verify"]:not([data-state="running"])'
        if "gunicorn" in " ".join(site.server.proc.args):
            # Two workers: the job's progress lives in the one that runs it; its kept result
            # reaches every worker's page.
            wait_for(lambda: (kept := pylitestream.last_verify(site.dbs[0])) and kept["ok"], 120)
            page.wait_for_selector(f"{selector} .verify-result", timeout=60_000)
            page.wait_for_function(
                "s => document.querySelector(s).innerText.includes('passed')",
                arg=f"{selector} .verify-result", timeout=60_000,
            )  # fmt: skip
        else:
            page.wait_for_selector(done, timeout=120_000)
            job = page.locator(done).first
            assert job.get_attribute("data-state") == "ok", job.inner_text()
        assert "passed" in page.locator(f"{selector} .verify-result").inner_text()
        html = page.content()
        for secret in SECRETS:
            assert secret not in html
        shoot(page, site, ls, "verified")
    finally:
        context.close()
