"""Tests that pin behaviour the earlier suite let go: each one fails when the rule it names is
removed (found by mutation testing: scripts/mutation). Real binaries, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import yaml
from conftest import (
    Litestream,
    Workspace,
    cli,
    create_db,
    pid_alive,
    wait_for,
    write_config,
)

import pylitestream

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)

# --- secrets in litestream's own error text ----------------------------------------------------

SFTP_PASSWORD = "Sup3rSecretPw-9f2c"


def _leaky_config(ls: Litestream, root: Path, db: Path) -> Path:
    """A replica URL with a password and a bad port: both lines echo the whole URL, password
    included, in their parse error (`parse "sftp://bob:PASSWORD@…": invalid port`)."""
    url = f"sftp://bob:{SFTP_PASSWORD}@127.0.0.1:badport/backup"
    return write_config(root / "litestream.yml", ls.line, [(db, {"url": url})])


def _state_files() -> list[Path]:
    root = Path(os.environ["XDG_STATE_HOME"])
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_password_in_litestreams_error_never_reaches_output(
    ls: Litestream, tmp_path: Path
) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = _leaky_config(ls, tmp_path, db)
    # Proof that the secret really is in litestream's own text (else this test proves nothing).
    raw = subprocess.run(
        [str(ls.exe), "databases", "-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    raw_restore = subprocess.run(
        [str(ls.exe), "restore", "-config", str(config), "-o", str(tmp_path / "x.db"), str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert SFTP_PASSWORD in raw.stdout + raw.stderr + raw_restore.stdout + raw_restore.stderr

    results = {
        "restore": cli(
            "restore", "-d", str(db), "-c", str(config), "--", "-o", str(tmp_path / "r.db")
        ),
        "databases": cli("databases", "-c", str(config)),
        "verify": cli("verify", "-d", str(db), "-c", str(config), "--timeout", "3", "--json"),
        "run": cli("run", "-c", str(config), "--", sys.executable, "-c", "pass"),
    }
    for name, result in results.items():
        assert result.code == 1, (name, result)
        assert SFTP_PASSWORD not in result.out + result.err, (name, result)
        assert "Traceback" not in result.err
    # The masked URL still says where: the user can see which replica is wrong.
    assert "sftp://bob:****@127.0.0.1:badport" in results["restore"].err
    record = json.loads(results["verify"].out)
    assert SFTP_PASSWORD not in json.dumps(record)
    # pylitestream's own state files (records, not litestream's raw logs) hold no secret.
    for path in _state_files():
        if path.suffix == ".json":
            assert SFTP_PASSWORD not in path.read_text(), path


def test_a_password_in_litestreams_error_never_reaches_the_disk(
    ls: Litestream, tmp_path: Path
) -> None:
    """litestream's own lines (which echo the replica URL, password included) are relayed
    through pipes and redacted; nothing of them is written to the state dir."""
    db = tmp_path / "app.db"
    create_db(db)
    config = _leaky_config(ls, tmp_path, db)
    result = cli("run", "-c", str(config), "--", sys.executable, "-c", "pass")
    assert result.code == 1
    assert "sftp://bob:****@" in result.err  # the line was relayed, with the password masked
    assert SFTP_PASSWORD not in result.out + result.err
    assert [p.name for p in _state_files() if p.name.endswith(".log")] == []
    for path in _state_files():
        assert SFTP_PASSWORD not in path.read_text(errors="replace"), path


# --- run: the app's exit status, 128 + N when a signal killed it ------------------------------


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


# --- Replicator: quiet logging, ready_timeout, stop(timeout), the atexit hook ------------------


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


# --- ps: the socket view ------------------------------------------------------------------------


@LS05
def test_ps_json_shows_the_daemons_socket_view(ls: Litestream, tmp_path: Path) -> None:
    from conftest import start_replicate
    from test_daemon import socket_config

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


# --- config migrate -o / --force; an unknown key in [tool.pylitestream] ---------------------


def test_config_migrate_to_another_file_and_force(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", "0.3", [(db, {"type": "file", "path": "/r"})])
    original = config.read_text()
    out = tmp_path / "out.yml"
    first = cli("config", "migrate", "-c", str(config), "-o", str(out))
    assert first.code == 0 and first.out.strip() == f"wrote {out}", first
    assert config.read_text() == original and not Path(f"{config}.bak").exists()
    migrated = yaml.safe_load(out.read_text())
    assert migrated["dbs"][0]["replica"] == {"type": "file", "path": "/r"}
    assert "replicas" not in migrated["dbs"][0]

    out.write_text("# mine\n")
    refused = cli("config", "migrate", "-c", str(config), "-o", str(out))
    assert refused.code == 2 and out.read_text() == "# mine\n"
    assert refused.err == f"pylitestream: error: {out} already exists; nothing was changed " \
        "(pass --force)\n"  # fmt: skip
    forced = cli("config", "migrate", "-c", str(config), "-o", str(out), "--force")
    assert forced.code == 0 and yaml.safe_load(out.read_text()) == migrated
    assert config.read_text() == original


def test_an_unknown_key_in_tool_pylitestream_is_named(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", "0.5", [(db, {"type": "file", "path": "/r"})])
    (tmp_path / "pyproject.toml").write_text('[tool.pylitestream]\nreplica_bukcet = "x"\n')
    result = cli("config", "check", "--line", "0.5", "-c", str(config), cwd=tmp_path)
    assert result.code == 2, result
    assert result.err == (
        f"pylitestream: error: {tmp_path}/pyproject.toml: unknown key 'replica_bukcet' in "
        "[tool.pylitestream]; known: replica_bucket, replica_region, replica_endpoint, "
        "config_path\n"
    )


def _litestream_children() -> list[tuple[int, str]]:
    """(pid, state) of this process's litestream children, zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid() and name.startswith("litestream"):
            found.append((int(stat.parent.name), state))
    return found


def test_an_interrupted_litestream_command_is_gone_before_the_interrupt_goes_on(
    ls: Litestream, workspace: Workspace
) -> None:
    """Ctrl-C during a litestream command: by the time KeyboardInterrupt reaches the caller
    (whose cleanup then runs, such as verify's removal of its work directory), litestream has
    been killed and reaped, so nothing it was writing can land after the cleanup."""
    from internals import run_litestream

    main_thread = threading.get_ident()

    def waiting_for_litestream() -> bool:
        """The main thread is in communicate(): litestream runs and the interrupt lands there."""
        frame = sys._current_frames().get(main_thread)
        while frame is not None:
            if frame.f_code.co_name == "_communicate":
                return True
            frame = frame.f_back
        return False

    def interrupt_once_running() -> None:
        wait_for(lambda: _litestream_children() and waiting_for_litestream(), 30)
        signal.pthread_kill(main_thread, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_once_running)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            # replicate runs until stopped: the interrupt always lands while it runs.
            run_litestream("replicate", "-config", str(workspace.config), timeout=60)
        # Checked while the interrupt is still in flight (its traceback alive), as a caller's
        # cleanup would run: a child left to Popen.__del__ would still be here, a zombie.
        assert _litestream_children() == []
        assert interrupted.traceback
    finally:
        interrupter.join()
