"""The audit from a monitoring host, end to end through a real Prometheus (Debian's package, on
loopback) on both Litestream lines. Two app directories, each with its own litestream, replicate
into one replica root while their apps write. A loop runs `pylitestream audit --format
openmetrics` every second into a file and moves it into place, as the cron recipe in
docs/audit.md does for node_exporter's textfile collector; a small HTTP server serves that file
for Prometheus to scrape, with the shipped audit rules loaded. Once one daemon is SIGKILLed, the
shipped LitestreamAuditRestorePointOld (its threshold shortened) fires for that database alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from conftest import (
    Litestream,
    create_db,
    insert_rows,
    start_replicate,
    stop_process,
    wait_for,
    write_config,
)
from prometheus_support import quick_rules, start_prometheus
from support import serve_http

APPS = ("alpha", "bravo")
MAX_AGE = 4  # seconds: the test's --max-age and its copy of the rule's threshold


@contextmanager
def every_second(work: Any) -> Iterator[None]:
    """Call `work` about once a second in a thread until the block ends."""
    done = threading.Event()

    def loop() -> None:
        while not done.is_set():
            work()
            done.wait(1.0)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(60)


@contextmanager
def serving(path: Path) -> Iterator[str]:
    """`path` at http://127.0.0.1:PORT/metrics (what node_exporter does with a textfile):
    yields HOST:PORT, Prometheus's target."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = path.read_bytes() if path.exists() else b""
            self.send_response(200)
            self.send_header("Content-Type", "application/openmetrics-text; version=1.0.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve_http(Handler) as base:
        yield base.removeprefix("http://")


def test_the_audit_rule_fires_for_the_database_whose_daemon_died(
    ls: Litestream, tmp_path: Path
) -> None:
    replicas = tmp_path / "replicas"
    procs: dict[str, subprocess.Popen[bytes]] = {}
    dbs = {}
    for name in APPS:
        app = tmp_path / name
        app.mkdir()
        dbs[name] = app / "app.db"
        create_db(dbs[name])
        replica = {"type": "file", "path": str(replicas / name)}
        config = write_config(app / "litestream.yml", ls.line, [(dbs[name], replica)])
        procs[name] = start_replicate(config, app / "replicate.log")
    textfile = tmp_path / "textfile" / "audit.prom"
    textfile.parent.mkdir()
    written = {"runs": 0}

    def audit_into_the_textfile() -> None:
        for name, db in dbs.items():
            if procs[name].poll() is None:
                insert_rows(db, ["tick"])
        partial = textfile.with_suffix(f".{os.getpid()}")
        with partial.open("wb") as out:
            done = subprocess.run(
                [sys.executable, "-m", "pylitestream", "audit", f"file://{replicas}",
                 "--max-age", str(MAX_AGE), "--format", "openmetrics"],
                stdout=out, stderr=subprocess.DEVNULL, timeout=60, check=False)  # fmt: skip
        if done.returncode <= 1:  # as the recipe: 1 is a failing database, still metrics
            partial.replace(textfile)
            written["runs"] += 1

    prometheus = None
    try:
        with every_second(audit_into_the_textfile), serving(textfile) as target:
            wait_for(lambda: written["runs"] > 0, 30)
            rules = quick_rules(tmp_path, "LitestreamAuditRestorePointOld", str(MAX_AGE), "1s")
            prometheus = start_prometheus(
                tmp_path / "prometheus",
                [{"job_name": "audit", "static_configs": [{"targets": [target]}]}],
                [rules],
            )
            ok = "pylitestream_audit_database_ok"
            wait_for(lambda: prometheus.values(ok) == {"alpha": 1.0, "bravo": 1.0}, 60)

            os.kill(procs["bravo"].pid, signal.SIGKILL)
            procs["bravo"].wait()

            def fired() -> list[dict[str, Any]]:
                return [a for a in prometheus.alerts()  # type: ignore[union-attr]
                        if a["labels"]["alertname"] == "LitestreamAuditRestorePointOld"
                        and a["state"] == "firing"]  # fmt: skip

            firing = wait_for(fired, 60)
            assert [a["labels"]["database"] for a in firing] == [f"file://{replicas}/bravo"]
            # The audit's own --max-age judges it too, from its next run on.
            wait_for(lambda: prometheus.values(ok) == {"alpha": 1.0, "bravo": 0.0}, 30)
            assert prometheus.query(f'{ok}{{database="file://{replicas}/bravo"}}')
            assert prometheus.values("pylitestream_audit_storage_ok", "job") == {"audit": 1.0}
    finally:
        if prometheus is not None:
            prometheus.stop()
        for proc in procs.values():
            stop_process(proc)
