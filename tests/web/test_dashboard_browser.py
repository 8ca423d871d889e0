"""The dashboard in a real headless browser (Playwright driving Debian's chromium), against
real litestream 0.5.17 and 0.3.13 replicating to moto S3, served by `pylitestream dashboard`.
Screenshots (light and dark) go to artifacts/dashboard/."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, S3_SECRET, S3Server, binary_dir, pid_alive, read_rows, wait_for
from dashboard_support import PASSWORD, USERNAME, Site, check_json, start_site

import pylitestream

DASH = "\u2013"  # what the page shows for an unknown value
ARTIFACTS = ROOT / "artifacts" / "dashboard"


@pytest.fixture(scope="module", params=["0.3.13", "0.5.17"], ids=lambda v: f"ls{v}")
def site(
    request: pytest.FixtureRequest, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    version = request.param
    bucket = s3_server.create_bucket(f"dash-{version.replace('.', '-')}")
    root = tmp_path_factory.mktemp(f"dash{version}")
    running = start_site(root, version.rsplit(".", 1)[0], binary_dir(version), s3_server,
                         bucket, count=3)  # fmt: skip
    try:
        yield running
    finally:
        running.stop()
        assert not any(pid_alive(p.pid) for p in running.procs)


def open_page(browser: Any, site: Site, scheme: str = "light", password: str = PASSWORD):
    context = browser.new_context(
        http_credentials={"username": USERNAME, "password": password},
        color_scheme=scheme,
        viewport={"width": 1280, "height": 900},
    )
    return context, context.new_page()


def line_of(site: Site) -> str:
    return "0.5" if "0.5" in site.env["LITESTREAM_INSTALL_DIR"] else "0.3"


def shoot(page: Any, site: Site, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{line_of(site)}-{name}.png"), full_page=True)


def card(page: Any, db: Path) -> Any:
    return page.locator(f'article.database[data-database="{db}"]')


def row(page: Any, db: Path) -> Any:
    return page.locator(f'tr.database[data-database="{db}"]')


def open_database(page: Any, site: Site, db: Path) -> Any:
    """From the overview, the database's own page (its row's link): its card."""
    page.goto(site.url + "/")
    row(page, db).locator("a.name").click()
    page.wait_for_url(re.compile(r".*/database\?path="))
    return card(page, db)


def health_matches(page: Any, site: Site) -> bool:
    """Each row's status, lag and time since sync agree with `check --json` (times within
    10 s)."""
    checked = {r["database"]: r for r in check_json(site)}
    for db in site.dbs:
        line = row(page, db)
        wanted = checked[str(db)]
        if line.locator(".status").inner_text() != wanted["status"]:
            return False
        shown_lag = line.locator(".lag").get_attribute("data-value")
        if abs(float(shown_lag) - float(wanted["lag_seconds"])) >= 10:
            return False
        since = line.locator(".since-sync").get_attribute("data-value")
        if wanted["seconds_since_sync"] is None:
            if since != "None":
                return False
        elif since == "None" or abs(float(since) - float(wanted["seconds_since_sync"])) >= 10:
            return False
    return True


def test_renders_every_database_and_health_matches_check(browser: Any, site: Site) -> None:
    for scheme in ("light", "dark"):
        context, page = open_page(browser, site, scheme)
        try:
            response = page.goto(site.url + "/")
            assert response.status == 200
            assert page.locator("tr.database").count() == len(site.dbs)
            # restore points arrive through the self-refresh (never inside a page load)
            points = page.locator("tr.database td.restore-point")
            wait_for(lambda points=points: DASH not in points.all_inner_texts(), 90)
            # On 0.3 the page shows the latest background check (at most HEALTH_TTL_03 old, see
            # the README), so compare once the self-refresh has caught up with a check run now.
            wait_for(lambda page=page: health_matches(page, site), 30)
            daemon = page.locator("section.daemon")
            assert "running" in daemon.locator(".badge").inner_text()
            assert daemon.locator(".pid").inner_text() == str(site.procs[0].pid)
            html = page.content()
            assert S3_SECRET not in html and PASSWORD not in html
            shoot(page, site, f"overview-{scheme}")
        finally:
            context.close()


def test_a_databases_page_shows_its_card_and_restore_points(browser: Any, site: Site) -> None:
    db = site.dbs[0]
    context, page = open_page(browser, site)
    try:
        box = open_database(page, site, db)
        checked = {r["database"]: r for r in check_json(site)}[str(db)]
        assert box.locator(".replica-txid").inner_text() == (checked["replica_txid"] or DASH)
        page.wait_for_selector("table.points.snapshots", timeout=30_000)
        assert page.locator("tr.database").count() == 0  # one database, not the fleet
        page.locator("a.back").click()
        page.wait_for_url(site.url + "/")
        assert page.locator("tr.database").count() == len(site.dbs)
        html = page.content()
        assert S3_SECRET not in html and PASSWORD not in html
    finally:
        context.close()


def test_the_page_works_under_its_content_security_policy(browser: Any, site: Site) -> None:
    """The CSP allows only the dashboard's own files: the packaged stylesheet and script must
    still apply and run (no inline script or style), with no violation in the console."""
    context, page = open_page(browser, site)
    violations: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        response = page.goto(site.url + "/")
        assert response.status == 200
        assert response.headers["content-security-policy"] == (
            "default-src 'self'; frame-ancestors 'none'"
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        radius = "e => getComputedStyle(e).borderTopLeftRadius"
        assert page.locator("section.daemon").evaluate(radius) == "8px"  # the CSS
        assert page.evaluate("typeof window.pylitestreamRefresh") == "function"  # the script
        # Its self-refresh (a fetch of ./overview) replaces the overview every few seconds.
        first = page.locator("p.generated").inner_text()
        page.wait_for_function("t => document.querySelector('p.generated').innerText !== t",
                               arg=first, timeout=30_000)  # fmt: skip
        page.wait_for_timeout(500)  # a late violation report still arrives
        assert violations == [] and errors == []
        # The listener does see a violation: an image from another origin is refused.
        page.evaluate("document.body.insertAdjacentHTML('beforeend', "
                      "'<img src=\"http://192.0.2.1/x.png\">')")  # fmt: skip
        wait_for(lambda: violations, 10)
        assert "img-src" in violations[0] or "default-src" in violations[0], violations
    finally:
        context.close()


def test_verify_now_runs_and_its_result_appears(browser: Any, site: Site) -> None:
    context, page = open_page(browser, site)
    try:
        box = open_database(page, site, site.dbs[0])
        box.locator('button[data-kind="verify"]').click()
        page.wait_for_selector(
            f'article.database[data-database="{site.dbs[0]}"] .job[data-kind="verify"]'
            '[data-state="ok"]', timeout=120_000)  # fmt: skip
        assert "passed" in card(page, site.dbs[0]).locator(".verify-result").inner_text()
        # The result is kept in the user's state dir; the database keeps no trace of it (verify's
        # sentinel row is gone again).
        kept = pylitestream.last_verify(site.dbs[0])
        assert kept is not None and kept["ok"] is True
        with sqlite3.connect(site.dbs[0]) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "_litestream_verification" in tables:
                assert conn.execute("SELECT count(*) FROM _litestream_verification").fetchone() == (
                    0,
                )
        assert read_rows(site.dbs[0]) == [f"row-{n}" for n in range(5)]
        shoot(page, site, "verified")
    finally:
        context.close()


def test_restore_writes_the_sibling_and_reports_it(browser: Any, site: Site) -> None:
    db = site.dbs[1]
    before = set(db.parent.iterdir())
    context, page = open_page(browser, site)
    try:
        open_database(page, site, db).locator('button[data-kind="plan"]').click()
        selector = f'article.database[data-database="{db}"]'
        page.wait_for_selector(f'{selector} .job[data-kind="plan"][data-state="ok"]',
                               timeout=60_000)  # fmt: skip
        if line_of(site) == "0.5":
            assert page.locator(f"{selector} table.plan tbody tr").count() >= 1
        page.locator(f'{selector} button[data-kind="restore"]').click()
        page.wait_for_selector(f'{selector} .job[data-kind="restore"]:not([data-state="running"])',
                               timeout=120_000)  # fmt: skip
        job = page.locator(f'{selector} .job[data-kind="restore"]').first
        message = job.locator(".message").inner_text()
        assert job.get_attribute("data-state") == "ok", message
        new = sorted(set(db.parent.iterdir()) - before)
        siblings = [p for p in new if re.fullmatch(rf"{db.stem}-\d{{14}}\.db", p.name)]
        assert len(siblings) == 1, new
        assert str(siblings[0]) in message and "quick_check ok" in message
        assert read_rows(siblings[0]) == read_rows(db)
        shoot(page, site, "restored")
    finally:
        context.close()


def test_post_without_token_is_rejected_and_wrong_password_gets_401(
    browser: Any, site: Site
) -> None:
    context, page = open_page(browser, site)
    try:
        open_database(page, site, site.dbs[2])
        jobs_before = page.locator(".job").count()
        refused = page.request.post(site.url + "/actions/verify",
                                    form={"database": str(site.dbs[2])})  # fmt: skip
        assert refused.status == 403
        assert "CSRF" in refused.text()
        page.reload()
        assert page.locator(f'article.database[data-database="{site.dbs[2]}"] .job').count() == 0
        assert page.locator(".job").count() == jobs_before
    finally:
        context.close()
    context, page = open_page(browser, site, password="wrong-" + PASSWORD)
    try:
        response = page.goto(site.url + "/")
        assert response.status == 401
        assert PASSWORD not in page.content()
    finally:
        context.close()
