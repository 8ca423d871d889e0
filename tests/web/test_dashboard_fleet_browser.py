"""The overview of a fleet in a real browser (Playwright driving Debian's chromium): 60
databases replicated to moto S3 by one real litestream 0.5.17, one of them stopped through the
control socket. Failing first, filtered, searched, paged, and a database's own page where its
actions are. Screenshots: artifacts/dashboard/fleet-*.png."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import ROOT, S3_SECRET, S3Server, binary_dir, pid_alive, wait_for
from dashboard_support import PASSWORD, USERNAME, Site, start_site

COUNT = 60
ARTIFACTS = ROOT / "artifacts" / "dashboard"


@pytest.fixture(scope="module")
def fleet(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    bucket = s3_server.create_bucket("fleet")
    root = tmp_path_factory.mktemp("fleet")
    site = start_site(root, "0.5", binary_dir("0.5.17"), s3_server, bucket, count=COUNT)
    try:
        stopped = subprocess.run(
            [sys.executable, "-m", "pylitestream", "stop", "-d", str(site.dbs[42]), "-c",
             str(site.config)], env=site.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert stopped.returncode == 0, stopped.stderr
        yield site
    finally:
        site.stop()
        assert not any(pid_alive(p.pid) for p in site.procs)


def rows(page: Any) -> list[str]:
    return list(page.locator("tr.database").evaluate_all("rs => rs.map(r => r.dataset.database)"))


def test_find_the_failing_database_among_sixty_and_verify_it(browser: Any, fleet: Site) -> None:
    stopped = str(fleet.dbs[42])
    context = browser.new_context(http_credentials={"username": USERNAME, "password": PASSWORD},
                                  viewport={"width": 1280, "height": 900})  # fmt: skip
    page = context.new_page()
    try:
        page.goto(fleet.url + "/")
        # Failing first, one page of 50, a summary of all 60.
        wait_for(lambda: rows(page)[:1] == [stopped], 30)
        assert len(rows(page)) == 50
        assert page.locator(".summary .badge.bad").first.inner_text() == f"1 of {COUNT} failing"
        assert "page 1 of 2" in page.locator("nav.pages").inner_text()
        page.locator('nav.pages a[rel="next"]').click()
        page.wait_for_url("**/?page=2")
        assert len(rows(page)) == COUNT - 50
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.goto(fleet.url + "/")
        page.screenshot(path=str(ARTIFACTS / "fleet-overview.png"), full_page=True)

        # Filter to the failing databases with the form.
        page.select_option('form.filter select[name="status"]', "failing")
        page.locator("form.filter button").click()
        page.wait_for_url(re.compile(r".*[?&]status=failing"))
        assert rows(page) == [stopped]
        assert page.locator("tr.database .status").inner_text() == "stopped"

        # Search one by name, then open its page from its row.
        page.goto(fleet.url + "/")
        page.fill('form.filter input[name="q"]', fleet.dbs[7].stem)
        page.locator("form.filter button").click()
        page.wait_for_url(re.compile(r".*[?&]q=app"))
        assert rows(page) == [str(fleet.dbs[7])]
        page.locator("tr.database a.name").click()
        page.wait_for_url(re.compile(r".*/database\?path="))
        card = page.locator(f'article.database[data-database="{fleet.dbs[7]}"]')
        card.locator('button[data-kind="verify"]').click()
        page.wait_for_selector(f'article.database[data-database="{fleet.dbs[7]}"] '
                               '.job[data-kind="verify"][data-state="ok"]',
                               timeout=120_000)  # fmt: skip
        assert "passed" in card.locator(".verify-result").inner_text()
        page.screenshot(path=str(ARTIFACTS / "fleet-database.png"), full_page=True)
        # Back on the overview, its row shows the verify.
        page.locator("a.back").click()
        page.wait_for_url(fleet.url + "/")
        verified = page.locator(f'tr.database[data-database="{fleet.dbs[7]}"] .verify-result')
        page.fill('form.filter input[name="q"]', fleet.dbs[7].stem)
        page.locator("form.filter button").click()
        page.wait_for_url(re.compile(r".*[?&]q=app"))
        assert verified.inner_text() == "passed"
        html = page.content()
        assert S3_SECRET not in html and PASSWORD not in html
    finally:
        context.close()


def test_overview_json_is_paged_and_filtered(fleet: Site) -> None:
    import httpx

    auth = (USERNAME, PASSWORD)
    data = httpx.get(fleet.url + "/overview.json", auth=auth, params={"per_page": "7"}).json()
    assert (data["total"], data["per_page"], data["pages"]) == (COUNT, 7, 9)
    assert len(data["databases"]) == 7 and data["databases"][0]["database"] == str(fleet.dbs[42])
    assert data["counts"] == {"ok": COUNT - 1, "stopped": 1}
    failing = httpx.get(fleet.url + "/overview.json", auth=auth, params={"status": "failing"})
    assert [d["database"] for d in failing.json()["databases"]] == [str(fleet.dbs[42])]
    one = httpx.get(fleet.url + "/database.json", auth=auth, params={"path": str(fleet.dbs[3])})
    assert [d["database"] for d in one.json()["databases"]] == [str(fleet.dbs[3])]
    unknown = httpx.get(fleet.url + "/database.json", auth=auth, params={"path": "/etc/passwd"})
    assert unknown.status_code == 404
    for path in ("/overview.json", "/database.json", "/database", "/database/card"):
        assert httpx.get(fleet.url + path, params={"path": str(fleet.dbs[3])}).status_code == 401
