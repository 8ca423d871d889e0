"""A SIGKILLed supervisor still gets litestream's final sync, deterministic:
sync and monitor intervals of 30 s, so the only way a row committed 0.5 s before the kill reaches
the replica is litestream's final sync. Before the fix litestream logged to a pipe whose reader
was the dead supervisor (SIGPIPE), and 0.5 took PR_SET_PDEATHSIG's repeated SIGTERMs as "skip the
shutdown sync". All six cases (two lines x run, Replicator, Gunicorn) run side by side so the 30 s
first look of litestream is waited for once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import faults_harness as harness
import pytest
from conftest import VERSIONS, binary_dir, pid_alive, wait_for
from servers import WSGI_APP, Server

SUPERVISORS = ("run", "Replicator", "gunicorn")


class Case:
    def __init__(self, version: str, kind: str, root: Path) -> None:
        self.kind, self.root = kind, root
        self.env = {"LITESTREAM_INSTALL_DIR": str(binary_dir(version))}
        root.mkdir()
        self.writer = harness.Writer(root / "app.db")
        self.writer.create()
        self.writer.commit()
        replica = harness.replica_block("file", root, None, "30s")
        line = version.rsplit(".", 1)[0]
        self.config = harness.fault_config(line, root, self.writer.db, replica, monitor="30s")
        self.log = root / "supervisor.log"
        self.server: Server | None = None
        if kind == "gunicorn":
            (root / "wsgiapp.py").write_text(WSGI_APP)
            self.server = Server(root, self.config, self.writer.db, **self.env)
            self.proc: Any = self.server.proc
        else:
            self.proc = harness.start_supervisor(kind, self.config, self.log, self.env)

    def restored(self, monkeypatch: pytest.MonkeyPatch) -> tuple[set[int], str]:
        with monkeypatch.context() as patch:
            patch.setenv("LITESTREAM_INSTALL_DIR", self.env["LITESTREAM_INSTALL_DIR"])
            return harness.restored_ids(self.writer.db, self.config, self.root / "check.db")

    def cleanup(self) -> None:
        if self.server is not None:
            wait_for(lambda: not any(pid_alive(p) for p in self.server.workers), 15)  # type: ignore[union-attr]
            assert self.server.cleanup() == []
        else:
            harness.stop(self.proc)


def test_row_committed_before_supervisor_sigkill_reaches_the_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [
        Case(version, kind, tmp_path / f"{version}-{kind}")
        for version in VERSIONS
        for kind in SUPERVISORS
    ]
    try:
        daemons = {id(c): harness.wait_daemon(c.config, 60) for c in cases}
        # litestream's first look at each database (once per monitor interval, 30 s here).
        for case in cases:
            wait_for(lambda c=case: c.restored(monkeypatch)[0] == {0}, 60, 0.5)
        for case in cases:
            [row] = case.writer.commit()
            time.sleep(0.5)
            os.kill(case.proc.pid, signal.SIGKILL)
            case.proc.wait(10)
            case.row = row  # type: ignore[attr-defined]
        for case in cases:
            wait_for(lambda c=case: not pid_alive(daemons[id(c)]), 20)
    finally:
        for case in cases:
            case.cleanup()
    results = {}
    for case in cases:
        assert harness.litestream_pids(case.config) == []
        ids, verdict = case.restored(monkeypatch)
        assert verdict == "ok"
        results[case.root.name] = case.row in ids  # type: ignore[attr-defined]
    assert all(results.values()), results
