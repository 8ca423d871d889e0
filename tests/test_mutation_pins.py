"""Fast, in-process tests written to kill mutants that scripts/mutation found surviving: each
pins a rule of masking, placement, verification or supervision that no faster test held."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Launches, Workspace
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


# --- verify's decisions, with litestream's restore played by the test ---------------------------


def _backup_of(db: Path, out: Path) -> None:
    source, target = sqlite3.connect(db), sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


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
    launches.restore = lambda out: (_backup_of(workspace.db, out), _done(out))[1]
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
    _backup_of(workspace.db, before)  # the replica as it was: no sentinel will ever reach it
    launches.restore = lambda out: (_backup_of(before, out), _done(out))[1]
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
    assert record["message"].startswith("the restored copy cannot be read: ")


def test_verify_unreachable_when_litestream_times_out(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    def hang(out: Path) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(["litestream"], 1.0)

    launches.restore = hang
    record = _verify(workspace, timeout=0.3)
    assert record["reason"] == "unreachable", record
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
