"""A real Prometheus (Debian's package, on loopback) scrapes `pylitestream metrics --serve` and
the dashboard's /metrics (basic auth), with the shipped alert rules loaded. Litestream 0.5.17
replicates two databases with its control socket on; the test freezes it with SIGSTOP while
the app keeps writing, and finds through Prometheus's HTTP API the lag climb past the threshold
and the shipped lag alert fire, then the lag fall back to 0 once it runs again. On the way:
`promtool check metrics` passes on both scrapes, no secret is in them, and every query of the
shipped Grafana dashboard answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Litestream, create_db, insert_rows, pid_alive, start_replicate, wait_for
from dashboard_client import PASSWORD, SECRET, basic
from prometheus_support import (
    Prometheus,
    grafana_queries,
    promtool,
    quick_rules,
    start_prometheus,
)
from servers import socket_config
from support import _free_port, stop_process

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
THRESHOLD = 5  # seconds of lag at which the test's copy of the shipped rule fires


def scrape(url: str, auth: tuple[str, str] | None = None) -> bytes:
    request = urllib.request.Request(url, headers=basic(*auth) if auth else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return bytes(response.read())


@pytest.fixture
def stack(ls: Litestream, tmp_path: Path) -> Iterator[dict[str, object]]:
    """litestream replicating orders.db and users.db, `metrics --serve` (loopback, no password),
    the dashboard (basic auth), both verified once, and Prometheus scraping both."""
    root = tmp_path / "site"
    root.mkdir(mode=0o700)
    dbs = [root / "orders.db", root / "users.db"]
    for db in dbs:
        create_db(db)
        insert_rows(db, ["first"])
    config = socket_config(root, ls.line, dbs)
    env = {**os.environ, "LITESTREAM_SECRET_ACCESS_KEY": SECRET}
    env.pop("PYLITESTREAM_DASHBOARD_PASSWORD", None)
    procs: list[subprocess.Popen[bytes]] = []
    prometheus: Prometheus | None = None
    try:
        procs.append(start_replicate(config, root / "replicate.log", count=2))
        subprocess.run([sys.executable, "-m", "pylitestream", "verify", "--all", "-c",
                        str(config)], env=env, check=True, capture_output=True)  # fmt: skip
        metrics_port, dashboard_port = _free_port(), _free_port()
        with (root / "metrics.log").open("wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "pylitestream", "metrics", "--serve", "--port",
                 str(metrics_port), "--timeout", "1", "-c", str(config)],
                stdout=out, stderr=subprocess.STDOUT, env=env))  # fmt: skip
        dashboard_env = {**env, "PYLITESTREAM_DASHBOARD_USERNAME": "ops",
                         "PYLITESTREAM_DASHBOARD_PASSWORD": PASSWORD}  # fmt: skip
        with (root / "dashboard.log").open("wb") as out:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "pylitestream", "dashboard", "--port", str(dashboard_port),
                 "-c", str(config)], stdout=out, stderr=subprocess.STDOUT,
                env=dashboard_env))  # fmt: skip
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        dashboard_url = f"http://127.0.0.1:{dashboard_port}/metrics"
        wait_for(lambda: scrape(metrics_url), 30)
        wait_for(lambda: scrape(dashboard_url, ("ops", PASSWORD)), 30)
        rules = quick_rules(root, "LitestreamReplicationLagging", str(THRESHOLD), "2s")
        jobs = [
            {"job_name": "metrics", "scrape_interval": "2s", "scrape_timeout": "2s",
             "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]},
            {"job_name": "dashboard", "scrape_interval": "2s", "scrape_timeout": "2s",
             "basic_auth": {"username": "ops", "password": PASSWORD},
             "static_configs": [{"targets": [f"127.0.0.1:{dashboard_port}"]}]},
        ]  # fmt: skip
        prometheus = start_prometheus(root / "prometheus", jobs, [rules])
        yield {"prometheus": prometheus, "litestream": procs[0], "dbs": dbs,
               "metrics_url": metrics_url, "dashboard_url": dashboard_url}  # fmt: skip
    finally:
        if procs and procs[0].poll() is None:
            os.kill(procs[0].pid, signal.SIGCONT)
        if prometheus is not None:
            prometheus.stop()
            assert not pid_alive(prometheus.proc.pid)
        for proc in reversed(procs):
            stop_process(proc)
            assert not pid_alive(proc.pid)


@LS05
def test_prometheus_sees_the_lag_climb_and_the_shipped_alert_fire(
    stack: dict[str, object],
) -> None:
    prometheus = stack["prometheus"]
    assert isinstance(prometheus, Prometheus)
    litestream = stack["litestream"]
    assert isinstance(litestream, subprocess.Popen)
    orders = stack["dbs"][0]  # type: ignore[index]

    # Both exposures are scraped, each database current, with TXIDs and a passed verify.
    wait_for(lambda: prometheus.values("up", "job") == {"metrics": 1.0, "dashboard": 1.0}, 30)
    for job in ("metrics", "dashboard"):
        wanted = {"orders.db": 0.0, "users.db": 0.0}
        query = f'pylitestream_database_lag_seconds{{job="{job}"}}'
        wait_for(lambda query=query, wanted=wanted: prometheus.values(query) == wanted, 30)
        assert prometheus.values(f'pylitestream_database_last_verify_ok{{job="{job}"}}') == {
            "orders.db": 1.0, "users.db": 1.0}  # fmt: skip
        assert set(prometheus.values(f'pylitestream_database_replica_txid{{job="{job}"}}')) == {
            "orders.db", "users.db"}  # fmt: skip
        assert prometheus.values(f'pylitestream_daemon_up{{job="{job}"}}', "job") == {job: 1.0}
    # The restore points come from the background refresher, on a later scrape.
    wait_for(lambda: len(prometheus.values("pylitestream_database_restore_point_age_seconds"
                                           '{job="metrics"}')) == 2, 30)  # fmt: skip

    # What we serve passes promtool, and holds neither the replica secret nor the password.
    for body in (scrape(str(stack["metrics_url"])),
                 scrape(str(stack["dashboard_url"]), ("ops", PASSWORD))):  # fmt: skip
        checked = promtool("check", "metrics", stdin=body)
        assert checked.returncode == 0, (checked.stdout, checked.stderr)
        assert SECRET.encode() not in body and PASSWORD.encode() not in body

    # Every query of the shipped Grafana dashboard answers, with data.
    for title, promql in grafana_queries():
        assert prometheus.query(promql), (title, promql)

    # Freeze litestream; the app keeps writing. The lag climbs past the threshold and the
    # shipped alert (its threshold and `for:` shortened) fires for the database.
    os.kill(litestream.pid, signal.SIGSTOP)
    try:

        def lagging() -> bool:
            insert_rows(orders, ["while frozen"])
            lag = prometheus.values('pylitestream_database_lag_seconds{job="metrics"}')
            return lag.get("orders.db", 0.0) > THRESHOLD

        wait_for(lagging, 60, interval=0.5)

        def firing() -> list[dict[str, object]]:
            insert_rows(orders, ["while frozen"])
            wanted = {"alertname": "LitestreamReplicationLagging", "database": str(orders)}
            return [a for a in prometheus.alerts() if a["state"] == "firing"
                    and wanted.items() <= a["labels"].items()]  # fmt: skip

        alert = wait_for(firing, 60, interval=0.5)[0]
        assert float(alert["value"]) > THRESHOLD
        assert alert["labels"]["severity"] == "critical"
        assert str(orders) in alert["annotations"]["summary"]
        climbed = prometheus.query(
            'max_over_time(pylitestream_database_lag_seconds{job="metrics",database="'
            f'{orders}"}}[1m]) - min_over_time(pylitestream_database_lag_seconds{{job="metrics",'
            f'database="{orders}"}}[1m])'
        )
        assert float(climbed[0]["value"][1]) > THRESHOLD  # a climb, not one odd sample
    finally:
        os.kill(litestream.pid, signal.SIGCONT)

    # Running again: the replica catches up and the lag falls back to 0.
    wait_for(lambda: prometheus.values('pylitestream_database_lag_seconds{job="metrics"}')
             .get("orders.db") == 0.0, 60)  # fmt: skip
