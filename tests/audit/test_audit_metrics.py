"""`pylitestream audit --format openmetrics` on both Litestream lines: the audit's records as
Prometheus metrics that promtool accepts, the same numbers as --json, a drill's outcome, and
metrics that say so (with a ping to URL/fail) when nothing under the URL can be audited."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

from conftest import Litestream, Workspace, assert_one_error_line, cli, insert_rows, wait_for
from prometheus_support import promtool
from servers import ping_server

SECRET = "wJalrXUtnFEMI-audit-metrics-secret"
ENV = {"LITESTREAM_SECRET_ACCESS_KEY": SECRET}


def samples(text: str) -> dict[str, dict[str, float]]:
    """metric name -> {database label (or ""): value}, parsed by prometheus_client."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[sample.labels.get("database", "")] = sample.value
    return found


def test_audit_metrics_say_what_the_json_says(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes]
) -> None:
    insert_rows(workspace.db, ["a", "b"])
    url = f"file://{workspace.root}"
    name = f"file://{workspace.replica}"

    def audited() -> list[dict[str, object]] | None:
        result = cli("audit", url, "--json", env=ENV)
        return json.loads(result.out) if result.code == 0 else None

    (row,) = wait_for(audited, 30)
    result = cli("audit", url, "--restore", "--max-age", "1h", "--format", "openmetrics", env=ENV)
    assert result.code == 0 and result.err == "", result
    assert result.out.endswith("# EOF\n")
    checked = promtool("check", "metrics", stdin=result.out.encode())
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert SECRET not in result.out

    found = samples(result.out)
    assert found["pylitestream_audit_storage_ok"] == {"": 1.0}
    assert found["pylitestream_audit_database_ok"] == {name: 1.0}
    assert found["pylitestream_audit_drill_ok"] == {name: 1.0}
    assert f'pylitestream_audit_database_status{{database="{name}",status="ok"}} 1.0' in result.out
    newest = dt.datetime.fromisoformat(str(row["newest_at"]).replace("Z", "+00:00"))
    assert found["pylitestream_audit_restore_point_timestamp_seconds"][name] >= newest.timestamp()
    assert found["pylitestream_audit_restore_point_span_seconds"][name] >= 0
    assert found["pylitestream_audit_restore_point_age_seconds"][name] >= 0
    assert f'line="{ls.line}"' in result.out  # build_info

    # Without --restore no drill ran: no drill metric, rather than a 0 that reads as a failure.
    plain = samples(cli("audit", url, "--format", "openmetrics", env=ENV).out)
    assert "pylitestream_audit_drill_ok" not in plain


def test_nothing_to_audit_is_said_in_the_metrics_and_pinged(ls: Litestream, tmp_path: Path) -> None:
    """An empty directory: exit 1 with one error line, metrics with storage_ok 0 (so a textfile
    collector's file says so rather than holding no databases), and a ping to URL/fail."""
    empty = tmp_path / "replicas"
    empty.mkdir()
    with ping_server() as (base, pings):
        result = cli("audit", f"file://{empty}", "--format", "openmetrics", "--ping-url",
                     f"{base}/token-5150", env=ENV)  # fmt: skip
    line = assert_one_error_line(result, 1, str(empty))
    found = samples(result.out)
    assert found["pylitestream_audit_storage_ok"] == {"": 0.0}
    assert "pylitestream_audit_database_ok" not in found  # no database to say anything of
    assert promtool("check", "metrics", stdin=result.out.encode()).returncode == 0
    assert [path for path, _ in pings] == ["/token-5150/fail"]
    assert pings[0][1] == line.removeprefix("pylitestream: error: ")
    assert "token-5150" not in result.out + result.err
