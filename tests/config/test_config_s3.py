"""The config work (init, settings, validation) end to end against moto's S3 API on 127.0.0.1, both
binaries: `init` with its default S3 placeholders, credentials through the environment or through
configure(), replicate, list, restore. AWS_CA_BUNDLE stays set throughout: pylitestream keeps it
away from 0.5 itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    S3_KEY_ID,
    S3_SECRET,
    Litestream,
    Result,
    S3Server,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    pid_alive,
    read_rows,
    stop_process,
    wait_for,
)
from support import s3_credentials

import pylitestream
from pylitestream.config import settings

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def _no_secret(results: list[Result], *texts: str) -> None:
    for result in results:
        assert S3_SECRET not in result.out and S3_SECRET not in result.err, result
    for text in texts:
        assert S3_SECRET not in text


@pytest.mark.parametrize("via", ["environment", "configure"])
def test_init_replicate_list_restore_on_s3(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, via: str,
) -> None:  # fmt: skip
    # The trap: this variable breaks every 0.5 S3 call unless pylitestream handles it.
    monkeypatch.setenv("AWS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setattr(settings, "_configured", {})
    monkeypatch.chdir(tmp_path)  # the in-process API calls find litestream.yml here
    db = tmp_path / "app.db"
    create_db(db)
    outputs: list[Result] = []

    init = cli("init", "--database", "app.db", cwd=tmp_path)
    outputs.append(init)
    assert init.code == 0, init.err
    assert "next steps:" in init.out
    cfg = tmp_path / "litestream.yml"
    assert "${LITESTREAM_SECRET_ACCESS_KEY}" in cfg.read_text()

    creds = s3_credentials(s3_server, s3_bucket)
    log = tmp_path / "replicate.log"
    if via == "environment":
        env = {**os.environ, **creds}
        argv = [sys.executable, "-m", "pylitestream", "replicate", "--config", str(cfg)]
        for name, value in creds.items():
            monkeypatch.setenv(name, value)  # for the in-process API calls below
    else:
        env = dict(os.environ)  # no LITESTREAM_* at all: configure() is the only source
        call = (
            f"pylitestream.configure(replica_bucket={s3_bucket!r}, replica_key_id={S3_KEY_ID!r}, "
            f"replica_access_key={S3_SECRET!r}, replica_endpoint={s3_server.endpoint!r}, "
            f"replica_region='us-east-1', config_path={str(cfg)!r})"
        )
        argv = [sys.executable, "-c", f"import pylitestream\n{call}\npylitestream.replicate()\n"]
        pylitestream.configure(
            replica_bucket=s3_bucket, replica_key_id=S3_KEY_ID, replica_access_key=S3_SECRET,
            replica_endpoint=s3_server.endpoint, replica_region="us-east-1", config_path=cfg,
        )  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        names = [f"row-{i}" for i in range(20)]
        insert_rows(db, names)
        probe = tmp_path / "probe.db"

        def restored() -> bool:
            probe.unlink(missing_ok=True)
            pylitestream.restore(db, probe, if_replica_exists=True)
            return probe.exists() and read_rows(probe) == names

        wait_for(restored, 30)
        assert proc.poll() is None, log.read_text()

        # Listing commands show what is on S3.
        assert [d["path"] for d in pylitestream.databases()] == [str(db)]
        assert pylitestream.wal(db)
        if via == "environment":
            listed = cli("wal", "--database", str(db), "--json", env=creds, cwd=tmp_path)
            outputs.append(listed)
            assert listed.code == 0, listed.err
            assert json.loads(listed.out)
            out = tmp_path / "restored.db"
            result = cli("restore", "-d", str(db), "--", "-o", str(out), env=creds, cwd=tmp_path)
            outputs.append(result)
            assert result.code == 0, result.err
            assert read_rows(out) == names
            for command in (["databases"], ["config", "show"], ["config", "check"], ["env"]):
                shown = cli(*command, env=creds, cwd=tmp_path)
                outputs.append(shown)
                assert shown.code == 0, (command, shown.err)
            assert f"bucket: {s3_bucket}" in outputs[-3].out
        else:
            out = tmp_path / "restored.db"
            assert pylitestream.restore(db, out) == str(out)
            assert read_rows(out) == names
            assert pylitestream.check_config()["databases"] == 1
            shown = json.dumps(pylitestream.show_config())
            assert s3_bucket in shown and S3_SECRET not in shown
        keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
        assert keys and all(k.startswith("app.db/") for k in keys)
    finally:
        stop_process(proc)
    assert not pid_alive(proc.pid)
    _no_secret(outputs, log.read_text())


def test_unset_bucket_rejected_before_litestream_starts(
    ls: Litestream, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "_configured", {})
    db = tmp_path / "app.db"
    create_db(db)
    assert cli("init", "--database", str(db), cwd=tmp_path).code == 0
    creds = s3_credentials(s3_server, "unused")
    del creds["LITESTREAM_REPLICA_BUCKET"]
    result = cli("replicate", env=creds, cwd=tmp_path, timeout=20)
    line = assert_one_error_line(result, 2)
    assert line == (
        f"pylitestream: error: {tmp_path}/litestream.yml:9: $LITESTREAM_REPLICA_BUCKET is not "
        "set, and litestream would use an empty string in its place; set "
        "LITESTREAM_REPLICA_BUCKET or pylitestream.configure(replica_bucket=...)"
    )
    # litestream never ran: it logs to stdout as soon as it starts.
    assert result.out == ""
    _no_secret([result])


def test_no_secret_in_any_error_output(ls: Litestream, s3_server: S3Server, tmp_path: Path) -> None:
    """Failing commands, with the secret set, print it nowhere (litestream's own errors
    included: the bucket does not exist)."""
    db = tmp_path / "app.db"
    create_db(db)
    assert cli("init", "--database", str(db), cwd=tmp_path).code == 0
    creds = {**s3_credentials(s3_server, "no-such-bucket"), "PYLITESTREAM_TIMEOUT": "20"}
    outputs = [
        cli("restore", "-d", str(db), "--", "-o", str(tmp_path / "o.db"), env=creds, cwd=tmp_path),
        cli("wal", "-d", str(db), env=creds, cwd=tmp_path),
        cli("config", "show", "--json", env=creds, cwd=tmp_path),
        cli("config", "migrate", "--json", env=creds, cwd=tmp_path),
        cli("init", "-d", str(db), env=creds, cwd=tmp_path),
        cli("env", env=creds, cwd=tmp_path),
    ]
    assert outputs[0].code == 1 and outputs[4].code == 2
    _no_secret(outputs)


def test_ca_bundle_trap_is_real_without_pylitestream(
    s3_server: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same S3 config, run by the 0.5 binary directly with AWS_CA_BUNDLE set, fails: what
    the tests above pass through pylitestream is the handled trap, not a lucky environment."""
    from conftest import binary_dir

    db = tmp_path / "app.db"
    create_db(db)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settings, "_configured", {})
    assert cli("init", "--database", str(db), "--line", "0.5").code == 0
    creds = s3_credentials(s3_server, s3_bucket)
    exe = binary_dir("0.5.17") / "litestream"
    argv = [str(exe), "ltx", "-config", str(tmp_path / "litestream.yml"), str(db)]
    env = {**os.environ, **creds, "AWS_CA_BUNDLE": SYSTEM_BUNDLE}
    raw = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert raw.returncode == 1
    assert "unable to add custom RootCAs" in raw.stderr
    monkeypatch.setenv("LITESTREAM_INSTALL_DIR", str(exe.parent))
    handled = cli("ltx", "-d", str(db), "--json", env={**creds, "AWS_CA_BUNDLE": SYSTEM_BUNDLE})
    assert handled.code == 0, handled.err
    assert json.loads(handled.out) == []
