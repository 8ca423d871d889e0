"""The metrics pylitestream.metrics writes from check's records, read back with
prometheus-client's own parser and checked by Debian's promtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pylitestream import api
from pylitestream.metrics import GAUGES, PREFIX

PROMTOOL = Path("/usr/bin/promtool")  # Debian's prometheus package (scripts/debian_packages)
ROWS = [
    {"database": "/srv/a.db", "ok": True, "status": "ok", "lag_seconds": 0.0,
     "seconds_since_sync": 1.5, "local_txid": "000000000000000a",
     "replica_txid": "0000000000000009", "replica_reachable": True},
    {"database": "/srv/b.db", "ok": False, "status": "stalled", "lag_seconds": 75.0,
     "seconds_since_sync": 80.0, "local_txid": None, "replica_txid": None,
     "replica_reachable": None},
]  # fmt: skip


def samples(text: bytes) -> dict[tuple[str, str], float]:
    return {(s.name, s.labels.get("database", "")): s.value
            for family in text_string_to_metric_families(text.decode())
            for s in family.samples}  # fmt: skip


def test_each_gauge_from_checks_records() -> None:
    verifies = {"/srv/a.db": {"ok": False, "finished_at": "2026-12-05T10:00:00+00:00"}}
    newest = {"/srv/a.db": "2026-12-05T10:00:00Z"}
    text, kind = api.metrics(ROWS, max_lag=60.0, daemon_up=True, verifies=verifies,
                             newest_restore_points=newest)  # fmt: skip
    assert kind.startswith("text/plain")
    found = samples(text)
    p = PREFIX
    assert found[(p + "up", "")] == 1
    assert (
        found[(p + "database_ok", "/srv/a.db")] == 1
        and found[(p + "database_ok", "/srv/b.db")] == 0
    )
    assert found[(p + "lag_seconds", "/srv/b.db")] == 75.0
    assert (
        found[(p + "local_txid", "/srv/a.db")] == 10
        and found[(p + "replica_txid", "/srv/a.db")] == 9
    )
    assert found[(p + "stalled", "/srv/b.db")] == 1 and found[(p + "stalled", "/srv/a.db")] == 0
    assert found[(p + "replica_reachable", "/srv/a.db")] == 1
    assert found[(p + "max_lag_seconds", "/srv/a.db")] == 60.0
    assert found[(p + "last_verify_ok", "/srv/a.db")] == 0
    assert (
        found[(p + "last_verify_timestamp_seconds", "/srv/a.db")] == 1796464800.0
    )  # 2026-12-05T10:00:00Z
    assert found[(p + "newest_restore_point_age_seconds", "/srv/a.db")] > 0
    # What nobody knows is left out, never shown as 0.
    for name in ("local_txid", "replica_reachable", "last_verify_ok"):
        assert (p + name, "/srv/b.db") not in found
    assert {name.removeprefix(p) for name, _ in found} == set(GAUGES)


def test_the_daemon_is_judged_from_the_records_when_not_given() -> None:
    down = [{**ROWS[0], "ok": False, "status": "not_running"}]
    assert samples(api.metrics(down, max_lag=60.0, verifies={})[0])[(PREFIX + "up", "")] == 0
    assert samples(api.metrics(ROWS, max_lag=60.0, verifies={})[0])[(PREFIX + "up", "")] == 1


@pytest.mark.parametrize("openmetrics", [False, True], ids=["prometheus", "openmetrics"])
def test_promtool_accepts_both_formats(openmetrics: bool, tmp_path: Path) -> None:
    text, _ = api.metrics(ROWS, max_lag=60.0, daemon_up=True, verifies={},
                          openmetrics=openmetrics)  # fmt: skip
    checked = subprocess.run([str(PROMTOOL), "check", "metrics"], input=text,
                             capture_output=True, timeout=30, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert text.endswith(b"# EOF\n") == openmetrics


def test_the_shipped_rules_pass_promtool() -> None:
    rules = Path(__file__).resolve().parents[2] / "docs" / "monitoring" / "alerts.yml"
    checked = subprocess.run([str(PROMTOOL), "check", "rules", str(rules)],
                             capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout
