"""A SIGTERM to `run` while it is still starting (here: restoring a missing database from S3
that a fault proxy holds stalled). `run` keeps the signal, lets the start finish, stops
litestream as at any other time (final sync) and exits 128+15 without ever starting the app.
Before the handlers went in ahead of the start, run died at once with litestream starting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import faults_harness as harness
from conftest import (
    Litestream,
    S3Server,
    cli,
    create_db,
    insert_rows,
    read_rows,
    replicate_process,
    s3_replica,
    stop_process,
    wait_for,
    write_config,
)

# The app `run` would start: it leaves a mark, then sleeps until SIGTERM.
APP = "import pathlib, sys, time\npathlib.Path(sys.argv[1]).touch()\ntime.sleep(3600)\n"


def _restoring(run_pid: int) -> bool:
    """A `litestream restore` child of `run` is running (and waiting on the stalled proxy)."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == run_pid and b"restore" in argv and argv[0].endswith(b"litestream"):
            return True
    return False


def test_sigterm_while_run_starts_stops_cleanly_and_never_starts_the_app(
    ls: Litestream, tmp_path: Path, s3_server: S3Server, s3_bucket: str
) -> None:
    url = urlparse(s3_server.endpoint)
    proxy = harness.FaultProxy((url.hostname or "127.0.0.1", url.port or 80))
    try:
        db = tmp_path / "app.db"
        create_db(db)
        insert_rows(db, ["before the outage"])
        replica = {**s3_replica(s3_server, s3_bucket, "app"), "endpoint": proxy.endpoint}
        config = write_config(tmp_path / "litestream.yml", ls.line, [(db, replica)])
        probe = tmp_path / "probe.db"

        def on_the_replica() -> bool:
            probe.unlink(missing_ok=True)
            restored = cli("restore", "-d", str(db), "-c", str(config), "--", f"-o={probe}")
            return restored.code == 0 and read_rows(probe) == ["before the outage"]

        with replicate_process(config, tmp_path / "replicate.log"):
            wait_for(on_the_replica, 30, 0.5)
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            path.unlink(missing_ok=True)

        proxy.set_mode("stall")
        mark, log = tmp_path / "app-started", tmp_path / "run.log"
        argv = [sys.executable, "-m", "pylitestream", "run", "-c", str(config), "--",
                sys.executable, "-c", APP, str(mark)]  # fmt: skip
        with log.open("wb") as out:
            run = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: _restoring(run.pid), 30)
            os.kill(run.pid, signal.SIGTERM)
            proxy.set_mode("pass")
            code = run.wait(120)
        finally:
            stop_process(run)
        text = log.read_text()
        assert code == 128 + signal.SIGTERM, text
        assert "stopped by signal 15 before" in text, text
        assert not mark.exists(), text
        assert harness.litestream_pids(config) == []
        assert read_rows(db) == ["before the outage"]  # the start did finish: restored
    finally:
        proxy.close()
