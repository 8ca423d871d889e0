"""Bad input to `pylitestream metrics` and `check --format`: one `pylitestream: error:` line,
exit 2 (docs/errors.md), no traceback, nothing changed, and no server started
(pylitestream.metrics.serve is replaced by a failure: a case that would serve is a bug)."""

from __future__ import annotations

from pathlib import Path

import pytest
from badinput_harness import LINES, Case, run_case

NO_CREDENTIALS = {"PYLITESTREAM_DASHBOARD_PASSWORD": None, "LITESTREAM_PASSWORD": None}
CONFIG = "@ROOT@/litestream.yml"
CASES: list[Case] = []

for line in LINES:

    def add(name: str, argv: list[str], *fragments: str, line: str = line,
            env: dict[str, str | None] | None = None) -> None:  # fmt: skip
        CASES.append(Case(f"metrics-{name}-{line}", argv, 2, line,
                          env={**NO_CREDENTIALS, **(env or {})}, fragments=fragments,
                          absent=("metrics-secret-5d1",)))  # fmt: skip

    for port in ("0", "-1", "65536", "http", ""):
        add(f"port-{port or 'empty'}", ["metrics", "--serve", "--port", port, "-c", CONFIG],
            "--port")  # fmt: skip
    for host in ("0.0.0.0", "::", "203.0.113.9"):  # IPs only: no DNS lookup leaves the box
        add(f"host-{host}", ["metrics", "--serve", "--host", host, "-c", CONFIG], "refusing",
            host, "PYLITESTREAM_DASHBOARD_PASSWORD")  # fmt: skip
    add("host-empty-password", ["metrics", "--serve", "--host", "0.0.0.0", "-c", CONFIG],
        "refusing", env={"PYLITESTREAM_DASHBOARD_PASSWORD": ""})  # fmt: skip
    add("max-lag-zero", ["metrics", "--serve", "--max-lag", "0", "-c", CONFIG], "--max-lag")
    add("config-missing", ["metrics", "--serve", "-c", "@ROOT@/nope.yml"], "nope.yml")
    add("unknown-flag", ["metrics", "--bind", "0.0.0.0"], "--bind")
    for value in ("prometheus", "JSON", "", "openmetrics,json"):
        add(f"check-format-{value or 'empty'}", ["check", "--format", value, "-c", CONFIG],
            "--format")  # fmt: skip


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    import pylitestream.metrics

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bad input reached metrics.serve")

    monkeypatch.setattr(pylitestream.metrics, "serve", refuse)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_metrics_bad_input(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)
