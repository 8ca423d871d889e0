"""A real Django project made by `django-admin startproject`, with pylitestream's app installed,
and `manage.py` run in a subprocess (real exit codes, real streams). No pytest here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from support import _free_port, stop_process, wait_for

SETTINGS_MODULE = "mysite.settings"
SERVERS = {
    "gunicorn": ["-m", "gunicorn", "--workers", "1", "--no-control-socket", "--bind",
                 "127.0.0.1:{port}", "mysite.wsgi:application"],
    "uvicorn": ["-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
                "mysite.asgi:application"],
}  # fmt: skip


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@dataclass
class DjangoProject:
    root: Path

    @property
    def settings(self) -> Path:
        return self.root / "mysite" / "settings.py"

    @property
    def db(self) -> Path:
        return self.root / "db.sqlite3"

    def add_settings(self, text: str) -> None:
        with self.settings.open("a") as file:
            file.write("\n" + text + "\n")

    def manage(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        return self.run([sys.executable, "manage.py", *args], env=env, timeout=timeout)

    def pylitestream(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        """The plain `pylitestream` command in the project, with DJANGO_SETTINGS_MODULE set."""
        return self.run(
            [sys.executable, "-m", "pylitestream", *args],
            env={"DJANGO_SETTINGS_MODULE": SETTINGS_MODULE, **(env or {})},
        )

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        proc = subprocess.run(
            argv,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
        return Ran(proc.returncode, proc.stdout, proc.stderr)


def start_project(root: Path, litestream: dict[str, Any] | None = None) -> DjangoProject:
    """`django-admin startproject mysite ROOT`, "pylitestream.django" in INSTALLED_APPS and,
    when given, `LITESTREAM = {...}` in the settings."""
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
        check=True,
        capture_output=True,
    )
    project = DjangoProject(root)
    project.add_settings('INSTALLED_APPS += ["pylitestream.django"]')
    if litestream is not None:
        project.add_settings(f"LITESTREAM = {litestream!r}")
    return project


def include_dashboard(project: DjangoProject, prefix: str = "litestream/") -> None:
    """The docs' URLconf line, appended to the project's urls.py."""
    with (project.root / "mysite" / "urls.py").open("a") as file:
        file.write(
            "\nfrom django.urls import include\n"
            f'urlpatterns += [path("{prefix}", include("pylitestream.django.urls"))]\n'
        )


def create_users(project: DjangoProject, users: dict[str, tuple[str, str]]) -> None:
    """Real users through the real auth models: {username: (kind, password)}, kind one of
    "superuser", "staff", "plain"."""
    code = "from django.contrib.auth.models import User\n" + "".join(
        f"User.objects.create_user({name!r}, password={password!r}, "
        f"is_staff={kind != 'plain'}, is_superuser={kind == 'superuser'})\n"
        for name, (kind, password) in users.items()
    )
    ran = project.manage("shell", "-c", code)
    assert ran.code == 0, ran.err


def project_for(root: Path, config: Path, users: dict[str, tuple[str, str]]) -> DjangoProject:
    """A migrated project with the dashboard at /litestream/, Django's LoginView at the default
    LOGIN_URL (the admin's login takes staff only; startproject has no registration/login.html,
    so it borrows the admin's template) and `users`."""
    project = start_project(root, {"config_path": str(config)})
    include_dashboard(project)
    with (project.root / "mysite" / "urls.py").open("a") as file:
        file.write("from django.contrib.auth.views import LoginView\n"
                   'urlpatterns += [path("accounts/login/", '
                   'LoginView.as_view(template_name="admin/login.html"))]\n')  # fmt: skip
    project.add_settings('ALLOWED_HOSTS = ["127.0.0.1"]')
    migrated = project.manage("migrate", "--no-input")
    assert migrated.code == 0, migrated.err
    create_users(project, users)
    return project


@contextmanager
def serve(project: DjangoProject, server: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """The project served by a real gunicorn or uvicorn (SERVERS) on a free port: its URL."""
    port = _free_port()
    argv = [sys.executable, *(part.format(port=port) for part in SERVERS[server])]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=project.root, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **env})  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/accounts/login/").status_code == 200, 60)
        yield url
    finally:
        stop_process(proc)
    assert proc.poll() is not None
