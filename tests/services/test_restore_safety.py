"""Restore never replaces anything that exists, on the real 0.3.13 and 0.5.17:
every kind of file at the target or at its -wal/-shm/.tmp is refused and left as it was; -force
(0.5) replaces only a regular file and moves its stale -wal/-shm aside; `run` follows the same
rules, creates a database directory only to restore into it, and reports litestream's errors."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Launches,
    Litestream,
    Result,
    Workspace,
    assert_one_error_line,
    cli,
    exited_ok,
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


# Written to kill mutants scripts/mutation found surviving: each pins one rule no faster
# test held.
def _a_database() -> bytes:
    """A sound SQLite file (one table), as a played restore writes it: restore checks it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "restored.db"
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE restored_by_litestream (x)")
        conn.close()
        return path.read_bytes()


RESTORED = _a_database()


def _writes_restored(out: Path) -> subprocess.CompletedProcess[str]:
    out.write_bytes(RESTORED)
    return exited_ok(out)


def _make(path: Path, form: str) -> None:
    if form == "a file":
        path.write_bytes(b"precious")
    elif form == "an empty file":
        path.write_bytes(b"")
    elif form == "a directory":
        path.mkdir()
    elif form == "a symlink":
        (path.parent / "elsewhere").write_bytes(b"x")
        path.symlink_to(path.parent / "elsewhere")
    elif form == "a dangling symlink":
        path.symlink_to(path.parent / "nowhere")
    elif form == "a FIFO":
        os.mkfifo(path)
    elif form == "a socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()


