"""Shared helpers for the wheel and build-hook tests: staged binaries, project snapshots, hatchling
runs, executable headers and a local HTTP server standing in for GitHub's release downloads."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import fetch_litestream  # noqa: E402
from support import serve_http  # noqa: E402

PINS: dict[str, Any] = json.loads((ROOT / "vendor" / "litestream.json").read_text())
VERSION: str = PINS["version"]
TARGETS: tuple[str, ...] = fetch_litestream.targets.TARGETS
STAGED = Path(os.environ.get("PYLITESTREAM_BIN_CACHE", ROOT / ".cache" / "litestream"))
EPOCH = "1767225600"  # fixed, so two builds of the same tree must match byte for byte
# The distribution is py-litestream (pylitestream on PyPI is another project); artifacts and
# .dist-info directories spell it py_litestream.
DISTRIBUTION = "py-litestream"
ARTIFACT = "py_litestream-0.1.0"

# What each target's binary must be, read from its header.
KINDS = {
    "linux-x86_64": "ELF x86-64",
    "linux-aarch64": "ELF aarch64",
    "darwin-x86_64": "Mach-O x86_64",
    "darwin-arm64": "Mach-O arm64",
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


sha256_file = fetch_litestream.sha256


host_target = fetch_litestream.targets.host_target


def staged_binary(target: str) -> Path:
    """The litestream binary scripts/fetch_litestream.py stages (fetched when missing), checked
    against its pin in vendor/."""
    path = fetch_litestream.fetch(VERSION, target)
    assert sha256_file(path) == PINS["targets"][target]["binary_sha256"], f"{path} != its pin"
    return path


def clean_env(**overrides: str) -> dict[str, str]:
    """os.environ without anything that steers a build or the binary lookup, plus overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("PYLITESTREAM_") or k == "LITESTREAM_INSTALL_DIR")
    }
    # Project snapshots find (and fetch into) the work tree's staged binaries.
    env["PYLITESTREAM_BIN_CACHE"] = str(STAGED)
    # Downloads from the local test server must never go through a proxy.
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["SOURCE_DATE_EPOCH"] = EPOCH
    env.update(overrides)
    return env


def snapshot_project(dest: Path) -> Path:
    """Copy what a build reads, so tests never race edits in the work tree or write into it."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    dest.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md", "hatch_build.py", ".gitignore", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    for name in ("src", "vendor", "scripts"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    return dest


def edit_pins(project: Path, target: str, **changes: str | None) -> None:
    path = project / "vendor" / "litestream.json"
    pins = json.loads(path.read_text())
    pins["targets"][target].update(changes)
    path.write_text(json.dumps(pins, indent=2))


def hatchling_build(
    project: Path, out: Path, env: dict[str, str], kind: str = "wheel"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", kind, "-d", str(out)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def only_wheel(directory: Path) -> Path:
    wheels = list(directory.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def executable_kind(data: bytes) -> str:
    """'ELF x86-64', 'ELF aarch64', 'Mach-O x86_64' or 'Mach-O arm64', or what it is instead."""
    if data[:4] == b"\x7fELF":
        if data[4] != 2 or data[5] != 1:
            return "ELF, not 64-bit little-endian"
        e_type, e_machine = struct.unpack_from("<HH", data, 16)
        if e_type not in (2, 3):  # ET_EXEC, ET_DYN
            return f"ELF of type {e_type}, not an executable"
        return {62: "ELF x86-64", 183: "ELF aarch64"}.get(e_machine, f"ELF machine {e_machine}")
    if data[:4] == b"\xcf\xfa\xed\xfe":
        cputype, _subtype, filetype = struct.unpack_from("<iiI", data, 4)
        if filetype != 2:  # MH_EXECUTE
            return f"Mach-O of type {filetype}, not an executable"
        return {0x01000007: "Mach-O x86_64", 0x0100000C: "Mach-O arm64"}.get(
            cputype, f"Mach-O cpu {cputype:#x}"
        )
    return f"unknown ({data[:4]!r})"


Members = Mapping[str, bytes | Path]


def make_tar_gz(path: Path, members: Members) -> Path:
    """An archive laid out like upstream's: members at the top, the binary mode 0755."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, content in members.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return path


def make_zip(path: Path, members: Members) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zipped:
        for name, content in members.items():
            zipped.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return path


@contextmanager
def http_server(
    respond: Callable[[BaseHTTPRequestHandler, int], None],
) -> Iterator[tuple[str, list[str]]]:
    """Serve on 127.0.0.1; respond(handler, n) answers the n-th request (from 1). Yields the base
    URL and the list of paths asked for."""
    requests: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                requests.append(self.path)
                number = len(requests)
            # A client that gave up (as a timing-out one should) is no error here.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                respond(self, number)

    with serve_http(Handler) as base:
        yield base, requests


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"") -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
