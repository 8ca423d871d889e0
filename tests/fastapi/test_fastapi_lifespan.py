"""replicator_lifespan in the real FastAPI app (tests/helpers/fastapi_project.py) under real
servers, replicating to moto S3 on both lines: a single uvicorn runs litestream around the
app's own lifespan and stops it with itself; several workers are refused unless a supervisor
that already runs litestream for the config (`pylitestream run`, Gunicorn's hooks) started
them, and then they start none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Litestream, S3Server, pid_alive, read_rows, wait_for
from fastapi_project import Project, Served, make_project, python, serve
from support import _free_port

import pylitestream


def running(project: Project) -> list[dict[str, Any]]:
    return [row for row in pylitestream.processes()
            if row["config"] == str(project.config) and row["status"] == "running"]  # fmt: skip


def add_items(served: Served, names: list[str]) -> set[int]:
    """POST each name to the app; returns the pids of the workers that wrote them."""
    import httpx

    pids = set()
    for name in names:
        done = httpx.post(f"{served.url}/items", params={"name": name}, timeout=30)
        assert done.status_code == 200, done.text
        pids.add(done.json()["pid"])
    return pids


def restored_rows(project: Project, tmp_path: Path) -> list[str]:
    out = tmp_path / f"restored-{len(list(tmp_path.glob('restored-*')))}.db"
    assert pylitestream.restore(project.db, out, config=project.config) == str(out)
    return read_rows(out)


@pytest.fixture
def project(ls: Litestream, s3_server: S3Server, tmp_path: Path) -> Project:
    return make_project(tmp_path / "app", ls.line, s3_server, ["app.db"])


def test_one_uvicorn_runs_litestream_around_the_apps_lifespan(
    project: Project, tmp_path: Path
) -> None:
    uvicorn = python("-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "app:app")
    served = serve(project, uvicorn, project.env(APP_REPLICATE="1"))
    try:
        [row] = running(project)
        assert row["started_by"] == "fastapi" and row["supervisor_pid"] == served.proc.pid
        add_items(served, ["one", "two", "three"])
    finally:
        code = served.stop()
    assert code in (0, -signal.SIGTERM), served.text()  # uvicorn ends as the signal it got
    assert not pid_alive(row["pid"]) and running(project) == []
    pid = served.proc.pid
    wanted = [f"lifespan-started-{pid}", "one", "two", "three", f"lifespan-stopped-{pid}"]
    assert read_rows(project.db) == wanted
    # The app's own lifespan ran inside litestream's: even the row its shutdown wrote is in the
    # replica, synced before litestream stopped.
    assert restored_rows(project, tmp_path) == wanted

    # The database gone, the next start restores it before the app's lifespan writes to it.
    for path in project.root.glob("app.db*"):
        path.unlink()
    served = serve(project, uvicorn, project.env(APP_REPLICATE="1"), name="again")
    try:
        assert read_rows(project.db)[: len(wanted)] == wanted
        assert read_rows(project.db)[len(wanted) :] == [f"lifespan-started-{served.proc.pid}"]
    finally:
        assert served.stop() in (0, -signal.SIGTERM)
    assert running(project) == []


REFUSED = {
    # uvicorn's parent stops every worker when one fails to start (and exits 0 even so).
    "uvicorn": (["-m", "uvicorn", "--workers", "2", "--port", "{port}", "app:app"],
                "failed to start, stopping the parent process"),
    "gunicorn": (["-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker", "--workers", "2",
                  "--no-control-socket", "--bind", "127.0.0.1:{port}", "app:app"],
                 "Worker failed to boot"),
}  # fmt: skip


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
@pytest.mark.parametrize("server", sorted(REFUSED))
def test_several_workers_are_refused(project: Project, server: str) -> None:
    """Each worker runs the lifespan: the one that comes second finds the other's litestream
    and stops the server, with the ways out in its message; nothing is left running."""
    argv, stopping = REFUSED[server]
    port = str(_free_port())
    ran = subprocess.run(python(*(part.format(port=port) for part in argv)), cwd=project.root,
                         env=project.env(APP_REPLICATE="1"), capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    log = ran.stdout + ran.stderr
    assert stopping in log, log
    # Starlette prints the lifespan's exception: its last line is the one that says why.
    error = "pylitestream.errors.AlreadyRunning: "
    [line] = {line for line in log.splitlines() if line.startswith(error)}
    assert line.startswith(f"{error}litestream is already replicating {project.config}")
    assert "with several workers run it once, outside them: 'pylitestream run -- uvicorn" in line
    assert running(project) == []


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
def test_a_litestream_that_dies_stops_the_server(project: Project) -> None:
    """on_litestream_exit="stop" (the default): the server shuts down gracefully, the app's
    own lifespan included."""
    uvicorn = python("-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "app:app")
    served = serve(project, uvicorn, project.env(APP_REPLICATE="1"))
    try:
        [row] = running(project)
        os.kill(row["pid"], signal.SIGKILL)
        served.proc.wait(60)
    finally:
        served.stop()
    assert (
        f"litestream (pid {row['pid']}) exited with status 137; stopping the app" in served.text()
    )
    assert read_rows(project.db)[-1] == f"lifespan-stopped-{served.proc.pid}"
    assert running(project) == []


@pytest.mark.parametrize("ls", ["0.5.17", "0.3.13"], indirect=True)
@pytest.mark.parametrize("supervisor", ["run", "gunicorn"])
def test_workers_under_a_supervisor_start_no_litestream(
    project: Project, supervisor: str, tmp_path: Path
) -> None:
    workers = ["-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1", "--port", "{port}",
               "app:app"]  # fmt: skip
    argv = {
        "run": python("-m", "pylitestream", "run", "--", sys.executable, *workers),
        "gunicorn": python("-m", "gunicorn", "-c", "python:pylitestream.gunicorn", "-k",
                           "uvicorn.workers.UvicornWorker", "--workers", "2",
                           "--no-control-socket", "--bind", "127.0.0.1:{port}", "app:app"),
    }[supervisor]  # fmt: skip
    env = project.env(APP_REPLICATE="1", PYLITESTREAM_ENV="production")
    served = serve(project, argv, env)
    try:
        [row] = running(project)
        assert row["started_by"] == supervisor and row["supervisor_pid"] == served.proc.pid
        wait_for(lambda: served.text().count("not starting another") == 2, 30)
        names = [f"row-{n}" for n in range(12)]
        add_items(served, names)
    finally:
        assert served.stop() == 0, served.text()
    assert running(project) == []
    rows = restored_rows(project, tmp_path)
    assert [name for name in rows if name.startswith("row-")] == names
    assert sum(name.startswith("lifespan-stopped-") for name in rows) == 2
