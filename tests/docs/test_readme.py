"""Every command in the README runs here, in its order, as someone who ran `pip install` would
run it: the exports pointed at a real S3 API (moto), `run` serving a real Gunicorn app, on both
Litestream lines. A README command that stops working, or a new one without a place here, fails.
(Its links into docs/ are checked in test_docs.py.)"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Litestream, create_db, insert_rows, read_rows, stop_process, wait_for
from support import S3_SECRET, S3Server, s3_credentials

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

APP = """\
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
"""


def _blocks(language: str, text: str = README) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.M | re.S)


def _commands(section: str = "") -> list[str]:
    """The shell lines of the README's ```sh blocks, comments dropped, in order: those of the
    user's sections, or those of one `section`."""
    user, _, contributing = README.partition("## Contributing")
    lines = []
    for block in _blocks("sh", contributing if section else user):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(shlex.join(words))
    return lines


def test_the_readme_is_short() -> None:
    assert len(README.splitlines()) <= 150


def test_every_readme_command_works(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    commands = _commands()
    exports: dict[str, str] = {}
    for line in commands:
        if line.startswith("export "):
            exports.update(word.split("=", 1) for word in shlex.split(line)[1:])  # type: ignore[misc]
    ours = s3_credentials(s3_server, s3_bucket)
    assert set(exports) == set(ours)  # a variable the README adds needs a value here
    env = {**os.environ, **ours}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # gunicorn
    env["GUNICORN_CMD_ARGS"] = f"--bind unix:{tmp_path / 'gunicorn.sock'} --workers 1"
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "db").mkdir()
    database = tmp_path / "db" / "app.sqlite3"
    create_db(database)
    insert_rows(database, ["before"])

    def sh(line: str) -> subprocess.CompletedProcess[str]:
        words = shlex.split(line)
        argv = [sys.executable, "-m", "pylitestream", *words[1:]]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        assert S3_SECRET not in done.stdout + done.stderr
        return done

    ran: list[str] = []
    app: subprocess.Popen[bytes] | None = None
    try:
        for line in commands:
            words = shlex.split(line)
            if words[0] == "export":
                continue
            if words[:2] == ["pip", "install"]:
                assert words[2] == "py-litestream"  # installed already, editable
            elif words[:2] == ["pylitestream", "run"]:
                argv = [sys.executable, "-m", "pylitestream", *words[1:]]
                app = started = subprocess.Popen(argv, cwd=tmp_path, env=env)
                served = tmp_path / "gunicorn.sock"
                wait_for(lambda: served.exists() or started.poll() is not None, 60)  # noqa: B023
                assert app.poll() is None, app.returncode
                insert_rows(database, ["while running"])
            elif words[:2] == ["pylitestream", "restore"]:
                assert app is not None and stop_process(app) == 0  # run exits with the app's code
                done = sh(line)
                said = done.stdout.strip().splitlines()[-1]  # "restored PATH"
                restored = tmp_path / said.removeprefix("restored ")
                assert restored != database and restored.exists(), done.stdout
                assert read_rows(restored) == ["before", "while running"]
            else:
                sh(line)
            ran.append(words[1] if words[0] == "pylitestream" else words[0])
        assert ran == ["pip", "version", "init", "config", "run", "verify", "check", "restore",
                       "restore"]  # fmt: skip
        assert read_rows(database) == ["before", "while running"]
        with sqlite3.connect(database) as conn:  # verify left its table empty
            assert conn.execute("SELECT COUNT(*) FROM _litestream_verification").fetchone() == (0,)
        conn.close()

        (python_block,) = _blocks("python")
        done = subprocess.run([sys.executable, "-c", python_block], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
    finally:
        if app is not None:
            stop_process(app)


@pytest.mark.e2e
def test_the_contributor_quick_start(tmp_path: Path) -> None:
    """`scripts/demo` from this checkout (set up already, so bootstrap only checks); the other
    command, `scripts/test`, is what CI runs."""
    assert _commands("Contributing") == ["scripts/demo", "scripts/test"]
    env = {k: v for k, v in os.environ.items() if k != "LITESTREAM_INSTALL_DIR"}
    demo = [str(ROOT / "scripts" / "demo"), "--dir", str(tmp_path / "demo")]
    done = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "OK: 1000 of 1000 rows came back" in done.stdout


@pytest.fixture(autouse=True)
def _no_config_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LITESTREAM_CONFIG", raising=False)
