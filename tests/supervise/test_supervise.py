"""`pylitestream run`, `ps`, the Replicator and the state file: real processes, real litestream
0.3.13 and 0.5.17, and a check by pid that nothing a test started is left running."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    Litestream,
    Workspace,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    pid_alive,
    read_rows,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream
from pylitestream import supervise

# The app `run` starts: it reports its pid and the rows it found, then commits a row every
# 20 ms, appending each committed name to a log, until SIGTERM; then it exits 7.
APP = textwrap.dedent(
    """
    import json, signal, sqlite3, sys, time
    db, report = sys.argv[1], sys.argv[2]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
    found = [r[0] for r in conn.execute("SELECT name FROM items ORDER BY id")]
    with open(report + ".tmp", "w") as f:
        json.dump({"pid": __import__("os").getpid(), "found": found}, f)
    __import__("os").replace(report + ".tmp", report)
    log = open(report + ".log", "a")
    i = 0
    while not stop:
        with conn:
            conn.execute("INSERT INTO items (name) VALUES (?)", (f"app-{i}",))
        log.write(f"app-{i}\\n"); log.flush()
        i += 1
        time.sleep(0.02)
    sys.exit(7)
    """
)


def _config(ls: Litestream, root: Path, db: Path, interval: str) -> Path:
    replica = {"type": "file", "path": str(root / "replica"), "sync-interval": interval}
    return write_config(root / f"litestream-{interval}.yml", ls.line, [(db, replica)])


def _start_run(root: Path, config: Path, *command: str, extra: tuple[str, ...] = ()) -> Any:
    log = (root / "run.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "pylitestream", "run", "-c", str(config), *extra, "--", *command],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _run_log(root: Path) -> str:
    return (root / "run.log").read_text()


def _state(config: Path) -> dict[str, Any]:
    rows = [r for r in supervise.processes() if r["config"] == str(config)]
    return rows[0] if rows else {}


def _running_litestream(config: Path) -> int:
    """Wait for the state file to name a live litestream for `config`; return its pid."""
    row = wait_for(lambda: (s := _state(config)) and s["status"] == "running" and s)
    return int(row["pid"])


def _fresh_restore(ws_db: Path, config: Path, out: Path) -> list[str]:
    out.unlink(missing_ok=True)
    pylitestream.restore(ws_db, out, config=config)
    return read_rows(out)


def test_run_round_trip_restores_then_syncs_the_last_rows(ls: Litestream, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "app.db"
    seed_config = _config(ls, tmp_path, db, "100ms")
    # A long interval: rows written in the last second reach the replica only by the final sync.
    run_config = _config(ls, tmp_path, db, "1h")

    # 1. An existing replica, then an empty data dir.
    create_db(db)
    seeded = [f"seed-{i}" for i in range(20)]
    with pylitestream.Replicator(config=seed_config) as replicator:
        seed_pid = replicator.pid
        insert_rows(db, seeded)
        wait_for(lambda: _fresh_restore(db, seed_config, tmp_path / "probe.db") == seeded)
    assert seed_pid is not None and not pid_alive(seed_pid)
    shutil.rmtree(data)
    data.mkdir()

    # 2-3. run restores the database, then starts the app, which writes rows.
    app = tmp_path / "app.py"
    app.write_text(APP)
    report = tmp_path / "report.json"
    proc = _start_run(tmp_path, run_config, sys.executable, str(app), str(db), str(report))
    try:
        litestream_pid = _running_litestream(run_config)
        started = wait_for(lambda: json.loads(report.read_text()))
        assert started["found"] == seeded  # restored before the app started
        wait_for(lambda: len(Path(f"{report}.log").read_text().split()) >= 30)
        # 4. SIGTERM to `pylitestream run`.
        proc.send_signal(signal.SIGTERM)
        # 5. Its exit code is the app's.
        assert proc.wait(30) == 7, _run_log(tmp_path)
    finally:
        stop_process(proc)
    committed = Path(f"{report}.log").read_text().split()
    assert not pid_alive(started["pid"]) and not pid_alive(litestream_pid)
    assert _state(run_config) == {}  # the state file went with the daemon
    assert not list(data.glob(".*pylitestream-restore*"))
    log = _run_log(tmp_path)
    assert "restored" in log and "initialized db" in log  # litestream's log is passed through

    # 6. A fresh restore holds every row committed before the SIGTERM.
    restored = _fresh_restore(db, run_config, tmp_path / "check.db")
    assert restored[: len(seeded)] == seeded
    assert restored[len(seeded) :] == committed == read_rows(db)[len(seeded) :]


def test_run_exits_with_the_apps_code_and_ps_sees_it(ls: Litestream, workspace: Workspace) -> None:
    ws = workspace
    probe = ws.root / "ps.json"
    code = (
        "import json, sys, pylitestream; "
        f"json.dump(pylitestream.processes(), open({str(probe)!r}, 'w')); sys.exit(3)"
    )
    proc = _start_run(ws.root, ws.config, sys.executable, "-c", code)
    try:
        assert proc.wait(30) == 3, _run_log(ws.root)
    finally:
        stop_process(proc)
    seen = [r for r in json.loads(probe.read_text()) if r["config"] == str(ws.config)]
    assert len(seen) == 1
    row = seen[0]
    assert row["status"] == "running" and row["started_by"] == "run"
    assert row["supervisor_pid"] == proc.pid and row["litestream"] == ls.version
    assert not pid_alive(row["pid"])
    assert "exited with status 3" in _run_log(ws.root)

    # Bad input: one line, no traceback.
    missing = cli("run", "-c", str(ws.config), "--", str(ws.root / "no-such-program"))
    assert_one_error_line(missing, 127, "no such file", "no-such-program")
    bad_mode = cli("run", "-c", str(ws.config), "--on-litestream-exit", "maybe", "--", "true")
    assert_one_error_line(bad_mode, 2, "--on-litestream-exit")
    # litestream itself refuses the config: its error, once, and the app never starts.
    bad = write_config(ws.root / "bad.yml", ls.line, [(ws.db, {"type": "bogus", "path": "x"})])
    refused = cli("run", "-c", str(bad), "--", sys.executable, "-c", "print('never')")
    assert refused.code == 1 and "never" not in refused.out
    ours = [line for line in refused.error_lines if line.startswith("pylitestream: error:")]
    assert ours == ['pylitestream: error: unknown replica type in config: "bogus"']
    assert "Traceback" not in refused.err
    assert _state(ws.config) == {} and _state(bad) == {}


@pytest.mark.parametrize("mode", ["stop", "restart"])
def test_run_when_litestream_is_killed(ls: Litestream, workspace: Workspace, mode: str) -> None:
    ws = workspace
    app = ws.root / "app.py"
    app.write_text(APP)
    report = ws.root / "report.json"
    proc = _start_run(
        ws.root, ws.config, sys.executable, str(app), str(ws.db), str(report),
        extra=("--on-litestream-exit", mode),
    )  # fmt: skip
    try:
        first = _running_litestream(ws.config)
        app_pid = wait_for(lambda: json.loads(report.read_text()))["pid"]
        os.kill(first, signal.SIGKILL)
        if mode == "stop":
            # The app is stopped (SIGTERM: it exits 7) and run fails.
            assert proc.wait(30) == 7, _run_log(ws.root)
            assert "stopping the app" in _run_log(ws.root)
        else:
            second = wait_for(lambda: (pid := _running_litestream(ws.config)) != first and pid)
            assert supervise.is_litestream(second, str(ws.config))
            assert pid_alive(app_pid)
            assert "restarting it in 1 s" in _run_log(ws.root)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 7, _run_log(ws.root)
            assert not pid_alive(second)
    finally:
        stop_process(proc)
    assert not pid_alive(first) and not pid_alive(app_pid)
    # A litestream that died keeps its state file (stale): the next start knows it was unclean.
    expected = [] if mode == "restart" else ["stale"]
    assert [r["status"] for r in supervise.processes() if r["config"] == str(ws.config)] == expected


def test_second_replicate_on_the_same_config_is_refused(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes]
) -> None:
    ws = workspace
    state = _state(ws.config)
    # replicate execs litestream: the recorded pid is the process we started, now litestream.
    assert state["pid"] == replicating.pid and state["started_by"] == "replicate"
    assert state["status"] == "running" and supervise.is_litestream(replicating.pid)

    again = cli("replicate", "-c", str(ws.config))
    line = assert_one_error_line(again, 1, "already replicating", str(replicating.pid))
    assert "pylitestream ps" in line
    run = cli("run", "-c", str(ws.config), "--", sys.executable, "-c", "print('never')")
    assert_one_error_line(run, 1, "already replicating")
    assert "never" not in run.out
    with pytest.raises(pylitestream.AlreadyRunning):
        pylitestream.Replicator(config=ws.config).start()
    assert _state(ws.config)["pid"] == replicating.pid  # the running one still owns it

    table = cli("ps")
    assert table.code == 0 and str(replicating.pid) in table.out and "running" in table.out


def test_stale_state_file_is_recovered(ls: Litestream, workspace: Workspace) -> None:
    ws = workspace
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    binary = pylitestream.version()
    for stale_pid, why in ((dead.pid, "dead"), (os.getpid(), "not litestream")):
        path = supervise.state_path(ws.config)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"config": str(ws.config), "pid": stale_pid, "started_by": "run",
                        "started_at": "2026-01-01T00:00:00+00:00",
                        "litestream": binary["litestream"], "supervisor_pid": None})
        )  # fmt: skip
        listed = json.loads(cli("ps", "--json").out)
        assert [r["status"] for r in listed if r["config"] == str(ws.config)] == ["stale"], why

        probe = ws.root / "ps.json"
        code = (
            "import json, pylitestream; "
            f"json.dump(pylitestream.processes(), open({str(probe)!r}, 'w'))"
        )
        result = cli("run", "-c", str(ws.config), "--", sys.executable, "-c", code)
        assert result.code == 0, result.err
        assert "replacing stale state file" in result.err, why
        row = next(r for r in json.loads(probe.read_text()) if r["config"] == str(ws.config))
        assert row["status"] == "running" and row["pid"] != stale_pid
        assert not pid_alive(row["pid"])
        assert not path.exists()


def test_orphan_of_a_dead_supervisor_is_taken_over(ls: Litestream, workspace: Workspace) -> None:
    """Where PR_SET_PDEATHSIG does not exist (macOS) a killed supervisor leaves its litestream
    running: the next start stops it (SIGTERM, final sync) instead of refusing forever."""
    ws = workspace
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = subprocess.Popen(
        [str(ls.exe), "replicate", "-config", str(ws.config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: supervise.is_litestream(orphan.pid, str(ws.config)))
        path = supervise.state_path(ws.config)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"config": str(ws.config), "pid": orphan.pid, "started_by": "run",
                        "started_at": "2026-01-01T00:00:00+00:00", "litestream": ls.version,
                        "supervisor_pid": dead.pid})
        )  # fmt: skip
        result = cli("run", "-c", str(ws.config), "--", sys.executable, "-c", "pass")
        assert result.code == 0, result.err
        assert f"stopping litestream pid {orphan.pid}: its supervisor" in result.err
        assert orphan.wait(10) == 0  # a clean SIGTERM shutdown
    finally:
        stop_process(orphan)
    assert not path.exists()


def test_replicator_serves_a_script_and_restores_missing_db(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "sub" / "app.db"
    db.parent.mkdir()
    config = _config(ls, tmp_path, db, "100ms")
    create_db(db)
    with pylitestream.Replicator(config=config) as replicator:
        first = replicator.pid
        assert first is not None and supervise.is_litestream(first, str(config))
        insert_rows(db, ["a", "b"])
        wait_for(lambda: _fresh_restore(db, config, tmp_path / "p.db") == ["a", "b"])
    assert not pid_alive(first)

    shutil.rmtree(db.parent)
    replicator = pylitestream.Replicator(config=config, databases=[db])
    replicator.start()
    try:
        assert replicator.restored == [str(db)] and read_rows(db) == ["a", "b"]
    finally:
        assert replicator.stop() == 0  # litestream's clean exit after its final sync
    assert replicator.pid is None and _state(config) == {}

    with pytest.raises(pylitestream.UsageError, match="not in the config"):
        pylitestream.Replicator(config=config, databases=[tmp_path / "other.db"]).start()


def test_opened_path_reads_both_log_formats() -> None:
    text = 'time=2026-11-26T20:25:31.716Z level=INFO msg="initialized db" path=/tmp/i6/a.db'
    quoted = 'time=x level=INFO msg="initialized db" path="/tmp/a b/c.db"'
    as_json = '{"time":"x","level":"INFO","msg":"initialized db","path":"/srv/x.db"}'
    other = 'time=x level=INFO msg="replicating to" type=file path=/tmp/r'
    assert supervise.opened_path(text) == "/tmp/i6/a.db"
    assert supervise.opened_path(quoted) == "/tmp/a b/c.db"
    assert supervise.opened_path(as_json) == "/srv/x.db"
    assert supervise.opened_path(other) is None


LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGUSR1], ids=["SIGKILL", "SIGUSR1"])
def test_run_exits_128_plus_n_when_a_signal_kills_the_app(
    ls: Litestream, workspace: Workspace, signum: int
) -> None:
    app = f"import os; os.kill(os.getpid(), {int(signum)})"
    result = cli("run", "-c", str(workspace.config), "--", sys.executable, "-c", app)
    assert result.code == 128 + signum, result
    assert "Traceback" not in result.err


def test_exit_status_maps_signals_to_128_plus_n() -> None:
    from internals import exit_status

    assert exit_status(0) == 0
    assert exit_status(3) == 3
    assert exit_status(-signal.SIGKILL) == 137
    assert exit_status(-signal.SIGTERM) == 143


@LS05
def test_replicator_starts_when_litestream_logs_only_warnings(
    ls: Litestream, workspace: Workspace
) -> None:
    """At log level warn litestream never says 'initialized db': start() must not wait for it."""
    settings = yaml.safe_load(workspace.config.read_text())
    settings["logging"] = {"level": "warn"}
    workspace.config.write_text(yaml.safe_dump(settings))
    started = time.monotonic()
    with pylitestream.Replicator(config=workspace.config, ready_timeout=20) as rep:
        pid = rep.pid
        assert pid is not None
        assert time.monotonic() - started < 15
    assert not pid_alive(pid)


def test_replicator_ready_timeout_stops_litestream(ls: Litestream, workspace: Workspace) -> None:
    rep = pylitestream.Replicator(config=workspace.config, ready_timeout=0.001)
    with pytest.raises(pylitestream.CommandTimeout, match=r"within 0\.001 s"):
        rep.start()
    assert rep.pid is None and not rep.running
    rows = [r for r in pylitestream.processes() if r["config"] == str(workspace.config)]
    assert all(r["status"] != "running" and not pid_alive(r["pid"]) for r in rows), rows
    # The lock is released: a second Replicator starts at once.
    with pylitestream.Replicator(config=workspace.config, ready_timeout=20) as again:
        assert again.running


def test_replicator_stop_falls_back_to_sigkill(ls: Litestream, workspace: Workspace) -> None:
    rep = pylitestream.Replicator(config=workspace.config, ready_timeout=20).start()
    pid = rep.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a frozen litestream: SIGTERM stays pending
    started = time.monotonic()
    try:
        code = rep.stop(timeout=0.5)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert code == 128 + signal.SIGKILL
    assert not pid_alive(pid)
    assert time.monotonic() - started < 10  # FIRST_LOOK + 0.5 s, not STOP_TIMEOUT's 30 s


def test_the_atexit_hook_stops_a_forgotten_replicator(ls: Litestream, workspace: Workspace) -> None:
    report = workspace.root / "report.json"
    script = textwrap.dedent(
        f"""
        import json, pylitestream
        rep = pylitestream.Replicator(config={str(workspace.config)!r}, ready_timeout=20).start()
        json.dump({{"pid": rep.pid}}, open({str(report)!r}, "w"))
        # no stop(): the interpreter exits, and the atexit hook must stop litestream cleanly
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    pid = json.loads(report.read_text())["pid"]
    wait_for(lambda: not pid_alive(pid), 10)
    # A clean stop (status 0) removes the state file; without the hook it would stay behind.
    assert [r for r in pylitestream.processes() if r["config"] == str(workspace.config)] == []


@LS05
def test_ps_json_shows_the_daemons_socket_view(ls: Litestream, tmp_path: Path) -> None:
    from conftest import start_replicate
    from servers import socket_config

    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    proc = start_replicate(config, tmp_path / "rep.log")
    try:
        result = cli("ps", "--json")
    finally:
        from conftest import stop_process

        stop_process(proc)
    assert result.code == 0, result
    mine = [r for r in json.loads(result.out) if r["config"] == str(config)]
    assert len(mine) == 1
    assert mine[0]["socket"] == str(tmp_path / "ls.sock")
    assert mine[0]["info"]["pid"] == proc.pid
    assert [d["database"] for d in mine[0]["databases"]] == [str(db)]
