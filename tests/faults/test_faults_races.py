"""One daemon per config, whatever races: pairs of starters launched at the
same moment, in every combination of `replicate`, `run` and `Replicator`, on both lines; /proc
is the judge, not our state files. PYLITESTREAM_RACE_ROUNDS (default 1) repeats each combination:
the closing note's >= 20 pairs per line ran with PYLITESTREAM_RACE_ROUNDS=4."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import faults_harness as harness
from conftest import Litestream, Workspace, assert_one_error_line, cli, pid_alive, wait_for

from pylitestream import supervise

PAIRS = list(itertools.combinations_with_replacement(harness.SUPERVISORS, 2))
ROUNDS = int(os.environ.get("PYLITESTREAM_RACE_ROUNDS", "1"))


def _most_daemons(config: Path, seconds: float) -> int:
    """The most litestream processes for `config` seen at once over `seconds`."""
    most, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        most = max(most, len(harness.litestream_pids(config)))
        time.sleep(0.05)
    return most


def test_racing_starts_leave_exactly_one_daemon(ls: Litestream, workspace: Workspace) -> None:
    ws = workspace
    doubles, tried = [], 0
    for round_, (first, second) in itertools.product(range(ROUNDS), PAIRS):
        log = ws.root / f"race-{round_}-{first}-{second}.log"
        procs = [harness.start_supervisor(kind, ws.config, log) for kind in (first, second)]
        try:
            wait_for(lambda: harness.litestream_pids(ws.config), 30)
            # The loser is refused (exit 1); the winner keeps running.
            wait_for(lambda ps=procs: any(p.poll() is not None for p in ps), 30)
            seen = _most_daemons(ws.config, 1.0)
            tried += 1
            if seen != 1:
                doubles.append((first, second, seen))
            running = [r for r in supervise.processes() if r["config"] == str(ws.config)]
            assert [r["status"] for r in running] == ["running"], (running, log.read_text())
            assert running[0]["pid"] in harness.litestream_pids(ws.config)
            loser = next(p for p in procs if p.poll() is not None)
            assert loser.returncode == 1, log.read_text()
            assert "already replicating" in log.read_text()
        finally:
            for proc in procs:
                harness.stop(proc)
        wait_for(lambda: harness.litestream_pids(ws.config) == [], 40)
    assert tried == ROUNDS * len(PAIRS) and doubles == []


def test_a_state_file_that_lies_does_not_let_a_second_daemon_start(
    ls: Litestream, workspace: Workspace
) -> None:
    """The window before this fix: the state file named a process that was not litestream yet
    (or a dead one), so a second starter took it as stale. Now the lock litestream holds is the
    proof, whatever the state file says."""
    ws = workspace
    log = ws.root / "first.log"
    first = harness.start_supervisor("replicate", ws.config, log)
    try:
        daemon = harness.wait_daemon(ws.config)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        path = supervise.state_path(ws.config)
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "pid": dead.pid}))
        again = cli("replicate", "-c", str(ws.config))
        assert_one_error_line(again, 1, "already replicating")
        run = cli("run", "-c", str(ws.config), "--", sys.executable, "-c", "print('never')")
        assert_one_error_line(run, 1, "already replicating")
        assert harness.litestream_pids(ws.config) == [daemon]
    finally:
        harness.stop(first)
    assert not pid_alive(daemon)
