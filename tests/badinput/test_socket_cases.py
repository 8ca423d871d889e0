"""The socket on by default (`init`), the config check that guards it, and bad input to the
daemon commands and `check`: one `pylitestream: error:` line, the documented exit code, no
traceback, nothing changed."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import Litestream, assert_one_error_line, cli, create_db, stop_process, wait_for
from servers import socket_config

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)


@LS05
def test_init_enables_a_private_per_user_socket(ls: Litestream, tmp_path: Path) -> None:
    from pylitestream.config.socket import default_socket_path, runtime_dir

    db = tmp_path / "app.db"
    create_db(db)
    config = tmp_path / "litestream.yml"
    result = cli("init", "-d", str(db), "--replica", str(tmp_path / "replica"), "-o",
                 str(config), "--json")  # fmt: skip
    assert result.code == 0, result.err
    socket = yaml.safe_load(config.read_text())["socket"]
    assert socket == {"enabled": True, "path": str(default_socket_path()), "permissions": 0o600}
    assert not socket["path"].startswith(("/var/run", "/run/litestream"))
    assert str(runtime_dir()).startswith(os.environ["XDG_RUNTIME_DIR"])
    assert stat.S_IMODE(runtime_dir().stat().st_mode) == 0o700
    assert cli("config", "check", "-c", str(config)).code == 0

    # The config init wrote drives the daemon commands with no edit.
    with (tmp_path / "replicate.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pylitestream", "replicate", "-c",
                                 str(config)], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_for(default_socket_path().exists, 30)
        # litestream creates the socket, then narrows its mode: wait for the second step.
        wait_for(lambda: stat.S_IMODE(default_socket_path().stat().st_mode) == 0o600, 10)
        info = cli("info", "-c", str(config), "--json")
        assert info.code == 0, info.err
        assert wait_for(lambda: cli("check", "-c", str(config)).code == 0, 30)
    finally:
        stop_process(proc)


@pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)
def test_init_for_03_writes_no_socket(ls: Litestream, tmp_path: Path) -> None:
    config = tmp_path / "litestream.yml"
    result = cli("init", "-d", str(tmp_path / "a.db"), "-o", str(config), "--line", "0.3")
    assert result.code == 0, result.err
    assert "socket" not in yaml.safe_load(config.read_text())


def _with_socket(config: Path, **socket: object) -> None:
    settings = yaml.safe_load(config.read_text())
    settings["socket"] = {"enabled": True, **socket}
    config.write_text(yaml.safe_dump(settings))


@LS05
@pytest.mark.parametrize(
    ("socket", "fragment"),
    [
        ({"path": "{root}/no/such/dir/ls.sock"}, "does not exist"),
        ({"path": "{root}/public/ls.sock"}, "open to other users (mode 0755)"),
        ({}, "/var/run"),  # litestream's default path: a root-owned, public directory
        ({"path": "{root}/ls.sock", "permissions": "0666"}, "use 0600"),
    ],
)
def test_config_check_guards_the_socket(
    ls: Litestream, tmp_path: Path, socket: dict[str, str], fragment: str
) -> None:
    (tmp_path / "public").mkdir(mode=0o755)
    os.chmod(tmp_path / "public", 0o755)
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    _with_socket(config, **{k: v.format(root=tmp_path) for k, v in socket.items()})
    if "permissions" in socket:  # YAML 0666 (octal), as a person writes it
        config.write_text(config.read_text().replace("'0666'", "0666"))
    before = config.read_text()
    for args in (["config", "check"], ["check"], ["replicate"]):
        result = cli(*args, "-c", str(config))
        assert_one_error_line(result, 2, str(config), fragment)
    assert config.read_text() == before
    assert not (tmp_path / "no").exists()


@LS05
def test_disabled_socket_is_not_checked(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    _with_socket(config, enabled=False, path="/no/such/dir/ls.sock")
    assert cli("config", "check", "-c", str(config)).code == 0


# --- bad input to the new commands ----------------------------------------------------------


@LS05
@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["check", "--max-lag", "0"], 2, "--max-lag must be a positive"),
        (["check", "--max-lag", "-5"], 2, "--max-lag must be a positive"),
        (["check", "--max-lag", "soon"], 2, "--max-lag"),
        (["check", "--max-lag", "nan"], 2, "--max-lag must be a positive"),
        (["check", "--timeout", "0"], 2, "--timeout must be a positive"),
        (["check", "-d", "/elsewhere/other.db"], 2, "is not in"),
        (["check", "--bogus"], 2, "--bogus"),
        (["txid"], 2, "needs --database"),
        (["start"], 2, "needs --database"),
        (["stop"], 2, "needs --database"),
        (["unregister"], 2, "needs --database"),
        (["register", "-d", "x.db"], 2, "--replica"),
        (["sync", "--timeout", "-1"], 2, "--timeout must be a positive"),
        (["sync", "--wait=maybe"], 2, "--wait"),
        (["info", "extra"], 2, "extra"),
        (["list", "--json", "--json=no"], 2, "--json"),
    ],
)
def test_bad_arguments(ls: Litestream, tmp_path: Path, args: list[str], code: int,
                       fragment: str) -> None:  # fmt: skip
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    before = sorted(p.name for p in tmp_path.iterdir())
    result = cli(*args, "-c", str(config))
    assert_one_error_line(result, code, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@LS05
@pytest.mark.parametrize("command", ["info", "list", "sync", "check", "txid -d a.db"])
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"\xff\xfe not utf-8 \x80", "is not UTF-8"),
        (b"socket: [unclosed\n", "YAML syntax error"),
        (b"socket: {enabled: true, path: ${NO_SUCH_VARIABLE_HERE}/ls.sock}\n", ""),
    ],
)
def test_bad_configs(ls: Litestream, tmp_path: Path, command: str, text: bytes,
                     fragment: str) -> None:  # fmt: skip
    config = tmp_path / "litestream.yml"
    config.write_bytes(text)
    result = cli(*command.split(), "-c", str(config))
    assert_one_error_line(result, 2, fragment)


@LS05
def test_missing_config(ls: Litestream, tmp_path: Path) -> None:
    for command in ("info", "check", "sync"):
        result = cli(command, "-c", str(tmp_path / "absent.yml"))
        assert_one_error_line(result, 2, "absent.yml")


@LS05
def test_unset_timeout_variable_is_one_line(ls: Litestream, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    create_db(db)
    config = socket_config(tmp_path, ls.line, [db])
    result = cli("info", "-c", str(config), env={"PYLITESTREAM_TIMEOUT": "soon"})
    assert_one_error_line(result, 2, "PYLITESTREAM_TIMEOUT")
