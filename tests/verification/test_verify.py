"""verify end to end: real 0.3.13 and 0.5.17, file replicas and moto S3 on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    S3_SECRET,
    Litestream,
    S3Server,
    Workspace,
    assert_one_error_line,
    cli,
    create_db,
    default_sigint,
    pid_alive,
    replicate_process,
    s3_replica,
    start_s3,
    stop_process,
    wait_for,
    write_config,
)
from servers import ping_server

import pylitestream
from pylitestream.litestream.failures import classify
from pylitestream.verification import RECORD_KEYS


def sentinel_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM _litestream_verification").fetchone()[0])
    finally:
        conn.close()


def assert_ok(record: dict[str, Any], litestream: str, method: str = "restore-poll") -> None:
    assert tuple(record) == RECORD_KEYS
    assert record["ok"] is True and record["reason"] is None, record
    assert record["integrity"] == "ok"
    assert record["litestream"] == litestream
    assert record["method"] == method
    assert 0 < record["seconds_to_visible"] < 10
    assert record["restored_size"] > 0


def test_verify_file_success(
    ls: Litestream, workspace: Workspace, replicating: object, private_tmp: Path
) -> None:
    ws = workspace
    before = sorted(p.name for p in ws.root.iterdir())
    record = pylitestream.verify(ws.db, config=ws.config, timeout=15)
    assert_ok(record, ls.version)
    assert record["replica"] == f"file:{ws.replica}"
    assert sentinel_rows(ws.db) == 0
    assert list(private_tmp.iterdir()) == []

    result = cli("verify", "-d", str(ws.db), "-c", str(ws.config), "--json", "--quick",
                 env={"TMPDIR": str(private_tmp)}, cwd=private_tmp)  # fmt: skip
    assert result.code == 0, result.err
    assert_ok(json.loads(result.out), ls.version)
    assert sentinel_rows(ws.db) == 0
    assert list(private_tmp.iterdir()) == []
    # Only litestream's own files appeared beside the database, nothing of verify's.
    added = {p.name for p in ws.root.iterdir()} - set(before)
    assert added <= {"app.db-wal", "app.db-shm", ".app.db-litestream", "replica"}, added


def test_verify_s3_success(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, private_tmp: Path,
) -> None:  # fmt: skip
    db = tmp_path / "app.db"
    create_db(db)
    cfg = write_config(tmp_path / "ls.yml", ls.line, [(db, s3_replica(s3_server, s3_bucket, "db"))])
    with replicate_process(cfg, tmp_path / "rep.log"):
        result = cli("verify", "--database", str(db), "--config", str(cfg), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert_ok(record, ls.version)
    assert record["replica"] == f"s3://{s3_bucket}/db"
    assert S3_SECRET not in result.out + result.err
    assert sentinel_rows(db) == 0
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
def test_verify_sync_wait_with_socket(ls: Litestream, tmp_path: Path, private_tmp: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    cfg = write_config(
        tmp_path / "ls.yml", ls.line, [(db, {"type": "file", "path": str(tmp_path / "r")})]
    )
    settings = yaml.safe_load(cfg.read_text())
    settings["socket"] = {"enabled": True, "path": str(tmp_path / "ls.sock")}
    # A long sync interval: only `sync -wait` can get the row there in time.
    settings["dbs"][0]["replica"]["sync-interval"] = "1h"
    cfg.write_text(yaml.safe_dump(settings))
    with replicate_process(cfg, tmp_path / "rep.log"):
        record = pylitestream.verify(db, config=cfg, timeout=10)
    assert_ok(record, ls.version, method="sync-wait")
    assert record["seconds_to_visible"] < 3
    assert sentinel_rows(db) == 0


def test_verify_stale_when_replication_stopped(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes], private_tmp: Path
) -> None:
    ws = workspace
    assert pylitestream.verify(ws.db, config=ws.config, timeout=15)["ok"]
    stop_process(replicating)
    start = time.monotonic()
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        pylitestream.verify(ws.db, config=ws.config, timeout=2)
    assert time.monotonic() - start < 2 + 2
    assert caught.value.reason == "stale"
    assert caught.value.record["integrity"] == "ok"  # the old backup itself is fine
    assert sentinel_rows(ws.db) == 0
    assert list(private_tmp.iterdir()) == []

    result = cli("verify", "-d", str(ws.db), "-c", str(ws.config), "--timeout", "1")
    assert_one_error_line(result, 1, "stale", str(ws.db))


def test_verify_no_backup(ls: Litestream, workspace: Workspace, private_tmp: Path) -> None:
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        pylitestream.verify(workspace.db, config=workspace.config, timeout=1)
    assert caught.value.reason == "no_backup"
    assert sentinel_rows(workspace.db) == 0
    assert list(private_tmp.iterdir()) == []


def test_verify_s3_unreachable_within_timeout(
    ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    server = start_s3()
    try:
        bucket = server.create_bucket("unreachable")
        db = tmp_path / "app.db"
        create_db(db)
        replica = s3_replica(server, bucket, "db")
        cfg = write_config(tmp_path / "ls.yml", ls.line, [(db, replica)])
        with replicate_process(cfg, tmp_path / "rep.log"):
            assert pylitestream.verify(db, config=cfg, timeout=15)["ok"]
    finally:
        server.stop()
    assert not pid_alive(server.proc.pid)
    start = time.monotonic()
    result = cli("verify", "-d", str(db), "-c", str(cfg), "--timeout", "3", "--json",
                 env={"TMPDIR": str(private_tmp)})  # fmt: skip
    assert time.monotonic() - start < 3 + 6  # not 0.5's two minutes of retries
    assert result.code == 1
    assert json.loads(result.out)["reason"] == "unreachable"
    assert_one_error_line(result, 1, "unreachable")
    assert S3_SECRET not in result.out + result.err
    assert sentinel_rows(db) == 0
    assert list(private_tmp.iterdir()) == []


def _wait_for_first_snapshot(ls: Litestream, log: Path) -> None:
    """0.5 writes its first snapshot and compaction about 2 s after it starts; tampering before
    that would let a fresh, intact snapshot legitimately repair the replica."""
    if ls.line == "0.5":
        wait_for(lambda: "snapshot complete" in log.read_text())


def _truncate_files(root: Path) -> int:
    files = [p for p in root.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return len(files)


def test_verify_tampered_file_replica_never_succeeds(
    ls: Litestream, workspace: Workspace, replicating: object, private_tmp: Path
) -> None:
    ws = workspace
    assert pylitestream.verify(ws.db, config=ws.config, timeout=15)["ok"]
    _wait_for_first_snapshot(ls, ws.root / "replicate.log")
    assert _truncate_files(ws.replica) > 0
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        pylitestream.verify(ws.db, config=ws.config, timeout=2)
    assert caught.value.reason == "corrupt", caught.value
    assert sentinel_rows(ws.db) == 0
    assert list(private_tmp.iterdir()) == []


def test_verify_tampered_s3_object_never_succeeds(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, private_tmp: Path,
) -> None:  # fmt: skip
    db = tmp_path / "app.db"
    create_db(db)
    cfg = write_config(tmp_path / "ls.yml", ls.line, [(db, s3_replica(s3_server, s3_bucket, "db"))])
    s3 = s3_server.client()
    with replicate_process(cfg, tmp_path / "rep.log"):
        assert pylitestream.verify(db, config=cfg, timeout=15)["ok"]
        _wait_for_first_snapshot(ls, tmp_path / "rep.log")
        for obj in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]:
            body = s3.get_object(Bucket=s3_bucket, Key=obj["Key"])["Body"].read()
            s3.put_object(Bucket=s3_bucket, Key=obj["Key"], Body=body[: len(body) // 2])
        with pytest.raises(pylitestream.VerificationFailure) as caught:
            pylitestream.verify(db, config=cfg, timeout=2)
    assert caught.value.reason == "corrupt", caught.value
    assert sentinel_rows(db) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_verify_interrupted_leaves_nothing(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes], signum: int
) -> None:
    ws = workspace
    wait_for(lambda: any(p.is_file() for p in ws.replica.rglob("*")))
    stop_process(replicating)  # the sentinel will never arrive: verify waits until interrupted
    tmp, cwd = ws.root / "tmpdir", ws.root / "cwd"
    tmp.mkdir()
    cwd.mkdir()
    before = sorted(p.name for p in ws.root.iterdir())
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylitestream", "verify", "-d", str(ws.db), "-c", str(ws.config),
         "--timeout", "30"],
        cwd=cwd, env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )  # fmt: skip
    try:
        wait_for(lambda: sentinel_rows(ws.db) == 1)
        # Into the polling: verify has made its work directory in TMPDIR.
        wait_for(lambda: any(p.name.startswith("pylitestream-verify-") for p in tmp.iterdir()))
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=10)
    finally:
        stop_process(proc)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert sentinel_rows(ws.db) == 0
    assert list(tmp.iterdir()) == [], [list(p.rglob("*")) for p in tmp.iterdir()]
    assert list(cwd.iterdir()) == []
    # Nothing new beside the database (SQLite may have checkpointed away the -wal and -shm).
    assert {p.name for p in ws.root.iterdir()} - set(before) == set()
    assert "app.db" in {p.name for p in ws.root.iterdir()}


def test_verify_all_one_good_one_bad(ls: Litestream, tmp_path: Path, private_tmp: Path) -> None:
    good, bad = tmp_path / "good.db", tmp_path / "bad.db"
    create_db(good)
    create_db(bad)
    replica = {"type": "file", "path": str(tmp_path / "good-replica")}
    bad_replica = {"type": "file", "path": str(tmp_path / "bad-replica")}
    only_good = write_config(tmp_path / "good.yml", ls.line, [(good, replica)])
    both = write_config(tmp_path / "both.yml", ls.line, [(good, replica), (bad, bad_replica)])
    with replicate_process(only_good, tmp_path / "rep.log"):
        result = cli("verify", "--all", "-c", str(both), "--json", "--timeout", "4",
                     env={"TMPDIR": str(private_tmp)})  # fmt: skip
    assert result.code == 1, result.err
    records = json.loads(result.out)
    assert [r["database"] for r in records] == [str(good), str(bad)]
    assert records[0]["ok"] is True and records[1]["ok"] is False
    assert records[1]["reason"] == "no_backup"
    assert_one_error_line(result, 1, "1 of 2", str(bad))
    assert sentinel_rows(good) == 0 and sentinel_rows(bad) == 0
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_verify_all_runs_concurrently(ls: Litestream, tmp_path: Path, private_tmp: Path) -> None:
    dbs = [tmp_path / f"db{i}.db" for i in range(3)]
    for db in dbs:
        create_db(db)
    cfg = write_config(
        tmp_path / "ls.yml", ls.line, [(db, {"type": "file", "path": f"{db}-r"}) for db in dbs]
    )
    start = time.monotonic()
    records = pylitestream.verify_all(config=cfg, timeout=1.5)
    assert time.monotonic() - start < 3.0  # one after another would take at least 4.5 s
    assert [r["reason"] for r in records] == ["no_backup"] * 3
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
def test_verify_ping_url(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes]
) -> None:
    ws = workspace
    with ping_server() as (base, received):
        url = f"http://user:hunter22@{base[7:]}/ping/uuid-token-1234?key=qsecret99"
        ok = cli("verify", "-d", str(ws.db), "-c", str(ws.config), "--ping-url", url)
        assert ok.code == 0, ok.err
        stop_process(replicating)
        bad = cli("verify", "-d", str(ws.db), "-c", str(ws.config), "--ping-url", url,
                  "--timeout", "1")  # fmt: skip
        assert_one_error_line(bad, 1, "stale")
        # Refused before anything is verified: URL/fail too, with the error line.
        refused = cli("verify", "-d", str(ws.root / "other.db"), "-c", str(ws.config),
                      "--ping-url", url)  # fmt: skip
        assert_one_error_line(refused, 1, "other.db", "is not in")
    paths = [path for path, _body in received]
    assert paths == [
        "/ping/uuid-token-1234?key=qsecret99",
        "/ping/uuid-token-1234/fail?key=qsecret99",
        "/ping/uuid-token-1234/fail?key=qsecret99",
    ]
    assert "other.db" in received[2][1]
    assert "stale" in received[1][1]
    for result in (ok, bad, refused):
        for secret in ("hunter22", "uuid-token-1234", "qsecret99"):
            assert secret not in result.out + result.err

    # The monitor is down: verify still reports its own result; the warning hides the URL's secrets.
    down = cli("verify", "-d", str(ws.db), "-c", str(ws.config), "--ping-url", url,
               "--timeout", "1")  # fmt: skip
    assert down.code == 1
    assert any(
        line.startswith("pylitestream: warning: ping to http://127.0.0.1:")
        for line in down.error_lines
    )
    for secret in ("hunter22", "uuid-token-1234", "qsecret99"):
        assert secret not in down.out + down.err


def test_verify_not_in_config_and_usage(
    ls: Litestream, workspace: Workspace, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    create_db(other)
    with pytest.raises(pylitestream.VerificationFailure) as caught:
        pylitestream.verify(other, config=workspace.config)
    assert caught.value.reason == "not_in_config"
    assert caught.value.exit_code == 1
    result = cli("verify", "-d", str(other), "-c", str(workspace.config))
    assert_one_error_line(result, 1, "not_in_config", str(other))
    with pytest.raises(sqlite3.OperationalError):
        sentinel_rows(other)  # nothing was written to a database outside the config
    assert_one_error_line(cli("verify", "-c", str(workspace.config)), 2, "--database", "--all")
    both = cli("verify", "--all", "-d", str(workspace.db), "-c", str(workspace.config))
    assert_one_error_line(both, 2, "--database", "--all")
    empty = tmp_path / "empty.yml"
    empty.write_text("dbs: []\n")
    assert_one_error_line(cli("verify", "--all", "-c", str(empty)), 2, "lists no databases")
    missing = cli("verify", "-d", str(tmp_path / "nope.db"), "-c", str(workspace.config))
    assert_one_error_line(missing, 1, "not_in_config")
    assert not (tmp_path / "nope.db").exists()


def test_classify_recorded_messages() -> None:
    # Real messages from litestream 0.3.13 / 0.5.17, as their restores printed them.
    assert classify("no matching backups found") == "no_backup"
    assert classify("no matching backup files available") == "no_backup"
    assert classify("cannot restore snapshot: unexpected EOF") == "corrupt"
    assert classify("cannot restore snapshot: lz4: invalid source or destination buffer too short")\
        == "corrupt"  # fmt: skip
    assert classify("decode database: decode page 40: read page header 0: read compressed data: "
                    "unexpected EOF") == "corrupt"  # fmt: skip
    assert classify('cannot fetch generations: RequestError: send request failed caused by: '
                    'Get "http://127.0.0.1:5055/b": dial tcp 127.0.0.1:5055: connect: '
                    "connection refused") == "unreachable"  # fmt: skip
    # A replica URL Go cannot parse is not corrupt data, whatever the word "invalid" says.
    assert classify('parse "sftp://bob:****@127.0.0.1:badport/x": invalid port ":badport" '
                    "after host") == "unreachable"  # fmt: skip
    assert classify("something else entirely") == "restore_failed"
