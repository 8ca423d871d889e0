"""A real Prometheus (Debian's package, started here on loopback) scrapes pylitestream's
metrics from `pylitestream metrics --serve` and from the dashboard's /metrics, both behind basic
auth, beside a real litestream 0.5.17 daemon. A database whose replica stops taking uploads
shows its lag climbing past the threshold, the shipped alert rule fires, and every query of the
shipped Grafana dashboard runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import Daemon, insert_rows, stop_process, wait_for
from support import _free_port

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
PROMETHEUS = Path("/usr/bin/prometheus")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "monitoring"
USER, PASSWORD = "scraper", "metrics-pass-4e7b21"
SECRET = "wJalrXUtnFEMI-metrics-secret-value"


def serve(argv: list[str], log: Path, url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: httpx.get(url, auth=(USER, PASSWORD)).status_code == 200, 60)
    except BaseException:
        stop_process(proc)
        raise
    return proc


@pytest.fixture
def scraped(daemon: Daemon, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`metrics --serve` and the dashboard, and a Prometheus scraping both every second with
    the shipped rules (their `for:` cut to 0 s so the test need not wait 5 minutes)."""
    env = {**os.environ, "PYLITESTREAM_DASHBOARD_USERNAME": USER,
           "PYLITESTREAM_DASHBOARD_PASSWORD": PASSWORD,
           "LITESTREAM_SECRET_ACCESS_KEY": SECRET}  # fmt: skip
    cli = [sys.executable, "-m", "pylitestream"]
    ports = {"serve": _free_port(), "dashboard": _free_port(), "prometheus": _free_port()}
    targets = {name: f"http://127.0.0.1:{ports[name]}/metrics" for name in ("serve", "dashboard")}
    procs = []
    try:
        procs.append(serve([*cli, "metrics", "--serve", "--port", str(ports["serve"]),
                            "--max-lag", "3", "-c", str(daemon.config)],
                           tmp_path / "serve.log", targets["serve"], env))  # fmt: skip
        procs.append(serve([*cli, "dashboard", "--port", str(ports["dashboard"]), "-c",
                            str(daemon.config)], tmp_path / "dashboard.log",
                           targets["dashboard"], env))  # fmt: skip
        rules = yaml.safe_load((DOCS / "alerts.yml").read_text())
        for rule in rules["groups"][0]["rules"]:
            rule["for"] = "0s"
        (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(tmp_path / "alerts.yml")],
            "scrape_configs": [
                {"job_name": name, "static_configs": [{"targets": [f"127.0.0.1:{ports[name]}"]}],
                 "basic_auth": {"username": USER, "password": PASSWORD}}
                for name in ("serve", "dashboard")
            ],
        }  # fmt: skip
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        url = f"http://127.0.0.1:{ports['prometheus']}"
        procs.append(serve([str(PROMETHEUS), f"--config.file={tmp_path / 'prometheus.yml'}",
                            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                            f"--web.listen-address=127.0.0.1:{ports['prometheus']}"],
                           tmp_path / "prometheus.log", url + "/-/ready", env))  # fmt: skip
        yield url, targets
    finally:
        for proc in reversed(procs):
            stop_process(proc)


def query(url: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(url + "/api/v1/query", params={"query": expr}).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


@LS05
def test_prometheus_sees_the_lag_climb_and_the_rule_fire(
    scraped: tuple[str, dict[str, str]], daemon: Daemon
) -> None:
    url, targets = scraped
    for target in targets.values():
        assert httpx.get(target).status_code == 401  # the same auth as every page
    # Both exporters are scraped and healthy.
    wait_for(
        lambda: {r["metric"]["job"] for r in query(url, "up == 1")} == {"serve", "dashboard"}, 60
    )
    db = str(daemon.db)
    wait_for(lambda: query(url, f'pylitestream_database_ok{{database="{db}"}} == 1'), 60)
    assert query(url, "pylitestream_up == 1")

    # The replica stops taking uploads: its LTX level 0 directory becomes a file.
    level0 = daemon.replica / "ltx" / "0"
    shutil.rmtree(level0)
    level0.write_text("not a directory: every upload fails")

    def lagging() -> Any:
        insert_rows(daemon.db, ["more"])
        return query(url, f'pylitestream_lag_seconds{{job="serve",database="{db}"}} > 3')

    climbed = wait_for(lagging, 90, interval=1)
    assert float(climbed[0]["value"][1]) > 3

    def firing() -> Any:
        insert_rows(daemon.db, ["more"])
        alerts = httpx.get(url + "/api/v1/alerts").json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "LitestreamBackupLagging"
                and a["state"] == "firing" and a["labels"]["database"] == db]  # fmt: skip

    assert wait_for(firing, 60, interval=1)

    # Every query of the shipped Grafana dashboard runs against what we export.
    dashboard = json.loads((DOCS / "grafana.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) == len(dashboard["panels"]) >= 8
    answered = [expr for expr in exprs if query(url, expr)]
    assert "pylitestream_lag_seconds" in answered and "pylitestream_up" in answered

    for target in targets.values():
        text = httpx.get(target, auth=(USER, PASSWORD)).text
        assert SECRET not in text and PASSWORD not in text


@LS05
def test_check_format_openmetrics_for_the_textfile_collector(daemon: Daemon) -> None:
    """What node_exporter's textfile collector reads: OpenMetrics that promtool accepts, the
    same gauges `metrics` prints, and check's exit code."""
    from prometheus_client.parser import text_string_to_metric_families

    import pylitestream

    cli = [sys.executable, "-m", "pylitestream"]
    env = {**os.environ, "LITESTREAM_SECRET_ACCESS_KEY": SECRET}
    # Once the first sync reached the replica, both commands know the same things.
    synced = lambda: all(r["replica_reachable"] for r in pylitestream.check(config=daemon.config))  # noqa: E731
    wait_for(synced, 30)
    printed = {}
    for argv in (["check", "--format", "openmetrics"], ["metrics"]):
        ran = subprocess.run([*cli, *argv, "-c", str(daemon.config)], capture_output=True,
                             env=env, timeout=60, check=False)  # fmt: skip
        assert ran.returncode == 0 and ran.stderr == b"", ran
        assert ran.stdout.endswith(b"# EOF\n") and SECRET.encode() not in ran.stdout
        checked = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=ran.stdout,
                                 capture_output=True, timeout=30, check=False)  # fmt: skip
        assert checked.returncode == 0, checked
        printed[argv[0]] = {s.name for f in text_string_to_metric_families(ran.stdout.decode())
                            for s in f.samples}  # fmt: skip
    assert printed["check"] == printed["metrics"]
    assert {"pylitestream_up", "pylitestream_lag_seconds", "pylitestream_replica_txid"} <= (
        printed["check"]
    )
