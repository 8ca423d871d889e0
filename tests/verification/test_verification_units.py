"""Fast, in-process tests of verification's decisions, written to kill the mutants that
scripts/mutation found surviving or never reached: each failure reason with its exact message,
the polling and its timing (on a clock the test owns), the sentinel row, the temporary
directory, the record verify keeps for the dashboard, verify_all's records and the summary line.
litestream's restore is played by the test (the `launches` fixture); the e2e tests in
test_verify.py run the same paths against the real binaries."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from conftest import (
    Launches,
    Step,
    Workspace,
    backup_of,
    create_db,
    exited_ok,
    in_turn,
    index_out_of_step,
    write_config,
)
from internals import VERIFY_RECORD_KEYS, verification

import pylitestream
from pylitestream import errors
from pylitestream.config.load import replicas_of
from pylitestream.litestream.failures import classify

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


# --- helpers ------------------------------------------------------------------------------------


class Clock:
    """Stands in for verification's `time` and for the cancel event: a wait spends its seconds
    at once, so the polling's timing is exact and the tests take no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        assert len(self.waits) < 200, "the polling does not end"
        self.now += seconds
        return False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    owned = Clock()
    monkeypatch.setattr(verification, "time", owned)
    return owned


def _verify(ws: Workspace, clock: Clock, timeout: float | None = 10, quick: bool = False,
            db: str | Path | None = None) -> dict[str, Any]:  # fmt: skip
    """verification._verify on the test's clock: the record, whether it succeeded or not."""
    try:
        return dict(verification._verify(db or ws.db, ws.config, timeout, quick, clock))
    except pylitestream.VerificationFailure as exc:
        assert exc.record["ok"] is False
        assert str(exc) == f"verify {exc.record['database']}: {exc.reason}: {exc.record['message']}"
        assert exc.record["reason"] == exc.reason
        return dict(exc.record)


def _fresh(db: Path) -> Step:
    """A restore that brings back the live database as it is now (sentinel included)."""
    return lambda out: (backup_of(db, out), exited_ok())[1]


def _as_before(ws: Workspace) -> Step:
    """A restore that brings back the database as it was before the verify: no sentinel."""
    before = ws.root / "before.db"
    backup_of(ws.db, before)
    return lambda out: (backup_of(before, out), exited_ok())[1]


def _failed(stderr: str) -> Step:
    return lambda out: subprocess.CompletedProcess(["litestream"], 1, "", stderr)


def _sentinels(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (verification.TABLE,)
                            ).fetchone():  # fmt: skip
            return []
        return [row[0] for row in conn.execute(f"SELECT id FROM {verification.TABLE}")]
    finally:
        conn.close()


def _out_of(argv: list[str]) -> Path:
    return Path(next(a.split("=", 1)[1] for a in argv if a.startswith("-o=")))


def _record(db: str, ok: bool, reason: str | None = None, message: str | None = None) -> Any:
    record: dict[str, Any] = dict.fromkeys(verification.RECORD_KEYS)
    record.update(database=db, ok=ok, reason=reason, message=message)
    return record


# --- a verify that succeeds ----------------------------------------------------------------------


