"""No silent gap after an unclean stop (issue 9, item 4). litestream is SIGKILLed right after a
sync; the app commits rows, checkpoints (nothing blocks it now) and keeps writing; then the
daemon is started again. On 0.5 that left a permanent gap (the rows before the checkpoint)
until pylitestream took a full snapshot (`replicate -once -force-snapshot`) before restarting.
0.3 is run through the same sequence without the snapshot, to show it does not need one."""

from __future__ import annotations

import os
import signal

import harness
import pytest
from conftest import Litestream, Workspace, wait_for


@pytest.mark.parametrize("kind", ["replicate", "run"])
def test_no_gap_after_litestream_was_sigkilled(
    ls: Litestream, workspace: Workspace, kind: str
) -> None:
    ws = workspace
    writer = harness.Writer(ws.db)
    probe = ws.root / "probe.db"
    log = ws.root / "supervisor.log"

    def replica_has(ids: set[int]) -> bool:
        return ids <= harness.restored_ids(ws.db, ws.config, probe)[0]

    first = harness.start_supervisor(kind, ws.config, log)
    try:
        daemon = harness.wait_daemon(ws.config)
        wait_for(lambda: "initialized db" in log.read_text())
        synced = set(writer.commit(10))
        wait_for(lambda: replica_has(synced), 30, 0.2)
        os.kill(daemon, signal.SIGKILL)
        wait_for(lambda: harness.litestream_pids(ws.config) == [])
    finally:
        harness.stop(first)
    before = set(writer.commit(20))
    writer.checkpoint()
    after = set(writer.commit(10))

    log.write_text("")
    second = harness.start_supervisor(kind, ws.config, log)
    try:
        harness.wait_daemon(ws.config)
        wait_for(lambda: replica_has(after), 30, 0.2)
    finally:
        harness.stop(second)
    ids, verdict = harness.restored_ids(ws.db, ws.config, ws.root / "check.db")
    assert verdict == "ok"
    assert sorted((synced | before | after) - ids) == []
    text = log.read_text()
    said = "did not stop cleanly: taking a full snapshot" in text
    assert said == (ls.line == "0.5"), text
    assert harness.litestream_pids(ws.config) == []


def test_no_gap_when_run_restarts_a_killed_litestream(ls: Litestream, workspace: Workspace) -> None:
    """The supervisor's own restart policy: litestream dies, the app checkpoints and writes
    during the 1 s backoff, and `run --on-litestream-exit restart` starts litestream again."""
    ws = workspace
    writer = harness.Writer(ws.db)
    probe = ws.root / "probe.db"
    log = ws.root / "run.log"
    proc = harness.start_supervisor(
        "run", ws.config, log, extra=("--on-litestream-exit", "restart")
    )
    try:
        daemon = harness.wait_daemon(ws.config)
        wait_for(lambda: "beside litestream" in log.read_text())
        synced = set(writer.commit(10))
        wait_for(lambda: synced <= harness.restored_ids(ws.db, ws.config, probe)[0], 30, 0.2)
        os.kill(daemon, signal.SIGKILL)
        before = set(writer.commit(20))
        writer.checkpoint()
        after = set(writer.commit(10))
        wait_for(lambda: set(harness.litestream_pids(ws.config)) - {daemon}, 30)
        wait_for(lambda: after <= harness.restored_ids(ws.db, ws.config, probe)[0], 30, 0.2)
    finally:
        harness.stop(proc)
    ids, verdict = harness.restored_ids(ws.db, ws.config, ws.root / "check.db")
    assert verdict == "ok"
    assert sorted((synced | before | after) - ids) == []
    said = "did not stop cleanly: taking a full snapshot" in log.read_text()
    assert said == (ls.line == "0.5"), log.read_text()
    assert harness.litestream_pids(ws.config) == []
