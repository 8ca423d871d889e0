"""`pylitestream check` end to end: a real 0.5.17 daemon with its socket (file and moto S3
replicas, frozen with SIGSTOP, stopped) and a real 0.3.13 daemon (healthy, then stalled)."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from conftest import (
    S3_SECRET,
    Litestream,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    pid_alive,
    s3_replica,
    start_replicate,
    start_s3,
    stop_process,
    wait_for,
    write_config,
)
from servers import Daemon, ping_server, socket_config

import pylitestream
from pylitestream.health import RECORD_KEYS

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
LS03 = pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)


def check_json(config: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = cli("check", "--json", "-c", str(config), *args)
    assert "Traceback" not in result.err
    return result.code, json.loads(result.out), result.err


def healthy(config: Path) -> list[dict[str, object]]:
    """Wait until check passes with the replica caught up (the first upload takes a moment)."""

    def passes() -> list[dict[str, object]] | None:
        code, rows, _ = check_json(config)
        return rows if code == 0 and rows[0]["lag_seconds"] == 0 else None

    rows: list[dict[str, object]] = wait_for(passes, 30)
    return rows


@LS05
def test_healthy_daemon_exits_0(daemon: Daemon) -> None:
    insert_rows(daemon.db, ["a", "b", "c"])
    rows = healthy(daemon.config)
    assert len(rows) == 1
    row = rows[0]
    assert tuple(row) == RECORD_KEYS
    assert row["database"] == str(daemon.db)
    assert row["ok"] is True and row["status"] == "ok" and row["reason"] is None
    assert row["replica_reachable"] is True
    assert row["local_txid"] == row["replica_txid"]
    assert isinstance(row["local_txid"], str) and len(row["local_txid"]) == 16
    assert row["lag_seconds"] == 0.0
    assert isinstance(row["seconds_since_sync"], float) and row["seconds_since_sync"] < 10
    api = pylitestream.check(config=daemon.config, max_lag=30)
    assert api[0]["ok"] is True
    one = pylitestream.check(daemon.db, config=daemon.config)
    assert [r["database"] for r in one] == [str(daemon.db)]
    table = cli("check", "-c", str(daemon.config), env={"COLUMNS": "300"})
    assert table.code == 0 and str(daemon.db) in table.out and table.err == ""


@LS05
def test_frozen_daemon_fails_naming_the_database(daemon: Daemon) -> None:
    healthy(daemon.config)
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        for batch in range(5):
            insert_rows(daemon.db, [f"frozen-{batch}-{i}" for i in range(20)])
        result = cli("check", "-c", str(daemon.config), "--max-lag", "3", "--timeout", "1")
        line = assert_one_error_line(result, 1, str(daemon.db), "did not answer")
        assert "1 of 1 database(s) failing" in line
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    stop_process(daemon.proc)
    assert not pid_alive(daemon.proc.pid)


@LS05
def test_daemon_not_running_fails(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    code, rows, err = check_json(config)
    assert code == 1
    assert rows[0]["status"] == "not_running" and rows[0]["ok"] is False
    assert str(db) in err and "not running" in err


@LS05
def test_stall_local_advances_replica_does_not(ls: Litestream, tmp_path: Path) -> None:
    """A replica sync interval of an hour: the daemon answers and takes each commit into its
    local TXID, but nothing reaches the replica. The first look records the replica's position;
    later looks see the local TXID move on while the replica's stays."""
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db], **{"sync-interval": "1h"})
    proc = start_replicate(config, tmp_path / "replicate.log")
    try:
        wait_for((tmp_path / "ls.sock").exists)

        def fails() -> tuple[int, list[dict[str, object]], str] | None:
            insert_rows(db, ["more"])
            outcome = check_json(config, "--max-lag", "2")
            return outcome if outcome[0] == 1 else None

        _, rows, err = wait_for(fails, 30, interval=0.5)
        row = rows[0]
        assert row["status"] == "stalled", row
        assert str(row["local_txid"]) > str(row["replica_txid"])
        assert isinstance(row["lag_seconds"], float) and row["lag_seconds"] > 2
        assert row["replica_reachable"] is False  # no sync has reached it for > --max-lag
        assert f"{db}: stalled" in err
    finally:
        stop_process(proc)
        assert not pid_alive(proc.pid)


@LS05
def test_unreachable_s3_fails(ls: Litestream, tmp_path: Path) -> None:
    server = start_s3()  # our own: this test stops it
    try:
        server.create_bucket("checkbucket")
        db = tmp_path / "app.db"
        create_db(db)
        config = socket_config(tmp_path, ls.line, [db])
        settings = yaml.safe_load(config.read_text())
        settings["dbs"][0]["replica"] = s3_replica(server, "checkbucket", "app")
        config.write_text(yaml.safe_dump(settings))
        proc = start_replicate(config, tmp_path / "replicate.log")
        try:
            wait_for((tmp_path / "ls.sock").exists)
            insert_rows(db, ["before"])
            healthy(config)
            server.stop()

            def fails() -> tuple[int, list[dict[str, object]], str] | None:
                insert_rows(db, ["after"])
                outcome = check_json(config, "--max-lag", "2", "--timeout", "2")
                return outcome if outcome[0] == 1 else None

            _, rows, err = wait_for(fails, 30, interval=0.5)
            # Either litestream's sync waits on the dead endpoint past --timeout, or it answers
            # and the replica's TXID and last sync stand still while data waits.
            assert rows[0]["status"] in ("unreachable", "lagging", "stalled"), rows
            assert rows[0]["replica_reachable"] is False
            assert f"{db}: " in err and ("unreachable" in err or "is it reachable?" in err)
            assert len([x for x in err.splitlines() if x.strip()]) == 1
            assert S3_SECRET not in err + json.dumps(rows)  # the config holds it inline
        finally:
            stop_process(proc, timeout=5)
            assert not pid_alive(proc.pid)
    finally:
        server.stop()
        assert not pid_alive(server.proc.pid)


