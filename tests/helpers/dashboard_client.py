"""The dashboard in process, through Starlette's test client: its login, CSRF token and jobs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from servers import socket_config
from support import create_db, wait_for

SECRET = "wJalrXUtnFEMI-dashboard-test-secret"
PASSWORD = "correct-horse-battery-dashboard"


def two_databases(line: str, tmp_path: Path, monkeypatch: Any) -> Path:
    """Two databases; real secrets in the environment; no daemon. Returns their config."""
    root = tmp_path / "site"
    root.mkdir(mode=0o700)
    dbs = [root / "orders.db", root / "users.db"]
    for db in dbs:
        create_db(db)
    monkeypatch.setenv("LITESTREAM_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_USERNAME", "ops")
    monkeypatch.setenv("PYLITESTREAM_DASHBOARD_PASSWORD", PASSWORD)
    monkeypatch.delenv("PYLITESTREAM_TEMPLATES", raising=False)
    monkeypatch.delenv("PYLITESTREAM_DASHBOARD_ACTIONS", raising=False)
    return socket_config(root, line, dbs)


def basic(user: str, password: str) -> dict[str, str]:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def client(app: Any, auth: tuple[str, str] | None = ("ops", PASSWORD)) -> Any:
    from starlette.testclient import TestClient

    return TestClient(app, headers=basic(*auth) if auth else None)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found
    return found.group(1)


def run_job(web: Any, kind: str, db: Path, token: str) -> dict[str, Any]:
    started = web.post(f"/actions/{kind}", data={"database": str(db), "csrf_token": token},
                       headers={"accept": "application/json"})  # fmt: skip
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    return wait_for(lambda: (job := web.get(f"/jobs/{job_id}").json())["state"] != "running"
                    and job, 120)  # fmt: skip
