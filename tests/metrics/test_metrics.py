"""The metrics' three ways out, against real litestream 0.5.17: the dashboard's /metrics under
the page's auth rules (basic auth, authorize, hosted), `pylitestream metrics --serve` under the
dashboard's (basic auth, Host allow-list, loopback without a password), and `check --format
openmetrics`, each checked by promtool, none showing a secret. The shipped alert rules pass
`promtool check rules`; the Grafana dashboard names only metrics we export."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Litestream,
    assert_one_error_line,
    cli,
    stop_process,
    wait_for,
)
from dashboard_client import PASSWORD, SECRET, basic, client, two_databases
from prometheus_support import ALERTS, GRAFANA, promtool, quick_rules
from servers import Daemon
from support import _free_port

import pylitestream
from pylitestream import api

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@pytest.fixture
def config(ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return two_databases(ls.line, tmp_path, monkeypatch)


def assert_metrics(body: str, config: Path, status: str) -> None:
    """Both databases with check's status, through promtool, without a secret."""
    for name in ("orders.db", "users.db"):
        db = config.parent / name
        assert f'pylitestream_database_status{{database="{db}",status="{status}"}} 1.0' in body
    checked = promtool("check", "metrics", stdin=body.encode())
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert SECRET not in body and PASSWORD not in body


