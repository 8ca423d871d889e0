"""The daemon's commands over Litestream 0.5.17's real control socket: info, list, sync, txid,
register, unregister, start, stop, and `ps`; their errors; their refusal on 0.3.13."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    Litestream,
    Result,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    read_rows,
    start_replicate,
    stop_process,
    wait_for,
    write_config,
)
from servers import Daemon, socket_config

import pylitestream
from pylitestream.errors import (
    DaemonNotRunning,
    SocketPermissionDenied,
    SocketTimeout,
    UnknownDatabase,
)
from pylitestream.litestream.control_socket import ControlSocket

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


def run_json(*args: str) -> object:
    result = cli(*args, "--json")
    assert result.code == 0, result.err
    assert result.err == ""
    return json.loads(result.out)


@LS05
def test_info_list_txid(daemon: Daemon) -> None:
    c = str(daemon.config)
    info = run_json("info", "-c", c)
    assert isinstance(info, dict)
    assert set(info) == {"version", "pid", "uptime_seconds", "started_at", "database_count",
                         "socket"}  # fmt: skip
    assert info["version"] == "0.5.17"
    assert info["pid"] == daemon.proc.pid  # replicate execs litestream: same pid
    assert info["database_count"] == 1
    assert info["socket"] == str(daemon.socket)
    assert str(info["started_at"]).endswith("Z") and "." not in str(info["started_at"])

    listing = wait_for(lambda: (rows := run_json("list", "-c", c)) and rows[0]["last_sync_at"]
                       and rows)  # fmt: skip
    assert listing == [
        {"database": str(daemon.db), "status": "replicating",
         "last_sync_at": listing[0]["last_sync_at"]}
    ]  # fmt: skip

    insert_rows(daemon.db, ["a", "b"])
    before = run_json("txid", "-c", c, "-d", str(daemon.db))
    assert isinstance(before, dict)
    synced = run_json("sync", "-c", c, "-d", str(daemon.db))
    assert isinstance(synced, list)
    assert set(synced[0]) == {"database", "status", "txid", "replica_txid"}
    after = run_json("txid", "-c", c, "-d", str(daemon.db))
    assert isinstance(after, dict)
    assert len(after["txid"]) == 16 and int(after["txid"], 16) >= int(before["txid"], 16)
    assert after["txid"] == synced[0]["txid"]

    table = cli("list", "-c", c, env={"COLUMNS": "300"})
    assert table.code == 0 and str(daemon.db) in table.out and "replicating" in table.out


@LS05
def test_sync_wait_then_restore_holds_every_row(daemon: Daemon, tmp_path: Path) -> None:
    # A long sync interval: only sync --wait can have uploaded the rows when restore runs.
    settings = yaml.safe_load(daemon.config.read_text())
    settings["dbs"][0]["replica"]["sync-interval"] = "1h"
    daemon.config.write_text(yaml.safe_dump(settings))
    stop_process(daemon.proc)
    daemon.proc = start_replicate(daemon.config, daemon.log)
    wait_for(daemon.socket.exists)
    names = [f"row-{i}" for i in range(500)]
    for start in range(0, 500, 50):
        insert_rows(daemon.db, names[start : start + 50])
    result = cli("sync", "--wait", "-c", str(daemon.config), "-d", str(daemon.db), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)[0]
    assert record["status"] == "synced"
    assert record["txid"] == record["replica_txid"]
    copy = tmp_path / "copy.db"
    assert pylitestream.restore(daemon.db, copy, config=daemon.config) == str(copy)
    assert read_rows(copy) == names


@LS05
def test_stop_start_register_unregister(daemon: Daemon, tmp_path: Path) -> None:
    c, d = str(daemon.config), str(daemon.db)
    stopped = run_json("stop", "-c", c, "-d", d)
    assert isinstance(stopped, dict)
    assert stopped["status"] == "stopped" and stopped["database"] == d
    assert run_json("list", "-c", c)[0]["status"] == "stopped"  # type: ignore[index]
    again = run_json("stop", "-c", c, "-d", d)
    assert again["status"] == "already_stopped"  # type: ignore[index]
    refused = cli("sync", "-c", c, "-d", d)
    assert_one_error_line(refused, 1, "stopped", d, "pylitestream start")
    started = run_json("start", "-c", c, "-d", d)
    assert started["status"] == "started"  # type: ignore[index]
    assert run_json("list", "-c", c)[0]["status"] != "stopped"  # type: ignore[index]

    other = tmp_path / "other.db"
    create_db(other)
    insert_rows(other, ["x"])
    replica = tmp_path / "other-replica"
    registered = run_json("register", "-c", c, "-d", str(other), "--replica",
                          f"file://{replica}")  # fmt: skip
    assert registered == {"database": str(other), "status": "registered", "txid": None}
    wait_for(lambda: any(r["database"] == str(other) for r in run_json("list", "-c", c)))  # type: ignore[union-attr,index]
    synced = run_json("sync", "--wait", "-c", c, "-d", str(other))
    assert synced[0]["status"] in ("synced", "no_change")  # type: ignore[index]
    copy = tmp_path / "other-copy.db"
    subprocess.run([str(Path(os.environ["LITESTREAM_INSTALL_DIR"]) / "litestream"), "restore",
                    "-o", str(copy), f"file://{replica}"], check=True, env={**os.environ,
                    "AWS_CA_BUNDLE": ""})  # fmt: skip
    assert read_rows(copy) == ["x"]
    gone = run_json("unregister", "-c", c, "-d", str(other))
    assert gone["status"] == "unregistered"  # type: ignore[index]
    assert [r["database"] for r in run_json("list", "-c", c)] == [d]  # type: ignore[union-attr,index]
    unknown = cli("txid", "-c", c, "-d", str(other))
    assert_one_error_line(unknown, 2, "does not replicate", str(other))


def _state(task: Path) -> str:
    """The scheduler state of a thread (R, S, T for stopped, ...)."""
    return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]


@LS05
def test_client_errors(daemon: Daemon, tmp_path: Path) -> None:
    client = ControlSocket(daemon.socket, timeout=2)
    with pytest.raises(UnknownDatabase):
        client.txid(str(tmp_path / "nope.db"))
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    try:
        # SIGSTOP takes effect asynchronously: wait until every thread of litestream is stopped.
        tasks = Path(f"/proc/{daemon.proc.pid}/task")
        wait_for(lambda: all(_state(task) == "T" for task in tasks.iterdir()))
        with pytest.raises(SocketTimeout, match="did not answer"):
            ControlSocket(daemon.socket, timeout=0.5).info()
        frozen = cli("info", "-c", str(daemon.config), "--timeout", "0.5")
        assert_one_error_line(frozen, 1, "did not answer", str(daemon.socket), "0.5 s")
    finally:
        os.kill(daemon.proc.pid, signal.SIGCONT)
    assert client.info()["pid"] == daemon.proc.pid
    stop_process(daemon.proc)
    with pytest.raises(DaemonNotRunning):
        client.info()
    down = cli("list", "-c", str(daemon.config))
    assert_one_error_line(down, 1, "litestream is not running", str(daemon.socket))


@LS05
def test_stale_socket_is_not_running(ls: Litestream, tmp_path: Path) -> None:
    import socket as sockets

    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    stale = sockets.socket(sockets.AF_UNIX)
    stale.bind(str(tmp_path / "ls.sock"))  # bound, never listening: what a SIGKILL leaves
    stale.close()
    result = cli("info", "-c", str(config))
    assert_one_error_line(result, 1, "nothing listens", "stale")


def test_permission_denied_is_one_line(tmp_path: Path) -> None:
    """A socket of another user (mode 0600) fails to connect with EACCES. These tests run as
    root, whom no file mode stops, so the connect error is built here as connect() raises it
    and classified by the client."""
    import errno

    client = ControlSocket(tmp_path / "ls.sock")
    error = client._connect_error(PermissionError(errno.EACCES, "Permission denied"))
    assert isinstance(error, SocketPermissionDenied)
    assert str(error).startswith("permission denied on litestream's control socket")
    assert "\n" not in str(error)


@LS05
def test_a_socket_of_another_user_is_one_line_end_to_end(daemon: Daemon) -> None:
    """The real EACCES: the daemon's socket is given to another user (mode 0600 stays), and
    the CLI runs as root without the capabilities that let root past file modes."""
    os.chown(daemon.socket, 65534, 65534)  # nobody
    dropped = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    proc = subprocess.run(
        [*dropped, sys.executable, "-m", "pylitestream", "info", "-c", str(daemon.config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_one_error_line(
        result, 1, "permission denied on litestream's control socket", str(daemon.socket)
    )
    assert result.out == ""
    assert daemon.proc.poll() is None  # the daemon is untouched


@LS05
def test_no_socket_configured(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", ls.line, [(db, {"type": "file", "path": "/r"})])
    for command in ("info", "list", "sync"):
        result = cli(command, "-c", str(config))
        assert_one_error_line(result, 2, "socket.enabled", str(config))
    with pytest.raises(pylitestream.UsageError, match=r"socket\.enabled"):
        pylitestream.daemon_info(config=config)


@LS05
def test_ps_reads_the_socket(daemon: Daemon) -> None:
    rows = pylitestream.processes()
    mine = [r for r in rows if r["config"] == str(daemon.config)]
    assert len(mine) == 1
    assert mine[0]["socket"] == str(daemon.socket)
    assert mine[0]["info"]["pid"] == daemon.proc.pid
    assert [d["database"] for d in mine[0]["databases"]] == [str(daemon.db)]


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["info"], "pylitestream ps"),
        (["list"], "pylitestream databases"),
        (["sync"], "verify"),
        (["txid", "-d", "x.db"], "generations"),
        (["register", "-d", "x.db", "--replica", "file:///r"], "config"),
        (["unregister", "-d", "x.db"], "config"),
        (["start", "-d", "x.db"], "replicate"),
        (["stop", "-d", "x.db"], "replicate"),
    ],
)
def test_refused_on_03(ls: Litestream, tmp_path: Path, args: list[str], hint: str) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    result = cli(*args, "-c", str(config))
    assert_one_error_line(result, 2, "Litestream 0.3 has no control socket", hint)
