"""The dashboard as a Django URLconf (`include("pylitestream.django.urls")`) in a real
startproject project with real migrations and users, served by gunicorn (WSGI) and uvicorn
(ASGI): Django's login decides who sees it, staff only view, superusers act, and Django's CSRF
token guards every action. Against a real litestream 0.5 daemon with its control socket."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import Daemon, wait_for
from dashboard_client import csrf
from django_project import (
    SERVERS,
    DjangoProject,
    include_dashboard,
    project_for,
    serve,
    start_project,
)

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
SECRET = "wJalrXUtnFEMI-django-dashboard-secret"
BASIC_PASSWORD = "basic-auth-pass-never-asked-5e1"
USERS = {
    "root": ("superuser", "root-pass-7c2a91"),
    "staffer": ("staff", "staff-pass-3b8d40"),
    "plain": ("plain", "plain-pass-9e6f12"),
}


@pytest.fixture(params=sorted(SERVERS))
def site(request: Any, daemon: Daemon, tmp_path: Path) -> Iterator[tuple[str, DjangoProject]]:
    project = project_for(tmp_path / "proj", daemon.config, USERS)
    env = {"LITESTREAM_SECRET_ACCESS_KEY": SECRET, "PYLITESTREAM_DASHBOARD_USERNAME": "ops",
           "PYLITESTREAM_DASHBOARD_PASSWORD": BASIC_PASSWORD}  # fmt: skip
    with serve(project, request.param, env, tmp_path / "server.log") as url:
        yield url, project


def login(url: str, name: str) -> Any:
    import httpx

    web = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    form = web.get("/accounts/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token
    done = web.post("/accounts/login/", data={"csrfmiddlewaretoken": token.group(1),
                                           "username": name, "password": USERS[name][1],
                                           "next": "/admin/"})  # fmt: skip
    assert done.status_code == 302, done.text
    return web


@LS05
def test_django_serves_the_dashboard_to_staff_and_its_actions_to_superusers(
    site: tuple[str, DjangoProject], daemon: Daemon
) -> None:
    import httpx

    url, project = site
    secret_key = re.search(r"SECRET_KEY = '([^']+)'", project.settings.read_text())
    assert secret_key
    secrets = [SECRET, BASIC_PASSWORD, secret_key.group(1), *(p for _, p in USERS.values())]
    pages: list[str] = []

    anonymous = httpx.Client(base_url=url, follow_redirects=False)
    for path in ("/litestream/", "/litestream/overview.json", "/litestream/static/dashboard.css"):
        refused = anonymous.get(path)
        assert refused.status_code == 302, path
        assert refused.headers["location"] == f"/accounts/login/?next={path}"
    # No basic auth is asked for: Django's login is the only gate, even with a password set.
    assert "www-authenticate" not in anonymous.get("/litestream/").headers

    plain = login(url, "plain")
    for path in ("/litestream/", "/litestream/overview.json"):
        assert plain.get(path).status_code == 403

    staffer = login(url, "staffer")
    detail = f"/litestream/database?{urlencode({'path': str(daemon.db)})}"
    page = staffer.get(detail)
    assert page.status_code == 200, page.text
    pages.append(page.text)
    assert str(daemon.db) in page.text
    assert "Verify now" not in page.text  # staff view; only superusers act
    assert 'href="/litestream/static/dashboard.css"' in page.text  # links follow the mount
    assert staffer.get("/litestream/static/dashboard.css").status_code == 200
    data = staffer.get("/litestream/overview.json")
    pages.append(data.text)
    assert [d["database"] for d in data.json()["databases"]] == [str(daemon.db)]
    form = {"csrfmiddlewaretoken": csrf(page.text), "database": str(daemon.db)}
    assert staffer.post("/litestream/actions/sync", data=form).status_code == 403

    root = login(url, "root")
    page = root.get(detail)
    pages.append(page.text)
    assert "Verify now" in page.text and 'name="csrfmiddlewaretoken"' in page.text
    token = csrf(page.text)
    json_ = {"accept": "application/json"}
    for bad in ({"database": str(daemon.db)},
                {"database": str(daemon.db), "csrfmiddlewaretoken": "forged" * 8}):  # fmt: skip
        assert root.post("/litestream/actions/sync", data=bad, headers=json_).status_code == 403
    assert root.get("/litestream/overview.json").json()["databases"][0]["jobs"] == []
    form = {"csrfmiddlewaretoken": token, "database": str(daemon.db)}
    started = root.post("/litestream/actions/sync", data=form, headers=json_)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = wait_for(lambda: (j := root.get(f"/litestream/jobs/{job_id}").json())["state"]
                   != "running" and j, 120)  # fmt: skip
    assert job["state"] == "ok", job
    assert job["message"].startswith("synced: replica at TXID")
    # Without JS the form posts and is redirected back to the mount point.
    back = root.post("/litestream/actions/sync", data=form)
    assert back.status_code == 303 and back.headers["location"] == detail
    pages.append(root.get("/litestream/").text)
    for text in pages:
        for secret in secrets:
            assert secret not in text


BAD_RULES = {
    "[1]": "settings.LITESTREAM_DASHBOARD must be a dict, not list",
    '{"veiw": None}': "unknown key 'veiw' in settings.LITESTREAM_DASHBOARD; known: actions, view",
    '{"view": "mysite.nowhere.rule"}': (
        "settings.LITESTREAM_DASHBOARD['view']: cannot import 'mysite.nowhere.rule'"
    ),
    '{"actions": 42}': (
        "settings.LITESTREAM_DASHBOARD['actions'] must be a callable taking the user, or a "
        "dotted path to one, not int"
    ),
}


def test_bad_dashboard_rules_are_refused_by_name(tmp_path: Path) -> None:
    """`manage.py check` names the bad key (pylitestream.E005); good rules (a dotted path, a
    callable) pass."""
    project = start_project(tmp_path / "proj")
    include_dashboard(project)
    settings = project.settings.read_text()
    for value, message in BAD_RULES.items():
        project.settings.write_text(settings + f"\nLITESTREAM_DASHBOARD = {value}\n")
        ran = project.manage("check", "--tag", "pylitestream")
        assert ran.code == 1, ran.err
        assert f"pylitestream.E005) {message}" in ran.err, ran.err
    good = ('{"view": "pylitestream.django.dashboard.superuser", '
            '"actions": lambda user: False}')  # fmt: skip
    project.settings.write_text(settings + f"\nLITESTREAM_DASHBOARD = {good}\n")
    ran = project.manage("check", "--tag", "pylitestream")
    assert "E005" not in ran.err, ran.err


@LS05
def test_custom_rules_decide_who_sees_and_who_acts(tmp_path: Path, daemon: Daemon) -> None:
    """A dotted-path view rule lets a plain user in; an actions rule of False hides the buttons
    from a superuser and refuses their POST (Django's test Client in the project's process)."""
    project = project_for(tmp_path / "proj", daemon.config, USERS)
    (project.root / "mysite" / "rules.py").write_text(
        "def named_plain(user):\n    return user.username == 'plain'\n"
    )
    project.add_settings('LITESTREAM_DASHBOARD = {"view": "mysite.rules.named_plain", '
                         '"actions": lambda user: False}')  # fmt: skip
    code = (
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='127.0.0.1')\n"
        f"c.login(username='plain', password={USERS['plain'][1]!r})\n"
        "p = c.get('/litestream/')\n"
        "print(p.status_code, 'Verify now' in p.content.decode())\n"
        "r = Client(HTTP_HOST='127.0.0.1')\n"
        f"r.login(username='root', password={USERS['root'][1]!r})\n"
        "print(r.get('/litestream/').status_code)\n"
        "print(c.post('/litestream/actions/verify', {'database': 'x'}).status_code)\n"
    )
    ran = project.manage("shell", "-c", code)
    assert ran.code == 0, ran.err
    assert ran.out.split()[-4:] == ["200", "False", "403", "403"], ran.out
