"""A stop ships a row committed a moment after start, even where litestream has not looked at
the database yet. Litestream looks at each database once per monitor interval, and its final
sync on SIGTERM covers only the databases it has looked at; with monitor and sync intervals of
30 s, a row committed 2 s after start was lost by a clean stop. On 0.5 with the control socket,
a stopping supervisor (and the guard litestream runs, when the supervisor is SIGKILLed) asks
the daemon to sync and waits for the upload first. 0.3 has no socket: README states the limit."""

from __future__ import annotations

import os
import signal
import time

import faults_harness as harness
import pytest
import yaml
from conftest import Litestream, Workspace, wait_for
from servers import socket_config

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@LS05
@pytest.mark.parametrize(
    ("kind", "stop"),
    [("run", signal.SIGTERM), ("Replicator", signal.SIGTERM), ("run", signal.SIGKILL)],
    ids=["run", "Replicator", "supervisor-killed"],
)
def test_a_row_committed_after_start_survives_the_stop(
    ls: Litestream, workspace: Workspace, kind: str, stop: signal.Signals
) -> None:
    ws = workspace
    config = socket_config(ws.root, ls.line, [ws.db], **{"sync-interval": "30s"})
    settings = yaml.safe_load(config.read_text())
    settings["dbs"][0]["monitor-interval"] = "30s"
    config.write_text(yaml.safe_dump(settings))
    writer = harness.Writer(ws.db)
    log = ws.root / "supervisor.log"
    proc = harness.start_supervisor(kind, config, log)
    try:
        harness.wait_daemon(config)
        started = time.monotonic()
        wait_for(lambda: "initialized db" in log.read_text())
        time.sleep(max(0.0, started + 2 - time.monotonic()))
        row = writer.commit(1)
        os.kill(proc.pid, stop)
        wait_for(lambda: harness.litestream_pids(config) == [], 30)
    finally:
        harness.stop(proc)
    ids, verdict = harness.restored_ids(ws.db, config, ws.root / "check.db")
    assert verdict == "ok"
    assert set(row) <= ids, log.read_text()
