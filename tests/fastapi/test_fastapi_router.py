"""dashboard_router's rules in process (FastAPI's TestClient), against real litestream 0.5.17
with a config whose daemon is not running: the refusal to build an open dashboard, the forms a
rule may take, where the router may be mounted, and what the app's request keeps to itself.
The served app, the browser and the servers are in test_fastapi_dashboard.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Litestream
from dashboard_client import two_databases
from fastapi import Depends, HTTPException, Request, Response

import pylitestream

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
OPEN = (
    "the dashboard would be open to anyone: pass view=Depends(...) with your app's login rule "
    "(actions=Depends(...) for who may act), or public=True to open it on purpose"
)


def detail(config: Path) -> str:
    """The page of the config's orders.db, where the actions are."""
    from urllib.parse import urlencode

    return "/litestream/database?" + urlencode({"path": str(config.parent / "orders.db")})


@pytest.fixture
def config(ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return two_databases(ls.line, tmp_path, monkeypatch)


def app_with(router: Any, **include: Any) -> Any:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    app.include_router(router, **include)
    return TestClient(app, follow_redirects=False)


def who(request: Request) -> str:
    """The test's login: the X-User header (a stand-in for a session); none gets a redirect."""
    name = request.headers.get("x-user")
    if not name:
        raise HTTPException(status_code=303, headers={"Location": "/login"})
    return str(name)


def as_user(name: str) -> dict[str, str]:
    return {"x-user": name}


@LS05
def test_without_a_view_it_refuses_to_build_and_public_opens_it(config: Path) -> None:
    from pylitestream.fastapi import dashboard_router

    with pytest.raises(pylitestream.UsageError) as refused:
        dashboard_router(config)
    assert str(refused.value) == OPEN
    with pytest.raises(pylitestream.UsageError, match=r"^the dashboard would be open"):
        dashboard_router(config, actions=lambda: True)  # actions alone do not say who sees it
    web = app_with(dashboard_router(config, public=True))
    page = web.get("/litestream/")
    assert page.status_code == 200 and "orders.db" in page.text
    assert "Verify now" not in web.get(detail(config)).text  # public never switches actions on
    assert web.post("/litestream/actions/verify", data={"database": "x"}).status_code == 403


@LS05
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"view": 42}, "view= must be a dependency, Depends(rule) or the rule itself, not int"),
        (
            {"view": who, "actions": "admin"},
            "actions= must be a dependency, Depends(rule) or the rule itself, not str",
        ),
        ({"view": "depends-empty"}, "view=Depends() needs the dependency itself"),
        ({"view": who, "actions": "yield"}, "actions= cannot be a dependency with yield"),
        *(
            (
                {"view": who, "prefix": prefix},
                f"prefix= must be a path below the app's root, "
                f"starting with '/' and not ending with one, like '/litestream'; not {prefix!r}",
            )
            for prefix in ("", "/", "litestream", "/litestream/", None)
        ),
    ],
)
def test_bad_arguments_are_refused_by_name(
    config: Path, arguments: dict[str, Any], message: str
) -> None:
    from pylitestream.fastapi import dashboard_router

    def yielding() -> Any:
        yield True

    chosen = {
        key: {"depends-empty": Depends(), "yield": Depends(yielding)}.get(value, value)
        if isinstance(value, str) else value
        for key, value in arguments.items()
    }  # fmt: skip
    with pytest.raises(pylitestream.UsageError) as refused:
        dashboard_router(config, **chosen)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


@LS05
def test_the_actions_rule_may_raise_return_false_or_be_async(config: Path) -> None:
    """Raising or returning False hides the buttons from a page and refuses the action; the
    rule may be a plain function, Depends(...) or async, with dependencies of its own."""
    from pylitestream.fastapi import dashboard_router

    def user(request: Request) -> str:
        return who(request)

    def raises(name: str = Depends(user)) -> None:
        if name != "admin":
            raise HTTPException(status_code=403, detail="admins only")

    def answers(name: str = Depends(user)) -> bool:
        return name == "admin"

    async def awaits(name: str = Depends(user)) -> str:
        if name != "admin":
            raise HTTPException(status_code=403, detail="admins only (async)")
        return name

    for rule in (Depends(raises), answers, Depends(awaits)):
        web = app_with(dashboard_router(config, view=Depends(user), actions=rule))
        assert web.get("/litestream/").headers["location"] == "/login"
        viewer = web.get(detail(config), headers=as_user("staff"))
        assert viewer.status_code == 200 and "Verify now" not in viewer.text
        admin = web.get(detail(config), headers=as_user("admin"))
        assert "Verify now" in admin.text
        token = re.search(r'name="csrf-token" content="([^"]+)"', viewer.text)
        assert token
        refused = web.post("/litestream/actions/verify", headers=as_user("staff"),
                           data={"database": str(config.parent / "orders.db"),
                                 "csrf_token": token.group(1)})  # fmt: skip
        assert refused.status_code == 403


