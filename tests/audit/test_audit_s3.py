"""`pylitestream audit` against moto, on both Litestream lines: three app directories, each with
its own litestream daemon, replicate into one bucket; the audit runs from a fresh directory that
has nothing but the bucket's credentials in its environment (no config, app, daemon, socket or
database file)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    S3_KEY_ID,
    S3_SECRET,
    Litestream,
    Result,
    S3Server,
    assert_one_error_line,
    cli,
    create_db,
    pid_alive,
    s3_replica,
    start_replicate,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream

APPS = ("alpha", "bravo", "charlie")
MONITOR_ENV = {"LITESTREAM_ACCESS_KEY_ID": S3_KEY_ID, "LITESTREAM_SECRET_ACCESS_KEY": S3_SECRET}


@dataclass
class App:
    db: Path
    config: Path
    proc: Any


@pytest.fixture
def bucket(ls: Litestream, s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A bucket of this test and line alone (s3_bucket's name, cut at 50 characters, would be
    the same for both lines of these long test names)."""
    name = f"{request.node.originalname[5:40]}-{ls.line}".replace("_", "-")
    return s3_server.create_bucket(name)


@pytest.fixture
def three_apps(
    ls: Litestream, s3_server: S3Server, bucket: str, tmp_path: Path
) -> Iterator[dict[str, App]]:
    """Three app directories, each replicating its own database to apps/NAME/db in one bucket,
    each through its own `pylitestream replicate` (which execs litestream: the pid is
    litestream's)."""
    apps: dict[str, App] = {}
    try:
        for name in APPS:
            root = tmp_path / name
            root.mkdir()
            db = root / "app.db"
            create_db(db)
            replica = s3_replica(s3_server, bucket, f"apps/{name}/db")
            config = write_config(root / "litestream.yml", ls.line, [(db, replica)])
            apps[name] = App(db, config, start_replicate(config, root / "replicate.log"))
        yield apps
    finally:
        for app in apps.values():
            stop_process(app.proc)
            assert not pid_alive(app.proc.pid)


@contextmanager
def writing(dbs: set[Path]) -> Iterator[set[Path]]:
    """A row into each database of `dbs` every 0.3 s until the block ends (remove a database
    from the set to stop writing to it)."""
    done = threading.Event()

    def write() -> None:
        while not done.wait(0.3):
            for db in list(dbs):
                conn = sqlite3.connect(db)
                with conn:
                    conn.execute("INSERT INTO items (name) VALUES (?)", (str(time.time()),))
                conn.close()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        yield dbs
    finally:
        done.set()
        thread.join()


def audit(monitor: Path, endpoint: str, url: str, *args: str) -> Result:
    """`pylitestream audit URL` run in `monitor` with only the bucket's credentials."""
    result = cli("audit", url, "--endpoint", endpoint, "--json", *args, env=MONITOR_ENV,
                 cwd=monitor)  # fmt: skip
    assert "Traceback" not in result.err
    assert S3_SECRET not in result.out + result.err
    return result


def bucket_state(s3_server: S3Server, bucket: str) -> dict[str, str]:
    listed = s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"]: item["ETag"] for item in listed}


def test_max_age_names_the_database_whose_daemon_was_killed(
    ls: Litestream, s3_server: S3Server, bucket: str, three_apps: dict[str, App], tmp_path: Path
) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    url = f"s3://{bucket}/apps"
    names = {name: f"{url}/{name}/db" for name in APPS}
    with writing({app.db for app in three_apps.values()}) as dbs:

        def all_fresh() -> Result | None:
            # Each daemon's first upload takes a moment: until then its database is not there.
            result = audit(monitor, s3_server.endpoint, url, "--max-age", "5")
            return result if result.code == 0 and len(json.loads(result.out)) == 3 else None

        result = wait_for(all_fresh, 30, interval=0.5)
        rows = json.loads(result.out)
        assert sorted(row["database"] for row in rows) == sorted(names.values())
        assert all(row["ok"] and row["line"] == ls.line for row in rows)
        assert all(row["age_seconds"] < 5 for row in rows)

        killed = three_apps["bravo"]
        os.kill(killed.proc.pid, signal.SIGKILL)
        killed.proc.wait()
        dbs.discard(killed.db)
        killed_at = time.monotonic()

        def stale() -> Result | None:
            result = audit(monitor, s3_server.endpoint, url, "--max-age", "5")
            return result if result.code != 0 else None

        result = wait_for(stale, 30, interval=0.5)
    line = assert_one_error_line(result, 1, names["bravo"], "stale")
    assert names["alpha"] not in line and names["charlie"] not in line
    assert time.monotonic() - killed_at > 3  # newest_at has second precision: up to 1 s early
    rows = {row["database"]: row for row in json.loads(result.out)}
    assert rows[names["bravo"]]["status"] == "stale"
    assert rows[names["bravo"]]["age_seconds"] > 5
    assert rows[names["alpha"]]["ok"] and rows[names["charlie"]]["ok"]
    assert list(monitor.iterdir()) == []  # the monitoring host's directory: nothing written


def corrupt_newest_file(ls: Litestream, s3_server: S3Server, bucket: str, app: App) -> str:
    """Overwrite, through S3, a backup file the latest restore needs: 0.5 the newest LTX file of
    the restore plan (bytes flipped past its header), 0.3 the newest WAL segment (lz4 no more).
    Returns its key."""
    client = s3_server.client()
    if ls.line == "0.5":
        plan = pylitestream.restore_plan(app.db, config=app.config)
        newest = max(plan["files"], key=lambda f: (f["max_txid"], f["level"]))
        key = f"apps/charlie/db/{int(newest['level']):04x}/{newest['name']}"
        data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        for offset in range(100, len(data), 7):
            data[offset] ^= 0xFF
    else:
        listed = client.list_objects_v2(Bucket=bucket, Prefix="apps/charlie/db/generations/")
        key = max(o["Key"] for o in listed["Contents"] if "/wal/" in o["Key"])
        data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
        data = bytearray(b"not an lz4 frame" + bytes(reversed(data)))
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))
    return key


def test_restore_drill_fails_the_corrupted_replica(
    ls: Litestream, s3_server: S3Server, bucket: str, three_apps: dict[str, App], tmp_path: Path
) -> None:
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    url = f"s3://{bucket}/apps"
    names = {name: f"{url}/{name}/db" for name in APPS}
    with writing({app.db for app in three_apps.values()}):
        time.sleep(2)
    for app in three_apps.values():
        stop_process(app.proc)  # SIGTERM: a final sync, then nothing more changes the bucket
    corrupt_newest_file(ls, s3_server, bucket, three_apps["charlie"])
    before = bucket_state(s3_server, bucket)

    result = audit(monitor, s3_server.endpoint, url, "--restore")

    line = assert_one_error_line(result, 1, names["charlie"], "restore drill failed")
    assert names["alpha"] not in line and names["bravo"] not in line
    rows = {row["database"]: row for row in json.loads(result.out)}
    assert rows[names["charlie"]]["drill"] == "failed"
    assert rows[names["charlie"]]["status"] == "drill_failed"
    # 0.3: "lz4: bad magic number"; 0.5: "decode page 1: ... unexpected EOF"
    assert rows[names["charlie"]]["drill_reason"].startswith("corrupt: ")
    for name in ("alpha", "bravo"):
        assert rows[names[name]]["drill"] == "ok", rows[names[name]]
        assert rows[names[name]]["ok"]
    assert bucket_state(s3_server, bucket) == before  # the audit wrote nothing to the replica
    assert list(monitor.iterdir()) == []
