"""No silent gap after litestream stopped. litestream is SIGKILLed (or stopped) right after a
sync; the app commits rows, checkpoints (nothing blocks it now) and keeps writing; then the
daemon is started again. On 0.5 that leaves a permanent gap (the rows before the checkpoint)
unless pylitestream sees the restarted WAL and makes litestream start from a full snapshot. 0.3
is run through the same sequence without it, to show it does not need one."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3

import faults_harness as harness
import pytest
from conftest import Litestream, Workspace, wait_for

import pylitestream


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "stopped"])
@pytest.mark.parametrize("kind", ["replicate", "run"])
def test_no_gap_after_litestream_stopped_while_the_app_wrote(
    ls: Litestream,
    workspace: Workspace,
    kind: str,
    stop: signal.Signals,
    request: pytest.FixtureRequest,
) -> None:
    """Killed, or stopped cleanly (its final sync done) while the app kept writing: either way
    the WAL restarts before the next start. The app's connection stays open throughout, as a
    real app's does (the last connection to close would delete the WAL, and litestream
    snapshots by itself when it finds none). The write that restarts the WAL goes to another
    table, so its pages do not carry the rows written before the checkpoint: in the gap, those
    rows are in no LTX file."""
    ws = workspace
    writer = harness.Writer(ws.db)
    probe = ws.root / "probe.db"
    log = ws.root / "supervisor.log"

    def replica_has(ids: set[int]) -> bool:
        return ids <= harness.restored_ids(ws.db, ws.config, probe)[0]

    def replica_has_later() -> bool:
        replica_has(set())  # restores into probe
        with contextlib.closing(sqlite3.connect(probe)) as restored:
            return bool(restored.execute("SELECT count(*) FROM later").fetchone()[0])

    app = sqlite3.connect(ws.db, isolation_level=None)
    request.addfinalizer(app.close)
    app.execute("CREATE TABLE later (id INTEGER PRIMARY KEY)")
    first = harness.start_supervisor(kind, ws.config, log)
    try:
        daemon = harness.wait_daemon(ws.config)
        wait_for(lambda: "initialized db" in log.read_text())
        synced = set(writer.commit(10))
        wait_for(lambda: replica_has(synced), 30, 0.2)
        os.kill(daemon, stop)
        wait_for(lambda: harness.litestream_pids(ws.config) == [])
    finally:
        harness.stop(first)
    before = set(writer.commit(20))
    writer.checkpoint()
    app.execute("INSERT INTO later DEFAULT VALUES")  # restarts the WAL

    log.write_text("")
    second = harness.start_supervisor(kind, ws.config, log)
    try:
        harness.wait_daemon(ws.config)
        wait_for(replica_has_later, 30, 0.2)
    finally:
        harness.stop(second)
    ids, verdict = harness.restored_ids(ws.db, ws.config, ws.root / "check.db")
    assert verdict == "ok"
    assert sorted((synced | before) - ids) == []
    if ls.line == "0.5":
        assert_every_restore_point_is_a_real_state(ws)
    text = log.read_text()
    said = "so that litestream starts from a full snapshot" in text
    assert said == (ls.line == "0.5"), text
    assert harness.litestream_pids(ws.config) == []


def assert_every_restore_point_is_a_real_state(ws: Workspace) -> None:
    """Rows are committed in id order, one a transaction: a state the database really had holds
    a prefix of them. A restore to any TXID, before the restart included, must show one."""
    files = pylitestream.ltx(ws.db, level="all", config=ws.config)
    points = sorted({f["max_txid"] for f in files})
    assert len(points) >= 2, files  # before the stop, and after the restart
    for txid in points:
        out = ws.root / f"at-{txid}.db"
        assert pylitestream.restore(ws.db, out, config=ws.config, txid=txid) == str(out)
        with contextlib.closing(sqlite3.connect(out)) as conn:
            ids = sorted(int(n.split("-")[1]) for (n,) in conn.execute("SELECT name FROM items"))
        assert ids == list(range(len(ids))), (txid, ids)


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
    assert harness.litestream_pids(ws.config) == []
