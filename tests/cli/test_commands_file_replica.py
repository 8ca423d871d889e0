"""Every core command end to end against the real 0.3.13 and 0.5.17 binaries, file replica."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import (
    Litestream,
    Workspace,
    assert_one_error_line,
    cli,
    create_db,
    insert_rows,
    read_rows,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream


def _restored_rows(ws: Workspace, out: Path) -> list[str]:
    out.unlink(missing_ok=True)
    pylitestream.restore(ws.db, out, config=ws.config)
    return read_rows(out)


def idle_config(ws: Workspace) -> Path:
    """The same database in a config no daemon runs for."""
    idle = ws.root / "idle.yml"
    idle.write_text(ws.config.read_text())
    return idle


def test_round_trip_every_command(
    ls: Litestream, workspace: Workspace, replicating: object
) -> None:
    ws = workspace
    names = [f"row-{i}" for i in range(50)]
    insert_rows(ws.db, names)
    wait_for(lambda: _restored_rows(ws, ws.root / "probe.db") == names)

    result = cli("databases", "--config", str(ws.config), "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"path": str(ws.db), "replicas": ["file"]}]
    table = cli("databases", "--config", str(ws.config))
    assert str(ws.db) in table.out and "file" in table.out

    snaps = json.loads(cli("snapshots", "-d", str(ws.db), "-c", str(ws.config), "--json").out)
    wal = json.loads(cli("wal", "--database", str(ws.db), "--config", str(ws.config), "--json").out)
    if ls.line == "0.3":
        assert snaps and all(isinstance(s["index"], int) and s["generation"] for s in snaps)
        assert wal and all(isinstance(w["offset"], int) for w in wal)
        assert wal[0]["index_hex"] == f"{wal[0]['index']:08x}"
        gens = json.loads(cli("generations", "-d", str(ws.db), "-c", str(ws.config), "--json").out)
        assert [g["generation"] for g in gens] == [snaps[0]["generation"]]
        assert isinstance(gens[0]["lag_ms"], int)
    else:
        # wal is LTX level 0; snapshots appear at level 9 once litestream takes one.
        assert wal and all(len(w["min_txid"]) == 16 for w in wal)
        assert all(s["generation"] is None for s in snaps)
        levels = json.loads(
            cli("ltx", "-d", str(ws.db), "-c", str(ws.config), "--level", "all", "--json").out
        )
        assert {0} <= {entry["level"] for entry in levels}
        statuses = json.loads(cli("status", "-c", str(ws.config), "--json").out)
        assert statuses[0]["database"] == str(ws.db)
        assert statuses[0]["status"] == "ok"
        assert len(statuses[0]["local_txid"]) == 16
        idle = json.loads(cli("status", "-c", str(idle_config(ws)), "--json").out)
        assert idle[0]["status"] == "not_running"  # litestream's own status says "ok" here
    assert set(wal[0]) == {"replica", "generation", "index", "index_hex", "offset", "min_txid",
                           "max_txid", "size", "created"}  # fmt: skip

    out = ws.root / "restored.db"
    result = cli("restore", "--database", str(ws.db), "-c", str(ws.config), "--", "-o", str(out))
    assert result.code == 0, result.err
    assert result.out.strip() == f"restored {out}"
    assert read_rows(out) == names
    # 0.3 leaves <out>.tmp-wal / -shm behind; pylitestream does not.
    assert sorted(p.name for p in ws.root.glob("restored.db*")) == ["restored.db"]


def test_restore_forms_of_database_and_flags(ls: Litestream, workspace: Workspace,
                                             replicating: object) -> None:  # fmt: skip
    ws = workspace
    insert_rows(ws.db, ["a", "b"])
    wait_for(lambda: _restored_rows(ws, ws.root / "probe.db") == ["a", "b"])
    for i, form in enumerate(
        (["--database=" + str(ws.db)], ["-database", str(ws.db)], ["--database", str(ws.db)])
    ):
        out = ws.root / f"out{i}.db"
        flag = ["-o", str(out)] if i % 2 else [f"-o={out}"]
        result = cli("restore", *form, "--json", "-c", str(ws.config), "--", *flag,
                     "-parallelism", "2", "-if-replica-exists")  # fmt: skip
        assert result.code == 0, result.err
        assert json.loads(result.out) == {"database": str(ws.db), "restored": str(out)}
        assert read_rows(out) == ["a", "b"]


def test_restore_to_a_point_in_time(ls: Litestream, workspace: Workspace,
                                    replicating: object) -> None:  # fmt: skip
    ws = workspace
    insert_rows(ws.db, ["early"])
    wait_for(lambda: _restored_rows(ws, ws.root / "probe.db") == ["early"])
    time.sleep(1.2)  # timestamps have one-second precision
    cut = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.2)
    insert_rows(ws.db, ["late"])
    wait_for(lambda: _restored_rows(ws, ws.root / "probe.db") == ["early", "late"])
    out = ws.root / "pit.db"
    assert pylitestream.restore(ws.db, out, config=ws.config, timestamp=cut) == str(out)
    assert read_rows(out) == ["early"]


def test_restore_never_overwrites(ls: Litestream, workspace: Workspace,
                                  replicating: object) -> None:  # fmt: skip
    ws = workspace
    insert_rows(ws.db, ["a"])
    wait_for(lambda: _restored_rows(ws, ws.root / "probe.db") == ["a"])
    before = ws.db.read_bytes()
    # Without -o and with the database present: a timestamped sibling, the live file untouched.
    result = cli("restore", "--database", str(ws.db), "--config", str(ws.config))
    assert result.code == 0, result.err
    sibling = Path(result.out.strip().removeprefix("restored "))
    assert sibling.parent == ws.db.parent and sibling.name.startswith("app-")
    assert read_rows(sibling) == ["a"] and ws.db.read_bytes() == before
    # An explicit -o that exists is refused.
    result = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--", "-o", str(sibling))
    assert_one_error_line(result, 2, "already exists", "nothing was changed")

    # -if-db-not-exists: litestream's own skip, which is success and touches nothing.
    result = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--", "-if-db-not-exists")
    assert result.code == 0, result.err
    assert "nothing restored" in result.out
    assert ws.db.read_bytes() == before


def test_restore_errors(ls: Litestream, workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    cfg = str(ws.config)
    # No backup yet: litestream's own message, exit 1.
    line = assert_one_error_line(
        cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", str(tmp_path / "x.db")), 1
    )
    assert "no matching backup" in line
    result = cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", str(tmp_path / "x.db"),
                 "-if-replica-exists")  # fmt: skip
    assert result.code == 0 and "nothing restored" in result.out
    assert not (tmp_path / "x.db").exists()

    # A database the config does not know.
    other = tmp_path / "other.db"
    assert_one_error_line(cli("restore", "-d", str(other), "-c", cfg), 1, "database not found")

    # Flags the running line lacks name the alternative.
    out = str(tmp_path / "y.db")
    if ls.line == "0.3":
        line = assert_one_error_line(
            cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-txid", "0" * 16), 2
        )
        assert "-index" in line
        assert_one_error_line(
            cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-force"), 2, "-o"
        )
    else:
        for flag, alternative in (("-index", "-txid"), ("-generation", "-txid"),
                                  ("-replica", "drop -replica")):  # fmt: skip
            line = assert_one_error_line(
                cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, flag, "1"), 2
            )
            assert alternative in line
        assert_one_error_line(
            cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-txid", "5"),
            2,
            "16 hex digits",
        )
    assert_one_error_line(
        cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-bogus"), 2, "-bogus"
    )
    assert_one_error_line(
        cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-timestamp", "yesterday"),
        2, "-timestamp",
    )  # fmt: skip
    assert_one_error_line(cli("restore", "-c", cfg), 2, "--database")
    if ls.line == "0.5":
        assert_one_error_line(
            cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-dry-run"), 2,
            "litestream restore -dry-run",
        )  # fmt: skip
    assert_one_error_line(
        cli("restore", "-d", str(ws.db), "-c", cfg, "--", "-o", out, "-config", cfg), 2, "--config"
    )
    assert not Path(out).exists()


def test_unsupported_commands_name_the_alternative(ls: Litestream, workspace: Workspace) -> None:
    args = ["-d", str(workspace.db), "-c", str(workspace.config)]
    if ls.line == "0.3":
        assert_one_error_line(cli("ltx", *args), 2, "0.3 has no 'ltx'", "snapshots")
        assert_one_error_line(cli("status", "-c", str(workspace.config)), 2, "databases")
    else:
        assert_one_error_line(cli("generations", *args), 2, "0.5 has no generations", "ltx")
    assert_one_error_line(cli("wal", "-c", str(workspace.config)), 2, "--database")


def test_missing_config_lists_the_places_searched(ls: Litestream, tmp_path: Path) -> None:
    line = assert_one_error_line(cli("databases", cwd=tmp_path), 2, "no litestream config found")
    for place in ("litestream.yml", "config/litestream.yml", "pylitestream/litestream.yml",
                  "/etc/litestream.yml"):  # fmt: skip
        assert place in line
    assert_one_error_line(
        cli("databases", env={"LITESTREAM_CONFIG": str(tmp_path / "x.yml")}), 2, "LITESTREAM_CONFIG"
    )


def test_config_search_order(ls: Litestream, tmp_path: Path) -> None:
    """./litestream.yml beats ./config/litestream.yml; LITESTREAM_CONFIG beats both; --config
    beats everything. Each names a different database so the winner is visible."""
    places = {
        "cwd": tmp_path / "litestream.yml",
        "cwd-config": tmp_path / "config" / "litestream.yml",
        "env": tmp_path / "env.yml",
        "flag": tmp_path / "flag.yml",
    }
    for name, path in places.items():
        path.parent.mkdir(exist_ok=True)
        write_config(path, ls.line, [(tmp_path / f"{name}.db", {"type": "file", "path": "/r"})])

    def chosen(*args: str, env: dict[str, str] | None = None) -> str:
        result = cli("databases", "--json", *args, cwd=tmp_path, env=env)
        assert result.code == 0, result.err
        return Path(json.loads(result.out)[0]["path"]).stem

    env = {"LITESTREAM_CONFIG": str(places["env"])}
    assert chosen("--config", str(places["flag"]), env=env) == "flag"
    assert chosen(env=env) == "env"
    assert chosen() == "cwd"
    places["cwd"].unlink()
    assert chosen() == "cwd-config"


def test_listing_fails_loudly_when_the_replica_is_unreachable(ls: Litestream,
                                                              tmp_path: Path) -> None:  # fmt: skip
    """0.3 exits 0 with an empty table here; 0.5 retries ~2 minutes. Both must fail, fast."""
    db = tmp_path / "app.db"
    create_db(db)
    replica = {"type": "s3", "bucket": "b", "path": "p", "endpoint": "http://127.0.0.1:9",
               "access-key-id": "AKIATESTKEYID", "secret-access-key": "s3cr3t-value"}  # fmt: skip
    cfg = write_config(tmp_path / "s3.yml", ls.line, [(db, replica)])
    start = time.monotonic()
    # AWS_CA_BUNDLE stays set (this machine sets it): pylitestream keeps it away from 0.5.
    result = cli("wal", "-d", str(db), "-c", str(cfg), "--timeout", "3", "--json")
    elapsed = time.monotonic() - start
    line = assert_one_error_line(result, 1)
    assert result.out == ""
    assert "s3cr3t-value" not in result.err
    if ls.line == "0.3":
        assert "connection refused" in line
    else:
        assert "did not finish within 3 s" in line
    assert elapsed < 15


def test_replicate_becomes_litestream_and_forwards_args(ls: Litestream,
                                                        workspace: Workspace) -> None:  # fmt: skip
    """No Python stays resident: the pid we started is litestream itself; -exec is forwarded."""
    ws = workspace
    marker = ws.root / "child-ran"
    script = f"import pathlib,time; pathlib.Path('{marker}').touch(); time.sleep(30)"
    child = f'{sys.executable} -c "{script}"'
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylitestream", "replicate", "-c", str(ws.config), "--",
         "-exec", child],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(marker.exists)
        assert Path(os.readlink(f"/proc/{proc.pid}/exe")) == ls.exe.resolve()
    finally:
        code = stop_process(proc)
    # litestream forwards SIGTERM to the child; its own exit code is then litestream's.
    assert code == 0


def test_replicate_refuses_a_forwarded_config(ls: Litestream, workspace: Workspace) -> None:
    result = cli("replicate", "-c", str(workspace.config), "--", "-config", "/x.yml")
    assert_one_error_line(result, 2, "--config")


def test_version(ls: Litestream) -> None:
    path = {"PATH": f"{ls.dir}{os.pathsep}{os.environ['PATH']}"}  # the same litestream: no note
    bundled = cli("version", "--json", env={**path, "AWS_CA_BUNDLE": "/etc/ssl/certs/x.pem"})
    warning = json.loads(bundled.out)["warning"]
    human = cli("version", env={**path, "AWS_CA_BUNDLE": "/etc/ssl/certs/x.pem"})
    assert bundled.err == human.err == ""
    if ls.line == "0.5":
        assert warning.startswith("AWS_CA_BUNDLE is set: litestream 0.5.17 run directly fails")
        assert ["warning", warning] in [line.split(None, 1) for line in human.out.splitlines()]
    else:
        assert warning is None
    bare = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    result = subprocess.run(
        [sys.executable, "-m", "pylitestream", "version", "--json"],
        env={**bare, **path},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data == {
        "pylitestream": pylitestream.__version__,
        "litestream": ls.version,
        "line": ls.line,
        "path": str(ls.exe),
        "source": "LITESTREAM_INSTALL_DIR",
        "on_path": str(ls.exe),
        "note": None,
        "warning": None,
    }
    table = cli("version", env=path).out
    assert ls.version in table and str(ls.exe) in table


def test_version_is_detected_once_per_binary(ls: Litestream, tmp_path: Path) -> None:
    """A wrapper that logs its calls stands in for litestream: two commands, one `version`."""
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    calls = tmp_path / "calls"
    wrapper = wrapper_dir / "litestream"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec {ls.exe} "$@"\n')
    wrapper.chmod(0o755)
    env = {"LITESTREAM_INSTALL_DIR": str(wrapper_dir)}
    replica = {"type": "file", "path": "/r"}
    cfg = write_config(tmp_path / "l.yml", ls.line, [(tmp_path / "a.db", replica)])
    for _ in range(2):
        assert cli("databases", "-c", str(cfg), "--json", env=env).code == 0
    assert calls.read_text().split() == ["version", "databases", "databases"]


def test_env_masks_secrets(ls: Litestream) -> None:
    env = {"LITESTREAM_SECRET_ACCESS_KEY": "very-secret-value", "LITESTREAM_REPLICA_BUCKET": "bkt",
           "LITESTREAM_ACCESS_KEY_ID": "AKIAABCDEFGH1234"}  # fmt: skip
    for args in (("env",), ("env", "--json")):
        result = cli(*args, env=env)
        assert result.code == 0
        assert "very-secret-value" not in result.out
        assert "AKIAABCDEFGH" not in result.out
        assert "bkt" in result.out and "1234" in result.out
    data = {d["name"]: d["value"] for d in json.loads(cli("env", "--json", env=env).out)}
    assert data["LITESTREAM_SECRET_ACCESS_KEY"] == "****"


def test_bad_binary_settings(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_error_line(
        cli("version", env={"LITESTREAM_INSTALL_DIR": str(empty)}), 1, "holds no 'litestream'"
    )
    assert_one_error_line(
        cli("version", env={"LITESTREAM_INSTALL_DIR": str(tmp_path / "nope")}), 1,
        "is not a directory",
    )  # fmt: skip
    fake = tmp_path / "old" / "litestream"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho v0.2.1\n")
    fake.chmod(0o755)
    assert_one_error_line(
        cli("version", env={"LITESTREAM_INSTALL_DIR": str(fake.parent)}), 1,
        "0.2.1 is not supported", "0.3.x and 0.5.x",
    )  # fmt: skip
    # Relative LITESTREAM_INSTALL_DIR resolves against the current directory.
    assert_one_error_line(
        cli("version", env={"LITESTREAM_INSTALL_DIR": "old"}, cwd=tmp_path), 1, "0.2.1"
    )


def test_bad_flags_and_no_traceback(ls: Litestream) -> None:
    assert_one_error_line(cli("databases", "--bogus"), 2, "--bogus")
    assert_one_error_line(cli("nosuchcommand"), 2, "nosuchcommand")
    assert_one_error_line(cli("ltx", "-d", "x.db", "--level", "12"), 2, "0-9")
    result = cli("--help")
    assert result.code == 0 and "restore" in result.out


def test_python_api_raises_typed_errors(ls: Litestream, workspace: Workspace) -> None:
    with pytest.raises(pylitestream.DatabaseRequired):
        pylitestream.wal(None, config=workspace.config)
    with pytest.raises(pylitestream.ConfigNotFound):
        pylitestream.databases(config=workspace.root / "missing.yml")
    with pytest.raises(pylitestream.CommandFailed) as failure:
        pylitestream.restore(workspace.db, workspace.root / "o.db", config=workspace.config)
    assert "no matching backup" in str(failure.value)
    assert failure.value.returncode == 1
    unsupported = "ltx" if ls.line == "0.3" else "generations"
    with pytest.raises(pylitestream.UnsupportedOnVersion):
        getattr(pylitestream, unsupported)(workspace.db, config=workspace.config)
    assert pylitestream.version()["litestream"] == ls.version