def test_a_verify_polls_until_the_sentinel_arrives(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    seen: list[list[str]] = []  # what each restore found in its directory

    def leaving_leftovers(step: Step) -> Step:
        def restore(out: Path) -> subprocess.CompletedProcess[str]:
            workdir = out.parent.parent  # out is in restore's own scratch directory in it
            seen.append(sorted(p.name for p in workdir.iterdir() if p != out.parent))
            (workdir / "restore.db.tmp-123").write_bytes(b"0.3 leaves these")
            return step(out)

        return restore

    stale, fresh = leaving_leftovers(_as_before(workspace)), leaving_leftovers(_fresh(workspace.db))
    launches.restore = in_turn(stale, stale, stale, stale, fresh)
    record = _verify(workspace, clock, timeout=10)
    assert record == {
        "database": str(workspace.db),
        "ok": True,
        "reason": None,
        "message": "the sentinel row came back intact",
        "seconds_to_visible": 0.463,  # four waits, rounded to the millisecond: 0.4628 s
        "restored_size": record["restored_size"],
        "replica": f"file:{workspace.replica}",
        "litestream": launches.exe.parent.parent.name,
        "integrity": "ok",
        "contents": "same",
        "method": "restore-poll",
    }
    assert tuple(record) == verification.RECORD_KEYS
    assert clock.waits == pytest.approx([0.05, 0.08, 0.128, 0.2048])
    # each restore gets the time left
    assert launches.timeouts == pytest.approx([10.0, 9.95, 9.87, 9.742, 9.5372])
    assert seen == [[]] * 5  # one copy at a time: leftovers cleared before each restore
    outs = [_out_of(argv) for argv in launches.argvs]
    assert len({out.parent.parent for out in outs}) == 1  # one private directory
    for out in outs:
        assert out.name == "restore.db" and out.parent.parent.parent == private_tmp
        assert out.parent.parent.name.startswith("pylitestream-verify-")
    assert not outs[0].parent.parent.exists()  # removed again (private_tmp: nothing left)
    for argv in launches.argvs:
        assert argv[:3] == ["restore", "-config", str(workspace.config)]
        assert argv[-1] == str(workspace.db)
    assert _sentinels(workspace.db) == []


def test_the_restored_size_is_the_copys(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    sizes: list[int] = []

    def restore(out: Path) -> subprocess.CompletedProcess[str]:
        backup_of(workspace.db, out)
        with out.open("ab") as grow:  # SQLite ignores trailing bytes past its page count
            grow.write(b"\0" * 1000)
        sizes.append(out.stat().st_size)
        return exited_ok()

    launches.restore = restore
    record = _verify(workspace, clock)
    assert record["ok"] is True and record["seconds_to_visible"] == 0
    assert record["restored_size"] == sizes[0]


def test_a_relative_or_home_path_is_verified_as_its_absolute_path(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    launches.restore = _fresh(workspace.db)
    monkeypatch.chdir(workspace.root)
    assert _verify(workspace, clock, db="app.db")["database"] == str(workspace.db)
    monkeypatch.setenv("HOME", str(workspace.root))
    monkeypatch.chdir("/")
    assert _verify(workspace, clock, db="~/app.db")["database"] == str(workspace.db)
    assert [_ for _ in launches.argvs if _[-1] != str(workspace.db)] == []


def test_without_a_timeout_verify_waits_the_default(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    launches.restore = _as_before(workspace)
    monkeypatch.setenv("PYLITESTREAM_TIMEOUT", "2")
    record = _verify(workspace, clock, timeout=None)
    assert record["reason"] == "stale"
    assert launches.timeouts[0] == 2.0
    assert abs(sum(clock.waits) - 2.0) < 1e-9
    with pytest.raises(pylitestream.UsageError, match="timeout must be more than 0"):
        verification._verify(workspace.db, workspace.config, -1, False, clock)
    assert len(launches.timeouts) == len(clock.waits) + 1


# --- stale: the backup exists, the sentinel never reaches it ------------------------------------


def test_stale_after_polling_with_growing_waits_for_the_whole_timeout(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    launches.restore = _as_before(workspace)
    record = _verify(workspace, clock, timeout=3)
    assert record["reason"] == "stale" and record["integrity"] == "ok"
    assert record["message"] == (
        "a backup exists but the sentinel row did not reach it within 3 s (is replication running?)"
    )
    assert record["seconds_to_visible"] is None and record["restored_size"] is None
    backoff = [0.05, 0.08, 0.128, 0.2048, 0.32768]
    assert clock.waits[:5] == pytest.approx(backoff)
    assert clock.waits[5:-1] == [0.5] * (len(clock.waits) - 6)  # capped at half a second
    assert 0 < clock.waits[-1] <= 0.5
    assert sum(clock.waits) == pytest.approx(3.0)  # the last wait ends at the deadline
    assert len(launches.timeouts) == len(clock.waits) + 1
    assert launches.timeouts[0] == 3.0 and min(launches.timeouts) == 1.0  # MIN_ATTEMPT
    assert _sentinels(workspace.db) == []


def test_stale_when_the_copy_has_the_table_but_not_this_sentinel(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    with contextlib.closing(verification.live_connection(workspace.db)) as conn:
        verification.insert_sentinel(conn)  # another verify's row, still in the table
    launches.restore = _as_before(workspace)
    record = _verify(workspace, clock, timeout=0.2)
    assert record["reason"] == "stale", record
    assert len(_sentinels(workspace.db)) == 1  # only the other one is left


@pytest.mark.parametrize("quick", [False, True], ids=["integrity_check", "quick_check"])
def test_a_stale_copy_is_checked_with_the_check_asked_for(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock, quick: bool
) -> None:
    conn = sqlite3.connect(workspace.db)
    with conn:
        conn.execute("CREATE INDEX by_name ON items(name)")
        conn.executemany("INSERT INTO items (name) VALUES (?)", [("row-aaaa",), ("row-bbbb",)])
    conn.close()
    before = workspace.root / "before.db"
    backup_of(workspace.db, before)
    launches.restore = lambda out: (index_out_of_step(before, out), exited_ok())[1]
    record = _verify(workspace, clock, timeout=0.2, quick=quick)
    if quick:
        assert record["reason"] == "stale" and record["integrity"] == "ok", record
    else:
        assert record["reason"] == "corrupt", record
        assert "by_name" in record["integrity"]
        assert record["message"] == (
            f"the latest restored copy fails its check: {record['integrity']}"
        )


def test_stale_when_the_backup_vanishes_after_a_restore(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    launches.restore = in_turn(
        _as_before(workspace), lambda out: exited_ok()
    )  # then: no backup at all
    record = _verify(workspace, clock, timeout=0.5)
    assert record["reason"] == "stale", record
    assert record["integrity"] is None  # no copy left to check


# --- the other failures ------------------------------------------------------------------------


def test_no_backup_names_the_replica(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    launches.restore = lambda out: exited_ok()  # exit 0, no file: -if-replica-exists, no backup
    record = _verify(workspace, clock, timeout=0.3)
    assert record["reason"] == "no_backup"
    assert record["message"] == f"no backup of this database on file:{workspace.replica}"
    assert record["integrity"] is None


def _hang(clock: Clock) -> Step:
    """A restore that runs out its time: the clock passes any deadline, then it times out."""

    def hang(out: Path) -> subprocess.CompletedProcess[str]:
        clock.now += 10
        raise subprocess.TimeoutExpired(["litestream"], 10)

    return hang


def test_a_timeout_alone_is_a_timeout(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    launches.restore = _hang(clock)
    record = _verify(workspace, clock, timeout=0.3)
    assert record["reason"] == "timeout"
    assert record["message"] == "the replica did not answer within 1.0 s"  # MIN_ATTEMPT
    assert len(launches.argvs) == 1


REFUSED = "Error: dial tcp 127.0.0.1:9: connect: connection refused"


def test_a_full_length_timeout_replaces_an_earlier_failure(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    def refused(out: Path) -> subprocess.CompletedProcess[str]:
        clock.now += 0.45
        return _failed(REFUSED)(out)

    launches.restore = in_turn(refused, _hang(clock))
    record = _verify(workspace, clock, timeout=5)
    assert record["reason"] == "timeout"
    assert record["message"] == "the replica did not answer within 4.5 s"


def test_a_last_timeout_cut_short_keeps_the_earlier_failure(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    launches.restore = in_turn(_failed(REFUSED), _hang(clock))
    record = _verify(workspace, clock, timeout=0.5)
    assert record["reason"] == "unreachable", record
    assert record["message"] == "restore failed: dial tcp 127.0.0.1:9: connect: connection refused"
    assert len(launches.argvs) == 2 and launches.timeouts[0] == 1.0


@pytest.mark.parametrize(
    ("error", "reason"),
    [("Error: InvalidAccessKeyId: no such key", "auth"),
     ("Error: api error NoSuchBucket: The specified bucket does not exist", "not_found")],
)  # fmt: skip
def test_a_permanent_failure_fails_at_once(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock, error: str,
    reason: str
) -> None:  # fmt: skip
    launches.restore = _failed(error)
    record = _verify(workspace, clock, timeout=30)
    assert record["reason"] == reason, record
    assert len(launches.argvs) == 1  # no retry: waiting does not change it


def test_a_timeout_against_a_dead_endpoint_is_unreachable() -> None:

    from pylitestream.litestream.failures import timeout_reason

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        assert timeout_reason(f"http://127.0.0.1:{port}") == (
            "unreachable",
            f"127.0.0.1:{port}: connection refused",
        )
        listening.listen()
        assert timeout_reason(f"http://127.0.0.1:{port}") == ("timeout", "")
        assert timeout_reason(f"127.0.0.1:{port}") == ("timeout", "")  # no scheme: http
    assert timeout_reason(None) == ("timeout", "")  # AWS: nothing to try
    assert timeout_reason("http://no-such-host.invalid")[0] == "unreachable"


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("NoSuchBucket: The specified bucket does not exist", "not_found"),
        ("api error AccessDenied: Access Denied", "auth"),
        ("InvalidAccessKeyId: invalid", "auth"),  # the code first, not the word "invalid"
        ("operation error S3: GetObject, StatusCode: 403, Forbidden", "auth"),
        ("FORBIDDEN", "auth"),
        ("No Generations found", "no_backup"),
        ("Dial TCP 127.0.0.1:9", "unreachable"),
        ("database disk image is MALFORMED", "corrupt"),
        ("lz4 credentials", "auth"),  # auth is tried before corrupt
        ("no matching backup: connection refused", "no_backup"),  # no_backup before the rest
        ("connection refused: checksum", "unreachable"),
        ("XInvalidAccessKeyIdX: checksum", "corrupt"),  # a code matches only whole
        ("what happened", "restore_failed"),
    ],
)
def test_classify_sorts_litestream_errors(message: str, reason: str) -> None:
    assert classify(message) == reason


def test_a_database_that_cannot_take_the_sentinel_is_left_as_it_was(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    workspace.db.write_bytes(b"not a database at all" * 200)
    Path(f"{workspace.db}-wal").unlink(missing_ok=True)
    before = workspace.db.read_bytes()
    record = _verify(workspace, clock)
    assert record["reason"] == "database_error"
    assert record["message"] == "cannot write the sentinel row: file is not a database"
    assert record["method"] == "restore-poll" and record["seconds_to_visible"] is None
    assert workspace.db.read_bytes() == before
    assert launches.argvs == []


def test_a_sentinel_that_cannot_be_deleted_is_a_failure(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(verification, "BUSY_TIMEOUT", 0.05)
    holder: list[sqlite3.Connection] = []

    def restore_then_lock(out: Path) -> subprocess.CompletedProcess[str]:
        backup_of(workspace.db, out)
        conn = sqlite3.connect(workspace.db, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        holder.append(conn)
        return exited_ok()

    launches.restore = restore_then_lock
    import time

    started = time.monotonic()
    try:
        record = _verify(workspace, clock)
        assert time.monotonic() - started < 3  # waited BUSY_TIMEOUT, not SQLite's default 5 s
    finally:
        for conn in holder:
            conn.execute("ROLLBACK")
            conn.close()
    assert record["reason"] == "database_error"
    assert record["message"] == "cannot delete the sentinel row: database is locked"
    assert len(_sentinels(workspace.db)) == 1  # the next verify removes it once an hour old


def test_the_refusals_say_why_and_touch_nothing(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    record = _verify(workspace, clock, db=other)
    assert record["reason"] == "not_in_config"
    assert record["message"] == f"{other} is not in {workspace.config}"
    assert record["replica"] is None and record["litestream"] is None
    workspace.db.unlink()
    record = _verify(workspace, clock)
    assert record["reason"] == "no_database"
    assert record["message"] == f"{workspace.db} does not exist"
    assert record["replica"] == f"file:{workspace.replica}"
    assert record["litestream"] == launches.exe.parent.parent.name
    assert record["method"] is None
    assert not workspace.db.exists() and not other.exists()
    assert launches.argvs == []


def test_no_temporary_directory_is_a_usage_error(
    launches: Launches, workspace: Workspace, clock: Clock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    missing = tmp_path / "no-such-tmp"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    with pytest.raises(pylitestream.UsageError) as caught:
        verification._verify(workspace.db, workspace.config, 1, False, clock)
    assert str(caught.value) == (
        f"cannot create a temporary directory ([Errno 2] No such file or directory: "
        f"'{missing}/pylitestream-verify-{str(caught.value).split('pylitestream-verify-')[1]}"
    )
    assert str(caught.value).endswith("'); set TMPDIR")
    assert _sentinels(workspace.db) == [] and not missing.exists()


def test_validation_can_be_skipped(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    settings = yaml.safe_load(workspace.config.read_text())
    settings["no-such-setting"] = 1  # a config validation refuses; litestream itself ignores
    workspace.config.write_text(yaml.safe_dump(settings))
    launches.restore = _fresh(workspace.db)
    with pytest.raises(pylitestream.PylitestreamError, match="no-such-setting"):
        verification._verify(workspace.db, workspace.config, 1, False, clock)
    record = verification._verify(workspace.db, workspace.config, 1, False, clock, False)
    assert record["ok"] is True


# --- secrets and replicas -------------------------------------------------------------------------


def test_a_secret_from_the_config_never_reaches_the_record(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    replica = {"type": "s3", "bucket": "bkt", "path": "/some/path", "region": "us-east-1",
               "endpoint": "http://127.0.0.1:9", "access-key-id": "AKIAVERIFYUNITS",
               "secret-access-key": "config-secret-value-123"}  # fmt: skip
    line = launches.line
    write_config(workspace.config, line, [(workspace.db, replica)])
    launches.restore = _failed("Error: key config-secret-value-123 refused: connection refused")
    record = _verify(workspace, clock, timeout=0.2)
    assert record["message"] == "restore failed: key **** refused: connection refused"
    assert record["replica"] == "s3://bkt/some/path"


def test_describe_replica_never_shows_a_secret() -> None:
    describe = verification.describe_replica
    assert describe({"url": "sftp://bob:hunter22@host/x?key=abc"}) == "sftp://bob:****@host/x"
    assert describe({"path": "/srv/backup"}) == "file:/srv/backup"
    assert describe({"type": "file"}) == "file:"
    assert describe({"type": "s3", "bucket": "b", "path": "/p/q"}) == "s3://b/p/q"
    assert describe({"type": "s3", "bucket": "b", "path": "/Xp"}) == "s3://b/Xp"
    assert describe({"url": "s3://b/p?region=x?y"}) == "s3://b/p"
    assert describe({"type": "sftp", "host": "h:22", "path": "p"}) == "sftp://h:22/p"
    assert describe({"type": "abs", "account-name": "acct"}) == "abs://acct/"
    assert describe({"type": "gs"}) == "gs:///"


def test_replicas_and_their_secrets_in_both_config_layouts() -> None:
    single = {"replica": {"type": "s3", "secret-access-key": "s3cret", "access-key-id": "AKIA1"}}
    listed = {"replicas": [{"type": "sftp", "password": "pw-1234", "key-path": "/k"}, "junk",
                           {"type": "file", "path": "/x", "secret": ""}]}  # fmt: skip
    assert replicas_of(single) == [single["replica"]]
    assert replicas_of(listed) == [listed["replicas"][0], listed["replicas"][2]]
    assert replicas_of({"replica": None}) == []
    assert replicas_of({}) == []
    azure = {"replica": {"type": "abs", "account-name": "acct", "account-key": "az-key-1234"}}
    assert verification._config_secrets(azure) == ["az-key-1234"]  # secret by its _KEY ending
    assert verification._config_secrets(single) == ["s3cret"]
    assert verification._config_secrets(listed) == ["pw-1234"]


# --- the sentinel row and the checks, directly ---------------------------------------------------


def test_the_sentinel_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(sqlite3.OperationalError):
        verification.live_connection(missing)
    assert not missing.exists()


def test_a_sentinel_clears_rows_older_than_an_hour(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    live = verification.live_connection(db)
    first = verification.insert_sentinel(live)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(f"INSERT INTO {verification.TABLE} VALUES ('old', strftime("
                     "'%Y-%m-%dT%H:%M:%fZ', 'now', '-61 minutes'))")  # fmt: skip
        conn.execute(f"INSERT INTO {verification.TABLE} VALUES ('recent', strftime("
                     "'%Y-%m-%dT%H:%M:%fZ', 'now', '-59 minutes'))")  # fmt: skip
    conn.close()
    second = verification.insert_sentinel(live)
    assert len(first) == len(second) == 32 and first != second
    assert sorted(_sentinels(db)) == sorted([first, "recent", second])
    conn = sqlite3.connect(db)
    created = conn.execute(f"SELECT created_at FROM {verification.TABLE} WHERE id = ?",
                           (second,)).fetchone()[0]  # fmt: skip
    conn.close()
    assert len(created) == 24 and created.endswith("Z") and created[10] == "T"
    verification.delete_sentinel(live, first)
    live.close()
    assert sorted(_sentinels(db)) == sorted(["recent", second])
    assert verification._has_sentinel(db, second) and not verification._has_sentinel(db, first)
    empty = tmp_path / "empty.db"
    create_db(empty)
    assert verification._has_sentinel(empty, second) is False


def test_check_integrity_names_the_first_complaint(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    create_db(good)
    assert verification.check_integrity(good) == "ok"
    assert verification.check_integrity(good, quick=True) == "ok"
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    assert verification.check_integrity(bad) == "file is not a database"


def test_a_cancelled_attempt_stops_at_its_next_wait(tmp_path: Path) -> None:
    import threading

    cancel = threading.Event()
    attempt = verification._Attempt(tmp_path / "a.db", 5.0, False, cancel)
    attempt.sleep(0)  # not cancelled: returns
    cancel.set()
    with pytest.raises(errors.Interrupted):
        attempt.sleep(5)
    assert issubclass(errors.Interrupted, KeyboardInterrupt)
    assert 4 < attempt.remaining() <= 5


# --- 0.5: ask the daemon to upload first ---------------------------------------------------------


class FakeSocket:
    """The daemon's control socket as verify uses it: the calls are recorded."""

    calls: ClassVar[list[tuple[Any, ...]]] = []
    error: ClassVar[Exception | None] = None

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        FakeSocket.calls.append(("open", path, timeout))

    def sync(self, db: str, *, wait: bool = False, timeout: float | None = None) -> None:
        FakeSocket.calls.append(("sync", db, wait, timeout))
        if FakeSocket.error is not None:
            raise FakeSocket.error


@LS05
@pytest.mark.parametrize("error", [None, "socket", "usage"])
def test_with_a_socket_verify_asks_the_daemon_to_sync_first(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock,
    monkeypatch: pytest.MonkeyPatch, error: str | None,
) -> None:  # fmt: skip
    from pylitestream.litestream import control_socket

    sock = workspace.root / "ls.sock"
    settings = yaml.safe_load(workspace.config.read_text())
    settings["socket"] = {"enabled": True, "path": str(sock)}
    workspace.config.write_text(yaml.safe_dump(settings))
    monkeypatch.setattr(control_socket, "ControlSocket", FakeSocket)
    monkeypatch.setattr(FakeSocket, "calls", [])
    monkeypatch.setattr(
        FakeSocket,
        "error",
        {None: None, "socket": errors.SocketError("gone"),
         "usage": pylitestream.UsageError("timed out")}[error],
    )  # fmt: skip
    launches.restore = _fresh(workspace.db)
    record = _verify(workspace, clock, timeout=0.5)
    assert record["ok"] is True
    assert record["method"] == ("sync-wait" if error is None else "restore-poll")
    assert FakeSocket.calls == [("open", str(sock), 1.0), ("sync", str(workspace.db), True, 1.0)]
    FakeSocket.calls.clear()
    assert _verify(workspace, clock, timeout=7)["ok"] is True
    assert FakeSocket.calls == [("open", str(sock), 7.0), ("sync", str(workspace.db), True, 7.0)]


# --- verify keeps its outcome; verify_all ------------------------------------------------------


def test_verify_keeps_each_outcome_for_the_dashboard(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = _fresh(workspace.db)
    record = pylitestream.verify(workspace.db, config=workspace.config, timeout=5)
    kept = pylitestream.last_verify(workspace.db)
    assert kept is not None and kept.pop("finished_at")
    assert kept == record
    workspace.db.unlink()
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        pylitestream.verify(workspace.db, config=workspace.config, timeout=5)
    kept = pylitestream.last_verify(str(workspace.db))
    assert kept is not None
    assert kept["ok"] is False and kept["reason"] == "no_database" == caught.value.reason
    assert kept["message"] == f"verify {workspace.db}: no_database: {workspace.db} does not exist"
    assert kept["database"] == str(workspace.db)
    assert kept["replica"] == f"file:{workspace.replica}"
    assert set(kept) == {*verification.RECORD_KEYS, "finished_at"}


def test_verify_all_gives_one_record_per_database_in_config_order(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    missing = workspace.root / "missing.db"
    config = write_config(
        workspace.root / "two.yml",
        launches.line,
        [
            (missing, {"type": "file", "path": str(workspace.root / "r2")}),
            (workspace.db, {"type": "file", "path": str(workspace.replica)}),
        ],
    )
    launches.restore = _fresh(workspace.db)
    records = pylitestream.verify_all(config=config, timeout=5)
    assert [r["database"] for r in records] == [str(missing), str(workspace.db)]
    assert [r["reason"] for r in records] == ["no_database", None]
    assert records[0]["message"] == f"{missing} does not exist"
    assert records[1]["ok"] is True
    for record in records:
        kept = pylitestream.last_verify(record["database"])
        assert kept is not None and kept["reason"] == record["reason"]
    with pytest.raises(pylitestream.UsageError, match="timeout must be more than 0"):
        pylitestream.verify_all(config=config, timeout=0)
    assert len(launches.argvs) == 1 and not missing.exists()


def test_verify_all_turns_other_errors_into_records(
    launches: Launches, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", "env-secret-value-42")
    missing = tmp_path / "env-secret-value-42"
    monkeypatch.setattr(tempfile, "tempdir", str(missing))
    records = pylitestream.verify_all(config=workspace.config, timeout=5)
    assert len(records) == 1
    (record,) = records
    assert tuple(record) == verification.RECORD_KEYS
    assert record["database"] == str(workspace.db) and record["ok"] is False
    assert record["reason"] == "error"
    assert record["message"].startswith("cannot create a temporary directory (")
    assert "env-secret-value-42" not in record["message"] and "****" in record["message"]
    assert record["integrity"] is None and record["replica"] is None
    assert launches.argvs == [] and _sentinels(workspace.db) == []


# --- the summary line and the kept result ---------------------------------------------------------


def test_summary_and_failure_of_name_every_failed_database() -> None:
    good = _record("/a.db", True)
    stale = _record("/b.db", False, "stale", "too old")
    gone = _record("/c.db", False, "unreachable", "no answer")
    assert verification.summary([good, good]) == "verified 2 database(s)"
    assert verification.failure_of([good]) is None
    assert verification.summary([good, stale, gone]) == (
        "2 of 3 database(s) failed verification: /b.db (stale): too old; "
        "/c.db (unreachable): no answer"
    )
    failure = verification.failure_of([good, stale, gone])
    assert failure is not None
    assert str(failure) == verification.summary([good, stale, gone])
    assert failure.reason == "stale" and failure.record is stale


def test_the_kept_result_is_the_latest_per_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state" / "not-made-yet"))
    db = tmp_path / "kept.db"
    assert pylitestream.last_verify(db) is None
    verification.keep_results([_record(str(db), False, "stale", "first")])
    verification.keep_results([_record(str(db), True, None, "second")])
    verification.keep_results([_record(str(tmp_path / "other.db"), False, "auth", "other")])
    kept = pylitestream.last_verify(db)
    assert kept is not None
    assert {k: kept[k] for k in ("database", "ok", "reason", "message")} == {
        "database": str(db),
        "ok": True,
        "reason": None,
        "message": "second",
    }
    assert set(kept) == {*verification.RECORD_KEYS, "finished_at"}
    assert kept["finished_at"].endswith("+00:00") and len(kept["finished_at"]) == 25
    kept_dir = tmp_path / "state" / "not-made-yet" / "pylitestream" / "verify"
    assert len(list(kept_dir.iterdir())) == 2  # one file per database, nothing else
    (path,) = [p for p in kept_dir.iterdir() if json.loads(p.read_text())["database"] == str(db)]
    assert len(path.stem) == 16 and path.suffix == ".json"
    assert json.loads(path.read_text())["message"] == "second"
    # Whatever JSON cannot hold is kept as text.
    verification.keep_results([{**_record(str(db), True), "message": tmp_path}])
    assert (pylitestream.last_verify(db) or {})["message"] == str(tmp_path)
    # A record without a database is not kept anywhere.
    before = sorted(path.parent.iterdir())
    verification.keep_results([_record("", False, "error", "nowhere")])
    assert sorted(path.parent.iterdir()) == before
    # Something that is not a record, or not JSON, reads as nothing kept.
    path.write_text("[1, 2]")
    assert pylitestream.last_verify(db) is None
    path.write_text("{not json")
    assert pylitestream.last_verify(db) is None


def test_a_result_that_cannot_be_kept_is_still_returned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "state-is-a-file"
    blocked.write_bytes(b"")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    verification.keep_results([_record(str(tmp_path / "x.db"), True)])  # no error
    assert blocked.read_bytes() == b"" and pylitestream.last_verify(tmp_path / "x.db") is None
    assert os.path.isfile(blocked)


# --- the defaults of verify and verify_all ------------------------------------------------------


def _with_an_index(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE INDEX by_name ON items(name)")
        conn.executemany("INSERT INTO items (name) VALUES (?)", [("row-aaaa",), ("row-bbbb",)])
    conn.close()


def test_check_integrity_runs_the_full_check_unless_asked_for_the_quick_one(
    tmp_path: Path,
) -> None:
    db, copy = tmp_path / "app.db", tmp_path / "copy.db"
    create_db(db)
    _with_an_index(db)
    index_out_of_step(db, copy)
    assert "by_name" in verification.check_integrity(copy)
    assert verification.check_integrity(copy, quick=True) == "ok"


def test_verify_and_verify_all_run_the_full_check_by_default(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    _with_an_index(workspace.db)
    launches.restore = lambda out: (index_out_of_step(workspace.db, out), exited_ok())[1]
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        verification.verify(workspace.db, config=workspace.config, timeout=5)
    assert caught.value.reason == "corrupt"
    assert verification.verify(workspace.db, config=workspace.config, timeout=5, quick=True)["ok"]
    (record,) = verification.verify_all(config=workspace.config, timeout=5)
    assert record["reason"] == "corrupt"
    (record,) = verification.verify_all(config=workspace.config, timeout=5, quick=True)
    assert record["ok"] is True
    assert len(launches.timeouts) == 4 and all(4 < t <= 5 for t in launches.timeouts if t)


def test_verify_and_verify_all_validate_the_config_unless_told_not_to(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    settings = yaml.safe_load(workspace.config.read_text())
    settings["no-such-setting"] = 1  # a config validation refuses; litestream itself ignores
    workspace.config.write_text(yaml.safe_dump(settings))
    launches.restore = _fresh(workspace.db)
    for check in (
        lambda: verification.verify(workspace.db, config=workspace.config, timeout=5),
        lambda: verification.verify_all(config=workspace.config, timeout=5),
    ):
        with pytest.raises(pylitestream.PylitestreamError, match="no-such-setting") as caught:
            check()
        assert not isinstance(caught.value, pylitestream.VerificationFailure)
    assert launches.argvs == []
    kwargs: dict[str, Any] = {"config": workspace.config, "timeout": 5, "validate": False}
    assert verification.verify(workspace.db, **kwargs)["ok"] is True
    assert [r["ok"] for r in verification.verify_all(**kwargs)] == [True]


def test_verify_all_polls_like_verify(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = in_turn(_as_before(workspace), _fresh(workspace.db))
    (record,) = verification.verify_all(config=workspace.config, timeout=5)
    assert record["ok"] is True and record["seconds_to_visible"] >= 0.05
    assert len(launches.argvs) == 2 and 4 < (launches.timeouts[0] or 0) <= 5


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_every_replica_of_a_database_is_named(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock
) -> None:
    second = workspace.root / "second-replica"
    replicas = [
        {"name": "one", "type": "file", "path": str(workspace.replica)},
        {"name": "two", "type": "file", "path": str(second)},
    ]
    workspace.config.write_text(
        yaml.safe_dump({"dbs": [{"path": str(workspace.db), "replicas": replicas}]})
    )
    launches.restore = _fresh(workspace.db)
    record = _verify(workspace, clock)
    assert record["replica"] == f"file:{workspace.replica}, file:{second}"


def test_ctrl_c_stops_every_verify_all_worker(
    launches: Launches, workspace: Workspace, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first database's restore is interrupted; the second, polling a stale backup, stops
    at its next wait instead of running to its timeout, and both clean up."""
    import time

    first = workspace.root / "first.db"
    create_db(first)
    config = write_config(
        workspace.root / "two.yml",
        launches.line,
        [
            (first, {"type": "file", "path": str(workspace.root / "r1")}),
            (workspace.db, {"type": "file", "path": str(workspace.replica)}),
        ],
    )
    launches.restore = _as_before(workspace)
    played = subprocess.Popen

    def interrupted_for_the_first(argv: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(argv, list) and argv[-1:] == [str(first)]:
            raise KeyboardInterrupt
        return played(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", interrupted_for_the_first)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        verification.verify_all(config=config, timeout=20)
    assert time.monotonic() - started < 10
    assert _sentinels(first) == [] and _sentinels(workspace.db) == []


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_0_3_has_no_socket_to_ask(
    launches: Launches, workspace: Workspace, private_tmp: Path, clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from pylitestream.litestream import control_socket

    settings = yaml.safe_load(workspace.config.read_text())
    settings["socket"] = {"enabled": True, "path": str(workspace.root / "ls.sock")}
    workspace.config.write_text(yaml.safe_dump(settings))  # 0.3 ignores it (validation says so)
    monkeypatch.setattr(control_socket, "ControlSocket", FakeSocket)
    monkeypatch.setattr(FakeSocket, "calls", [])
    launches.restore = _fresh(workspace.db)
    record = verification._verify(workspace.db, workspace.config, 5, False, clock, False)
    assert record["ok"] is True and record["method"] == "restore-poll"
    assert FakeSocket.calls == []


# Recorded: litestream 0.5.17 restore, moto on http://127.0.0.1, a bucket that does not exist.
RECORDED_NO_BUCKET = (
    "Error: get v0.3.x time bounds: s3: list generations: operation error S3: ListObjectsV2, "
    "https response error StatusCode: 404, RequestID: ttAT4teSkZb5ULtUL3laY3fh6dLFTeXib7ILcZ2mP6"
    "hKn01VB3eZ, HostID: 9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0q"
    "yPfg=, NoSuchBucket: The specified bucket does not exist"
)


def test_an_aws_error_is_passed_on_as_what_it_says() -> None:
    from pylitestream.litestream.failures import plain_message

    assert plain_message(RECORDED_NO_BUCKET) == (
        "S3 ListObjectsV2: HTTP 404: NoSuchBucket: The specified bucket does not exist"
    )
    assert classify(plain_message(RECORDED_NO_BUCKET)) == "not_found"
    assert plain_message("Error: no matching backup files available") == (
        "Error: no matching backup files available"
    )


# Written to kill mutants scripts/mutation found surviving: each pins one rule no faster
# test held.
def _verify_public(ws: Workspace, timeout: float = 1.5) -> dict[str, Any]:
    try:
        return dict(pylitestream.verify(ws.db, config=ws.config, timeout=timeout))
    except pylitestream.VerificationFailure as exc:
        assert exc.record["ok"] is False
        assert f"verify {ws.db}: {exc.reason}: " in str(exc)
        return dict(exc.record)


def _sentinel_count(db: Path) -> int:
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
    launches.restore = lambda out: (backup_of(workspace.db, out), exited_ok(out))[1]
    record = _verify_public(workspace)
    assert tuple(record) == VERIFY_RECORD_KEYS
    assert record["ok"] is True and record["reason"] is None and record["integrity"] == "ok"
    assert record["method"] == "restore-poll"
    assert record["replica"] == f"file:{workspace.replica}"
    assert record["litestream"] == launches.exe.parent.parent.name
    assert 0 <= record["seconds_to_visible"] < 1.5
    assert record["restored_size"] > 0
    assert "sentinel" in record["message"]
    assert _sentinel_count(workspace.db) == 0  # removed again
    argv = launches.argvs[0]
    assert argv[:3] == ["restore", "-config", str(workspace.config)]
    assert argv[-1] == str(workspace.db)


def test_verify_stale_when_the_sentinel_never_arrives(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    before = workspace.root / "before.db"
    backup_of(workspace.db, before)  # the replica as it was: no sentinel will ever reach it
    launches.restore = lambda out: (backup_of(before, out), exited_ok(out))[1]
    started = time.monotonic()
    record = _verify_public(workspace, timeout=0.5)
    assert record["reason"] == "stale", record
    assert "did not reach it within 0.5 s" in record["message"]
    assert record["integrity"] == "ok" and record["seconds_to_visible"] is None
    assert 0.45 < time.monotonic() - started < 5
    assert len(launches.argvs) >= 2  # it polled, not gave up at once
    assert _sentinel_count(workspace.db) == 0


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
    record = _verify_public(workspace, timeout=0.3)
    assert record["reason"] == reason, record
    assert record["message"] == f"restore failed: {stderr.removeprefix('Error: ')}"
    assert record["integrity"] is None and record["seconds_to_visible"] is None
    assert _sentinel_count(workspace.db) == 0


def test_verify_no_backup_when_litestream_restores_nothing(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = exited_ok  # exit 0 and no file: 0.3's -if-replica-exists with no backup
    record = _verify_public(workspace, timeout=0.3)
    assert record["reason"] in ("no_backup",), record
    assert record["message"] == f"no backup of this database on file:{workspace.replica}"


def test_verify_corrupt_when_the_copy_cannot_be_read(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = lambda out: (out.write_bytes(b"not a database" * 100), exited_ok(out))[1]
    record = _verify_public(workspace, timeout=0.3)
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
    record = _verify_public(workspace, timeout=0.3)
    assert record["reason"] == "timeout", record  # a file replica: no endpoint to try
    assert record["message"].startswith("the replica did not answer within ")


def test_verify_refuses_before_touching_anything(
    launches: Launches, workspace: Workspace, private_tmp: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    record = _verify_public(Workspace(workspace.root, other, workspace.replica, workspace.config))
    assert record["reason"] == "not_in_config"
    assert record["message"] == f"{other} is not in {workspace.config}"
    assert not other.exists()
    workspace.db.unlink()
    record = _verify_public(workspace)
    assert record["reason"] == "no_database"
    assert not workspace.db.exists()
    assert launches.argvs == []


def test_verify_redacts_a_secret_litestream_prints(
    launches: Launches, workspace: Workspace, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret")
    launches.restore = _failed("Error: bad key wJalrXUtnFEMI-secret: connection refused")
    record = _verify_public(workspace, timeout=0.3)
    assert record["message"] == "restore failed: bad key ****: connection refused"


@pytest.mark.parametrize("quick", [False, True], ids=["integrity_check", "quick_check"])
def test_verify_runs_the_integrity_check_it_was_asked_for(
    launches: Launches, workspace: Workspace, private_tmp: Path, quick: bool
) -> None:
    conn = sqlite3.connect(workspace.db)
    with conn:
        conn.execute("CREATE INDEX by_name ON items(name)")
        conn.executemany("INSERT INTO items (name) VALUES (?)", [("row-aaaa",), ("row-bbbb",)])
    conn.close()
    launches.restore = lambda out: (index_out_of_step(workspace.db, out), exited_ok(out))[1]
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
    return lambda out: (backup_of(before, out), exited_ok(out))[1]


def test_verify_keeps_the_last_failure_after_a_stale_restore(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    refused = _failed("Error: dial tcp 127.0.0.1:9: connect: connection refused")
    launches.restore = in_turn(_stale_copy(workspace), refused)
    record = _verify_public(workspace, timeout=0.5)
    assert record["reason"] == "unreachable", record


def test_verify_gives_each_restore_the_time_left(
    launches: Launches, workspace: Workspace, private_tmp: Path
) -> None:
    launches.restore = lambda out: (backup_of(workspace.db, out), exited_ok(out))[1]
    assert _verify_public(workspace, timeout=20)["ok"]
    first = launches.timeouts[0]
    assert first is not None and 15 < first <= 20, launches.timeouts


def test_last_verifies_reads_only_what_is_kept(private_tmp: Path) -> None:
    """The fleet's last verify results at once: the same records as last_verify, None for a
    database never verified, keyed by absolute path."""
    from pylitestream import cache
    from pylitestream.api import last_verifies

    dbs = [private_tmp / f"t{n}.db" for n in range(5)]
    kept = {"database": str(dbs[2]), "ok": True, "finished_at": "2026-12-05T10:00:00Z"}
    cache.write_json(cache.state_path("verify", str(dbs[2])), kept)
    found = last_verifies(dbs)
    assert found == {str(db): (kept if db == dbs[2] else None) for db in dbs}
    assert found[str(dbs[2])] == pylitestream.last_verify(dbs[2])
