"""Fast, in-process tests written to kill mutants that scripts/mutation found surviving: each
pins a rule of masking, placement, verification or supervision that no faster test held."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Launches, Workspace, backup_of, in_turn, index_out_of_step
from internals import VERIFY_RECORD_KEYS, mask_urls, redact

import pylitestream
from pylitestream.masking import MASK


def test_redact_replaces_every_known_secret_longest_first() -> None:
    text = "key=abcd1234 short=abcd url=sftp://bob:pw1@host/x"
    assert redact(text, ["abcd", "abcd1234"]) == (
        f"key={MASK} short={MASK} url=sftp://bob:{MASK}@host/x"
    )
    assert redact("abc is short", ["abc"]) == "abc is short"  # under 4 characters: not a secret
    assert mask_urls("s3://bucket/path") == "s3://bucket/path"
    # Longest first, not last in sort order: "zzzz" first would leave "aaaa" of the longer one.
    assert redact("x=aaaazzzz", ["zzzz", "aaaazzzz"]) == f"x={MASK}"


def test_key_ids_show_their_last_four_characters_only_when_long() -> None:
    from internals import known_secrets

    from pylitestream.masking import mask_env_value

    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIA12345") == f"{MASK}2345"  # 9 chars
    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIA1234") == MASK  # 8: all hidden
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "whatever-long") == MASK
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "") == ""
    environ = {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_REGION": "eu-west-1", "MY_TOKEN": ""}
    assert known_secrets(environ) == ["s3cr3t"]  # the dict given, not os.environ


# --- verify's decisions, with litestream's restore played by the test ---------------------------


def _done(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(["litestream"], 0, "", "")


def _failed(stderr: str) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    return lambda out: subprocess.CompletedProcess(["litestream"], 1, "", stderr)


def _verify(ws: Workspace, timeout: float = 1.5) -> dict[str, Any]:
    try:
        return dict(pylitestream.verify(ws.db, config=ws.config, timeout=timeout))
    except pylitestream.VerificationFailure as exc:
        assert exc.record["ok"] is False
        assert f"verify {ws.db}: {exc.reason}: " in str(exc)
        return dict(exc.record)


def _sentinels(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '_litestream%'")
        if not [t for t in tables if t[0] == "_litestream_verification"]:
            return 0
        return int(conn.execute("SELECT count(*) FROM _litestream_verification").fetchone()[0])
    finally:
        conn.close()


def test_verify_ok_when_the_restored_copy_has_the_sentinel(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = lambda out: (backup_of(workspace.db, out), _done(out))[1]
    record = _verify(workspace)
    assert tuple(record) == VERIFY_RECORD_KEYS
    assert record["ok"] is True and record["reason"] is None and record["integrity"] == "ok"
    assert record["method"] == "restore-poll"
    assert record["replica"] == f"file:{workspace.replica}"
    assert record["litestream"] == launches.exe.parent.parent.name
    assert 0 <= record["seconds_to_visible"] < 1.5
    assert record["restored_size"] > 0
    assert "sentinel" in record["message"]
    assert _sentinels(workspace.db) == 0  # removed again
    argv = launches.argvs[0]
    assert argv[:3] == ["restore", "-config", str(workspace.config)]
    assert argv[-1] == str(workspace.db)


def test_verify_stale_when_the_sentinel_never_arrives(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    before = workspace.root / "before.db"
    backup_of(workspace.db, before)  # the replica as it was: no sentinel will ever reach it
    launches.restore = lambda out: (backup_of(before, out), _done(out))[1]
    started = time.monotonic()
    record = _verify(workspace, timeout=0.5)
    assert record["reason"] == "stale", record
    assert "did not reach it within 0.5 s" in record["message"]
    assert record["integrity"] == "ok" and record["seconds_to_visible"] is None
    assert 0.45 < time.monotonic() - started < 5
    assert len(launches.argvs) >= 2  # it polled, not gave up at once
    assert _sentinels(workspace.db) == 0


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        ("Error: dial tcp 127.0.0.1:9: connect: connection refused", "unreachable"),
        ("Error: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist", "auth"),
        ("Error: cannot restore snapshot: unexpected EOF", "corrupt"),
        ("Error: something else went wrong", "restore_failed"),
    ],
)
def test_verify_names_the_reason_of_a_failed_restore(
    launches: Launches, workspace: Workspace, private_tmp: Path, stderr: str, reason: str
) -> None:
    launches.restore = _failed(stderr)
    record = _verify(workspace, timeout=0.3)
    assert record["reason"] == reason, record
    assert record["message"] == f"restore failed: {stderr.removeprefix('Error: ')}"
    assert record["integrity"] is None and record["seconds_to_visible"] is None
    assert _sentinels(workspace.db) == 0


def test_verify_no_backup_when_litestream_restores_nothing(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = _done  # exit 0 and no file: 0.3's -if-replica-exists with no backup
    record = _verify(workspace, timeout=0.3)
    assert record["reason"] in ("no_backup",), record
    assert record["message"] == f"no backup of this database on file:{workspace.replica}"


def test_verify_corrupt_when_the_copy_cannot_be_read(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = lambda out: (out.write_bytes(b"not a database" * 100), _done(out))[1]
    record = _verify(workspace, timeout=0.3)
    assert record["reason"] == "corrupt", record
    if launches.line == "0.3":  # restore's own check (0.5's runs inside the litestream played here)
        assert "fails its integrity check (quick): file is not a database" in record["message"]
    else:
        assert record["message"].startswith("the restored copy cannot be read: ")


def test_verify_timeout_when_litestream_times_out(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    def hang(out: Path) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(["litestream"], 1.0)

    launches.restore = hang
    record = _verify(workspace, timeout=0.3)
    assert record["reason"] == "timeout", record  # a file replica: no endpoint to try
    assert record["message"].startswith("the replica did not answer within ")


def test_verify_refuses_before_touching_anything(
    launches: Launches, workspace: Workspace, private_tmp: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    record = _verify(Workspace(workspace.root, other, workspace.replica, workspace.config))
    assert record["reason"] == "not_in_config"
    assert record["message"] == f"{other} is not in {workspace.config}"
    assert not other.exists()
    workspace.db.unlink()
    record = _verify(workspace)
    assert record["reason"] == "no_database"
    assert not workspace.db.exists()
    assert launches.argvs == []


def test_verify_redacts_a_secret_litestream_prints(
    launches: Launches, workspace: Workspace, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret")
    launches.restore = _failed("Error: bad key wJalrXUtnFEMI-secret: connection refused")
    record = _verify(workspace, timeout=0.3)
    assert record["message"] == "restore failed: bad key ****: connection refused"


# --- restore's placement, with litestream's restore played by the test --------------------------


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
    return _done(out)


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


def _snapshot(root: Path) -> dict[str, tuple[int, bytes | None]]:
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
    before = _snapshot(tmp_path)
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
    assert _snapshot(tmp_path) == before
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
    launches.restore = _done  # litestream: exit 0, nothing written
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


@pytest.mark.parametrize("quick", [False, True], ids=["integrity_check", "quick_check"])
def test_verify_runs_the_integrity_check_it_was_asked_for(
    launches: Launches, workspace: Workspace, private_tmp: Path, quick: bool
) -> None:
    conn = sqlite3.connect(workspace.db)
    with conn:
        conn.execute("CREATE INDEX by_name ON items(name)")
        conn.executemany("INSERT INTO items (name) VALUES (?)", [("row-aaaa",), ("row-bbbb",)])
    conn.close()
    launches.restore = lambda out: (index_out_of_step(workspace.db, out), _done(out))[1]
    try:
        record = dict(pylitestream.verify(workspace.db, config=workspace.config, timeout=1,
                                          quick=quick))  # fmt: skip
    except pylitestream.VerificationFailure as exc:
        record = dict(exc.record)
    if quick:
        assert record["ok"] is True and record["integrity"] == "ok", record
    else:
        assert record["reason"] == "corrupt", record
        assert record["integrity"] != "ok" and "by_name" in record["integrity"], record
        assert record["message"] == f"the restored copy fails its check: {record['integrity']}"


def _stale_copy(ws: Workspace) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    before = ws.root / "before.db"
    backup_of(ws.db, before)
    return lambda out: (backup_of(before, out), _done(out))[1]


def test_verify_keeps_the_last_failure_after_a_stale_restore(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    refused = _failed("Error: dial tcp 127.0.0.1:9: connect: connection refused")
    launches.restore = in_turn(_stale_copy(workspace), refused)
    record = _verify(workspace, timeout=0.5)
    assert record["reason"] == "unreachable", record


def test_verify_gives_each_restore_the_time_left(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = lambda out: (backup_of(workspace.db, out), _done(out))[1]
    assert _verify(workspace, timeout=20)["ok"]
    first = launches.timeouts[0]
    assert first is not None and 15 < first <= 20, launches.timeouts


# --- placement's primitives, directly -----------------------------------------------------------


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


# --- replicate's argv -----------------------------------------------------------------------------


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
