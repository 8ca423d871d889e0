"""The fast layer: every command, in process, with the launch of litestream intercepted and its
argv asserted (as fastapi-cli tests its CLI). A wiring bug (a flag dropped, the wrong config or
database passed, a command sent to the wrong line) fails here in milliseconds; the end-to-end
tests prove the real binaries behave as these argvs expect.

The interception is at the process boundary, subprocess.Popen and os.execvpe, so it holds whatever
module the launch lives in. `litestream version` (the version probe) still runs for real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, Exec, Launches, Workspace, create_db, invoke, write_config

import pylitestream
from pylitestream.cli import main


def _cfg(ws: Workspace) -> str:
    return str(ws.config)


def test_databases(
    launches: Launches, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, "databases", "-c", _cfg(workspace), "--json")
    assert result.code == 0, result
    json_flag = ["-json"] if launches.line == "0.5" else []
    assert launches.only() == ["databases", "-config", _cfg(workspace), *json_flag]
    assert json.loads(result.out)  # the recorded listing, parsed


@pytest.mark.parametrize("command", ["snapshots", "wal"])
def test_backup_file_listings(
    launches: Launches, workspace: Workspace, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, command, "-d", str(workspace.db), "-c", _cfg(workspace), "--json")
    assert result.code == 0, result
    if launches.line == "0.3":
        expected = [command, "-config", _cfg(workspace), str(workspace.db)]
    else:  # 0.5: snapshots are LTX level 9, WAL segments level 0
        level = "9" if command == "snapshots" else "0"
        expected = ["ltx", "-config", _cfg(workspace), "-level", level, "-json", str(workspace.db)]
    assert launches.only() == expected


def test_generations(
    launches: Launches, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, "generations", "-d", str(workspace.db), "-c", _cfg(workspace))
    if launches.line == "0.5":
        assert result.code == 2 and launches.argvs == []
        assert "ltx" in result.err
        return
    assert result.code == 0, result
    assert launches.only() == ["generations", "-config", _cfg(workspace), str(workspace.db)]


@pytest.mark.parametrize("level", ["3", "all"])
def test_ltx_level(
    launches: Launches, workspace: Workspace, level: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, "ltx", "-d", str(workspace.db), "-c", _cfg(workspace), "--level", level)
    if launches.line == "0.3":
        assert result.code == 2 and launches.argvs == []
        return
    assert result.code == 0, result
    assert launches.only() == [
        "ltx",
        "-config",
        _cfg(workspace),
        "-level",
        level,
        "-json",
        str(workspace.db),
    ]


@pytest.mark.parametrize("with_db", [False, True], ids=["all", "database"])
def test_status(
    launches: Launches, workspace: Workspace, with_db: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    canned_db = json.loads((DATA / "0.5-status.json").read_text())[0]["database"]
    db_args = ["--database", canned_db] if with_db else []
    result = invoke(capsys, "status", "-c", _cfg(workspace), *db_args, "--json")
    if launches.line == "0.3":
        assert result.code == 2 and launches.argvs == []
        return
    assert result.code == 0, result
    assert launches.only() == [
        "status",
        "-config",
        _cfg(workspace),
        "-json",
        *([canned_db] if with_db else []),
    ]


# Restore flags per line, as the README lists them: each reaches litestream in its = form.
RESTORE_FLAGS = {
    "0.5": [
        ["-txid", "00000000000000a1"],
        ["-timestamp", "2026-11-27T00:00:00Z"],
        ["-parallelism", "4"],
    ],
    "0.3": [
        ["-index", "3"],
        ["-generation", "0123456789abcdef"],
        ["-timestamp", "2026-11-27T00:00:00Z"],
        ["-replica", "file"],
        ["-parallelism", "4"],
    ],
}


@pytest.mark.parametrize(
    ("ls", "flag", "value"),
    [
        (f"{line}.{'17' if line == '0.5' else '13'}", flag, value)
        for line, pairs in RESTORE_FLAGS.items()
        for flag, value in pairs
    ],
    indirect=["ls"],
)
def test_restore_forwards_its_flags(
    launches: Launches,
    workspace: Workspace,
    flag: str,
    value: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = workspace.root / "restored.db"
    result = invoke(
        capsys,
        "restore",
        "-d",
        str(workspace.db),
        "-c",
        _cfg(workspace),
        "--",
        flag,
        value,
        "-o",
        str(out),
    )
    assert result.code == 0, result
    argv = launches.only()
    assert argv[:3] == ["restore", "-config", _cfg(workspace)]
    assert f"{flag}={value}" in argv
    assert argv[-1] == str(workspace.db)
    scratch = next(a for a in argv if a.startswith("-o="))
    assert scratch != f"-o={out}"  # litestream writes into a private scratch directory...
    assert out.is_file() and result.out.strip() == f"restored {out}"  # ...and places it


def test_restore_refuses_a_flag_of_the_other_line(
    launches: Launches, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "-index" if launches.line == "0.5" else "-txid"
    value = "3" if other == "-index" else "00000000000000a1"
    result = invoke(
        capsys,
        "restore",
        "-d",
        str(workspace.db),
        "-c",
        _cfg(workspace),
        "--",
        other,
        value,
        "-o",
        str(workspace.root / "x.db"),
    )
    assert result.code == 2, result
    assert launches.argvs == []
    assert not (workspace.root / "x.db").exists()


def test_replicate_execs_litestream_with_the_config(
    launches: Launches,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A state directory of its own: this process claims the config and keeps the lock open (as
    # the exec would hand it to litestream), and must not meet another run's claim.
    monkeypatch.setenv("XDG_STATE_HOME", str(workspace.root / "state"))
    # By name: under mutmut, conftest can be imported twice, making two Exec classes.
    with pytest.raises(BaseException) as caught:
        invoke(capsys, "replicate", "-c", _cfg(workspace), "--", "-exec", "sleep 1")
    assert type(caught.value).__name__ == Exec.__name__
    assert caught.value.argv == ["replicate", "-config", _cfg(workspace), "-exec", "sleep 1"]
    assert launches.argvs == []
    # Before the exec, the state file names this process: exec keeps the pid for litestream.
    rows = [r for r in pylitestream.processes() if r["config"] == _cfg(workspace)]
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["pid"] == os.getpid() and row["started_by"] == "replicate"
    assert row["supervisor_pid"] is None and row["litestream"] == launches.exe.parent.parent.name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", row["started_at"]), row
    state = Path(row["state_file"])
    assert state.is_file() and json.loads(state.read_text())["pid"] == os.getpid()


def test_a_config_from_the_environment_reaches_litestream(
    launches: Launches,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITESTREAM_CONFIG", _cfg(workspace))
    result = invoke(capsys, "databases")
    assert result.code == 0, result
    assert launches.only()[:3] == ["databases", "-config", _cfg(workspace)]


def test_a_bad_config_never_reaches_litestream(
    launches: Launches, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "a.db"
    create_db(db)
    bad = write_config(
        tmp_path / "bad.yml",
        launches.line,
        [(db, {"type": "file", "path": str(tmp_path / "r"), "bukcet": "x"})],
    )
    for args in (["databases"], ["snapshots", "-d", str(db)], ["restore", "-d", str(db)]):
        result = invoke(capsys, *args, "-c", str(bad))
        assert result.code == 2, (args, result)
        assert result.err.startswith("pylitestream: error: ") and "bukcet" in result.err
    with pytest.raises(SystemExit):
        main(["replicate", "-c", str(bad)])
    assert launches.argvs == []


def test_bracketed_help_text_survives_in_every_command() -> None:
    """Rich markup once swallowed "[dashboard]" in "pip install 'py-litestream[dashboard]'": every
    "[...]" written in a command's or an option's help must reach its --help as written."""
    import typer

    from pylitestream.cli import app

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        if hasattr(command, "commands"):  # a group (Typer's own click, not click.Group)
            for name, sub in command.commands.items():
                yield from walk(sub, (*path, name))

    checked = 0
    for path, command in walk(typer.main.get_command(app), ()):
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        wanted = {m for text in texts for m in re.findall(r"\S*\[[^\]\s]+\]\S*", text)}
        if not wanted:
            continue
        result = subprocess.run(
            [sys.executable, "-m", "pylitestream", *path, "--help"],
            capture_output=True, text=True, env={**os.environ, "COLUMNS": "400"}, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        for text in wanted:
            assert text.strip(".,;:'\"()") in result.stdout, (path, text)
        checked += 1
    assert checked  # the dashboard's at least


@pytest.mark.parametrize("argv", [[], ["config"]])
def test_no_command_shows_the_help_and_one_error_line(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pylitestream", *argv], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stdout.startswith("Usage: pylitestream") and "Commands" in result.stdout
    assert result.stderr.splitlines() == [
        "pylitestream: error: no command given; choose one of the commands listed above"
    ]


def test_command_modules_give_typer_real_annotations() -> None:
    """With `from __future__ import annotations`, Typer evaluates every command's annotations
    from strings at each start (10 ms of start-up, bench/bench_cli.py)."""
    import pylitestream

    cli_dir = Path(pylitestream.__file__).parent / "cli"
    commands = [p for p in cli_dir.glob("*.py") if "@app." in p.read_text()]
    assert {p.name for p in commands} >= {"__init__.py", "listings.py", "daemon.py"}
    future = re.compile(r"^from __future__ import annotations", re.M)
    assert [p.name for p in commands if future.search(p.read_text())] == []
