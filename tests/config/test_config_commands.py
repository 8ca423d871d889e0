"""The config work: validation (one test per rule, exact message and exit code), init, migrate,
show, settings precedence and the AWS_CA_BUNDLE handling, against the real binaries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import (
    Litestream,
    assert_one_error_line,
    cli,
    create_db,
    pid_alive,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream
from pylitestream.config import settings
from pylitestream.litestream import runner


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _check(config: Path, **env: str) -> str:
    """`pylitestream config check`; return its one error line (exit code 2 asserted)."""
    result = cli("config", "check", "--config", str(config), env=env)
    return assert_one_error_line(result, 2)


def _one_db(line: str, db: str, *replica: str, top: str = "") -> str:
    """A config for one database; line 2 is its path, line 3 'replica(s):', line 4 on its
    replica keys, in the layout of `line`."""
    if line == "0.3":
        keys = [("      - " if i == 0 else "        ") + kv for i, kv in enumerate(replica)]
        head = "    replicas:"
    else:
        keys = ["      " + kv for kv in replica]
        head = "    replica:"
    return "\n".join([f"{top}dbs:", f"  - path: {db}", head, *keys]) + "\n"


# --- one test per validation rule ----------------------------------------------------------------


def test_yaml_syntax_error(ls: Litestream, tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "ls.yml", f"dbs:\n  - path: {tmp_path}/a.db\n    replica: {{type: file\n"
    )
    assert _check(cfg) == (
        f"pylitestream: error: {cfg}:4: YAML syntax error: expected ',' or '}}', "
        "but got '<stream end>' (column 1)"
    )


def test_unset_variable_is_named(ls: Litestream, tmp_path: Path) -> None:
    text = _one_db(ls.line, f"{tmp_path}/a.db", "type: file",
                   "path: ${REPLICA_DIR}/a  # $COMMENTED_OUT is not looked at")  # fmt: skip
    cfg = _write(tmp_path / "ls.yml", text)
    message = _check(cfg)
    assert message == (
        f"pylitestream: error: {cfg}:5: $REPLICA_DIR is not set, and litestream would use an "
        "empty string in its place; set REPLICA_DIR"
    )
    assert _check(cfg, REPLICA_DIR="").startswith(
        f"pylitestream: error: {cfg}:5: $REPLICA_DIR is set but empty"
    )
    ok = cli("config", "check", "--config", str(cfg), env={"REPLICA_DIR": str(tmp_path)})
    assert ok.code == 0 and ok.out.startswith("OK: "), ok.err


def test_unknown_key(ls: Litestream, tmp_path: Path) -> None:
    cfg = _write(tmp_path / "ls.yml", _one_db(ls.line, f"{tmp_path}/a.db", "type: s3", "bukcet: b"))
    assert _check(cfg) == (
        f"pylitestream: error: {cfg}:5: unknown key 'bukcet' in a replica "
        f"(Litestream {ls.line} ignores it); did you mean 'bucket'?"
    )


def test_unknown_top_level_key(ls: Litestream, tmp_path: Path) -> None:
    cfg = _write(tmp_path / "ls.yml", f"dbz:\n  - path: {tmp_path}/a.db\n")
    assert _check(cfg) == (
        f"pylitestream: error: {cfg}:1: unknown key 'dbz' in the config "
        f"(Litestream {ls.line} ignores it); did you mean 'dbs'?"
    )


def test_several_replicas_on_05(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _write(
        tmp_path / "ls.yml",
        f"""
        dbs:
          - path: {tmp_path}/a.db
            replicas:
              - type: file
                path: {tmp_path}/r1
              - type: file
                path: {tmp_path}/r2
        """,
    )
    result = cli("config", "check", "--config", str(cfg), "--line", "0.5")
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:4: this database has 2 replicas but Litestream 0.5 "
        "replicates each database to one: keep one here (then 'pylitestream config migrate' "
        "rewrites it as 'replica:'), or split the others into a second config run by its own "
        "'pylitestream replicate'"
    )
    # The same file is fine for 0.3, which replicates to both.
    assert cli("config", "check", "--config", str(cfg), "--line", "0.3").code == 0


def test_replica_key_on_03(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "ls.yml",
        f"""
        dbs:
          - path: {tmp_path}/a.db
            replica:
              type: file
              path: {tmp_path}/r
        """,
    )
    result = cli("config", "check", "--config", str(cfg), "--line", "0.3")
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:3: 'replica:' is ignored by Litestream 0.3, so this "
        "database would not be replicated; write it as a list under 'replicas:' (- type: ...)"
    )
    assert cli("config", "check", "--config", str(cfg), "--line", "0.5").code == 0


def test_database_directory_missing(ls: Litestream, tmp_path: Path) -> None:
    text = _one_db(ls.line, f"{tmp_path}/nodir/a.db", "type: file", f"path: {tmp_path}/r")
    cfg = _write(tmp_path / "ls.yml", text)
    assert _check(cfg) == (
        f"pylitestream: error: {cfg}:2: directory {tmp_path}/nodir of database path "
        f"'{tmp_path}/nodir/a.db' does not exist"
    )


def test_relative_database_path(ls: Litestream, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    text = _one_db(ls.line, "data/a.db", "type: file", f"path: {tmp_path}/r")
    cfg = _write(tmp_path / "conf" / "ls.yml", text)
    result = cli("config", "check", "--config", str(cfg), cwd=tmp_path)
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:2: database path 'data/a.db' is relative, so litestream "
        f"resolves it against the current directory ({tmp_path}/data/a.db), not the config's "
        f"directory ({tmp_path}/conf/data/a.db); write the absolute path, "
        f"e.g. path: {tmp_path}/conf/data/a.db"
    )


def test_endpoint_without_scheme_on_03(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path / "ls.yml",
        f"""
        dbs:
          - path: {tmp_path}/a.db
            replicas:
              - type: s3
                bucket: b
                endpoint: 127.0.0.1:9000
        """,
    )
    result = cli("config", "check", "--config", str(cfg), "--line", "0.3")
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:6: endpoint '127.0.0.1:9000' has no scheme, and "
        "Litestream 0.3 then uses https://127.0.0.1:9000; write http://127.0.0.1:9000 or "
        "https://127.0.0.1:9000"
    )


# --- validation runs before every litestream command; valid configs pass ------------------------


def test_every_command_validates_first(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    text = _one_db(ls.line, str(db), "type: file", f"path: {tmp_path}/r", "sync-intervall: 1s")
    cfg = _write(tmp_path / "ls.yml", text)
    expected = f"pylitestream: error: {cfg}:6: unknown key 'sync-intervall'"
    listing = ["wal", "snapshots"] + (["generations"] if ls.line == "0.3" else ["ltx", "status"])
    for command in ["databases", *listing]:
        args = [command, "-c", str(cfg)] + (
            [] if command in ("databases", "status") else ["-d", str(db)]
        )
        line = assert_one_error_line(cli(*args), 2)
        assert line.startswith(expected), (command, line)
    restore = cli("restore", "-d", str(db), "-c", str(cfg), "--", "-o", str(tmp_path / "o.db"))
    assert assert_one_error_line(restore, 2).startswith(expected)
    replicate = cli("replicate", "-c", str(cfg), timeout=20)
    assert assert_one_error_line(replicate, 2).startswith(expected)
    assert not (tmp_path / "r").exists()  # litestream never ran
    with pytest.raises(pylitestream.ConfigError, match="sync-intervall"):
        pylitestream.databases(config=cfg)
    # --no-validate hands the config to litestream as it is.
    skipped = cli("databases", "-c", str(cfg), "--json", "--no-validate")
    assert skipped.code == 0, skipped.err
    assert json.loads(skipped.out)[0]["path"] == str(db)
    assert pylitestream.databases(config=cfg, validate=False)[0]["path"] == str(db)


FULL_03 = """
addr: 127.0.0.1:0
access-key-id: $KEY_ID
secret-access-key: ${SECRET}
logging: {level: info, type: text, stderr: false}
dbs:
  - path: {db}
    meta-path: {root}/meta
    monitor-interval: 1s
    checkpoint-interval: 1m
    min-checkpoint-page-count: 1000
    max-checkpoint-page-count: 10000
    replicas:
      - name: local
        type: file
        path: {root}/r
        retention: 24h
        retention-check-interval: 1h
        sync-interval: 1s
        snapshot-interval: 1h
        validation-interval: 0s
      - type: s3
        bucket: b
        path: p
        region: us-east-1
        endpoint: http://127.0.0.1:1
        force-path-style: true
        skip-verify: false