@LS05
def test_the_dashboards_metrics_have_the_pages_auth(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylitestream.web import create_app, hosted_app
    from pylitestream.web.app import HOST_KEY

    app = create_app(config)
    assert client(app, auth=None).get("/metrics").status_code == 401
    assert client(app, auth=("ops", "wrong")).get("/metrics").status_code == 401
    served = client(app).get("/metrics")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain; version=")
    assert_metrics(served.text, config, "not_running")
    assert "pylitestream_daemon_up 0.0" in served.text
    openmetrics = client(app).get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")

    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    allowed = {"yes": True}
    gated = client(create_app(config, authorize=lambda request: allowed["yes"]), auth=None)
    assert gated.get("/metrics").status_code == 200
    allowed["yes"] = False
    assert gated.get("/metrics").status_code == 403

    inner = hosted_app(config)
    assert client(inner, auth=None).get("/metrics").status_code == 403

    async def host(scope: Any, receive: Any, send: Any) -> None:
        await inner({**scope, HOST_KEY: {"actions": False}}, receive, send)

    assert client(host, auth=None).get("/metrics").status_code == 200


def get(url: str, auth: tuple[str, str] | None = None, host: str | None = None) -> tuple[int, str]:
    headers = {**(basic(*auth) if auth else {}), **({"Host": host} if host else {})}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


@LS05
@pytest.mark.parametrize("with_password", [True, False], ids=["password", "loopback-open"])
def test_metrics_serve_has_the_dashboards_rules(
    config: Path, monkeypatch: pytest.MonkeyPatch, with_password: bool
) -> None:
    if not with_password:
        monkeypatch.delenv("PYLITESTREAM_DASHBOARD_PASSWORD")
    port = _free_port()
    log = config.parent / "metrics.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylitestream", "metrics", "--serve", "--port", str(port),
             "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        if with_password:
            wait_for(lambda: get(url)[0] == 401, 30)
            assert get(url, ("ops", "wrong"))[0] == 401
            code, body = get(url, ("ops", PASSWORD))
        else:
            code, body = wait_for(lambda: (found := get(url))[0] == 200 and found, 30)
        assert code == 200
        assert_metrics(body, config, "not_running")
        auth = ("ops", PASSWORD) if with_password else None
        assert get(url, auth, host="evil.example")[0] == 400  # DNS rebinding
        assert get(f"http://127.0.0.1:{port}/", auth)[0] == 404
    finally:
        stop_process(proc)
    said = "basic auth as ops" if with_password else "no authentication: loopback only"
    assert log.read_text().splitlines()[0] == (
        f"serving metrics for {config} at http://127.0.0.1:{port}/metrics ({said}); Ctrl-C stops it"
    )
    assert PASSWORD not in log.read_text() and SECRET not in log.read_text()


@LS05
def test_check_format_openmetrics(daemon: Daemon) -> None:
    config = str(daemon.config)
    healthy = wait_for(lambda: (r := cli("check", "--format", "openmetrics", "-c", config))
                       .code == 0 and r, 30)  # fmt: skip
    assert healthy.err == "" and healthy.out.endswith("# EOF\n")
    lag = re.search(rf'pylitestream_database_lag_seconds{{database="{daemon.db}"}} (\S+)',
                    healthy.out)  # fmt: skip
    assert lag and float(lag[1]) < 60
    assert "pylitestream_daemon_up 1.0" in healthy.out
    assert promtool("check", "metrics", stdin=healthy.out.encode()).returncode == 0
    # The other formats keep working: --format json is --json, the table is the default.
    as_json = json.loads(cli("check", "--format", "json", "-c", config).out)
    assert [tuple(r) for r in as_json] == [tuple(r) for r in json.loads(
        cli("check", "--json", "-c", config).out)]  # fmt: skip
    assert str(daemon.db) in cli("check", "-c", config, env={"COLUMNS": "300"}).out

    # The daemon gone and the app still writing: exit 1 with one error line, and the metrics
    # still on stdout, the lag climbing from the last sync a check saw.
    stop_process(daemon.proc)
    app = sqlite3.connect(daemon.db)  # the app holds its connection, as a running app does
    try:
        with app:
            app.execute("INSERT INTO items (name) VALUES ('after the daemon')")
        down = cli("check", "--format", "openmetrics", "-c", config)
    finally:
        app.close()
    assert_one_error_line(down, 1, str(daemon.db), "not running")
    assert "pylitestream_daemon_up 0.0" in down.out and down.out.endswith("# EOF\n")
    lag = re.search(rf'pylitestream_database_lag_seconds{{database="{daemon.db}"}} (\S+)', down.out)
    assert lag and float(lag[1]) > 0
    # `metrics` prints the same kind of metrics (text format) and exits 0 whatever the health.
    once = cli("metrics", "-c", config)
    assert once.code == 0 and once.err == "" and "pylitestream_daemon_up 0.0" in once.out
    assert promtool("check", "metrics", stdin=once.out.encode()).returncode == 0


def test_the_shipped_alert_rules_pass_promtool(tmp_path: Path) -> None:
    for rules in (ALERTS, quick_rules(tmp_path, "LitestreamReplicationLagging", "5", "2s")):
        checked = promtool("check", "rules", str(rules))
        assert checked.returncode == 0, (checked.stdout, checked.stderr)
        assert "SUCCESS: 11 rules found" in checked.stdout


FULL_OVERVIEW = {"line": "0.5", "seconds": 0.1, "daemon": {"running": True}, "databases": [{
    "database": "/srv/app.db",
    "health": {"ok": True, "status": "ok", "lag_seconds": 0.0, "seconds_since_sync": 1.0,
               "local_txid": "00000000000000ff", "replica_txid": "00000000000000ff",
               "replica_reachable": True},
    "restore_points": {"points": {"levels": [{"newest": "2026-01-01T00:00:00Z"}]}},
    "verify": {"ok": True, "finished_at": "2026-01-01T00:00:00+00:00"},
}]}  # fmt: skip
FULL_AUDIT = {"database": "s3://b/apps/a/db", "line": "0.5", "ok": True, "status": "ok",
              "newest_at": "2026-01-01T00:00:00Z", "age_seconds": 2.0, "span_seconds": 60.0,
              "drill": "ok"}  # fmt: skip
EXPORTED = re.compile(r"^(pylitestream_\w+)[{ ]", re.M)


def named(text: str) -> set[str]:
    """The metric names a text mentions (`pylitestream_audit_*` names a family, not one)."""
    return {name for name in re.findall(r"pylitestream_\w+", text) if not name.endswith("_")}


def test_the_shipped_files_name_only_metrics_we_export() -> None:
    text = pylitestream.metrics_text(FULL_OVERVIEW).decode()
    exported = set(EXPORTED.findall(text))
    assert len(exported) == 14, exported
    audit_names = set(EXPORTED.findall(api.audit_metrics_text([FULL_AUDIT], 0.5).decode()))
    assert len(audit_names) == 10 and not audit_names & (exported - {"pylitestream_build_info"})
    exported |= audit_names
    assert "pylitestream_database_replica_txid" in exported and 'status="ok"' in text
    for path in (ALERTS, GRAFANA):
        mentioned = named(path.read_text())
        assert mentioned and mentioned <= exported, (path.name, mentioned - exported)


def test_the_docs_list_every_metric_and_only_those() -> None:
    """docs/metrics.md names check's metrics, docs/audit.md the audit's: each every one of
    them, and nothing else."""
    docs = Path(__file__).resolve().parents[2] / "docs"
    check_names = set(EXPORTED.findall(pylitestream.metrics_text(FULL_OVERVIEW).decode()))
    audit_names = set(EXPORTED.findall(api.audit_metrics_text([FULL_AUDIT], 0.5).decode()))
    assert named((docs / "metrics.md").read_text()) == check_names
    assert named((docs / "audit.md").read_text()) == audit_names
