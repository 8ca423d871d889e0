"""The dashboard's history chart in a real browser (Playwright driving Debian's chromium):
litestream 0.5.17 replicating to moto S3 is frozen with SIGSTOP while the app keeps writing,
and the frozen database's lag line climbs while the other's stays flat, with its verify as a
green dot. Screenshot:
artifacts/history/stalled-lag.png."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import ROOT, S3Server, binary_dir, insert_rows, pid_alive, wait_for
from dashboard_support import PASSWORD, USERNAME, Site, start_site

import pylitestream

ARTIFACTS = ROOT / "artifacts" / "history"


@pytest.fixture
def site(s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(binary_dir("0.5.17")))
    bucket = s3_server.create_bucket("history-chart")
    running = start_site(tmp_path / "site", "0.5", binary_dir("0.5.17"), s3_server, bucket,
                         count=2, actions=False)  # fmt: skip
    try:
        yield running
    finally:
        if running.procs[0].poll() is None:
            os.kill(running.procs[0].pid, signal.SIGCONT)
        running.stop()
        assert not any(pid_alive(p.pid) for p in running.procs)


def heights(page: Any, db: Path) -> list[float]:
    """The lag line's points as heights above the axis (SVG y grows downwards)."""
    figure = page.locator(f'article.database[data-database="{db}"] figure.history')
    points = str(figure.get_attribute("data-points") or "")
    return [60.0 - float(p.split(",")[1]) for p in points.split()]


def test_the_chart_shows_a_stalled_databases_lag_climb(site: Site, browser: Any) -> None:
    frozen, calm = site.dbs
    wait_for(lambda: all(r["ok"] for r in pylitestream.check(config=site.config)), 30)
    for _ in range(3):  # a few healthy samples first
        pylitestream.check(config=site.config)
    assert pylitestream.verify(calm, config=site.config)["ok"]  # a green dot on its strip
    context = browser.new_context(http_credentials={"username": USERNAME, "password": PASSWORD},
                                  viewport={"width": 1280, "height": 1000})  # fmt: skip
    try:
        # Each database's page draws its chart; the frozen one's refreshes itself every 5 s.
        page, other = context.new_page(), context.new_page()
        assert page.goto(f"{site.url}/database?{urlencode({'path': str(frozen)})}").status == 200
        os.kill(site.procs[0].pid, signal.SIGSTOP)
        try:

            def climbed() -> bool:
                insert_rows(frozen, ["while frozen"])
                pylitestream.check(config=site.config, timeout=1)  # every check is kept
                line = heights(page, frozen)
                return len(line) >= 5 and line[-1] > line[0] + 5 and line[-1] == max(line)

            wait_for(climbed, 90, interval=1)
            figure = page.locator(f'article.database[data-database="{frozen}"] figure.history')
            assert float(figure.get_attribute("data-max-lag") or 0) > 10
            # The other database had nothing to send but verify's row: its lag stays near 0.
            assert other.goto(f"{site.url}/database?{urlencode({'path': str(calm)})}").ok
            calm_chart = other.locator(f'article.database[data-database="{calm}"] figure.history')
            assert float(calm_chart.get_attribute("data-max-lag") or 0) < 2
            dots = other.locator(f'article.database[data-database="{calm}"] circle.verify-dot.ok')
            assert dots.count() == 1
            figure.scroll_into_view_if_needed()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "stalled-lag.png"), full_page=True)
            figure.screenshot(path=str(ARTIFACTS / "stalled-lag-chart.png"))
            assert "lag over the last" in figure.inner_text()
            html = page.content()
            assert '<script src="http' not in html and PASSWORD not in html
        finally:
            os.kill(site.procs[0].pid, signal.SIGCONT)
    finally:
        context.close()