"""

FULL_05 = """
addr: 127.0.0.1:0
sync-interval: 1s
logging: {level: info, type: text, stderr: false}
socket: {enabled: false, path: {root}/ls.sock, permissions: 0600}
snapshot: {interval: 24h, retention: 24h}
validation: {interval: 0s}
levels:
  - interval: 30s
l0-retention: 5m
shutdown-sync-timeout: 10s
dbs:
  - path: {db}
    meta-path: {root}/meta
    monitor-interval: 1s
    checkpoint-interval: 1m
    busy-timeout: 1s
    min-checkpoint-page-count: 1000
    truncate-page-n: 121359
    replica:
      type: s3
      bucket: b
      path: p
      region: us-east-1
      endpoint: http://127.0.0.1:1
      force-path-style: true
      sign-payload: true
      access-key-id: $KEY_ID
      secret-access-key: ${SECRET}
      part-size: 5MB
      concurrency: 2
"""


def test_full_valid_configs_pass(ls: Litestream, tmp_path: Path) -> None:
    """No false alarm on configs that use many of the keys each line reads."""
    db = tmp_path / "a.db"
    create_db(db)
    text = (FULL_03 if ls.line == "0.3" else FULL_05).replace("{db}", str(db))
    cfg = _write(tmp_path / "ls.yml", text.replace("{root}", str(tmp_path)))
    env = {"KEY_ID": "AKIAEXAMPLEKEY000000", "SECRET": "full-config-secret-value"}
    result = cli("config", "check", "--config", str(cfg), "--json", env=env)
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"config": str(cfg), "line": ls.line, "databases": 1,
                                        "directories": 0}  # fmt: skip
    listed = cli("databases", "--config", str(cfg), "--json", env=env)
    assert listed.code == 0, listed.err
    assert json.loads(listed.out)[0]["path"] == str(db)


def test_optional_region_and_endpoint_may_be_empty(ls: Litestream, tmp_path: Path) -> None:
    """init's S3 layout: an empty region/endpoint means AWS itself, not a mistake."""
    (tmp_path / "a.db").touch()
    assert cli("init", "-d", "a.db", cwd=tmp_path).code == 0
    env = {
        "LITESTREAM_REPLICA_BUCKET": "b",
        "LITESTREAM_ACCESS_KEY_ID": "AKIAEXAMPLEKEY000000",
        "LITESTREAM_SECRET_ACCESS_KEY": "init-secret-value",
    }
    result = cli("config", "check", env=env, cwd=tmp_path)
    assert result.code == 0, result.err
    assert result.out.strip() == (
        f"OK: {tmp_path}/litestream.yml is valid for Litestream {ls.line} (1 database(s))"
    )


