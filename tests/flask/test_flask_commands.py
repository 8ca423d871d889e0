"""`flask litestream <command>` in a real Flask app (an app factory with flask-login, its S3
credentials only in app.config["LITESTREAM"], read there from the app's own environment
variables), replicating to moto on both Litestream lines. Each command's output is the plain
`pylitestream` command's, given the same settings as LITESTREAM_* variables; no output shows a
credential. Every process is stopped by its pid."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from conftest import (
    S3_KEY_ID,
    S3_SECRET,
    Litestream,
    S3Server,
    create_db,
    insert_rows,
    pid_alive,
    read_rows,
    stop_process,
    wait_for,
)
from django_project import Ran
from flask_project import FlaskApp, write_app

# The app reads its credentials from variables of its own, as a Flask app reads any secret: only
# app.config["LITESTREAM"] hands them to pylitestream.
LITESTREAM = """{
        "replica_bucket": os.environ["APP_BUCKET"],
        "replica_key_id": os.environ["APP_KEY_ID"],
        "replica_access_key": os.environ["APP_SECRET"],
        "replica_endpoint": os.environ["APP_ENDPOINT"],
        "replica_region": "us-east-1",
    }"""


def _ok(ran: Ran) -> Ran:
    assert ran.code == 0, (ran.out, ran.err)
    return ran


def test_flask_litestream_on_s3(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    app = write_app(tmp_path / "site", LITESTREAM)
    create_db(app.db)
    insert_rows(app.db, ["a", "b"])
    env = {"APP_BUCKET": s3_bucket, "APP_KEY_ID": S3_KEY_ID, "APP_SECRET": S3_SECRET,
           "APP_ENDPOINT": s3_server.endpoint}  # fmt: skip
    # The plain command, given the same settings as variables, is the reference.
    as_variables = {"LITESTREAM_REPLICA_BUCKET": s3_bucket, "LITESTREAM_ACCESS_KEY_ID": S3_KEY_ID,
                    "LITESTREAM_SECRET_ACCESS_KEY": S3_SECRET, "LITESTREAM_REPLICA_REGION":
                    "us-east-1", "LITESTREAM_REPLICA_ENDPOINT": s3_server.endpoint}  # fmt: skip

    def flask(*args: str) -> Ran:
        return app.flask("litestream", *args, env=env)

    def same_as_plain(*args: str) -> Ran:
        ran = flask(*args)
        plain = app.pylitestream(*args, env=as_variables)
        assert (ran.code, ran.out, ran.err) == (plain.code, plain.out, plain.err), args
        return ran

    outputs = [_ok(same_as_plain("version")), _ok(same_as_plain("version", "--json"))]
    init = _ok(flask("init", "--database", "app.db", "--json"))
    written = json.loads(init.out)
    assert written["databases"] == [str(app.db)] and written["line"] == ls.line
    config = (app.root / "litestream.yml").read_text()
    assert S3_SECRET not in config and S3_KEY_ID not in config  # ${VARIABLES} only
    outputs += [init, _ok(same_as_plain("config", "check")), _ok(same_as_plain("config", "show"))]
    assert outputs[-2].out.startswith(f"OK: {app.root}/litestream.yml is valid for ")
    # Without the app's settings the plain command finds no bucket: they came from the app.
    bare = app.pylitestream("config", "check")
    assert bare.code == 2 and "LITESTREAM_REPLICA_BUCKET" in bare.err, bare

    log = tmp_path / "replicate.log"
    with log.open("wb") as sink:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "litestream", "replicate"],
            cwd=app.root, stdout=sink, stderr=subprocess.STDOUT,
            env={**__import__("os").environ, **env},
        )  # fmt: skip
    try:
        wait_for(lambda: "initialized db" in log.read_text(), 30)
        listing = ("ltx", "-d", "app.db") if ls.line == "0.5" else ("generations", "-d", "app.db")
        wait_for(lambda: flask(*listing, "--json").code == 0 and json.loads(flask(
            *listing, "--json").out), 30)  # fmt: skip
        outputs += [_ok(same_as_plain("databases")), _ok(same_as_plain("databases", "--json"))]
        outputs.append(_ok(flask(*listing, "--json")))
        plain = app.pylitestream(*listing, "--json", env=as_variables)
        assert json.loads(outputs[-1].out) == json.loads(plain.out)
        outputs.append(_ok(flask("verify", "-d", "app.db", "--json")))
        assert json.loads(outputs[-1].out)["ok"] is True
        outputs.append(flask("check", "--json"))
        assert outputs[-1].code == 0, outputs[-1]
        assert [r["database"] for r in json.loads(outputs[-1].out)] == [str(app.db)]
    finally:
        stop_process(daemon)
    assert not pid_alive(daemon.pid)
    outputs.append(Ran(0, log.read_text(), ""))

    # A restore to a new path; the same target again is refused, and nothing is overwritten.
    before = hashlib.sha256(app.db.read_bytes()).hexdigest()
    restored = _ok(flask("restore", "-d", "app.db", "--", "-o", "copy.db"))
    assert read_rows(app.root / "copy.db") == ["a", "b"]
    copy = hashlib.sha256((app.root / "copy.db").read_bytes()).hexdigest()
    again = flask("restore", "-d", "app.db", "--", "-o", "copy.db")
    plain_again = app.pylitestream("restore", "-d", "app.db", "--", "-o", "copy.db",
                                   env=as_variables)  # fmt: skip
    assert again.code == plain_again.code == 2, again
    assert again.err == plain_again.err and len(again.err.splitlines()) == 1, again.err
    assert again.err.startswith("pylitestream: error:")
    assert hashlib.sha256((app.root / "copy.db").read_bytes()).hexdigest() == copy
    assert hashlib.sha256(app.db.read_bytes()).hexdigest() == before
    outputs += [restored, again]

    for ran in outputs:
        assert S3_SECRET not in ran.out + ran.err, ran
        assert S3_KEY_ID not in ran.out + ran.err, ran


def test_help_and_usage_errors_are_pylitestreams(tmp_path: Path) -> None:
    """--help lists pylitestream's commands; a bad flag is its one line and exit 2."""
    app: FlaskApp = write_app(tmp_path / "site", {})
    listed = app.flask("litestream", "--help")
    assert listed.code == 0 and "verify" in listed.out and "restore" in listed.out
    bad = app.flask("litestream", "databases", "--no-such-flag")
    plain = app.pylitestream("databases", "--no-such-flag")
    assert (bad.code, bad.err) == (plain.code, plain.err) == (2, plain.err)
    assert len(bad.err.splitlines()) == 1
    # The command is Flask's too: `flask --help` names it.
    assert "litestream" in app.flask("--help").out
