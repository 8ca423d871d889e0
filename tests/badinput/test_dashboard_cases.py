"""Bad input to `pylitestream dashboard`: one `pylitestream: error:` line, exit 2 (README
"Errors and exit codes"), no traceback, nothing changed, and the server never starts (uvicorn.run
is replaced by a failure for these cases: a case that would serve is a bug)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from badinput_harness import LINES, Case, run_case

NO_CREDENTIALS = {"PYLITESTREAM_DASHBOARD_PASSWORD": None, "LITESTREAM_PASSWORD": None,
                  "PYLITESTREAM_DASHBOARD_ACTIONS": None}  # fmt: skip
CREDENTIALS = {"PYLITESTREAM_DASHBOARD_USERNAME": "ops",
               "PYLITESTREAM_DASHBOARD_PASSWORD": "dashboard-secret-771"}  # fmt: skip
CONFIG = "@ROOT@/litestream.yml"
CASES: list[Case] = []

for line in LINES:

    def add(name: str, argv: list[str], *fragments: str, env: dict[str, str | None] | None = None,
            files: dict[str, bytes] | None = None, line: str = line) -> None:  # fmt: skip
        CASES.append(Case(f"dashboard-{name}-{line}", ["dashboard", *argv], 2, line,
                          env={**NO_CREDENTIALS, **(env or {})}, files=files or {},
                          fragments=fragments, absent=("dashboard-secret-771",)))  # fmt: skip

    for port in ("0", "-1", "65536", "http", "80.5", ""):
        add(f"port-{port or 'empty'}", ["--port", port, "-c", CONFIG], "--port")
    add("port-missing-value", ["-c", CONFIG, "--port"], "--port")
    add("unknown-flag", ["--bind", "0.0.0.0"], "--bind")
    add("stray-argument", ["now"], "now")
    for host in ("0.0.0.0", "::", "203.0.113.9"):  # IPs only: no DNS lookup leaves the box
        add(f"host-{host}", ["--host", host, "-c", CONFIG], "refusing", host,
            "PYLITESTREAM_DASHBOARD_PASSWORD")  # fmt: skip
    add("host-empty-password", ["--host", "0.0.0.0", "-c", CONFIG], "refusing",
        env={"PYLITESTREAM_DASHBOARD_PASSWORD": "", "LITESTREAM_PASSWORD": ""})  # fmt: skip
    add("config-missing", ["-c", "@ROOT@/nope.yml"], "nope.yml")
    add("config-missing-with-credentials", ["--host", "0.0.0.0", "-c", "@ROOT@/nope.yml"],
        "nope.yml", env=CREDENTIALS)  # fmt: skip
    add("config-utf16", ["-c", "@ROOT@/utf16.yml"], "UTF-16",
        files={"utf16.yml": codecs.BOM_UTF16_LE + "dbs: []\n".encode("utf-16-le")})  # fmt: skip
    add("config-yaml-error", ["-c", "@ROOT@/broken.yml"], "broken.yml",
        files={"broken.yml": b"dbs: [\n  - path: x\n"})  # fmt: skip
    add("config-directory", ["-c", "@ROOT@/data"], "data")
    add("actions-without-credentials", ["--actions", "-c", CONFIG], "actions need authentication")
    add("actions-env-without-credentials", ["-c", CONFIG], "actions need authentication",
        env={"PYLITESTREAM_DASHBOARD_ACTIONS": "1"})  # fmt: skip


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bad input reached uvicorn.run")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_dashboard_bad_input(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path)