# --- init ----------------------------------------------------------------------------------------


def test_init_layout_next_steps_and_no_overwrite(ls: Litestream, tmp_path: Path) -> None:
    result = cli("init", "--database", "app.db", "-d", "sub/app.db", cwd=tmp_path)
    assert result.code == 0, result.err
    cfg = tmp_path / "litestream.yml"
    assert "next steps:" in result.out
    assert f"pylitestream config check --config {cfg}" in result.out
    assert "LITESTREAM_REPLICA_BUCKET=..." in result.out
    import yaml

    data = yaml.safe_load(cfg.read_text())
    replicas = [db["replicas"][0] if ls.line == "0.3" else db["replica"] for db in data["dbs"]]
    assert [db["path"] for db in data["dbs"]] == [f"{tmp_path}/app.db", f"{tmp_path}/sub/app.db"]
    assert [r["path"] for r in replicas] == ["app.db", "sub/app.db"]  # one path per database
    assert replicas[0] == {
        "type": "s3",
        "bucket": "${LITESTREAM_REPLICA_BUCKET}",
        "path": "app.db",
        "region": "${LITESTREAM_REPLICA_REGION}",
        "endpoint": "${LITESTREAM_REPLICA_ENDPOINT}",
        "access-key-id": "${LITESTREAM_ACCESS_KEY_ID}",
        "secret-access-key": "${LITESTREAM_SECRET_ACCESS_KEY}",
    }
    before = cfg.read_text()
    again = cli("init", "--database", "other.db", cwd=tmp_path)
    assert assert_one_error_line(again, 2) == (
        f"pylitestream: error: {cfg} already exists; nothing was changed (pass --force to replace)"
    )
    assert cfg.read_text() == before
    forced = cli("init", "--database", "other.db", "--force", cwd=tmp_path)
    assert forced.code == 0 and "other.db" in cfg.read_text()


