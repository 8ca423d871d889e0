"""The hatchling build hook (hatch_build.py): where the binary comes from, how it is verified, and
how each failure reads. Builds run hatchling on a snapshot of the project, for linux-x86_64
whatever the host, with a private build cache; downloads go to a server on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import ModuleType

import pytest
from wheel_helpers import (
    ARTIFACT,
    EPOCH,
    PINS,
    ROOT,
    VERSION,
    Members,
    clean_env,
    edit_pins,
    files_under,
    hatchling_build,
    http_server,
    make_tar_gz,
    make_zip,
    only_wheel,
    send,
    sha256_bytes,
    sha256_file,
    snapshot_project,
    staged_binary,
)

TARGET = "linux-x86_64"
PIN = PINS["targets"][TARGET]
ARCHIVE_NAME = PIN["url"].rsplit("/", 1)[-1]
SCRIPT = f"{ARTIFACT}.data/scripts/litestream"
Maker = Callable[[Path, Members], Path]
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a build that tries to download fails fast


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["hatch_build"] = module
    spec.loader.exec_module(module)
    return module


hook = load_hook()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return snapshot_project(tmp_path / "project")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release-style archive holding the real binary (not upstream's bytes: its hash differs)."""
    directory = tmp_path_factory.mktemp("archive")
    return make_tar_gz(
        directory / ARCHIVE_NAME,
        {"LICENSE": b"license\n", "README.md": b"readme\n", "litestream": staged_binary(TARGET)},
    )


def build(project: Path, out: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    settings = {
        "PYLITESTREAM_TARGET": TARGET,
        "PYLITESTREAM_BUILD_CACHE": str(cache),
        "PYLITESTREAM_DOWNLOAD_MIRROR": NOWHERE,
        **env,
    }
    return hatchling_build(project, out, clean_env(**settings))


def build_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed build explains itself with."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pylitestream build hook: "), lines
    return lines[0]


def wheel_binary(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zipped:
        return zipped.read(SCRIPT)


# --- target and archive handling, in-process --------------------------------------------------


@pytest.mark.parametrize(
    ("system", "machine", "expected"),
    [
        ("linux", "x86_64", "linux-x86_64"),
        ("linux", "AMD64", "linux-x86_64"),
        ("linux", "aarch64", "linux-aarch64"),
        ("linux", "arm64", "linux-aarch64"),
        ("darwin", "x86_64", "darwin-x86_64"),
        ("darwin", "arm64", "darwin-arm64"),
        ("linux", "armv7l", None),
        ("win32", "AMD64", None),
        ("freebsd14", "amd64", None),
    ],
)
def test_host_target(system: str, machine: str, expected: str | None) -> None:
    assert hook.host_target(system, machine) == expected


def test_select_target() -> None:
    assert hook.select_target({}) == (hook.host_target() or "none")
    assert hook.select_target({"PYLITESTREAM_TARGET": "none"}) == "none"
    assert hook.select_target({"PYLITESTREAM_TARGET": "darwin-arm64"}) == "darwin-arm64"
    with pytest.raises(hook.BuildError, match="unknown PYLITESTREAM_TARGET='linux-armv7'"):
        hook.select_target({"PYLITESTREAM_TARGET": "linux-armv7"})


def test_old_hatchling_is_refused() -> None:
    hook.check_hatchling("1.27.0")
    hook.check_hatchling("1.33.0")
    for old in ("1.24.0", "1.26.3"):  # 1.26 keeps the exec bit but has no PEP 639 licence files
        with pytest.raises(hook.BuildError, match=rf"hatchling {old} drops .* use hatchling>=1.27"):
            hook.check_hatchling(old)


def test_licence_fields() -> None:
    """Only the py3-none-any wheel, which has no binary, leaves Litestream's licence out."""
    both = ("MIT AND Apache-2.0", ["LICENSE", "vendor/litestream/LICENSE"])
    assert hook.licence_fields({"PYLITESTREAM_TARGET": "none"}) == ("MIT", ["LICENSE"])
    assert hook.licence_fields({"PYLITESTREAM_TARGET": "darwin-arm64"}) == both
    assert hook.licence_fields({}) == both  # an sdist, or a wheel for this host


@pytest.mark.parametrize(
    "members",
    [{"litestream": b"bin"}, {"LICENSE": b"l", "litestream": b"bin"}, {"dist/litestream": b"bin"}],
)
@pytest.mark.parametrize("maker", [make_tar_gz, make_zip])
def test_extract_binary_finds_it(tmp_path: Path, maker: Maker, members: dict[str, bytes]) -> None:
    suffix = ".tar.gz" if maker is make_tar_gz else ".zip"
    archive = maker(tmp_path / f"a{suffix}", members)
    hook.extract_binary(archive, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"bin"


@pytest.mark.parametrize(
    ("members", "found"),
    [
        ({"README.md": b"r"}, "found: none"),
        ({"a/b/litestream": b"deep"}, "found: none"),
        ({"litestream": b"1", "x/litestream": b"2"}, "found: litestream, x/litestream"),
    ],
)
def test_extract_binary_refuses(tmp_path: Path, members: dict[str, bytes], found: str) -> None:
    archive = make_tar_gz(tmp_path / "a.tar.gz", members)
    with pytest.raises(hook.BuildError, match=f"must hold one 'litestream' file \\({found}\\)"):
        hook.extract_binary(archive, tmp_path / "out")


def test_extract_binary_reports_a_broken_archive(tmp_path: Path) -> None:
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"not gzip at all")
    with pytest.raises(hook.BuildError, match="cannot read archive"):
        hook.extract_binary(archive, tmp_path / "out")


# --- failures through a real hatchling build --------------------------------------------------


def test_unknown_target(project: Path, tmp_path: Path, cache: Path) -> None:
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_TARGET="windows-x86_64")
    message = build_error(result)
    assert "unknown PYLITESTREAM_TARGET='windows-x86_64'" in message
    assert "linux-x86_64, linux-aarch64, darwin-x86_64, darwin-arm64 or none" in message
    assert not files_under(tmp_path / "out")


