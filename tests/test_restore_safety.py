"""Restore never replaces anything that exists, on the real 0.3.13 and 0.5.17:
every kind of file at the target or at its -wal/-shm/.tmp is refused and left as it was; -force
(0.5) replaces only a regular file and moves its stale -wal/-shm aside; `run` follows the same
rules, creates a database directory only to restore into it, and reports litestream's errors."""

from __future__ import annotations

import os
import socket
import sqlite3
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import (
    Litestream,
    Result,
    Workspace,
    assert_one_error_line,
    cli,
    insert_rows,
    read_rows,
    wait_for,
    write_config,
)

import pylitestream

ROWS = [f"row-{i}" for i in range(20)]


@pytest.fixture
def seeded(workspace: Workspace) -> Iterator[Workspace]:
    """The workspace with ROWS on its replica, and no daemon running."""
    ws = workspace
    with pylitestream.Replicator(config=ws.config):
        insert_rows(ws.db, ROWS)
        probe = ws.root / "probe" / "p.db"
        probe.parent.mkdir()

        def restored() -> bool:
            probe.unlink(missing_ok=True)
            pylitestream.restore(ws.db, probe, config=ws.config)
            return read_rows(probe) == ROWS

        wait_for(restored)
    yield ws


def _snapshot(path: Path) -> tuple[int, int, bytes | str | None]:
    """What is at `path`, to prove it unchanged: type, inode and content or link target."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return info.st_mode, info.st_ino, os.readlink(path)
    if stat.S_ISREG(info.st_mode):
        return info.st_mode, info.st_ino, path.read_bytes()
    return info.st_mode, info.st_ino, None


def _make_fifo(p: Path) -> None:
    os.mkfifo(p)


def _make_socket(p: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(p))
    sock.close()


def _make_device(p: Path) -> None:
    # A character device with /dev/null's numbers: what 0.5 replaced when given -o /dev/null.
    os.mknod(p, 0o666 | stat.S_IFCHR, os.makedev(1, 3))


MAKERS: dict[str, Callable[[Path], None]] = {
    "file": lambda p: p.write_bytes(b"precious"),
    "empty-file": lambda p: p.write_bytes(b""),
    "fifo": _make_fifo,
    "socket": _make_socket,
    "device": _make_device,
    "directory": lambda p: p.mkdir(),
    "symlink": lambda p: p.symlink_to("/dev/null"),
    "dangling-symlink": lambda p: p.symlink_to(p.parent / "nowhere"),
}


def test_restore_refuses_every_existing_form_at_target_and_sidecars(
    ls: Litestream, seeded: Workspace
) -> None:
    ws = seeded
    short = Path(os.path.relpath(ws.root, Path.cwd())) if len(str(ws.root)) > 80 else ws.root
    for kind, make in MAKERS.items():
        for suffix in ("", "-wal", "-shm", ".tmp"):
            out = short / f"{kind[:4]}{suffix[:2]}.db"
            occupied = Path(f"{out}{suffix}")
            make(occupied)
            before = _snapshot(occupied)
            result = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--", "-o", str(out))
            line = assert_one_error_line(result, 2, "nothing was changed")
            assert str(occupied.name) in line, (kind, suffix, line)
            assert _snapshot(occupied) == before, (kind, suffix)
            if suffix:
                assert not os.path.lexists(out), (kind, suffix)
    # No scratch directory is left behind.
    assert not list(ws.root.glob(".pylitestream-restore-*"))


def test_restore_without_output_db_missing_but_wal_present_is_an_error(
    ls: Litestream, seeded: Workspace
) -> None:
    ws = seeded
    # The stale WAL of a deleted database: SQLite would replay it into the restored file.
    stale = ws.root / "stale.db"
    conn = sqlite3.connect(stale)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.executemany("INSERT INTO items (name) VALUES (?)", [(f"stale-{i}",) for i in range(5)])
    conn.commit()
    wal = Path(f"{stale}-wal").read_bytes()
    conn.close()
    ws.db.unlink()
    Path(f"{ws.db}-shm").unlink(missing_ok=True)
    Path(f"{ws.db}-wal").write_bytes(wal)
    result = cli("restore", "-d", str(ws.db), "-c", str(ws.config))
    assert_one_error_line(result, 2, f"{ws.db}-wal", "nothing was changed")
    assert not ws.db.exists() and Path(f"{ws.db}-wal").read_bytes() == wal

    Path(f"{ws.db}-wal").unlink()
    result = cli("restore", "-d", str(ws.db), "-c", str(ws.config))
    assert result.code == 0 and result.out.strip() == f"restored {ws.db}", result.err
    assert read_rows(ws.db) == ROWS


def test_restore_sibling_is_returned_and_printed(ls: Litestream, seeded: Workspace) -> None:
    ws = seeded
    before = ws.db.read_bytes()
    got = pylitestream.restore(ws.db, config=ws.config)
    assert got is not None and Path(got).name.startswith("app-") and Path(got).suffix == ".db"
    assert len(Path(got).stem) == len("app-20261127093000")
    assert read_rows(Path(got)) == ROWS and ws.db.read_bytes() == before


def test_force_replaces_only_a_file_and_moves_its_stale_wal_aside(
    ls: Litestream, seeded: Workspace
) -> None:
    ws = seeded
    if ls.line == "0.3":
        result = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--", "-force")
        assert_one_error_line(result, 2, "-force")
        return
    out = ws.root / "forced.db"
    out.write_bytes(b"old")
    Path(f"{out}-wal").write_bytes(b"stale wal")
    Path(f"{out}-shm").write_bytes(b"stale shm")
    assert pylitestream.restore(ws.db, out, config=ws.config, force=True) == str(out)
    assert read_rows(out) == ROWS
    moved = sorted(p.name for p in ws.root.glob("forced.db-*.stale-*"))
    assert len(moved) == 2 and not Path(f"{out}-wal").exists()
    fifo = ws.root / "pipe.db"
    os.mkfifo(fifo)
    with pytest.raises(pylitestream.UsageError, match="replaces only a file"):
        pylitestream.restore(ws.db, fifo, config=ws.config, force=True)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_place_never_replaces_a_file_created_meanwhile(tmp_path: Path) -> None:
    from pylitestream.services import placement

    restored = tmp_path / "restored"
    restored.write_bytes(b"new")
    target = tmp_path / "target.db"
    target.write_bytes(b"")  # appeared after the checks, before the move
    with pytest.raises(pylitestream.UsageError, match="appeared while restoring"):
        placement.place(restored, target)
    assert target.read_bytes() == b""
    placement.place(restored, tmp_path / "free.db")
    assert (tmp_path / "free.db").read_bytes() == b"new"


def _run(config: Path, *command: str) -> Result:
    return cli("run", "-c", str(config), "--", *command, timeout=120)


def test_run_never_restores_over_anything(ls: Litestream, seeded: Workspace) -> None:
    ws = seeded
    marker = ws.root / "started"
    app = (sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    # A missing database with its -wal present: an error naming it, and the app never starts.
    ws.db.unlink()
    Path(f"{ws.db}-shm").unlink(missing_ok=True)
    Path(f"{ws.db}-wal").write_bytes(b"not yours to drop")
    result = _run(ws.config, *app)
    assert result.code == 2, result.err
    errors = [line for line in result.err.splitlines() if "error" in line]
    assert len(errors) == 1 and f"{ws.db}-wal" in errors[0], result.err
    assert not marker.exists() and not ws.db.exists()
    # An empty database file is not replaced either.
    Path(f"{ws.db}-wal").unlink()
    ws.db.write_bytes(b"")
    inode = os.stat(ws.db).st_ino
    result = _run(ws.config, *app)
    assert result.code == 0, result.err
    assert marker.exists() and "restored" not in result.err
    assert os.stat(ws.db).st_ino == inode


def test_run_creates_a_missing_directory_only_to_restore_into_it(
    ls: Litestream, tmp_path: Path
) -> None:
    typo = tmp_path / "nonexistent" / "dir" / "a.db"
    config = write_config(
        tmp_path / "litestream.yml",
        ls.line,
        [(typo, {"type": "file", "path": str(tmp_path / "empty-replica")})],
    )
    result = _run(config, sys.executable, "-c", "pass")
    assert_one_error_line(result, 2, "does not exist")
    assert not (tmp_path / "nonexistent").exists()


def test_run_reports_litestream_sync_errors(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "not-sqlite.db"
    db.write_bytes(b"this is not a database\n" * 300)
    config = write_config(
        tmp_path / "litestream.yml",
        ls.line,
        [(db, {"type": "file", "path": str(tmp_path / "replica"), "sync-interval": "100ms"})],
    )
    result = _run(config, sys.executable, "-c", "import time; time.sleep(3)")
    assert result.code != 0, result.err
    ours = [x for x in result.err.splitlines() if x.startswith("pylitestream: error:")]
    assert len(ours) == 1 and "not a database" in ours[0], result.err
    assert "final sync" not in result.err