def test_init_replica_urls(tmp_path: Path) -> None:
    result = cli("init", "-d", "a.db", "--replica", str(tmp_path / "backups"), "--line", "0.5",
                 "--json", cwd=tmp_path)  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["variables"] == []
    text = (tmp_path / "litestream.yml").read_text()
    assert f"      type: file\n      path: {tmp_path}/backups/a.db\n" in text
    s3 = cli("init", "-d", "a.db", "--replica", "s3://bkt/prefix", "--line", "0.3", "-o", "s3.yml",
             cwd=tmp_path)  # fmt: skip
    assert s3.code == 0, s3.err
    assert "    replicas:\n      - url: s3://bkt/prefix/a.db\n" in (tmp_path / "s3.yml").read_text()
    bad = cli("init", "-d", "a.db", "--replica", "webdav://h/p", "--line", "0.3", "-o", "w.yml",
              cwd=tmp_path)  # fmt: skip
    assert assert_one_error_line(bad, 2) == (
        "pylitestream: error: --replica webdav://h/p: Litestream 0.3 has no 'webdav' replica; "
        "use one of s3://, gs://, abs://, sftp://, file://, or a directory path"
    )
    assert not (tmp_path / "w.yml").exists()


def test_init_from_database_url(tmp_path: Path) -> None:
    relative = cli("init", "--line", "0.5", env={"DATABASE_URL": "sqlite:///data/app.db"},
                   cwd=tmp_path)  # fmt: skip
    assert relative.code == 0, relative.err
    assert f"  - path: {tmp_path}/data/app.db\n" in (tmp_path / "litestream.yml").read_text()
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    absolute = cli(
        "init", "--line", "0.5", "-o", "abs.yml", env={"DATABASE_URL": url}, cwd=tmp_path
    )
    assert absolute.code == 0, absolute.err
    assert f"  - path: {tmp_path}/x.sqlite3\n" in (tmp_path / "abs.yml").read_text()
    pg = {"DATABASE_URL": "postgres://u:pg-password-value@h/db"}
    other = cli("init", "--line", "0.5", "-o", "pg.yml", env=pg, cwd=tmp_path)
    assert assert_one_error_line(other, 2) == (
        "pylitestream: error: DATABASE_URL (postgres://...) is not an sqlite:/// URL; "
        "pass the database with --database PATH"
    )
    assert "pg-password-value" not in other.out + other.err
    none = cli("init", "--line", "0.5", "-o", "none.yml", env={"DATABASE_URL": ""}, cwd=tmp_path)
    assert assert_one_error_line(none, 2, "no database to replicate")