def test_missing_local_file(project: Path, tmp_path: Path, cache: Path) -> None:
    missing = tmp_path / "nope" / "litestream"
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_LITESTREAM_BINARY=str(missing))
    assert build_error(result).endswith(f"PYLITESTREAM_LITESTREAM_BINARY={missing}: no such file")
    assert not files_under(tmp_path / "out")
    assert not files_under(cache)


def test_wrong_local_binary(project: Path, tmp_path: Path, cache: Path) -> None:
    fake = tmp_path / "litestream"
    fake.write_bytes(b"#!/bin/sh\necho 0.5.17\n")
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_LITESTREAM_BINARY=str(fake))
    message = build_error(result)
    assert f"checksum mismatch for litestream {VERSION} {TARGET} from {fake}" in message
    assert f"expected sha256 {PIN['binary_sha256']}, got {sha256_file(fake)}" in message
    assert fake.exists(), "the builder's own file is never deleted"
    assert not files_under(tmp_path / "out")
    assert not files_under(cache)


def test_wrong_binary_in_local_archive(project: Path, tmp_path: Path, cache: Path) -> None:
    archive = make_tar_gz(tmp_path / ARCHIVE_NAME, {"litestream": b"not litestream"})
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_LITESTREAM_BINARY=str(archive))
    message = build_error(result)
    assert f"from {archive}: expected sha256 {PIN['binary_sha256']}, got " in message
    assert message.endswith(sha256_bytes(b"not litestream"))
    assert not files_under(cache)


def serve_file(body: bytes) -> Callable[[BaseHTTPRequestHandler, int], None]:
    def respond(handler: BaseHTTPRequestHandler, number: int) -> None:
        send(handler, 200, body)

    return respond


