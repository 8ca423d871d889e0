"""A running dashboard for the tests and bench/bench_dashboard.py: databases replicated to moto
S3 by a real litestream daemon (socket on for 0.5), and `pylitestream dashboard` serving them.
No pytest here, so bench/ can import it."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import (
    S3Server,
    _free_port,
    create_db,
    insert_rows,
    s3_replica,
    stop_process,
    wait_for,
    write_config,
)

USERNAME = "ops"
PASSWORD = "dashboard-pass-9f3c1e"  # a real secret the pages must never show


@dataclass
class Site:
    root: Path
    config: Path
    dbs: list[Path]
    url: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            stop_process(proc)


def http_status(url: str, auth: tuple[str, str] | None = None) -> int:
    import base64

    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def start_replication(root: Path, line: str, install_dir: Path, s3: S3Server, bucket: str,
                      count: int, actions: bool = True) -> Site:  # fmt: skip
    """`count` databases with a few rows each, replicated to `bucket` by a real daemon; no
    dashboard yet (site.url is empty)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # the socket's directory must be private
    dbs = [root / f"app{i:02d}.db" for i in range(count)]
    for db in dbs:
        create_db(db)
        insert_rows(db, [f"row-{n}" for n in range(5)])
    config = write_config(root / "litestream.yml", line,
                          [(db, s3_replica(s3, bucket, db.stem)) for db in dbs],
                          socket=root / "ls.sock" if line == "0.5" else None)  # fmt: skip
    env = {**os.environ, "LITESTREAM_INSTALL_DIR": str(install_dir),
           "PYLITESTREAM_DASHBOARD_USERNAME": USERNAME,
           "PYLITESTREAM_DASHBOARD_PASSWORD": PASSWORD,
           "PYLITESTREAM_DASHBOARD_ACTIONS": "1" if actions else "0"}  # fmt: skip
    site = Site(root, config, dbs, "", env)
    log = root / "replicate.log"
    with log.open("wb") as out:
        site.procs.append(subprocess.Popen(
            [sys.executable, "-m", "pylitestream", "replicate", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, env=env))  # fmt: skip
    try:
        wait_for(lambda: log.read_text().count("initialized db") >= count, 60)
    except BaseException:
        site.stop()
        raise
    return site


def start_site(root: Path, line: str, install_dir: Path, s3: S3Server, bucket: str, count: int,
               actions: bool = True) -> Site:  # fmt: skip
    """start_replication, and `pylitestream dashboard` serving it."""
    site = start_replication(root, line, install_dir, s3, bucket, count, actions)
    config, env = site.config, site.env
    try:
        port = _free_port()
        site.url = f"http://127.0.0.1:{port}"
        with (root / "dashboard.log").open("wb") as out:
            site.procs.append(subprocess.Popen(
                [sys.executable, "-m", "pylitestream", "dashboard", "--port", str(port),
                 "-c", str(config)], stdout=out, stderr=subprocess.STDOUT, env=env))  # fmt: skip
        # The static files need the password too, like every page.
        ready = site.url + "/static/dashboard.css"
        wait_for(lambda: http_status(ready, (USERNAME, PASSWORD)) == 200, 30)
    except BaseException:
        site.stop()
        raise
    return site


def check_json(site: Site) -> Any:
    import json

    proc = subprocess.run(
        [sys.executable, "-m", "pylitestream", "check", "--json", "-c", str(site.config)],
        capture_output=True, text=True, env=site.env, timeout=60, check=False)  # fmt: skip
    return json.loads(proc.stdout)
