"""Directory replication end to end on a real Litestream 0.5.17: 200 tenants under one `dir:`
entry written by `pylitestream init --dir --watch`, a file replica, the control socket on.

- a tenant created after the daemon started is replicated (its replica path derived by
  litestream) and shown by `check` and by a dashboard running all along;
  `register`/`unregister` appear and disappear in both;
- `restore -d TENANT` restores every row from the replica path litestream derived (litestream's
  own restore says "database not found in config"), and refuses an existing `-o` target;
- `check` names the one stalled tenant among 200. The fault is real and per tenant: the
  tenant's replica directory `ltx/0` is replaced by a file, so every upload of that tenant
  fails (ENOTDIR, which root cannot override, unlike a read-only directory) while the 199
  others keep replicating. SIGSTOP would freeze the whole daemon, not one tenant.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    Litestream,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    read_rows,
    start_replicate,
    stop_process,
    wait_for,
)
from dashboard_client import client

from pylitestream.api import FleetHealth
from pylitestream.litestream.control_socket import ControlSocket
from pylitestream.web import create_app

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
TENANTS = 200


@dataclass
class Fleet:
    root: Path
    data: Path
    replica: Path
    config: Path


def make_tenants(data: Path, count: int) -> list[Path]:
    data.mkdir()
    dbs = [data / f"t{n:04d}.db" for n in range(count)]
    for db in dbs:
        create_db(db)
        insert_rows(db, [f"{db.stem}-first"])
    return dbs


def check_json(config: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = cli("check", "--json", "-c", str(config), *args)
    assert "Traceback" not in result.err
    return result.code, json.loads(result.out), result.err


@pytest.fixture
def fleet(ls: Litestream, tmp_path: Path) -> Iterator[Fleet]:
    """200 tenants, a config from `init --dir --watch` (socket moved into tmp_path), and
    `pylitestream replicate` running it until every tenant is initialized."""
    data, replica = tmp_path / "tenants", tmp_path / "replica"
    make_tenants(data, TENANTS)
    config = tmp_path / "litestream.yml"
    written = cli("init", "--dir", str(data), "--watch", "--replica", str(replica),
                  "-o", str(config))  # fmt: skip
    assert written.code == 0, written.err
    settings = yaml.safe_load(config.read_text())
    entry = {"dir": str(data), "pattern": "*.db", "watch": True,
             "replica": {"type": "file", "path": str(replica / "tenants")}}  # fmt: skip
    assert settings["dbs"] == [entry]
    settings["socket"] = {"enabled": True, "path": str(tmp_path / "ls.sock")}
    config.write_text(yaml.safe_dump(settings))
    checked = cli("config", "check", "-c", str(config))
    assert checked.out.strip() == (
        f"OK: {config} is valid for Litestream 0.5 (0 database(s) and 1 directory entry)"
    ), checked
    proc = start_replicate(config, tmp_path / "replicate.log", count=TENANTS)
    try:
        wait_for((tmp_path / "ls.sock").exists)
        yield Fleet(tmp_path, data, replica / "tenants", config)
    finally:
        stop_process(proc)


def all_current(config: Path, count: int) -> list[dict[str, object]]:
    def passes() -> list[dict[str, object]] | None:
        code, rows, _ = check_json(config)
        current = code == 0 and len(rows) == count and all(r["lag_seconds"] == 0 for r in rows)
        return rows if current else None

    rows: list[dict[str, object]] = wait_for(passes, 60, interval=0.5)
    return rows


@LS05
def test_tenants_created_registered_and_unregistered_at_runtime(fleet: Fleet) -> None:
    rows = all_current(fleet.config, TENANTS)
    on_disk = sorted(str(p) for p in fleet.data.glob("*.db"))
    assert [r["database"] for r in rows] == on_disk
    listed = cli("databases", "--json", "-c", str(fleet.config))
    assert [r["path"] for r in json.loads(listed.out)] == on_disk
    status = cli("status", "--json", "-c", str(fleet.config))
    assert {r["status"] for r in json.loads(status.out)} == {"ok"}

    # The dashboard, running all along: its background refresh sees what check sees.
    web = client(create_app(fleet.config, public=True), auth=None)

    def shown(name: str) -> int:
        data = web.get("/overview.json", params={"q": name}).json()
        return int(data["matched"])

    late = fleet.data / "late.db"
    create_db(late)
    insert_rows(late, ["late-row"])
    rows = all_current(fleet.config, TENANTS + 1)
    assert str(late) in [r["database"] for r in rows]
    # Replicated where litestream derives it: the replica's path plus the tenant's own.
    assert list((fleet.replica / "late.db" / "ltx" / "0").glob("*.ltx"))
    wait_for(lambda: shown("late.db") == 1, 30, interval=1.0)

    # A database outside the directory, registered at runtime, joins check; unregistered, goes.
    outside = fleet.root / "outside.db"
    create_db(outside)
    url = f"file://{fleet.root / 'replica-outside'}"
    assert cli("register", "-d", str(outside), "--replica", url, "-c", str(fleet.config)).code == 0
    assert str(outside) in [r["database"] for r in all_current(fleet.config, TENANTS + 2)]
    wait_for(lambda: shown("outside.db") == 1, 30, interval=1.0)
    assert cli("unregister", "-d", str(outside), "-c", str(fleet.config)).code == 0
    assert cli("unregister", "-d", str(late), "-c", str(fleet.config)).code == 0
    _, rows, _ = check_json(fleet.config)
    assert {str(outside), str(late)}.isdisjoint(r["database"] for r in rows)
    assert len(rows) == TENANTS
    wait_for(lambda: shown("outside.db") == shown("late.db") == 0, 30, interval=1.0)
    assert web.get("/overview.json").json()["total"] == TENANTS


@LS05
def test_restore_of_a_tenant_brings_back_every_row_and_refuses_an_existing_target(
    fleet: Fleet,
) -> None:
    tenant = fleet.data / "t0123.db"
    insert_rows(tenant, [f"row-{n}" for n in range(50)])
    assert cli("sync", "-d", str(tenant), "--wait", "-c", str(fleet.config)).code == 0
    expected = read_rows(tenant)
    assert len(expected) == 51

    # litestream's own commands cannot: the tenant is no `path:` entry of the config.
    own = cli("ltx", "-d", str(tenant), "-c", str(fleet.config))
    assert own.code == 0 and "0000000000000001" in own.out
    verified = cli("verify", "-d", str(tenant), "--json", "-c", str(fleet.config))
    assert verified.code == 0, verified.err
    record = json.loads(verified.out)
    assert record["ok"] is True and record["replica"] == f"file:{fleet.replica / tenant.name}"

    out = fleet.root / "restored" / "t0123.db"
    restored = cli("restore", "-d", str(tenant), "-c", str(fleet.config), "--json",
                   "--", "-o", str(out))  # fmt: skip
    assert restored.code == 0, restored.err
    assert json.loads(restored.out) == {"database": str(tenant), "restored": str(out)}
    assert read_rows(out) == expected
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()

    before = out.read_bytes()
    again = cli("restore", "-d", str(tenant), "-c", str(fleet.config), "--", "-o", str(out))
    assert_one_error_line(again, 2, f"restore target {out} already exists")
    assert out.read_bytes() == before

    # A tenant deleted locally restores to its own path (nothing is there any more).
    lost = fleet.data / "t0007.db"
    rows_lost = read_rows(lost)
    # Its backup complete first: a tenant's first upload may still be under way this early.
    assert cli("sync", "-d", str(lost), "--wait", "-c", str(fleet.config)).code == 0
    assert cli("unregister", "-d", str(lost), "-c", str(fleet.config)).code == 0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{lost}{suffix}").unlink(missing_ok=True)
    back = cli("restore", "-d", str(lost), "-c", str(fleet.config))
    assert back.code == 0, back.err
    assert read_rows(lost) == rows_lost

    outside = fleet.root / "elsewhere" / "x.db"
    refused = cli("restore", "-d", str(outside), "-c", str(fleet.config))
    assert_one_error_line(refused, 2, f"{outside} is not in {fleet.config}",
                          f"{fleet.data} (pattern '*.db')")  # fmt: skip


@LS05
def test_check_names_the_one_stalled_tenant_among_200(fleet: Fleet) -> None:
    all_current(fleet.config, TENANTS)
    stalled = fleet.data / "t0042.db"
    level0 = fleet.replica / stalled.name / "ltx" / "0"
    shutil.rmtree(level0)
    level0.write_text("not a directory: every upload of this tenant fails")

    def fails() -> tuple[int, list[dict[str, object]], str] | None:
        insert_rows(stalled, ["more"])
        outcome = check_json(fleet.config, "--max-lag", "2")
        # On a loaded machine another tenant may lag for a moment: wait for the steady state.
        failing = [r["database"] for r in outcome[1] if not r["ok"]]
        return outcome if outcome[0] == 1 and failing == [str(stalled)] else None

    _, rows, err = wait_for(fails, 60, interval=0.5)
    failing = [r for r in rows if not r["ok"]]
    assert [r["database"] for r in failing] == [str(stalled)], failing
    assert failing[0]["status"] in ("stalled", "lagging")
    assert str(failing[0]["local_txid"]) > str(failing[0]["replica_txid"])
    assert len(rows) == TENANTS
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"pylitestream: error: 1 of {TENANTS} database(s) failing: {stalled}")

    # The dashboard's view finds it too, at a bounded cost to the daemon per refresh (one
    # /info, one /list, at most 8 /sync probes, each maybe one /txid), whatever the count.
    requests: list[str] = []
    real = ControlSocket._request

    def counted(self: ControlSocket, method: str, endpoint: str, **kwargs: Any) -> Any:
        requests.append(endpoint)
        return real(self, method, endpoint, **kwargs)

    # max_lag 10 s: a healthy tenant's last sync is a few seconds old on a loaded machine,
    # and one not probed in a refresh would be `unconfirmed` past max_lag.
    fleet_health = FleetHealth(fleet.config, max_lag=10)

    def refreshed() -> list[dict[str, Any]] | None:
        # Refreshes a second apart, as the dashboard's (every 5 s): once the stalled tenant's
        # last sync is past half of max_lag it is probed first, and found failing.
        requests.clear()
        records = fleet_health.refresh()
        assert len(requests) <= 19 and requests.count("/sync") <= 8, requests
        assert requests[:2] == ["/info", "/list"]
        assert len(records) == TENANTS
        failing = [r["database"] for r in records if not r["ok"]]
        return records if failing == [str(stalled)] else None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ControlSocket, "_request", counted)
        records = wait_for(refreshed, 60, interval=1.0)
    stalled_record = next(r for r in records if r["database"] == str(stalled))
    assert stalled_record["status"] in ("stalled", "lagging"), stalled_record
