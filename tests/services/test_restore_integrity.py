"""No restore path reports, places or starts an app on a database that fails its integrity
check. 0.5 is tested with a real 0.5.17 replica whose latest restore is malformed
(tests/data/replica-malformed-l0, made by litestream itself under faults: litestream exits 0 on
it without -integrity-check); 0.3 with a real 0.3.13 replica whose newest WAL index carries a
NOT NULL column holding a NULL, which PRAGMA quick_check reports."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import (
    Litestream,
    assert_one_error_line,
    binary_dir,
    cli,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream
from pylitestream.errors import IntegrityCheckFailed

FIXTURE = Path(__file__).parents[1] / "data" / "replica-malformed-l0"
SOUND_TXID = "0000000000000005"  # the fixture's README: TXID 5 restores to 1,021 sound rows


@dataclass
class Broken:
    """A config whose database's latest restore fails quick_check, and what passes instead."""

    root: Path
    db: Path
    config: Path
    passing: list[str]  # the restore flags of the newest point that passes
    passing_rows: int


def _broken_05(tmp_path: Path) -> Broken:
    replica = tmp_path / "replica"
    shutil.copytree(FIXTURE, replica)
    db = tmp_path / "app.db"
    config = write_config(
        tmp_path / "litestream.yml", "0.5", [(db, {"type": "file", "path": str(replica)})]
    )
    return Broken(tmp_path, db, config, ["-txid", SOUND_TXID], 1021)


def _broken_03(tmp_path: Path, exe: Path) -> Broken:
    """Replicate with the real 0.3.13, checkpointing every second so each change lands in a WAL
    index of its own, then make a column NOT NULL while it holds a NULL."""
    db = tmp_path / "app.db"
    replica = tmp_path / "replica"
    config = tmp_path / "litestream.yml"
    config.write_text(
        f"dbs:\n  - path: {db}\n    checkpoint-interval: 1s\n    min-checkpoint-page-count: 1\n"
        f"    replicas:\n      - type: file\n        path: {replica}\n"
    )
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.executemany("INSERT INTO items (name) VALUES (?)", [(f"row-{i}",) for i in range(99)])
    conn.execute("INSERT INTO items (name) VALUES (NULL)")
    log = (tmp_path / "replicate.log").open("wb")
    proc = subprocess.Popen([str(exe), "replicate", "-config", str(config)], stdout=log, stderr=log)
    try:
        wait_for(lambda: (replica / "generations").is_dir())
        time.sleep(2.5)  # a few checkpoints: several sound WAL indexes
        conn.execute("PRAGMA writable_schema=ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = 'CREATE TABLE items (id INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL)' WHERE name = 'items'"
        )
        conn.execute("PRAGMA writable_schema=OFF")
        time.sleep(2.5)
    finally:
        stop_process(proc)
        log.close()
        conn.close()
    assert sqlite3.connect(db).execute("PRAGMA quick_check").fetchone()[0] != "ok"
    return Broken(tmp_path, db, config, [], 100)


@pytest.fixture
def broken(ls: Litestream, tmp_path: Path) -> Broken:
    found = _broken_05(tmp_path) if ls.line == "0.5" else _broken_03(tmp_path, ls.exe)
    if not found.passing:
        with pytest.raises(IntegrityCheckFailed) as failed:
            pylitestream.restore(found.db, tmp_path / "probe.db", config=found.config)
        assert failed.value.passing is not None
        found.passing = [f"-{k}={v}" for k, v in failed.value.passing.items()]
    for name in (found.db, *(Path(f"{found.db}{suffix}") for suffix in ("-wal", "-shm"))):
        name.unlink(missing_ok=True)
    return found


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith((".pylitestream", "out")))


def _rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM items" if _has_items(conn) else
                                "SELECT count(*) FROM rows").fetchone()[0])  # fmt: skip
    finally:
        conn.close()


