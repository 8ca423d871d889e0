"""docs/frameworks/flask.md's init_app example, run as written: the block is the app, the test
adds only what every flask-login app has (a user class, a user loader, a login view). An
anonymous visitor goes to the login page, a logged-in user who is not an admin gets 403, an admin
sees the dashboard with its actions."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, Litestream, create_db, write_config

DOC = ROOT / "docs" / "frameworks" / "flask.md"
MARK = "<!-- tests/docs/test_flask_docs.py runs this block as an app -->"
ADDED = """

from flask import request
from flask_login import UserMixin, login_user


class User(UserMixin):
    def __init__(self, name):
        self.id = name
        self.is_admin = name == "admin"


@login_manager.user_loader
def load_user(name):
    return User(name)


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        login_user(User(request.form["username"]))
        return "logged in"
    return "the login page"
"""


def documented_app() -> str:
    text = DOC.read_text()
    assert MARK in text
    block = re.search(r"```python\n(.*?)```", text[text.index(MARK) :], re.S)
    assert block
    return block.group(1)


def load(path: Path) -> Any:
    """Imported as Flask imports an app: in sys.modules, so app.root_path is its directory."""
    name = f"docs_app_{id(path)}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
def test_the_documented_app_gates_the_dashboard(
    ls: Litestream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    write_config(tmp_path / "litestream.yml", ls.line,
                 [(db, {"type": "file", "path": str(tmp_path / "replica")})])  # fmt: skip
    (tmp_path / "app.py").write_text(documented_app() + ADDED)
    monkeypatch.setenv("SECRET_KEY", "docs-test-session-key")
    app = load(tmp_path / "app.py").app
    assert "litestream" in app.blueprints

    anonymous = app.test_client()
    refused = anonymous.get("/litestream/overview.json")
    assert refused.status_code == 302
    assert refused.headers["location"].startswith("/login?next=")

    someone = app.test_client()
    someone.post("/login", data={"username": "someone"})
    assert someone.get("/litestream/").status_code == 403
    assert someone.get("/litestream/static/dashboard.css").status_code == 403

    admin = app.test_client()
    admin.post("/login", data={"username": "admin"})
    page = admin.get("/litestream/")
    assert page.status_code == 200 and str(db) in page.get_data(as_text=True)
    detail = admin.get("/litestream/database", query_string={"path": str(db)})
    assert "Verify now" in detail.get_data(as_text=True)
