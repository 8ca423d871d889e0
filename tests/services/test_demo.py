"""`pylitestream demo` never touches existing files, starts from an empty replica, fails in one
line, and removes the temporary directory it made."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conftest import Litestream, assert_one_error_line, cli


def test_demo_refuses_a_dir_holding_its_files(ls: Litestream, tmp_path: Path) -> None:
    for name in ("litestream.yml", "demo.db", "demo.db-wal", "replica", "restored.db"):
        directory = tmp_path / name.replace(".", "_")
        directory.mkdir()
        mine = directory / name
        (mine.mkdir() if name == "replica" else mine.write_text("the user's own"))
        result = cli("demo", "--dir", str(directory))
        assert_one_error_line(result, 2, "already holds", name)
        assert sorted(p.name for p in directory.iterdir()) == [name]
        if mine.is_file():
            assert mine.read_text() == "the user's own"


def test_demo_in_a_temp_dir_removes_it(ls: Litestream, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = cli("demo", env={"TMPDIR": str(temp)})
    assert result.code == 0, result.err
    assert "OK: 1000 of 1000 rows" in result.out
    assert list(temp.iterdir()) == []


def test_demo_fails_in_one_line_when_litestream_does_not_replicate(
    ls: Litestream, tmp_path: Path
) -> None:
    # A litestream whose `replicate` does nothing; everything else is the real binary.
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "litestream").write_text(
        f'#!/bin/sh\n[ "$1" = replicate ] && exec sleep 60\nexec {ls.exe} "$@"\n'
    )
    os.chmod(fake / "litestream", 0o755)
    target = tmp_path / "demo"
    env = {"LITESTREAM_INSTALL_DIR": str(fake), "PYLITESTREAM_TIMEOUT": "3"}
    result = cli("demo", "--dir", str(target), env=env)
    assert_one_error_line(result, 1, "did not reach the replica")
    # Run again in the same place: refused, not a false pass from the old replica.
    assert_one_error_line(cli("demo", "--dir", str(target)), 2, "already holds")
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = cli("demo", env={**env, "TMPDIR": str(temp)})
    assert_one_error_line(result, 1, "did not reach the replica")
    assert list(temp.iterdir()) == [] and tempfile.gettempdir() != str(temp)
