"""The Django-hosted dashboard in a real browser (Playwright driving Debian's chromium): a real
startproject project with migrations and users, served by gunicorn and uvicorn, showing
databases that a real litestream (0.3.13 and 0.5.17) replicates to moto S3. Django's login page,
its 403, its session and its CSRF token are the only gates. Screenshots: artifacts/django/."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, S3_SECRET, S3Server, binary_dir, pid_alive
from dashboard_support import PASSWORD, Site, start_replication
from django_project import SERVERS, project_for, serve

ARTIFACTS = ROOT / "artifacts" / "django"
USERS = {
    "root": ("superuser", "root-browser-pass-51d7"),
    "staffer": ("staff", "staff-browser-pass-8a03"),
    "plain": ("plain", "plain-browser-pass-c46e"),
}
COMBINATIONS = list(itertools.product(["0.3.13", "0.5.17"], sorted(SERVERS)))


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda c: f"ls{c[0]}-{c[1]}")
def hosted(
    request: pytest.FixtureRequest, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Site, Path, str]]:
    version, server = request.param
    bucket = s3_server.create_bucket(f"django-{version.replace('.', '-')}-{server}")
    root = tmp_path_factory.mktemp(f"django{version}{server}")
    site = start_replication(root / "site", version.rsplit(".", 1)[0], binary_dir(version),
                             s3_server, bucket, count=3)  # fmt: skip
    try:
        project = project_for(root / "proj", site.config, USERS)
        with serve(project, server, site.env, root / "server.log") as url:
            yield url, site, project.settings, f"{version}-{server}"
    finally:
        site.stop()
        assert not any(pid_alive(p.pid) for p in site.procs)


def log_in(browser: Any, url: str, name: str) -> tuple[Any, Any, Any]:
    """A new browser session that opens the dashboard, is sent to Django's login page, and
    signs in there: (context, page, the response to the dashboard after login)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url + "/litestream/")
    assert page.url == f"{url}/accounts/login/?next=/litestream/"
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', USERS[name][1])
    with page.expect_navigation() as landed:
        page.click('input[type="submit"]')
    return context, page, landed.value


def secrets(settings: Path) -> list[str]:
    key = settings.read_text().split("SECRET_KEY = '", 1)[1].split("'", 1)[0]
    return [S3_SECRET, PASSWORD, key, *(password for _, password in USERS.values())]


def test_login_then_staff_see_and_superusers_act_with_djangos_csrf_token(
    browser: Any, hosted: tuple[str, Site, Path, str]
) -> None:
    url, site, settings, name = hosted
    pages: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    context, page, landed = log_in(browser, url, "plain")
    try:
        assert landed.status == 403 and page.url == url + "/litestream/"
        refused = page.request.get(url + "/litestream/static/dashboard.css")
        assert refused.status == 403
    finally:
        context.close()

    context, page, landed = log_in(browser, url, "staffer")
    try:
        assert landed.status == 200
        shown = page.locator("tr.database").evaluate_all(
            "rows => rows.map(r => r.dataset.database)"
        )
        assert sorted(shown) == sorted(str(db) for db in site.dbs)
        pages.append(page.content())
        page.locator(f'tr.database[data-database="{site.dbs[1]}"] a.name').click()
        page.wait_for_url(re.compile(r".*/litestream/database\?path="))
        assert page.locator(f'article.database[data-database="{site.dbs[1]}"]').count() == 1
        assert page.locator('button[data-kind="verify"]').count() == 0  # staff only look
        pages.append(page.content())
    finally:
        context.close()

    context, page, landed = log_in(browser, url, "root")
    try:
        assert landed.status == 200
        db = site.dbs[0]
        page.locator(f'tr.database[data-database="{db}"] a.name').click()
        page.wait_for_url(re.compile(r".*/litestream/database\?path="))
        card = f'article.database[data-database="{db}"]'
        token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
        assert token
        # Django refuses a POST without its token, and one with a forged token, before the
        # dashboard sees it: no job starts.
        for form in ({"database": str(db)},
                     {"database": str(db), "csrfmiddlewaretoken": "x" * 64}):  # fmt: skip
            response = page.request.post(url + "/litestream/actions/verify", form=form)
            assert response.status == 403
        page.reload()
        assert page.locator(f"{card} .job").count() == 0
        page.locator(f'{card} button[data-kind="verify"]').click()
        page.wait_for_selector(f'{card} .job[data-kind="verify"][data-state="ok"]',
                               timeout=120_000)  # fmt: skip
        assert "passed" in page.locator(f"{card} .verify-result").inner_text()
        pages.append(page.content())
        page.screenshot(path=str(ARTIFACTS / f"{name}-verified.png"), full_page=True)
    finally:
        context.close()
    for text in pages:
        for secret in secrets(settings):
            assert secret not in text
