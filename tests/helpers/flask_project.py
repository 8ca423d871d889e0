"""A real Flask app written to disk: an app factory with flask-login, a user store with hashed
passwords, a login view, an admin flag, its settings in app.config["LITESTREAM"], and the
dashboard mounted by pylitestream.flask.init_app. `flask --app app ...` is run in a subprocess
(real exit codes, real streams). No pytest here."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_project import Ran

# {name: (role, password)}: admins view and act, ops view only, plain users are refused.
USERS = {
    "root": ("admin", "root-pass-7c2a91"),
    "watcher": ("ops", "ops-pass-3b8d40"),
    "plain": ("plain", "plain-pass-9e6f12"),
}
SECRET_KEY = "flask-session-key-4f0e9a61d2"

APP = '''"""A Flask app as the docs show it: flask-login, and the dashboard for its admins."""

import os

from flask import Flask, redirect, request
from flask_login import LoginManager, UserMixin, current_user, login_user
from werkzeug.security import check_password_hash, generate_password_hash

from pylitestream.flask import init_app

USERS = {name: (role, generate_password_hash(password))
         for name, (role, password) in @USERS@.items()}


class User(UserMixin):
    def __init__(self, name):
        self.id = name
        self.role = USERS[name][0]


def create_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = @SECRET_KEY@
    app.config["LITESTREAM"] = @LITESTREAM@
    login_manager = LoginManager(app)
    login_manager.login_view = "login"

    @login_manager.user_loader
    def load_user(name):
        return User(name) if name in USERS else None

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            name = request.form.get("username", "")
            if name in USERS and check_password_hash(USERS[name][1], request.form["password"]):
                login_user(User(name))
                return redirect(request.args.get("next") or "/")
            return "wrong username or password", 401
        return (\'<h1>Log in</h1><form method="post"><input name="username">\'
                \'<input name="password" type="password"><button>Log in</button></form>\')

    @app.route("/")
    def home():
        return "home"

    # --- the docs' rules (docs/frameworks/flask.md) ---
    def can_view(request):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()  # to the login page, ?next= back here
        return current_user.role in ("admin", "ops")

    if @MOUNT@:
        init_app(app, authorize=can_view,
                 actions=lambda request: current_user.role == "admin")
    return app
'''


@dataclass
class FlaskApp:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "app.db"

    def flask(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        """`flask --app app ARGS` in the app's directory."""
        return self.run([sys.executable, "-m", "flask", "--app", "app", *args], env, timeout)

    def pylitestream(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        return self.run([sys.executable, "-m", "pylitestream", *args], env)

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run(argv, cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, check=False, env=full_env)  # fmt: skip
        return Ran(proc.returncode, proc.stdout, proc.stderr)


def write_app(root: Path, litestream: Any, *, mount: bool = True) -> FlaskApp:
    """app.py in root, with app.config["LITESTREAM"] = `litestream` (Python source or a value)."""
    root.mkdir(parents=True, exist_ok=True)
    source = litestream if isinstance(litestream, str) else repr(litestream)
    text = (APP.replace("@USERS@", repr(USERS)).replace("@SECRET_KEY@", repr(SECRET_KEY))
            .replace("@LITESTREAM@", source).replace("@MOUNT@", repr(mount)))  # fmt: skip
    (root / "app.py").write_text(text)
    return FlaskApp(root)