def _tree_snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
    return {
        str(p): (p.lstat().st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(root.rglob("*"))
    }


FORMS = ["a file", "an empty file", "a directory", "a symlink", "a dangling symlink", "a FIFO",
         "a socket"]  # fmt: skip


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", ".tmp"])
@pytest.mark.parametrize("form", FORMS)
def test_restore_refuses_anything_at_the_target_or_beside_it(
    launches: Launches, workspace: Workspace, tmp_path: Path, form: str, suffix: str
) -> None:
    target = tmp_path / "out" / "copy.db"
    target.parent.mkdir()
    _make(Path(f"{target}{suffix}"), form)
    before = _tree_snapshot(tmp_path)
    launches.restore = _writes_restored
    with pytest.raises(pylitestream.UsageError) as caught:
        pylitestream.restore(workspace.db, target, config=workspace.config)
    message = str(caught.value)
    if suffix:
        sidecar = f"{target}{suffix}"
        assert message == (
            f"{sidecar} exists ({form}) but {target} does not: SQLite would replay it into the "
            "restored database; nothing was changed (restore elsewhere with -o NEW_PATH"
            + (", or pass -force to replace a file)" if launches.line == "0.5" else ")")
        )
    else:
        assert message.startswith(f"restore target {target} already exists ({form})")
    assert "nothing was changed" in message
    assert ("-force" in message) == (launches.line == "0.5")
    assert _tree_snapshot(tmp_path) == before
    assert launches.argvs == []


def test_a_sidecar_without_its_database_is_refused(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    Path(f"{target}-wal").write_bytes(b"wal")
    with pytest.raises(pylitestream.UsageError, match="SQLite would replay it"):
        pylitestream.restore(workspace.db, target, config=workspace.config)
    assert not target.exists() and launches.argvs == []


def test_restore_beside_a_live_database_goes_to_a_sibling(
    launches: Launches, workspace: Workspace
) -> None:
    live = workspace.db.read_bytes()
    launches.restore = _writes_restored
    restored = pylitestream.restore(workspace.db, config=workspace.config)
    assert restored is not None
    path = Path(restored)
    assert path.parent == workspace.db.parent
    assert re.fullmatch(r"app-\d{14}\.db", path.name), path
    assert path.read_bytes() == RESTORED
    assert workspace.db.read_bytes() == live
    assert [p.name for p in workspace.root.iterdir() if p.name.startswith(".pylitestream")] == []


def test_restore_into_a_missing_database(launches: Launches, workspace: Workspace) -> None:
    workspace.db.unlink()
    launches.restore = _writes_restored
    assert pylitestream.restore(workspace.db, config=workspace.config) == str(workspace.db)
    assert workspace.db.read_bytes() == RESTORED
    assert stat.S_ISREG(workspace.db.lstat().st_mode) and workspace.db.stat().st_nlink == 1


def test_if_db_not_exists_skips_a_present_database(
    launches: Launches, workspace: Workspace
) -> None:
    live = workspace.db.read_bytes()
    launches.restore = _writes_restored
    kept = pylitestream.restore(workspace.db, config=workspace.config, if_db_not_exists=True)
    assert kept is None and launches.argvs == []
    assert workspace.db.read_bytes() == live
    workspace.db.unlink()
    made = pylitestream.restore(workspace.db, config=workspace.config, if_db_not_exists=True)
    assert made == str(workspace.db) and workspace.db.read_bytes() == RESTORED


def test_if_replica_exists_with_no_backup_restores_nothing(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    launches.restore = exited_ok  # litestream: exit 0, nothing written
    target = tmp_path / "copy.db"
    assert (
        pylitestream.restore(workspace.db, target, config=workspace.config, if_replica_exists=True)
        is None
    )
    assert not target.exists()
    assert "-if-replica-exists" in launches.only()


LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@LS05
def test_force_replaces_only_a_file_and_moves_its_sidecars_aside(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"old")
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").write_bytes(suffix.encode())
    launches.restore = _writes_restored
    assert pylitestream.restore(workspace.db, target, config=workspace.config, force=True) == str(
        target
    )
    assert target.read_bytes() == RESTORED
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{target}{suffix}").exists()
        aside = list(tmp_path.glob(f"copy.db{suffix}.stale-*"))
        assert len(aside) == 1 and aside[0].read_bytes() == suffix.encode()
        assert re.fullmatch(rf"copy\.db{suffix}\.stale-\d{{14}}", aside[0].name), aside
    assert "-force" not in launches.only()  # pylitestream's own: litestream restores to scratch

    directory = tmp_path / "dir.db"
    directory.mkdir()
    with pytest.raises(
        pylitestream.UsageError, match="is a directory; -force replaces only a file"
    ):
        pylitestream.restore(workspace.db, directory, config=workspace.config, force=True)
    assert directory.is_dir()


@pytest.mark.parametrize(
    ("ls", "flag", "value", "wants"),
    [
        ("0.5.17", "-txid", "5", "expected exactly 16 hex digits"),
        ("0.5.17", "-txid", "00000000000000a1x", "expected exactly 16 hex digits"),
        ("0.3.13", "-index", "zz", "expected a hex WAL index of up to 8 digits"),
        ("0.3.13", "-index", "123456789", "expected a hex WAL index of up to 8 digits"),
        ("0.3.13", "-generation", "ABCDEF0123456789", "expected a 16-hex-digit generation"),
        ("0.3.13", "-generation", "abcdef012345678", "expected a 16-hex-digit generation"),
        ("0.5.17", "-parallelism", "0", "expected a whole number of at least 1"),
        ("0.5.17", "-parallelism", "1000001", "expected a whole number of at least 1"),
        ("0.5.17", "-parallelism", "-3", "expected a whole number of at least 1"),
        ("0.5.17", "-timestamp", "2026-13-01T00:00:00Z", "expected an RFC 3339 time"),
        ("0.5.17", "-timestamp", "2026-01-01 00:00:00", "expected an RFC 3339 time"),
        ("0.3.13", "-if-db-not-exists=maybe", None, "expected true or false"),
        ("0.5.17", "-o", "somedir/", "names a directory"),
    ],
    indirect=["ls"],
)
def test_restore_flag_values_are_checked_before_litestream_runs(
    launches: Launches, workspace: Workspace, flag: str, value: str | None, wants: str
) -> None:
    args = [flag] if value is None else [flag, value]
    with pytest.raises(pylitestream.UsageError) as caught:
        pylitestream.restore(workspace.db, config=workspace.config, args=args)
    shown = value if value is not None else flag.split("=", 1)[1]
    assert (
        str(caught.value)
        == f"-{flag.lstrip('-').split('=')[0]} {shown!r}: " + str(caught.value).split(": ", 1)[1]
    )
    assert wants in str(caught.value)
    assert launches.argvs == []


@pytest.mark.parametrize(
    ("ls", "flag", "value"),
    [
        ("0.5.17", "-txid", "00000000000000A1"),
        ("0.3.13", "-index", "1f"),
        ("0.3.13", "-generation", "0123456789abcdef"),
        ("0.5.17", "-parallelism", "1000000"),
        ("0.5.17", "-timestamp", "2026-01-02T15:04:05.5+01:00"),
        ("0.3.13", "-if-replica-exists=false", None),
    ],
    indirect=["ls"],
)
def test_good_flag_values_reach_litestream(
    launches: Launches, workspace: Workspace, tmp_path: Path, flag: str, value: str | None
) -> None:
    launches.restore = _writes_restored
    args = [flag] if value is None else [flag, value]
    pylitestream.restore(workspace.db, tmp_path / "c.db", config=workspace.config, args=args)
    argv = launches.only()
    if value is None:
        assert "-if-replica-exists=False" in argv  # Go's flag package reads False as false
    else:
        assert f"{flag}={value}" in argv


def test_a_device_node_is_never_a_restore_target(launches: Launches, workspace: Workspace) -> None:
    with pytest.raises(pylitestream.UsageError) as caught:
        pylitestream.restore(workspace.db, "/dev/null", config=workspace.config)
    assert str(caught.value).startswith("restore target /dev/null already exists (a device node)")
    assert launches.argvs == []


@LS05
def test_force_replaces_an_empty_file_and_numbers_a_second_stale_copy(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    import datetime as dt

    target = tmp_path / "copy.db"
    target.write_bytes(b"")
    wal = Path(f"{target}-wal")
    wal.write_bytes(b"new wal")
    now = dt.datetime.now()
    taken = {(now + dt.timedelta(seconds=s)).strftime("%Y%m%d%H%M%S") for s in range(0, 5)}
    for stamp in taken:
        Path(f"{wal}.stale-{stamp}").write_bytes(b"older")
    launches.restore = _writes_restored
    pylitestream.restore(workspace.db, target, config=workspace.config, force=True)
    assert target.read_bytes() == RESTORED
    numbered = [p for p in tmp_path.glob("copy.db-wal.stale-*") if p.read_bytes() == b"new wal"]
    assert len(numbered) == 1 and re.fullmatch(r"copy\.db-wal\.stale-\d{14}-1", numbered[0].name)
    assert all(Path(f"{wal}.stale-{s}").read_bytes() == b"older" for s in taken)


def test_restore_into_a_new_directory_on_another_file_system(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    """The target's directory does not exist yet, so litestream restores into TMPDIR, and the
    copy crosses file systems (/tmp to /dev/shm) into the directory made for it."""
    shm = Path("/dev/shm")
    if os.stat(shm).st_dev == os.stat(private_tmp).st_dev:
        pytest.fail("/dev/shm is expected to be a separate tmpfs on Linux")
    base = Path(tempfile.mkdtemp(prefix="pylitestream-test-", dir=shm))
    try:
        target = base / "new" / "dir" / "copy.db"
        launches.restore = _writes_restored
        assert pylitestream.restore(workspace.db, target, config=workspace.config) == str(target)
        assert target.read_bytes() == RESTORED and target.stat().st_nlink == 1
        assert [p.name for p in target.parent.iterdir()] == ["copy.db"]  # no copy left beside
    finally:
        shutil.rmtree(base)


def test_restore_options_timeout_and_refusals_reach_where_they_should(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    launches.restore = _writes_restored
    out = tmp_path / "c.db"
    # An option left None is skipped, and those after it still count.
    pylitestream.restore(
        workspace.db, out, config=workspace.config, timestamp=None, parallelism=4, timeout=7
    )
    assert "-parallelism=4" in launches.only()
    assert launches.timeouts == [7]
    with pytest.raises(pylitestream.UsageError) as caught:
        pylitestream.restore(workspace.db, config=workspace.config, args=["-json"])
    assert str(caught.value) == (
        "pass --json to pylitestream instead of -json"
        if launches.line == "0.5"
        else "Litestream 0.3 has no JSON output; use pylitestream's --json"
    )
    with pytest.raises(pylitestream.UsageError) as caught:
        pylitestream.restore(workspace.db, f"{tmp_path}/", config=workspace.config)
    assert str(caught.value).startswith(f"-o '{tmp_path}/': names a directory")
    assert len(launches.argvs) == 1


def test_occupied_can_look_at_the_name_alone(tmp_path: Path) -> None:
    from internals import placement

    target = tmp_path / "app.db"
    Path(f"{target}-wal").write_bytes(b"wal")
    assert placement.occupied(target, sidecars=False) == []
    assert placement.occupied(target) == [(Path(f"{target}-wal"), "a file")]


def test_place_with_replace_still_refuses_what_is_not_a_file(tmp_path: Path) -> None:
    from internals import placement

    restored = tmp_path / "restored.db"
    restored.write_bytes(RESTORED)
    directory = tmp_path / "dir.db"
    directory.mkdir()
    with pytest.raises(pylitestream.UsageError) as caught:
        placement.place(restored, directory, replace=True)
    assert str(caught.value) == (
        f"restore target {directory} is a directory; -force replaces only a file"
    )
    assert directory.is_dir() and restored.read_bytes() == RESTORED


def test_place_says_why_a_link_failed_and_changes_nothing(tmp_path: Path) -> None:
    from internals import placement

    restored = tmp_path / "restored.db"
    restored.write_bytes(RESTORED)
    target = tmp_path / ("x" * 300)  # longer than a file name may be
    with pytest.raises(pylitestream.CommandFailed) as caught:
        placement.place(restored, target)
    assert str(caught.value) == (
        f"cannot link the restored database into place at {target}: File name too long; "
        "nothing was changed"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["restored.db"]


def test_a_symlinked_sidecar_is_moved_aside_as_the_symlink(tmp_path: Path) -> None:
    from internals import placement

    real = tmp_path / "elsewhere"
    real.write_bytes(b"someone else's file")
    wal = tmp_path / "app.db-wal"
    wal.symlink_to(real)
    aside = placement.move_aside(wal)
    assert aside is not None and aside.is_symlink() and os.readlink(aside) == str(real)
    assert not os.path.lexists(wal) and real.stat().st_nlink == 1
    assert placement.move_aside(wal) is None


class _FixedClock:
    """Stands in for placement's `dt`: now() is always the same second."""

    class datetime:  # the name placement looks up
        @staticmethod
        def now() -> Any:
            import datetime as dt

            return dt.datetime(2026, 11, 27, 9, 30, 0)


def test_move_aside_renames_where_links_are_not_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from internals import placement

    monkeypatch.setattr(placement, "dt", _FixedClock)
    wal = tmp_path / "app.db-wal"
    wal.write_bytes(b"stale wal")
    taken = tmp_path / "app.db-wal.stale-20261127093000"
    taken.write_bytes(b"older")
    failure = [errno.EXDEV]

    def no_links(src: Any, dst: Any, **kwargs: Any) -> None:
        raise OSError(failure[0], os.strerror(failure[0]))

    monkeypatch.setattr(os, "link", no_links)
    aside = placement.move_aside(wal)
    assert aside == tmp_path / "app.db-wal.stale-20261127093000-1"
    assert aside.read_bytes() == b"stale wal" and not wal.exists()
    assert taken.read_bytes() == b"older"
    wal.write_bytes(b"again")
    failure[0] = errno.EIO  # any other failure is not hidden
    with pytest.raises(OSError) as caught:
        placement.move_aside(wal)
    assert caught.value.errno == errno.EIO and wal.read_bytes() == b"again"


def test_move_aside_gives_up_after_a_hundred_stale_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from internals import placement

    monkeypatch.setattr(placement, "dt", _FixedClock)
    wal = tmp_path / "app.db-wal"
    wal.write_bytes(b"stale wal")
    for n in range(100):
        Path(f"{wal}.stale-20261127093000" + (f"-{n}" if n else "")).write_bytes(b"older")
    with pytest.raises(pylitestream.UsageError) as caught:
        placement.move_aside(wal)
    assert str(caught.value) == f"cannot move {wal} aside: too many stale copies beside it"
    assert wal.read_bytes() == b"stale wal" and len(list(tmp_path.iterdir())) == 101


def test_replicate_argv_names_the_config_and_checks_it(
    launches: Launches, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import write_config
    from internals import replicate_argv

    config = str(workspace.config)
    assert replicate_argv(workspace.config) == ["replicate", "-config", config]
    assert replicate_argv(workspace.config, ["-exec", "app"]) == [
        "replicate", "-config", config, "-exec", "app"
    ]  # fmt: skip
    with pytest.raises(pylitestream.UsageError) as caught:
        replicate_argv(workspace.config, ["-config", "other.yml"])
    assert str(caught.value) == (
        "pass the config as pylitestream --config, not as a forwarded -config"
    )
    # Checked unless told not to, and with the forwarded flags (-no-expand-env) in mind.
    monkeypatch.delenv("PYLT_UNSET_VAR", raising=False)
    unset = {"type": "file", "path": "/srv/${PYLT_UNSET_VAR}/replica"}
    write_config(workspace.config, launches.line, [(workspace.db, unset)])
    with pytest.raises(pylitestream.PylitestreamError, match=r"\$PYLT_UNSET_VAR is not set"):
        replicate_argv(workspace.config)
    assert replicate_argv(workspace.config, validate=False) == ["replicate", "-config", config]
    assert replicate_argv(workspace.config, ["-no-expand-env"])[-1] == "-no-expand-env"
    assert launches.argvs == []


@pytest.mark.parametrize(
    ("kind", "form"),
    [
        (stat.S_IFBLK, "a device node"),
        (stat.S_IFCHR, "a device node"),
        (0, "something"),
    ],
)
def test_existing_form_names_devices_and_the_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: int, form: str
) -> None:
    """Block devices need root's mknod to make, so the file system's answer is played."""
    from internals import placement

    def played(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        return os.stat_result((kind | 0o600, 0, 0, 1, 0, 0, 0, 0, 0, 0))

    monkeypatch.setattr(os, "lstat", played)
    assert placement.existing_form(tmp_path / "dev") == form


@LS05
def test_force_logs_where_each_stale_sidecar_went(
    launches: Launches, workspace: Workspace, tmp_path: Path
) -> None:
    import logging

    target = tmp_path / "copy.db"
    target.write_bytes(b"old")
    wal = Path(f"{target}-wal")
    wal.write_bytes(b"wal")
    launches.restore = _writes_restored
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Lines(logging.INFO)
    logger = logging.getLogger("pylitestream.services.restore")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        pylitestream.restore(workspace.db, target, config=workspace.config, force=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    (aside,) = tmp_path.glob("copy.db-wal.stale-*")
    assert lines == [f"moved stale {wal} aside to {aside}"]  # no -shm: nothing to say about it


def test_restore_checks_the_config_with_the_forwarded_flags_in_mind(
    launches: Launches, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import write_config

    monkeypatch.delenv("PYLT_UNSET_VAR", raising=False)
    unset = {"type": "file", "path": "/srv/${PYLT_UNSET_VAR}/replica"}
    write_config(workspace.config, launches.line, [(workspace.db, unset)])
    launches.restore = _writes_restored
    out = tmp_path / "c.db"
    with pytest.raises(pylitestream.PylitestreamError, match=r"\$PYLT_UNSET_VAR is not set"):
        pylitestream.restore(workspace.db, out, config=workspace.config)
    assert launches.argvs == [] and not out.exists()
    pylitestream.restore(workspace.db, out, config=workspace.config, args=["-no-expand-env"])
    assert "-no-expand-env" in launches.only() and out.read_bytes() == RESTORED
