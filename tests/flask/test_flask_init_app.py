"""init_app in process, with Flask's test client: what each answer of `authorize` and `actions`
does, what the dashboard receives of the request (the mount point, its own CSRF cookie, never the
session cookie or an Authorization header), and app.config["LITESTREAM"] as the framework
settings layer (below the environment and configure(), above [tool.pylitestream]; its
credentials redacted)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Litestream, create_db, write_config
from flask import Flask, abort, redirect
from internals import known_secrets

from pylitestream import api, configure
from pylitestream.config.settings import effective_env
from pylitestream.flask import init_app, use_settings
from pylitestream.flask.dashboard import environ_for
from pylitestream.web.app import CSRF_COOKIE
from pylitestream.web.hosting import HOST_KEY

APP_SECRET = "S3CR3T-from-app-config-77aa"


def test_app_config_is_the_framework_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pylitestream]\nreplica_region = "eu-west-1"\nreplica_bucket = "from-pyproject"\n'
    )
    monkeypatch.chdir(tmp_path)
    app = Flask(__name__)
    app.config["LITESTREAM"] = {"replica_bucket": "from-app", "replica_access_key": APP_SECRET,
                                "replica_endpoint": "https://from-app"}  # fmt: skip
    init_app(app, public=True)
    source = "Flask app.config['LITESTREAM']"
    assert api.settings_sources() == {
        "LITESTREAM_REPLICA_BUCKET": source,
        "LITESTREAM_SECRET_ACCESS_KEY": source,
        "LITESTREAM_REPLICA_ENDPOINT": source,
        "LITESTREAM_REPLICA_REGION": "pyproject.toml [tool.pylitestream]",
    }
    assert APP_SECRET in known_secrets()
    configure(replica_endpoint="https://from-configure")
    monkeypatch.setenv("LITESTREAM_REPLICA_BUCKET", "from-env")
    env = effective_env()
    assert env["LITESTREAM_REPLICA_BUCKET"] == "from-env"
    assert env["LITESTREAM_REPLICA_ENDPOINT"] == "https://from-configure"
    assert env["LITESTREAM_SECRET_ACCESS_KEY"] == APP_SECRET
    assert env["LITESTREAM_REPLICA_REGION"] == "eu-west-1"
    # use_settings alone (an app with no dashboard) does the same.
    other = Flask(__name__)
    other.config["LITESTREAM"] = {"replica_region": "ap-south-1"}
    use_settings(other)
    monkeypatch.delenv("LITESTREAM_REPLICA_BUCKET")
    assert effective_env()["LITESTREAM_REPLICA_REGION"] == "ap-south-1"
    assert effective_env()["LITESTREAM_REPLICA_BUCKET"] == "from-pyproject"
    use_settings(app)
    # Read at each use: a later change to the app's config is seen.
    app.config["LITESTREAM"] = {"replica_region": "us-east-2"}
    assert effective_env()["LITESTREAM_REPLICA_REGION"] == "us-east-2"
    assert APP_SECRET not in known_secrets()


def test_the_dashboard_gets_the_mount_and_its_own_cookie_only() -> None:
    app = Flask(__name__)
    token = "A" * 43
    headers = {"Cookie": f"session=flask-session-value; {CSRF_COOKIE}={token}",
               "Authorization": "Bearer app-token", "X-Forwarded-For": "10.0.0.1"}  # fmt: skip
    with app.test_request_context("/ops/litestream/overview.json", base_url="http://h/shop",
                                  headers=headers, method="POST", data={"a": "1"}):  # fmt: skip
        environ = environ_for("/ops/litestream", "overview.json", True)
    assert environ["SCRIPT_NAME"] == "/shop/ops/litestream"  # the app's own mount point, then ours
    assert environ["PATH_INFO"] == "/overview.json"
    assert environ["HTTP_COOKIE"] == f"{CSRF_COOKIE}={token}"
    assert "HTTP_AUTHORIZATION" not in environ
    assert environ["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    assert environ["wsgi.input"].read() == b"a=1" and environ["CONTENT_LENGTH"] == "3"
    assert environ[HOST_KEY] == {"actions": True}  # no CSRF keys: the dashboard checks its own
    # A cookie that is not a token of the dashboard's shape is not passed on at all.
    with app.test_request_context("/", headers={"Cookie": f"{CSRF_COOKIE}=x; y=1"}):
        assert "HTTP_COOKIE" not in environ_for("/litestream", "", False)


def _site(tmp_path: Path, ls: Litestream, **rules: Any) -> Any:
    """A test client of an app with the dashboard at /ops/litestream; its 403 page is its own."""
    db = tmp_path / "app.db"
    create_db(db)
    config = write_config(tmp_path / "litestream.yml", ls.line,
                          [(db, {"type": "file", "path": str(tmp_path / "replica")})])  # fmt: skip
    app = Flask(__name__)
    app.config["LITESTREAM"] = {"config_path": str(config)}
    app.register_error_handler(403, lambda error: ("the app's own 403 page", 403))
    threads = threading.active_count()
    init_app(app, url_prefix="/ops/litestream/", **rules)
    assert threading.active_count() == threads  # nothing runs before the first request
    assert "litestream" in app.blueprints
    return app.test_client()


def _verdicts(client: Any, db: Path) -> tuple[int, int, bool]:
    """The overview's status, the static files', and whether the database's page offers the
    actions."""
    page = client.get("/ops/litestream/")
    static = client.get("/ops/litestream/static/dashboard.css").status_code
    detail = client.get("/ops/litestream/database", query_string={"path": str(db)})
    return page.status_code, static, "Verify now" in detail.get_data(as_text=True)


RULES: dict[str, tuple[dict[str, Callable[[Any], Any] | bool], tuple[int, int, bool]]] = {
    "true": ({"authorize": lambda request: True}, (200, 200, False)),
    "false": ({"authorize": lambda request: None}, (403, 403, False)),
    "response": ({"authorize": lambda request: redirect("/sign-in")}, (302, 302, False)),
    "abort": ({"authorize": lambda request: abort(401)}, (401, 401, False)),
    "actions-true": ({"authorize": lambda r: True, "actions": True}, (200, 200, True)),
    "actions-rule": ({"authorize": lambda r: True, "actions": lambda r: "ok"}, (200, 200, True)),
    # A rule that answers with a response (a redirect) is no yes.
    "actions-redirect": (
        {"authorize": lambda r: True, "actions": lambda r: redirect("/")},
        (200, 200, False),
    ),
    "public": ({"public": True}, (200, 200, False)),
    "public-actions": ({"public": True, "actions": lambda r: False}, (200, 200, False)),
}


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
@pytest.mark.parametrize("rule", sorted(RULES))
def test_what_each_rule_answers(rule: str, tmp_path: Path, ls: Litestream) -> None:
    given, wanted = RULES[rule]
    client = _site(tmp_path, ls, **given)
    assert _verdicts(client, tmp_path / "app.db") == wanted
    if wanted[0] == 403:
        assert client.get("/ops/litestream/").get_data(as_text=True) == "the app's own 403 page"
    page = client.get("/ops/litestream/")
    if page.status_code == 302:
        assert page.headers["location"] == "/sign-in"
    # Who may not act is refused before the dashboard sees the POST; who may needs the token.
    posted = client.post("/ops/litestream/actions/verify", data={"database": "x"})
    assert posted.status_code == (403 if wanted[0] == 200 else wanted[0])
    if wanted[2]:
        assert "CSRF" in posted.get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
        assert token
        unknown = client.post("/ops/litestream/actions/verify",
                              data={"database": "x", "csrf_token": token.group(1)})  # fmt: skip
        assert unknown.status_code == 404  # past the CSRF check: the database is not configured