@LS05
def test_links_follow_every_prefix_the_router_is_under(config: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from pylitestream.fastapi import dashboard_router

    inner = FastAPI()
    inner.include_router(dashboard_router(config, view=who, prefix="/backups"), prefix="/ops")
    outer = FastAPI()
    outer.mount("/api", inner)
    web = TestClient(outer, headers=as_user("staff"))
    page = web.get("/api/ops/backups/")
    assert page.status_code == 200
    assert 'href="/api/ops/backups/static/dashboard.css"' in page.text
    assert 'data-root="/api/ops/backups"' in page.text
    assert web.get("/api/ops/backups/static/dashboard.css").status_code == 200
    assert web.head("/api/ops/backups/overview.json").status_code == 200
    # Without the trailing slash: FastAPI's redirect to it, which shows nothing.
    bare = web.get("/api/ops/backups", follow_redirects=False)
    assert bare.status_code == 307 and bare.headers["location"].endswith("/api/ops/backups/")


@LS05
def test_the_dashboard_never_sees_the_apps_cookies_or_authorization(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only its own CSRF cookie reaches the dashboard; a header a dependency set on FastAPI's
    response (a refreshed session cookie) reaches the browser."""
    from pylitestream.fastapi import dashboard_router

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "index.html").write_text(
        "cookie=[{{ request.headers.get('cookie') }}] "
        "authorization=[{{ request.headers.get('authorization') }}]"
    )
    monkeypatch.setenv("PYLITESTREAM_TEMPLATES", str(templates))

    def refreshing(request: Request, response: Response) -> str:
        response.set_cookie("session", "refreshed")
        return who(request)

    web = app_with(dashboard_router(config, view=Depends(refreshing)))
    page = web.get("/litestream/", headers={
        **as_user("staff"), "authorization": "Bearer app-token-never-passed-on",
        "cookie": "session=app-session-never-passed-on; pylitestream_csrf=" + "a" * 43,
    })  # fmt: skip
    assert page.status_code == 200
    assert page.text == f"cookie=[pylitestream_csrf={'a' * 43}] authorization=[None]"
    assert any(c.startswith("session=refreshed;") for c in page.headers.get_list("set-cookie"))


@LS05
def test_security_rules_app_handlers_and_no_actions(config: Path) -> None:
    """Security(...) works as a rule; a view that raises the app's own exception gets the app's
    handler's response; without `actions` nobody acts; the router stays out of OpenAPI."""
    from fastapi import FastAPI, Security
    from fastapi.responses import PlainTextResponse
    from fastapi.testclient import TestClient

    from pylitestream.fastapi import dashboard_router

    class NotLoggedIn(Exception):
        pass

    def session_user(request: Request) -> str:
        if "x-user" not in request.headers:
            raise NotLoggedIn
        return who(request)

    def admin_scope(name: str = Depends(session_user)) -> bool:
        return name == "admin"

    app = FastAPI()

    @app.exception_handler(NotLoggedIn)
    async def to_login(request: Request, exc: NotLoggedIn) -> Any:
        return PlainTextResponse("please log in", status_code=401)

    app.include_router(dashboard_router(config, view=session_user,
                                        actions=Security(admin_scope, scopes=["ops"])))  # fmt: skip
    web = TestClient(app)
    refused = web.get("/litestream/static/dashboard.css")
    assert refused.status_code == 401 and refused.text == "please log in"
    assert "Verify now" in web.get(detail(config), headers=as_user("admin")).text
    assert "Verify now" not in web.get(detail(config), headers=as_user("staff")).text
    assert not [path for path in app.openapi()["paths"] if "litestream" in path]

    viewers_only = app_with(dashboard_router(config, view=who))
    page = viewers_only.get(detail(config), headers=as_user("admin"))
    assert "Verify now" not in page.text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token
    refused = viewers_only.post("/litestream/actions/verify", headers=as_user("admin"),
                                data={"database": str(config.parent / "orders.db"),
                                      "csrf_token": token.group(1)})  # fmt: skip
    assert refused.status_code == 403 and "actions are off" in refused.text


@LS05
def test_configure_in_the_app_is_the_framework_layer_and_the_environment_wins(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pylitestream.fastapi import dashboard_router

    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    (other / "litestream.yml").write_text(config.read_text().replace("orders.db", "sales.db"))
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.pylitestream]\nconfig_path = "{other}/x.yml"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LITESTREAM_CONFIG", raising=False)
    secret = "configured-secret-never-shown-31c9"
    pylitestream.configure(config_path=config, replica_access_key=secret)

    def names() -> list[str]:
        web = app_with(dashboard_router(view=who))
        data = web.get("/litestream/overview.json", headers=as_user("staff"))
        assert secret not in data.text and secret not in web.get("/litestream/").text
        return [db["name"] for db in data.json()["databases"]]

    assert names() == ["orders.db", "users.db"]  # configure() over [tool.pylitestream]
    monkeypatch.setenv("LITESTREAM_CONFIG", str(other / "litestream.yml"))
    assert names() == ["sales.db", "users.db"]  # the environment over configure()


def test_the_lifespan_takes_a_plain_async_generator_and_can_be_off() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from pylitestream.fastapi import replicator_lifespan

    seen: list[str] = []

    async def lifespan(app: Any) -> Any:
        seen.append("started")
        yield {"ready": True}
        seen.append("stopped")

    app = FastAPI(lifespan=replicator_lifespan(lifespan=lifespan, enabled=False))

    @app.get("/")
    def home(request: Request) -> dict[str, Any]:
        return {"ready": request.state.ready}

    with TestClient(app) as web:
        assert web.get("/").json() == {"ready": True}
    assert seen == ["started", "stopped"]
    assert not [row for row in pylitestream.processes() if row["status"] == "running"]