def test_download_404(project: Path, tmp_path: Path, cache: Path) -> None:
    with http_server(lambda handler, n: send(handler, 404, b"Not Found")) as (url, asked):
        result = build(project, tmp_path / "out", cache, PYLITESTREAM_DOWNLOAD_MIRROR=url)
    assert build_error(result).endswith(f"download of {url}/{ARCHIVE_NAME} failed: HTTP 404")
    assert asked == [f"/{ARCHIVE_NAME}"], "a 404 is final: no retries"
    assert not files_under(cache)


def test_download_timeout(project: Path, tmp_path: Path, cache: Path) -> None:
    gate = threading.Event()

    def stall(handler: BaseHTTPRequestHandler, number: int) -> None:
        gate.wait(30)  # answer nothing until the test is over

    try:
        with http_server(stall) as (url, asked):
            started = time.monotonic()
            result = build(
                project, tmp_path / "out", cache,
                PYLITESTREAM_DOWNLOAD_MIRROR=url, PYLITESTREAM_DOWNLOAD_TIMEOUT="0.3",
            )  # fmt: skip
            elapsed = time.monotonic() - started
    finally:
        gate.set()
    message = build_error(result)
    assert message.endswith(f"{ARCHIVE_NAME} failed after 3 attempts: no answer within 0.3 s")
    assert len(asked) == 3
    assert elapsed < 20
    assert not files_under(cache)


def test_downloaded_archive_must_match_its_pin(
    project: Path, tmp_path: Path, cache: Path, real_archive: Path
) -> None:
    # The test archive holds the right binary, but it is not upstream's archive.
    with http_server(serve_file(real_archive.read_bytes())) as (url, _asked):
        result = build(project, tmp_path / "out", cache, PYLITESTREAM_DOWNLOAD_MIRROR=url)
    message = build_error(result)
    assert f"checksum mismatch for archive {url}/{ARCHIVE_NAME}" in message
    assert f"expected sha256 {PIN['archive_sha256']}, got {sha256_file(real_archive)}" in message
    assert not files_under(cache)


def test_downloaded_binary_must_match_its_pin(project: Path, tmp_path: Path, cache: Path) -> None:
    edit_pins(project, TARGET, archive_sha256=None)  # as for a release whose archive is unpinned
    archive = make_tar_gz(tmp_path / ARCHIVE_NAME, {"litestream": b"tampered"})
    with http_server(serve_file(archive.read_bytes())) as (url, _asked):
        result = build(project, tmp_path / "out", cache, PYLITESTREAM_DOWNLOAD_MIRROR=url)
    message = build_error(result)
    assert f"from {url}/{ARCHIVE_NAME}" in message
    assert f"expected sha256 {PIN['binary_sha256']}, got {sha256_bytes(b'tampered')}" in message
    assert not files_under(cache)


def test_download_retries_verifies_and_caches(
    project: Path, tmp_path: Path, cache: Path, real_archive: Path
) -> None:
    edit_pins(project, TARGET, archive_sha256=sha256_file(real_archive))
    body = real_archive.read_bytes()

    def flaky(handler: BaseHTTPRequestHandler, number: int) -> None:
        send(handler, 503 if number == 1 else 200, b"busy" if number == 1 else body)

    with http_server(flaky) as (url, asked):
        result = build(project, tmp_path / "out1", cache, PYLITESTREAM_DOWNLOAD_MIRROR=url)
    assert result.returncode == 0, result.stderr
    assert asked == [f"/{ARCHIVE_NAME}"] * 2
    assert sha256_bytes(wheel_binary(only_wheel(tmp_path / "out1"))) == PIN["binary_sha256"]
    cached = cache / VERSION / TARGET / "litestream"
    assert files_under(cache) == [cached], "the cache holds the verified binary only"
    assert sha256_file(cached) == PIN["binary_sha256"]
    assert os.access(cached, os.X_OK)

    # The cache now serves the next build; NOWHERE would fail any download.
    again = build(project, tmp_path / "out2", cache)
    assert again.returncode == 0, again.stderr
    assert str(cached) in again.stderr
    assert only_wheel(tmp_path / "out2").read_bytes() == only_wheel(tmp_path / "out1").read_bytes()