# --- --ping-url ----------------------------------------------------------------------------------


@LS05
def test_ping_url(daemon: Daemon, tmp_path: Path) -> None:
    """A ping when healthy, URL/fail when not, and URL/fail when check fails before it has
    records (here a config without the control socket)."""
    healthy(daemon.config)
    replica = {"type": "file", "path": str(tmp_path / "r")}
    no_socket = write_config(tmp_path / "no-socket.yml", "0.5", [(daemon.db, replica)])
    with ping_server() as (base, pings):
        url = f"{base}/secret-uuid-1234"
        ok = cli("check", "-c", str(daemon.config), "--ping-url", url)
        stop_process(daemon.proc)
        failed = cli("check", "-c", str(daemon.config), "--ping-url", url)
        refused = cli("check", "-c", str(no_socket), "--ping-url", url)
    assert ok.code == 0, ok.err
    assert_one_error_line(failed, 1, str(daemon.db))
    assert_one_error_line(refused, 2, "socket.enabled")
    assert [path for path, _ in pings] == ["/secret-uuid-1234", "/secret-uuid-1234/fail",
                                           "/secret-uuid-1234/fail"]  # fmt: skip
    assert str(daemon.db) in pings[1][1] and "not running" in pings[1][1]
    assert "socket.enabled" in pings[2][1]
    for result in (ok, failed, refused):
        assert "secret-uuid-1234" not in result.out + result.err


# --- 0.3 -----------------------------------------------------------------------------------------


@LS03
def test_03_healthy_then_stalled(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    replica = {"type": "file", "path": str(tmp_path / "replica")}
    config = write_config(tmp_path / "litestream.yml", ls.line, [(db, replica)])
    proc = start_replicate(config, tmp_path / "replicate.log")
    try:
        insert_rows(db, ["a"])
        rows = healthy(config)
        assert rows[0]["status"] == "ok" and rows[0]["replica_reachable"] is True
        assert rows[0]["local_txid"] is None and rows[0]["replica_txid"] is None  # 0.3: unknown
        assert rows[0]["lag_seconds"] == 0.0
        os.kill(proc.pid, signal.SIGSTOP)
        try:

            def fails() -> tuple[int, list[dict[str, object]], str] | None:
                insert_rows(db, ["while frozen"])
                outcome = check_json(config, "--max-lag", "3")
                return outcome if outcome[0] == 1 else None

            _, rows, err = wait_for(fails, 30, interval=0.5)
            assert rows[0]["status"] == "stalled", rows
            assert isinstance(rows[0]["lag_seconds"], float) and rows[0]["lag_seconds"] > 3
            assert f"{db}: stalled" in err
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        # Thawed, it catches up and check passes again.
        healthy(config)
    finally:
        stop_process(proc)
        assert not pid_alive(proc.pid)
    code, rows, err = check_json(config)
    assert code == 1 and rows[0]["status"] == "not_running"
    assert f"{db}: litestream is not running" in err


@LS05
def test_stopped_and_not_replicated_databases_fail(ls: Litestream, tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    for db in (first, second):
        create_db(db)
    config = socket_config(tmp_path, ls.line, [first, second])
    proc = start_replicate(config, tmp_path / "replicate.log", count=2)
    try:
        wait_for((tmp_path / "ls.sock").exists)
        healthy_both = wait_for(lambda: check_json(config)[0] == 0, 30)
        assert healthy_both
        assert cli("stop", "-c", str(config), "-d", str(first)).code == 0
        assert cli("unregister", "-c", str(config), "-d", str(second)).code == 0
        code, rows, err = check_json(config)
        assert code == 1
        assert [r["status"] for r in rows] == ["stopped", "not_replicated"]
        assert f"{first}: stopped" in err and f"{second}: the running litestream" in err
        assert len(err.strip().splitlines()) == 1
        only = cli("check", "-c", str(config), "-d", str(first))
        assert_one_error_line(only, 1, str(first))
        assert str(second) not in only.err
    finally:
        stop_process(proc)
        assert not pid_alive(proc.pid)


@LS05
def test_check_needs_the_socket_on_05(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", ls.line, [(db, {"type": "file", "path": "/r"})])
    result = cli("check", "-c", str(config))
    assert_one_error_line(result, 2, "socket.enabled")


@LS05
def test_failed_ping_warns_and_keeps_the_exit_code(daemon: Daemon) -> None:
    import socket as sockets

    healthy(daemon.config)
    with sockets.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/token-abcdef"
    result = cli("check", "-c", str(daemon.config), "--ping-url", url)
    assert result.code == 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pylitestream: warning: ping to")
    assert "token-abcdef" not in result.err + result.out


@LS05
def test_runtime_dir_is_recreated_after_a_reboot(ls: Litestream, tmp_path: Path) -> None:
    """The runtime dir lives on a tmpfs a reboot empties: checking an init-written config
    re-creates it, private, instead of failing."""
    import shutil
    import stat

    from pylitestream.config.socket import runtime_dir

    db = tmp_path / "app.db"
    create_db(db)
    config = tmp_path / "litestream.yml"
    assert cli("init", "-d", str(db), "--replica", str(tmp_path / "r"), "-o", str(config)).code == 0
    shutil.rmtree(runtime_dir())
    result = cli("config", "check", "-c", str(config))
    assert result.code == 0, result.err
    assert stat.S_IMODE(runtime_dir().stat().st_mode) == 0o700
