"""A real FastAPI app, written to disk as a user would write it, and served by real uvicorn or
Gunicorn with uvicorn workers: session login (Starlette's SessionMiddleware) with a login
form, staff see the dashboard, admins act, and the app's lifespan runs litestream when
APP_REPLICATE=1. Users, passwords and the session key come from the environment. No pytest
here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support import S3Server, _free_port, s3_replica, stop_process, wait_for, write_config

APP = textwrap.dedent(
    '''
    """The app of docs/frameworks/fastapi.md: login, the dashboard, and the lifespan."""
    import contextlib
    import hmac
    import html
    import json
    import os
    import sqlite3
    from urllib.parse import parse_qs, quote

    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.responses import HTMLResponse, RedirectResponse
    from starlette.middleware.sessions import SessionMiddleware

    from pylitestream.fastapi import dashboard_router, replicator_lifespan

    DB = os.environ["APP_DB"]
    USERS = json.loads(os.environ["APP_USERS"])  # {name: [role, password]}


    def write(name):
        conn = sqlite3.connect(DB)
        with conn:
            conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
            conn.execute("INSERT INTO items (name) VALUES (?)", (name,))
        conn.close()


    @contextlib.asynccontextmanager
    async def own_lifespan(app):
        write(f"lifespan-started-{os.getpid()}")
        yield
        write(f"lifespan-stopped-{os.getpid()}")


    app = FastAPI(lifespan=replicator_lifespan(
        lifespan=own_lifespan, enabled=os.environ.get("APP_REPLICATE") == "1"))
    app.add_middleware(SessionMiddleware, secret_key=os.environ["APP_SECRET_KEY"])


    def current_user(request: Request) -> dict:
        name = request.session.get("user")
        if name not in USERS:
            login = "/login?next=" + quote(request.url.path)
            raise HTTPException(status_code=303, headers={"Location": login})
        return {"name": name, "role": USERS[name][0]}


    def require_staff(user: dict = Depends(current_user)) -> dict:
        if user["role"] not in ("staff", "admin"):
            raise HTTPException(status_code=403, detail="staff only")
        return user


    def require_admin(user: dict = Depends(current_user)) -> dict:
        if user["role"] != "admin":
            raise HTTPException(status_code=403, detail="admins only")
        return user


    app.include_router(dashboard_router(view=Depends(require_staff),
                                        actions=Depends(require_admin)))

    LOGIN = """<!doctype html><title>Log in</title><h1>Log in</h1>
    <form method="post" action="/login"><input type="hidden" name="next" value="{next}">
    <label>User <input name="username"></label>
    <label>Password <input name="password" type="password"></label>
    <button type="submit">Log in</button></form>"""


    @app.get("/login", response_class=HTMLResponse)
    def login_page(next: str = "/") -> str:
        return LOGIN.format(next=html.escape(next))


    @app.post("/login")
    async def login(request: Request):
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        name = form.get("username", "")
        wanted = USERS.get(name, [None, ""])[1]
        if not wanted or not hmac.compare_digest(wanted, form.get("password", "")):
            return HTMLResponse("wrong username or password", status_code=401)
        request.session["user"] = name
        target = form.get("next") or "/"
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        return RedirectResponse(target, status_code=303)


    @app.post("/items")
    def add_item(name: str) -> dict:
        write(name)
        return {"added": name, "pid": os.getpid()}
    '''
)

USERS = {
    "root": ["admin", "root-pass-7c2a91-fastapi"],
    "staffer": ["staff", "staff-pass-3b8d40-fastapi"],
    "plain": ["plain", "plain-pass-9e6f12-fastapi"],
}
SESSION_KEY = "session-key-never-shown-4d1e8b"

# How each server is started in the app's directory; {port} is filled in.
SERVERS = {
    "uvicorn": ["-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "app:app"],
    "gunicorn": ["-m", "gunicorn", "-k", "uvicorn.workers.UvicornWorker", "--workers", "2",
                 "--no-control-socket", "--bind", "127.0.0.1:{port}", "app:app"],
}  # fmt: skip


@dataclass
class Project:
    root: Path
    db: Path
    config: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "APP_DB": str(self.db), "APP_USERS": json.dumps(USERS),
                "APP_SECRET_KEY": SESSION_KEY, "LITESTREAM_CONFIG": str(self.config),
                **extra}  # fmt: skip


def make_project(root: Path, line: str, s3: S3Server, dbs: list[str]) -> Project:
    """app.py, and a config replicating each database in `dbs` (the first is the app's) to a
    new bucket in moto, with the control socket on for 0.5. (A bucket of its own: s3_bucket's
    names are cut at 50 characters, so parametrized tests would share one, and its replicas.)"""
    bucket = s3.create_bucket(f"fastapi-{uuid.uuid4().hex[:16]}")
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)  # the socket's directory must be private
    (root / "app.py").write_text(APP)
    paths = [root / name for name in dbs]
    config = write_config(root / "litestream.yml", line,
                          [(db, s3_replica(s3, bucket, db.stem)) for db in paths],
                          socket=root / "ls.sock" if line == "0.5" else None)  # fmt: skip
    return Project(root, paths[0], config)


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM by pid (the server's graceful shutdown), as a process manager stops it."""
        return stop_process(self.proc, timeout=60)


def serve(project: Project, argv: list[str], env: dict[str, str], name: str = "server",
          ready: str = "/login") -> Served:  # fmt: skip
    """`python ARGV` ({port} filled in) in the project's directory, once `ready` answers."""
    import httpx

    port = _free_port()
    log = project.root / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([part.format(port=port) for part in argv], cwd=project.root,
                                stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_for(lambda: proc.poll() is not None
                 or httpx.get(served.url + ready, timeout=5).status_code == 200, 60)  # fmt: skip
        assert proc.poll() is None, served.text()
    except BaseException:
        stop_process(proc)
        raise
    return served


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def login(url: str, name: str) -> Any:
    """An httpx client logged in as `name` through the app's login form."""
    import httpx

    web = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    done = web.post("/login", data={"username": name, "password": USERS[name][1], "next": "/"})
    assert done.status_code == 303, done.text
    return web