def test_init_from_django_settings(tmp_path: Path) -> None:
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "__init__.py").write_text("")
    (tmp_path / "mysite" / "settings.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            BASE_DIR = Path(__file__).resolve().parent.parent
            DATABASES = {
                "default": {
                    "ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"
                },
                "cache": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
                "pg": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"},
                "extra": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/extra.db"},
            }
            """
        )
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = cli("init", "--django", "mysite.settings", "--line", "0.3", "--json",
                 env={"PYTHONPATH": str(tmp_path)}, cwd=elsewhere)  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["databases"] == [f"{tmp_path}/db.sqlite3", "/srv/extra.db"]
    missing = cli("init", "--django", "nosuch.settings", "--line", "0.3", "-o", "x.yml",
                  cwd=elsewhere)  # fmt: skip
    assert assert_one_error_line(missing, 2, "cannot import settings module 'nosuch.settings'")


# --- config show / migrate -----------------------------------------------------------------------


def test_config_show_masks_secrets(ls: Litestream, tmp_path: Path) -> None:
    secret = "show-secret-value-123"
    keys = ["type: s3", "bucket: $BUCKET", "access-key-id: AKIAINLINEKEYID12345"]
    text = _one_db(ls.line, f"{tmp_path}/a.db", *keys, "secret-access-key: ${SECRET}")
    cfg = _write(tmp_path / "ls.yml", text)
    result = cli("config", "show", "-c", str(cfg), "--json", env={"BUCKET": "bk", "SECRET": secret})
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    replica = shown["settings"]["dbs"][0]["replicas" if ls.line == "0.3" else "replica"]
    replica = replica[0] if ls.line == "0.3" else replica
    assert replica == {"type": "s3", "bucket": "bk", "access-key-id": "****2345",
                       "secret-access-key": "****"}  # fmt: skip
    text = cli("config", "show", "-c", str(cfg), env={"BUCKET": "bk", "SECRET": secret})
    assert "bucket: bk" in text.out and secret not in text.out + text.err
    assert "AKIAINLINEKEYID12345" not in result.out + text.out


@pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
def test_config_show_prints_a_socket_mode_as_written(ls: Litestream, tmp_path: Path) -> None:
    text = "socket:\n  enabled: true\n  permissions: 0600\n" + _one_db(
        ls.line, f"{tmp_path}/a.db", "type: file", f"path: {tmp_path}/r"
    )
    cfg = _write(tmp_path / "ls.yml", text)
    shown = cli("config", "show", "-c", str(cfg), "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["settings"]["socket"]["permissions"] == "0600"  # not 384
    plain = cli("config", "show", "-c", str(cfg))
    assert "0600" in plain.out and "384" not in plain.out


def test_config_migrate(tmp_path: Path) -> None:
    original = f"""
    dbs:
      - path: {tmp_path}/a.db
        replicas:
          - name: s3
            type: s3
            bucket: $BUCKET
            path: a
            retention: 72h
    """
    cfg = _write(tmp_path / "ls.yml", original)
    result = cli("config", "migrate", "-c", str(cfg), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {
        "config": str(cfg),
        "output": str(cfg),
        "backup": f"{cfg}.bak",
        "changed": True,
        "notes": [
            f"{cfg}:2: dropped replica 'retention' from {tmp_path}/a.db "
            "(0.5: snapshot.retention (top level))"
        ],
    }
    assert (tmp_path / "ls.yml.bak").read_text() == textwrap.dedent(original).lstrip()
    import yaml

    assert yaml.safe_load(cfg.read_text()) == {
        "dbs": [{"path": f"{tmp_path}/a.db",
                 "replica": {"type": "s3", "bucket": "$BUCKET", "path": "a"}}]
    }  # fmt: skip
    assert cli("config", "check", "-c", str(cfg), "--line", "0.5", env={"BUCKET": "b"}).code == 0
    again = cli("config", "migrate", "-c", str(cfg))
    assert again.code == 0 and "already in the 0.5 layout; nothing was changed" in again.out


def test_config_migrate_refuses_several_replicas(tmp_path: Path) -> None:
    text = f"dbs:\n  - path: {tmp_path}/a.db\n    replicas:\n      - path: /r1\n      - path: /r2\n"
    cfg = _write(tmp_path / "ls.yml", text)
    result = cli("config", "migrate", "-c", str(cfg))
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:2: cannot migrate: {tmp_path}/a.db has 2 replicas and "
        "Litestream 0.5 replicates each database to exactly one; keep one, and replicate to the "
        "others from a second config with its own 'pylitestream replicate'; nothing was changed"
    )
    assert cfg.read_text() == text and not (tmp_path / "ls.yml.bak").exists()


# --- settings: configure(), pyproject.toml, precedence ------------------------------------------


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(settings, "_configured", {})
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_settings_precedence(clean_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_settings / "pyproject.toml").write_text(
        '[tool.pylitestream]\nreplica_bucket = "from-pyproject"\nreplica-region = "eu-west-1"\n'
        'config_path = "deploy/litestream.yml"\n'
    )
    env = settings.effective_env({})
    assert env["LITESTREAM_REPLICA_BUCKET"] == "from-pyproject"
    assert env["LITESTREAM_REPLICA_REGION"] == "eu-west-1"
    assert env["LITESTREAM_CONFIG"] == str(clean_settings / "deploy" / "litestream.yml")
    pylitestream.configure(replica_bucket="from-configure", replica_access_key="cfg-secret-1")
    env = settings.effective_env({})
    assert env["LITESTREAM_REPLICA_BUCKET"] == "from-configure"
    assert env["LITESTREAM_SECRET_ACCESS_KEY"] == "cfg-secret-1"
    # The environment always wins, even over configure().
    env = settings.effective_env({"LITESTREAM_REPLICA_BUCKET": "from-env"})
    assert env["LITESTREAM_REPLICA_BUCKET"] == "from-env"
    # A configured secret is redacted like a secret environment variable.
    from pylitestream.config.settings import known_secrets

    assert "cfg-secret-1" in known_secrets()
    pylitestream.configure(replica_bucket="")
    assert settings.effective_env({})["LITESTREAM_REPLICA_BUCKET"] == "from-pyproject"


def test_pyproject_refuses_credentials(clean_settings: Path) -> None:
    (clean_settings / "pyproject.toml").write_text(
        '[tool.pylitestream]\nreplica_access_key = "do-not-commit-me"\n'
    )
    result = cli("config", "check", "--line", "0.5", cwd=clean_settings)
    line = assert_one_error_line(result, 2)
    assert line == (
        f"pylitestream: error: {clean_settings}/pyproject.toml: [tool.pylitestream] "
        "replica_access_key is a credential; keep it out of pyproject.toml and set "
        "LITESTREAM_SECRET_ACCESS_KEY or call pylitestream.configure()"
    )
    assert "do-not-commit-me" not in result.err


def test_config_path_from_pyproject(ls: Litestream, clean_settings: Path) -> None:
    (clean_settings / "deploy").mkdir()
    text = _one_db(ls.line, f"{clean_settings}/a.db", "type: file", f"path: {clean_settings}/r")
    cfg = _write(clean_settings / "deploy" / "ls.yml", text)
    (clean_settings / "pyproject.toml").write_text(
        '[tool.pylitestream]\nconfig_path = "deploy/ls.yml"\n'
    )
    sub = clean_settings / "src"
    sub.mkdir()
    result = cli("config", "check", "--json", cwd=sub)
    assert result.code == 0, result.err
    assert json.loads(result.out)["config"] == str(cfg)


# --- the AWS_CA_BUNDLE trap on 0.5 ---------------------------------------------------------------


def test_ca_bundle_handling(tmp_path: Path) -> None:
    system = "/etc/ssl/certs/ca-certificates.crt"
    env = {"AWS_CA_BUNDLE": system, "SSL_CERT_FILE": system}
    assert runner.move_ca_bundle(env) is None
    assert env == {"SSL_CERT_FILE": system}
    custom = tmp_path / "corp-ca.pem"
    custom.write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"AWS_CA_BUNDLE": str(custom)}
    assert runner.move_ca_bundle(env) is None
    assert env == {"SSL_CERT_FILE": str(custom)}  # Go's own way to trust a CA file
    env = {"AWS_CA_BUNDLE": str(custom), "SSL_CERT_FILE": system}
    note = runner.move_ca_bundle(env)
    assert note == (
        f"Litestream 0.5 cannot use AWS_CA_BUNDLE={custom}, and SSL_CERT_FILE={system} is "
        "already set, so the bundle is not trusted; to trust it, set SSL_CERT_FILE to it "
        "(or to a file holding both)"
    )
    assert env == {"SSL_CERT_FILE": system}


def test_ca_bundle_kept_for_03(ls: Litestream, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    from pylitestream.litestream.binary import find_binary

    env = runner.litestream_env(find_binary())
    assert ("AWS_CA_BUNDLE" in env) == (ls.line == "0.3")


def test_configure_reaches_a_replicate_subprocess(ls: Litestream, tmp_path: Path) -> None:
    """configure() in a program that then becomes litestream (api.replicate execs)."""
    db = tmp_path / "a.db"
    create_db(db)
    text = _one_db(ls.line, str(db), "type: file", "path: ${LITESTREAM_REPLICA_BUCKET}")
    cfg = _write(tmp_path / "ls.yml", text)
    program = (
        "import pylitestream\n"
        f"pylitestream.configure(replica_bucket={str(tmp_path / 'r')!r}, "
        f"config_path={str(cfg)!r})\n"
        "pylitestream.replicate()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        # litestream saw the configured value: the replica appears where it points.
        wait_for(lambda: any((tmp_path / "r").rglob("*")), 20)
    finally:
        stop_process(proc)
    assert not pid_alive(proc.pid)


def test_no_expand_env_is_checked_as_written(ls: Litestream, tmp_path: Path) -> None:
    """With litestream's -no-expand-env, a literal '$' is not a variable to complain about."""
    db = tmp_path / "a.db"
    create_db(db)
    text = _one_db(ls.line, str(db), "type: file", f"path: {tmp_path}/r$literal")
    cfg = _write(tmp_path / "ls.yml", text)
    out = str(tmp_path / "o.db")
    expanded = cli("restore", "-d", str(db), "-c", str(cfg), "--", "-o", out)
    assert assert_one_error_line(expanded, 2, "$literal is not set")
    literal = cli("restore", "-d", str(db), "-c", str(cfg), "--", "-no-expand-env", "-o", out,
                  "-if-replica-exists")  # fmt: skip
    assert literal.code == 0, literal.err
    assert literal.out.startswith("nothing restored")


def test_query_in_replica_url_on_03(tmp_path: Path) -> None:
    """0.3 drops '?endpoint=...' from a replica url and talks to AWS instead."""
    url = "url: s3://b/p?endpoint=http://127.0.0.1:9000"
    cfg = _write(tmp_path / "ls.yml", _one_db("0.3", f"{tmp_path}/a.db", url))
    result = cli("config", "check", "--config", str(cfg), "--line", "0.3")
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:4: Litestream 0.3 ignores the '?...' part of a replica url "
        "(an endpoint there sends the data to AWS instead); write type, bucket, path and "
        "endpoint as keys"
    )
    assert cli("config", "check", "--config", str(cfg), "--line", "0.5").code == 0
    init = cli("init", "-d", "a.db", "--line", "0.3", "--replica", "s3://b/p?endpoint=x",
               cwd=tmp_path)  # fmt: skip
    assert assert_one_error_line(init, 2, "Litestream 0.3 ignores '?endpoint=x'")
    assert not (tmp_path / "litestream.yml").exists()


