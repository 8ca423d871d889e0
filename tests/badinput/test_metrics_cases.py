"""Bad input to the metrics and the history: a corrupt history file, bad --since, bad --format,
`metrics --serve` on a public address without a password, bad ports and timeouts; named cases
and generated ones (hypothesis). One `pylitestream: error:` line each, the documented exit code,
nothing changed (the corrupt history file included), and no server ever starts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from badinput_harness import LINES, Case, run_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NO_CREDENTIALS = {"PYLITESTREAM_DASHBOARD_PASSWORD": None, "LITESTREAM_PASSWORD": None}
SECRET = "metrics-secret-5521"
STATE = {"XDG_STATE_HOME": "@ROOT@/state"}
HISTORY = "state/pylitestream/history/history.sqlite3"
CORRUPT = {HISTORY: b"this is not SQLite, whatever its name says\n" * 200}
CONFIG = "@ROOT@/litestream.yml"
CASES: list[Case] = []

for line in LINES:

    def add(name: str, argv: list[str], code: int, *fragments: str,
            env: dict[str, str | None] | None = None, files: dict[str, bytes] | None = None,
            line: str = line) -> None:  # fmt: skip
        CASES.append(Case(f"metrics-{name}-{line}", argv, code, line,
                          env={**NO_CREDENTIALS, **STATE, **(env or {})}, files=files or {},
                          fragments=fragments, absent=(SECRET,)))  # fmt: skip

    # A corrupt history file: `history` fails in one line naming it, and leaves it as it was.
    for argv in (["history"], ["history", "--json"], ["history", "-d", "app.db", "--since", "2h"]):
        add(f"corrupt-{'-'.join(argv)}", argv, 1, "history file", "is unusable",
            "move it aside", files=CORRUPT)  # fmt: skip
    add("corrupt-history-is-a-directory", ["history"], 1, "history file",
        files={f"{HISTORY}/keep.txt": b"x"})  # fmt: skip
    for since in ("", "0", "-5m", "5 minutes", "2w", "1e3", "nan", "inf", "m", "1.5.2h"):
        add(f"since-{since or 'empty'}", ["history", "--since", since], 2, "--since")
    for fmt in ("xml", "", "JSON", "prometheus", "openmetrics "):
        add(f"format-{fmt or 'empty'}", ["check", "--format", fmt, "-c", CONFIG], 2, "--format")
    add("format-and-json", ["check", "--json", "--format", "openmetrics", "-c", CONFIG], 2,
        "two formats")  # fmt: skip
    for fmt in ("xml", "", "prometheus"):
        add(f"audit-format-{fmt or 'empty'}", ["audit", "file://@ROOT@", "--format", fmt], 2,
            "--format")  # fmt: skip
    add("audit-format-and-json", ["audit", "file://@ROOT@", "--json", "--format", "openmetrics"],
        2, "two formats")  # fmt: skip
    # Nothing to audit: one line, exit 1, and (on stdout) metrics saying so.
    add("audit-openmetrics-nothing", ["audit", "file://@ROOT@/nope", "--format", "openmetrics"],
        1, "no such directory")  # fmt: skip
    for host in ("0.0.0.0", "::", "203.0.113.9"):  # IPs only: no DNS lookup leaves the box
        add(f"serve-host-{host}", ["metrics", "--serve", "--host", host, "-c", CONFIG], 2,
            "refusing to serve the metrics", host, "PYLITESTREAM_DASHBOARD_PASSWORD")  # fmt: skip
    add("serve-host-empty-password", ["metrics", "--serve", "--host", "0.0.0.0", "-c", CONFIG],
        2, "refusing", env={"PYLITESTREAM_DASHBOARD_PASSWORD": ""})  # fmt: skip
    for port in ("0", "-1", "65536", "http", ""):
        add(f"serve-port-{port or 'empty'}", ["metrics", "--serve", "--port", port], 2, "--port")
    for timeout in ("0", "-1", "61", "soon"):
        add(f"metrics-timeout-{timeout}", ["metrics", "--timeout", timeout], 2, "--timeout")
    add("serve-config-missing", ["metrics", "--serve", "-c", "@ROOT@/nope.yml"], 2, "nope.yml",
        env={"PYLITESTREAM_DASHBOARD_PASSWORD": SECRET})  # fmt: skip
    add("unknown-flag", ["metrics", "--bind", "0.0.0.0"], 2, "--bind")

# 0.3 has no socket: check runs in the sandbox (the replica is missing, exit 1) and then cannot
# write the corrupt history: it says so in one warning and exits as the check says.
CASES.append(Case("metrics-corrupt-history-check-0.3", ["check"], 1, "0.3", files=CORRUPT,
                  env={**STATE}, fragments=("app.db",)))  # fmt: skip


@pytest.fixture(autouse=True)
def never_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import metrics_server

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("bad input reached the metrics server")

    monkeypatch.setattr(metrics_server, "serve", refuse)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_metrics_bad_input(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    if case.id.startswith("metrics-corrupt-history-check"):
        warnings = [x for x in outcome.err.splitlines() if x.startswith("pylitestream: warning:")]
        assert len(warnings) == 1 and "not kept in the history" in warnings[0], outcome.err


SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
WORDS = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{0,4}(\.[0-9]{0,2})?[smhdwy ]{0,2}", fullmatch=True),
)


@SETTINGS
@given(since=WORDS, fmt=WORDS, line=st.sampled_from(LINES))
def test_generated_since_and_format(since: str, fmt: str, line: str) -> None:
    """Any --since: exit 0 (a duration, nothing kept yet) or one line, exit 2. Any --format:
    the three names work on a config without a running daemon (exit 1 or 2), anything else is
    one line, exit 2."""
    with tempfile.TemporaryDirectory() as root:
        run_case(Case("generated-since", ["history", "--since", since], 2, line, env={**STATE},
                      also=(0,)), Path(root))  # fmt: skip
    valid = (1,) if fmt in ("table", "json", "openmetrics") else ()
    with tempfile.TemporaryDirectory() as root:
        run_case(Case("generated-format", ["check", "--format", fmt, "--timeout", "2"], 2, line,
                      env={**STATE}, also=valid), Path(root))  # fmt: skip
    with tempfile.TemporaryDirectory() as root:
        run_case(Case("generated-audit-format", ["audit", "file://@ROOT@/nope", "--format", fmt],
                      2, line, env={**STATE}, also=valid), Path(root))  # fmt: skip
