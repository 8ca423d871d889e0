"""verify, and the dashboard through it, fail a database whose latest restore is missing rows the
database held before the restore point: a hole in the replica, which an integrity check cannot
see. The hole is made the way Litestream 0.5.17 makes one by itself (scripts/
repro_wal_restart_gap.py): litestream, run directly with nothing to close the gap, is SIGKILLed;
the app commits, checkpoints and restarts the WAL; litestream starts again and resumes past the
commits. The comparison itself is tested on both lines without a hole."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Litestream, Workspace, cli, create_db, stop_process, wait_for, write_config
from dashboard_client import PASSWORD, client, csrf, run_job

import pylitestream
from pylitestream import verification
from pylitestream.services.contents import first_difference

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@contextlib.contextmanager
def litestream(ls: Litestream, config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(ls.exe), "replicate", "-config", str(config)], stdout=out, stderr=out
        )
    try:
        wait_for(lambda: "initialized db" in log.read_text())
        yield proc
    finally:
        stop_process(proc)


def restored_count(db: Path, config: Path, out: Path, table: str) -> int:
    for leftover in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        leftover.unlink(missing_ok=True)
    if pylitestream.restore(db, out, config=config, if_replica_exists=True) is None:
        return 0
    with contextlib.closing(sqlite3.connect(out)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
def holed(ls: Litestream, tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[bytes]]]:
    """(db, config, litestream): a replica missing 20 committed rows of `items`, with
    litestream running again (so verify's sentinel reaches the replica) and the app's
    connection open."""
    db = tmp_path / "app.db"
    create_db(db)
    config = write_config(
        tmp_path / "litestream.yml", "0.5", [(db, {"type": "file", "path": str(tmp_path / "r")})]
    )
    # A level-1 compaction every second: the hole shows once one is built over the restart.
    config.write_text(config.read_text() + "levels: [{interval: 1s}]\n")
    log, probe = tmp_path / "litestream.log", tmp_path / "probe.db"
    app = sqlite3.connect(db, isolation_level=None)  # open throughout: the WAL stays
    app.execute("CREATE TABLE later (id INTEGER PRIMARY KEY)")
    try:
        with litestream(ls, config, log) as first:
            # Its first level-9 snapshot before the kill: one taken after the restart would
            # read the whole database and cover the hole.
            wait_for(lambda: "snapshot complete" in log.read_text(), 30, 0.1)
            for n in range(10):
                app.execute("INSERT INTO items (name) VALUES (?)", (f"synced-{n}",))
            wait_for(lambda: restored_count(db, config, probe, "items") == 10, 30, 0.2)
            first.send_signal(signal.SIGKILL)
            first.wait()
        writer = sqlite3.connect(db, isolation_level=None)
        for n in range(20):
            writer.execute("INSERT INTO items (name) VALUES (?)", (f"lost-{n}",))
        writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        writer.close()
        app.execute("INSERT INTO later DEFAULT VALUES")  # restarts the WAL
        with litestream(ls, config, log) as second:
            wait_for(lambda: restored_count(db, config, probe, "later") == 1, 30, 0.2)
            wait_for(lambda: restored_count(db, config, probe, "items") == 10, 30, 0.5)  # the hole
            yield db, config, second
    finally:
        app.close()


Holed = tuple[Path, Path, subprocess.Popen[bytes]]
HOLE = "table items has 30 rows in the database, 10 in the restore"


@LS05
def test_verify_fails_a_replica_with_a_hole(holed: Holed) -> None:
    db, config, _ = holed
    result = cli("verify", "-d", str(db), "-c", str(config), "--json", "--timeout", "20")
    assert result.code == 1, result
    record = json.loads(result.out)
    assert (record["reason"], record["integrity"], record["contents"]) == (
        "incomplete",
        "ok",
        "different",
    )
    assert HOLE in record["message"]
    assert result.error_lines == [
        f"pylitestream: error: verify {db}: incomplete: {record['message']}"
    ]
    assert verification.last_verify(db)["reason"] == "incomplete"  # type: ignore[index]


@LS05
def test_the_dashboard_shows_the_hole(holed: Holed, monkeypatch: pytest.MonkeyPatch) -> None:
    from pylitestream.web import create_app

    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_USERNAME", "ops")
    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_PASSWORD", PASSWORD)
    db, config, _ = holed
    web = client(create_app(config, allow_actions=True), ("ops", PASSWORD))
    job = run_job(web, "verify", db, csrf(web.get("/").text))
    assert job["state"] == "failed" and "incomplete" in job["message"], job
    page = web.get("/database", params={"path": str(db)}).text
    assert "FAILED" in page and HOLE in page


@LS05
def test_the_readmes_repair_fills_the_hole(holed: Holed, tmp_path: Path) -> None:
    """docs/verify.md, "Holes in a replica": stop, a TRUNCATE checkpoint, start again."""
    db, config, daemon = holed
    stop_process(daemon)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    with pylitestream.Replicator(config):
        probe = tmp_path / "repaired.db"
        wait_for(lambda: restored_count(db, config, probe, "items") == 30, 30, 0.5)
        result = cli("verify", "-d", str(db), "-c", str(config), "--json", "--timeout", "20")
    assert result.code == 0, result
    assert json.loads(result.out)["contents"] == "same"


def test_contents_compared_only_while_the_database_is_quiet(
    ls: Litestream, workspace: Workspace, tmp_path: Path
) -> None:
    db = workspace.db
    copy = tmp_path / "copy.db"
    live = verification.live_connection(db)
    try:
        sentinel = verification.insert_sentinel(live)
        version = verification._data_version(live)
        live.execute(f"VACUUM INTO '{copy}'")
        assert verification.compare_contents(live, version, copy) == ("same", "")
        with contextlib.closing(sqlite3.connect(db)) as app:
            app.execute("INSERT INTO items (name) VALUES ('meanwhile')")
            app.commit()
        assert verification.compare_contents(live, version, copy) == (
            "not compared",
            "the database changed while verify waited",
        )
        verification.delete_sentinel(live, sentinel)
    finally:
        live.close()


IN_DB, IN_COPY = "rows in the database", "in the restore"


def test_first_difference_names_the_table(tmp_path: Path) -> None:
    db, copy = tmp_path / "app.db", tmp_path / "copy.db"
    create_db(db)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as live:
        live.execute("INSERT INTO items (name) VALUES ('a'), ('b')")
        live.execute('CREATE TABLE "odd ""name""" (x)')
        live.execute(f"VACUUM INTO '{copy}'")
        assert first_difference(live, copy) is None
        live.execute("UPDATE items SET name = 'B' WHERE name = 'b'")
        assert (
            first_difference(live, copy) == "table items has rows that differ from the database's"
        )
        live.execute("INSERT INTO items (name) VALUES ('c')")
        assert (
            first_difference(live, copy)
            == "table items has 3 rows in the database, 2 in the restore"
        )
        live.execute("CREATE TABLE added (x)")
        assert first_difference(live, copy) == "table added is missing from the restore"
        live.execute("DROP TABLE added")
        live.execute('INSERT INTO "odd ""name""" VALUES (1)')
        live.execute("DELETE FROM items WHERE name = 'c'")
        live.execute("UPDATE items SET name = 'b' WHERE name = 'B'")
        assert (
            first_difference(live, copy)
            == 'table odd "name" has 1 rows in the database, 0 in the restore'
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "copy.db"]  # copy untouched