def test_config_migrate_refuses_age(tmp_path: Path) -> None:
    replica = ["type: file", f"path: {tmp_path}/r", "age: {recipients: [age1xyz]}"]
    text = _one_db("0.3", f"{tmp_path}/a.db", *replica)
    cfg = _write(tmp_path / "ls.yml", text)
    result = cli("config", "migrate", "-c", str(cfg))
    assert assert_one_error_line(result, 2) == (
        f"pylitestream: error: {cfg}:2: cannot migrate: {tmp_path}/a.db uses age encryption, "
        "which Litestream 0.5 does not support (it refuses to start); stay on 0.3 for this "
        "database; nothing was changed"
    )
    assert cfg.read_text() == text


def test_config_migrate_to_another_file_and_force(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", "0.3", [(db, {"type": "file", "path": "/r"})])
    original = config.read_text()
    out = tmp_path / "out.yml"
    first = cli("config", "migrate", "-c", str(config), "-o", str(out))
    assert first.code == 0 and first.out.strip() == f"wrote {out}", first
    assert config.read_text() == original and not Path(f"{config}.bak").exists()
    migrated = yaml.safe_load(out.read_text())
    assert migrated["dbs"][0]["replica"] == {"type": "file", "path": "/r"}
    assert "replicas" not in migrated["dbs"][0]

    out.write_text("# mine\n")
    refused = cli("config", "migrate", "-c", str(config), "-o", str(out))
    assert refused.code == 2 and out.read_text() == "# mine\n"
    assert refused.err == f"pylitestream: error: {out} already exists; nothing was changed " \
        "(pass --force)\n"  # fmt: skip
    forced = cli("config", "migrate", "-c", str(config), "-o", str(out), "--force")
    assert forced.code == 0 and yaml.safe_load(out.read_text()) == migrated
    assert config.read_text() == original


def test_an_unknown_key_in_tool_pylitestream_is_named(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    config = write_config(tmp_path / "ls.yml", "0.5", [(db, {"type": "file", "path": "/r"})])
    (tmp_path / "pyproject.toml").write_text('[tool.pylitestream]\nreplica_bukcet = "x"\n')
    result = cli("config", "check", "--line", "0.5", "-c", str(config), cwd=tmp_path)
    assert result.code == 2, result
    assert result.err == (
        f"pylitestream: error: {tmp_path}/pyproject.toml: unknown key 'replica_bukcet' in "
        "[tool.pylitestream]; known: replica_bucket, replica_region, replica_endpoint, "
        "config_path\n"
    )
