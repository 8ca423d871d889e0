"""The history: every check and every verify kept in one SQLite file in the user state dir,
bounded (14 days; 200,000 check rows and 20,000 verify rows, under 24 MiB), never beside or in a
replicated database; `pylitestream history`; and a corrupt file that `check` and `verify` only
warn about while `history` fails in one line. Against real litestream 0.5.17."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Litestream, assert_one_error_line, cli, insert_rows, wait_for
from dashboard_client import client, two_databases
from internals import history_store
from servers import Daemon

import pylitestream

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
BOUND = 24 * 1024 * 1024
"""The history file's bound in bytes (docs/metrics.md), its -wal included."""
ARTIFACTS = ROOT / "artifacts" / "history"


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A state dir of this test's own, so the history starts empty."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "pylitestream" / "history" / "history.sqlite3"


def size_of(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{end}") for end in ("", "-wal")
               if os.path.exists(f"{path}{end}"))  # fmt: skip


@LS05
def test_a_thousand_checks_stay_under_the_bound(daemon: Daemon, state: Path) -> None:
    wait_for(lambda: pylitestream.check(config=daemon.config)[0]["ok"], 30)
    before = len(pylitestream.history(daemon.db))
    opened: list[str] = []
    real_connect = sqlite3.connect

    def watched(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(str(path))
        return real_connect(path, *args, **kwargs)

    for number in range(1000):
        if number % 100 == 0:
            insert_rows(daemon.db, [f"row-{number}"])  # the app writes now and then
        sqlite3.connect = watched  # type: ignore[assignment]
        try:
            pylitestream.check(config=daemon.config)
        finally:
            sqlite3.connect = real_connect  # type: ignore[assignment]
    # Checks opened only the history's file: never a replicated database, nothing beside one.
    assert set(opened) == {str(state)}
    assert not any(p.name.startswith("history") for p in daemon.db.parent.iterdir())
    rows = pylitestream.history(daemon.db)
    assert len(rows) - before == 1000
    assert {r["kind"] for r in rows} == {"check"} and all(r["ok"] for r in rows[-10:])
    size = size_of(state)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "size-after-1000-checks.json").write_text(json.dumps(
        {"checks": len(rows), "bytes": size, "bound_bytes": BOUND}, indent=2) + "\n")  # fmt: skip
    assert size < 1024 * 1024 < BOUND  # 1,000 rows of one database: well under a MiB


def fake_checks(count: int) -> list[dict[str, Any]]:
    return [{"database": f"/srv/app/db{n:04d}.sqlite3", "ok": True, "status": "ok",
             "lag_seconds": 0.125, "seconds_since_sync": 1.5, "local_txid": "00000000000004d2",
             "replica_txid": "00000000000004d2"} for n in range(count)]  # fmt: skip


def test_the_file_stops_growing_at_its_caps(state: Path) -> None:
    """230,000 check rows and 25,000 verify rows written: 200,000 and 20,000 are kept, and the
    file stays under the bound; rows older than 14 days go."""
    store: Any = history_store()
    batch = fake_checks(1000)
    for _ in range(230):
        store.record_checks(batch)
    verifies = [{"database": r["database"], "ok": n % 2 == 0, "reason": "stale"}
                for n, r in enumerate(batch)]  # fmt: skip
    for _ in range(25):
        store.record_verifies(verifies)
    size = size_of(state)
    with sqlite3.connect(state) as conn:
        counts = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("checks", "verifies")]  # fmt: skip
        # Make the oldest rows 15 days old: the next write removes them.
        conn.execute("UPDATE checks SET at = at - 15 * 86400 WHERE id < 100000")
    conn.close()
    assert counts == [store.MAX_CHECKS, store.MAX_VERIFIES] == [200_000, 20_000]
    assert size < BOUND, size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "size-at-the-caps.json").write_text(json.dumps(
        {"check_rows": counts[0], "verify_rows": counts[1], "bytes": size, "bound_bytes": BOUND},
        indent=2) + "\n")  # fmt: skip
    store.record_checks(batch[:1])
    with sqlite3.connect(state) as conn:
        left = conn.execute("SELECT count(*), min(id) FROM checks").fetchone()
    conn.close()
    assert left[1] == 100000 and left[0] == 130_002
    assert size_of(state) <= size  # freed pages are reused, the file does not grow


@LS05
def test_history_command(daemon: Daemon, state: Path) -> None:
    config = str(daemon.config)
    wait_for(lambda: cli("check", "-c", config).code == 0, 30)
    assert cli("verify", "-d", str(daemon.db), "-c", config).code == 0
    shown = cli("history", "--json")
    assert shown.code == 0 and shown.err == ""
    rows = json.loads(shown.out)
    assert all(tuple(r) == pylitestream.api.columns("history") for r in rows)
    assert [r["kind"] for r in rows][-1] == "verify" and rows[-1]["status"] == "ok"
    assert rows[-2]["kind"] == "check" and rows[-2]["database"] == str(daemon.db)
    one = json.loads(cli("history", "-d", str(daemon.db), "--since", "10m", "--json").out)
    assert one == rows
    assert json.loads(cli("history", "-d", "/nowhere.db", "--json").out) == []
    table = cli("history", env={"COLUMNS": "300"})
    assert table.code == 0 and str(daemon.db) in table.out and "verify" in table.out
    empty = cli("history", "-d", "/nowhere.db", "--since", "90s")
    assert empty.code == 0 and "nothing kept in the last 90s" in empty.out


@LS05
def test_a_corrupt_history_file_never_breaks_check_or_verify(
    daemon: Daemon, state: Path, ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = str(daemon.config)
    state.parent.mkdir(parents=True)
    garbage = b"this is not SQLite\n" * 300
    state.write_bytes(garbage)
    checked = wait_for(lambda: (r := cli("check", "--json", "-c", config)).code == 0 and r, 30)
    assert json.loads(checked.out)[0]["ok"] is True
    warning = f"pylitestream: warning: not kept in the history: history file {state} is unusable"
    assert len(checked.error_lines) == 1 and checked.error_lines[0].startswith(warning)
    verified = cli("verify", "-d", str(daemon.db), "-c", config)
    assert verified.code == 0 and verified.error_lines == checked.error_lines
    failed = cli("history")
    assert_one_error_line(failed, 1, f"history file {state} is unusable", "move it aside")
    assert state.read_bytes() == garbage  # never overwritten, never removed
    # The dashboard still renders, with the line in place of the charts.
    from pylitestream.web import create_app

    config = two_databases(ls.line, tmp_path, monkeypatch)
    one = {"path": str(config.parent / "orders.db")}
    page = client(create_app(config)).get("/database", params=one)
    assert page.status_code == 200 and "history-error" in page.text
    assert f"history file {state} is unusable" in page.text