def test_bad_cache_entry_fails_and_is_removed(project: Path, tmp_path: Path, cache: Path) -> None:
    cached = cache / VERSION / TARGET / "litestream"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"bit rot")
    result = build(project, tmp_path / "out", cache)
    message = build_error(result)
    assert f"in the build cache {cached} (removed it)" in message
    assert f"expected sha256 {PIN['binary_sha256']}, got {sha256_bytes(b'bit rot')}" in message
    assert not files_under(cache)


# --- what successful builds contain -----------------------------------------------------------


@pytest.mark.parametrize("maker", [make_tar_gz, make_zip])
def test_local_archive_source(project: Path, tmp_path: Path, cache: Path, maker: Maker) -> None:
    suffix = ".tar.gz" if maker is make_tar_gz else ".zip"
    archive = maker(tmp_path / f"litestream{suffix}", {"litestream": staged_binary(TARGET)})
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_LITESTREAM_BINARY=str(archive))
    assert result.returncode == 0, result.stderr
    assert sha256_bytes(wheel_binary(only_wheel(tmp_path / "out"))) == PIN["binary_sha256"]
    assert not files_under(cache), "local sources do not fill the download cache"


def test_none_target_builds_a_pure_wheel(project: Path, tmp_path: Path, cache: Path) -> None:
    result = build(project, tmp_path / "out", cache, PYLITESTREAM_TARGET="none")
    assert result.returncode == 0, result.stderr
    wheel = only_wheel(tmp_path / "out")
    assert wheel.name == f"{ARTIFACT}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zipped:
        assert not [n for n in zipped.namelist() if ".data/" in n]
        metadata = zipped.read(f"{ARTIFACT}.dist-info/WHEEL").decode()
    assert "Root-Is-Purelib: true" in metadata
    assert "Tag: py3-none-any" in metadata


def test_builds_are_reproducible(tmp_path: Path) -> None:
    """Same inputs, same bytes: another checkout path, other file times, a second binary copy."""
    built: list[list[Path]] = []
    first = snapshot_project(tmp_path / "a" / "project")
    for run in ("a", "b"):
        # b copies a's snapshot: the work tree may change while the test runs.
        project = first if run == "a" else shutil.copytree(first, tmp_path / run / "project")
        binary = tmp_path / run / "litestream"
        binary.write_bytes(staged_binary(TARGET).read_bytes())
        stamp = time.time() - (0 if run == "a" else 86_400)
        for path in [binary, *project.rglob("*")]:
            os.utime(path, (stamp, stamp))
        out = tmp_path / run / "out"
        env = {"PYLITESTREAM_LITESTREAM_BINARY": str(binary)}
        for kind in ("wheel", "sdist"):
            result = hatchling_build(
                project, out, clean_env(PYLITESTREAM_TARGET=TARGET, **env), kind
            )
            assert result.returncode == 0, result.stderr
        built.append(sorted(out.iterdir()))
    assert [p.name for p in built[0]] == [p.name for p in built[1]]
    for first, second in zip(*built, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    with zipfile.ZipFile(only_wheel(tmp_path / "a" / "out")) as zipped:
        info = zipped.getinfo(SCRIPT)
    assert info.date_time == time.gmtime(int(EPOCH))[:6]
    assert (info.external_attr >> 16) & 0o777 == 0o755


def test_editable_install_needs_no_binary(project: Path, tmp_path: Path, cache: Path) -> None:
    """pip install -e builds through the hook too, which must not look for a binary at all."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = clean_env(
        PYLITESTREAM_BUILD_CACHE=str(cache),
        PYLITESTREAM_DOWNLOAD_MIRROR=NOWHERE,
        PYLITESTREAM_LITESTREAM_BINARY=str(tmp_path / "missing"),
    )
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(project)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (venv / "bin" / "litestream").exists()
    found = subprocess.run(
        [str(python), "-c", "import pylitestream, sys; sys.stdout.write(pylitestream.__file__)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert Path(found.stdout).is_relative_to(project / "src")
    assert not files_under(cache)