def _has_items(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone() is not None


def test_the_fixture_is_what_its_readme_says(tmp_path: Path) -> None:
    """Guards the premise: litestream alone (no check) restores the fixture and exits 0, and the
    result is malformed."""
    exe = binary_dir("0.5.17") / "litestream"
    out = tmp_path / "out.db"
    done = subprocess.run([str(exe), "restore", "-o", str(out), f"file://{FIXTURE}"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        sqlite3.connect(out).execute("PRAGMA quick_check").fetchall()


def test_restore_refuses_a_malformed_result(ls: Litestream, broken: Broken) -> None:
    out = broken.root / "out.db"
    result = cli("restore", "-c", str(broken.config), "-d", str(broken.db), "--", "-o", str(out))
    line = assert_one_error_line(result, 1, str(broken.db), "integrity check (quick)", "nothing")
    assert "newest restore point that passes" in line
    assert " ".join(broken.passing).replace("=", " ") in line.replace("=", " ")
    assert not out.exists() and not broken.db.exists()
    assert _leftovers(broken.root) == []
    # The point the message names restores, and passes.
    result = cli("restore", "-c", str(broken.config), "-d", str(broken.db), "--", "-o",
                 str(out), *broken.passing)  # fmt: skip
    assert result.code == 0, result.err
    assert _rows(out) == broken.passing_rows


def test_every_restore_form_refuses_it(ls: Litestream, broken: Broken) -> None:
    """Without -o into the missing database, beside a present one (the sibling), and -force
    over a file: nothing is created or changed."""
    with pytest.raises(IntegrityCheckFailed):
        pylitestream.restore(broken.db, config=broken.config)
    assert not broken.db.exists()
    broken.db.write_bytes(b"the live database")
    with pytest.raises(IntegrityCheckFailed):
        pylitestream.restore(broken.db, config=broken.config)  # would be app-<time>.db
    assert sorted(p.name for p in broken.root.glob("app*")) == ["app.db"]
    if ls.line == "0.5":
        with pytest.raises(IntegrityCheckFailed):
            pylitestream.restore(broken.db, broken.db, config=broken.config, force=True)
    assert broken.db.read_bytes() == b"the live database"
    assert _leftovers(broken.root) == []


def test_full_check_and_none_by_name(ls: Litestream, broken: Broken) -> None:
    out = broken.root / "out.db"
    with pytest.raises(IntegrityCheckFailed, match=r"integrity check \(full\)"):
        pylitestream.restore(broken.db, out, config=broken.config, integrity_check="full")
    assert not out.exists()
    # Turned off only when named: the malformed result is then the user's to have.
    result = cli("restore", "-c", str(broken.config), "-d", str(broken.db), "--", "-o", str(out),
                 "-integrity-check", "none")  # fmt: skip
    assert result.code == 0, result.err
    assert out.exists()
    bad = cli("restore", "-c", str(broken.config), "-d", str(broken.db), "--", "-o",
              str(broken.root / "other.db"), "-integrity-check", "fast")  # fmt: skip
    assert_one_error_line(bad, 2, "expected one of none, quick, full")


def test_run_never_starts_the_app_on_it(ls: Litestream, broken: Broken) -> None:
    marker = broken.root / "started"
    app = (sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    result = cli("run", "-c", str(broken.config), "--", *app, timeout=120)
    errors = [line for line in result.err.splitlines() if line.startswith("pylitestream: error:")]
    assert result.code == 1, result.err
    assert len(errors) == 1 and "integrity check" in errors[0], result.err
    assert "Traceback" not in result.err
    assert not marker.exists() and not broken.db.exists()


def test_replicator_refuses_to_start_on_it(ls: Litestream, broken: Broken) -> None:
    replicator = pylitestream.Replicator(config=broken.config)
    with pytest.raises(IntegrityCheckFailed):
        replicator.start()
    assert not broken.db.exists()
    assert pylitestream.processes() == [] or all(
        p["config"] != str(broken.config) or p["status"] != "running"
        for p in pylitestream.processes()
    )


def test_verify_fails_at_once_as_corrupt(ls: Litestream, broken: Broken) -> None:
    """A permanent failure: verify reports it on the first restore, not after its timeout."""
    conn = sqlite3.connect(broken.db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    started = time.monotonic()
    with pytest.raises(pylitestream.VerificationFailure) as failed:
        pylitestream.verify(broken.db, config=broken.config, timeout=60)
    assert failed.value.reason == "corrupt"
    assert "integrity check" in str(failed.value)
    assert time.monotonic() - started < 30  # the timeout is 60: it did not wait it out


def test_the_dashboards_restore_refuses_it(ls: Litestream, broken: Broken) -> None:
    from pylitestream.errors import ActionFailed
    from pylitestream.litestream.binary import find_binary
    from pylitestream.web.actions import run_action

    broken.db.write_bytes(b"live")
    with pytest.raises(ActionFailed, match="integrity check"):
        run_action("restore", str(broken.db), str(broken.config), find_binary().profile)
    assert sorted(p.name for p in broken.root.glob("app*")) == ["app.db"]
