#!/usr/bin/env python3
"""Rewrite vendor/litestream.json, the pins the wheel build checks, for a Litestream version.

    python scripts/update_pins.py 0.5.18 litestream-0.5.18-*.tar.gz
    python scripts/update_pins.py 0.5.18 --checksums checksums.txt   # staged binaries, archive pins
    python scripts/update_pins.py 0.5.18 --download    # fetch the release, verify, then pin

Give one binary or upstream release archive per target (linux-x86_64, linux-aarch64, darwin-x86_64,
darwin-arm64), in any order: each file's target is read from its ELF or Mach-O header. With no
files, the binaries staged by scripts/fetch_litestream.py in .cache/litestream/<version>/ are used.
An upstream archive (named as GitHub's release names it) also pins its own SHA-256; for bare
binaries, --checksums takes the release's checksums.txt to pin the archives. The macOS wheel tags
follow the minimum macOS version written in each binary.

--download fetches the release's checksums.txt and its four archives (from GitHub, or from
$PYLITESTREAM_DOWNLOAD_MIRROR), and refuses to pin unless every archive matches checksums.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatch_build import (  # noqa: E402  (the hook lives at the project root)
    MIRROR_VAR,
    PINS_FILE,
    TARGETS,
    BuildError,
    download,
    extract_binary,
    host_target,
    is_archive,
    sha256_of,
)

RELEASES = "https://github.com/benbjohnson/litestream/releases/download"
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}
MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "arm64"}
LC_VERSION_MIN_MACOSX = 0x24
LC_BUILD_VERSION = 0x32


def upstream_name(version: str, target: str) -> str:
    """GitHub's archive name: litestream-0.5.17-linux-arm64.tar.gz for linux-aarch64."""
    system, arch = target.split("-")
    return f"litestream-{version}-{system}-{'arm64' if arch == 'aarch64' else arch}.tar.gz"


def inspect(binary: Path) -> tuple[str, tuple[int, int] | None]:
    """(target, minimum macOS version or None) from an executable's header."""
    data = binary.read_bytes()
    if data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1:
        (machine,) = struct.unpack_from("<H", data, 18)
        if machine in ELF_MACHINES:
            return f"linux-{ELF_MACHINES[machine]}", None
    if data[:4] == b"\xcf\xfa\xed\xfe":
        cputype, _sub, _kind, ncmds = struct.unpack_from("<iiII", data, 4)
        if cputype in MACHO_CPUS:
            return f"darwin-{MACHO_CPUS[cputype]}", macos_minimum(data, ncmds)
    raise SystemExit(f"update_pins: {binary} is not a Linux or macOS executable that we build for")


def macos_minimum(data: bytes, ncmds: int) -> tuple[int, int]:
    offset = 32  # after the 64-bit Mach-O header
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, offset)
        if cmd in (LC_BUILD_VERSION, LC_VERSION_MIN_MACOSX):
            # LC_BUILD_VERSION: platform, minos; LC_VERSION_MIN_MACOSX: version, sdk.
            field = offset + (12 if cmd == LC_BUILD_VERSION else 8)
            (packed,) = struct.unpack_from("<I", data, field)
            return packed >> 16, (packed >> 8) & 0xFF
        offset += size
    raise SystemExit("update_pins: a macOS binary without a minimum OS version")


def wheel_tag(target: str, macos: tuple[int, int] | None) -> str:
    system, arch = target.split("-")
    if system == "linux":
        # Static Go binaries: no glibc or musl dependency, so both tag families fit.
        return f"py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.musllinux_1_1_{arch}"
    assert macos is not None
    major, minor = macos
    # pip only matches macOS 11+ wheels by major version; 10.x needs its minor.
    floor = (11, 0) if arch == "arm64" else (10, 9)
    major, minor = max((major, minor if major == 10 else 0), floor)
    return f"py3-none-macosx_{major}_{minor}_{arch}"


def read_checksums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def download_release(version: str, directory: Path) -> tuple[list[Path], dict[str, str]]:
    """The release's four archives and checksums.txt, each archive checked against it."""
    mirror = os.environ.get(MIRROR_VAR, "").strip().rstrip("/")
    base = mirror or f"{RELEASES}/v{version}"
    try:
        download(f"{base}/checksums.txt", directory / "checksums.txt", 60)
        checksums = read_checksums(directory / "checksums.txt")
        archives = []
        for target in TARGETS:
            name = upstream_name(version, target)
            if name not in checksums:
                raise SystemExit(f"update_pins: {base}/checksums.txt lists no {name}")
            archive = directory / name
            download(f"{base}/{name}", archive, 60)
            actual = sha256_of(archive)
            if actual != checksums[name]:
                raise SystemExit(
                    f"update_pins: {base}/{name} does not match the release's checksums.txt: "
                    f"expected sha256 {checksums[name]}, got {actual}"
                )
            archives.append(archive)
    except BuildError as exc:
        raise SystemExit(f"update_pins: {exc}") from None
    return archives, checksums


def check_version(binary: Path, version: str) -> None:
    """Run the binary when it can run here: a mislabelled release is caught before pinning."""
    binary.chmod(0o755)
    result = subprocess.run(
        [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
    )
    printed = result.stdout.strip()
    if printed.lstrip("v") != version:
        raise SystemExit(f"update_pins: {binary} says it is {printed!r}, not {version}")


def pin_file(path: Path, version: str, checksums: dict[str, str]) -> tuple[str, dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "litestream"
        if is_archive(path):
            extract_binary(path, binary)
        else:
            shutil.copyfile(path, binary)
        target, macos = inspect(binary)
        if target == host_target():
            check_version(binary, version)
        binary_sha = sha256_of(binary)
    name = upstream_name(version, target)
    archive_sha = sha256_of(path) if path.name == name else checksums.get(name)
    return target, {
        "url": f"{RELEASES}/v{version}/{name}",
        "archive_sha256": archive_sha,
        "binary_sha256": binary_sha,
        "wheel_tag": wheel_tag(target, macos),
    }


def write_pins(version: str, files: list[Path], checksums: dict[str, str], output: Path) -> None:
    """Pin one file per target, all four or nothing, and print what was pinned."""
    targets: dict[str, dict[str, object]] = {}
    for path in files:
        if not path.is_file():
            raise SystemExit(f"update_pins: {path}: no such file")
        target, pin = pin_file(path, version, checksums)
        if target in targets:
            raise SystemExit(f"update_pins: two files for {target}")
        targets[target] = pin
    missing = [t for t in TARGETS if t not in targets]
    if missing:
        raise SystemExit(f"update_pins: no binary for {', '.join(missing)}")

    pins = {"version": version, "targets": {t: targets[t] for t in TARGETS}}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(pins, indent=2) + "\n")
    for target in TARGETS:
        pin = targets[target]
        archive = pin["archive_sha256"] or "archive not pinned"
        print(f"{target:14} {pin['binary_sha256']}  {pin['wheel_tag']}  ({archive})")
    print(f"wrote {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="Litestream version, e.g. 0.5.17")
    parser.add_argument("files", nargs="*", type=Path, help="binaries or release archives")
    parser.add_argument("--checksums", type=Path, help="the release's checksums.txt")
    parser.add_argument(
        "--download", action="store_true",
        help="download the release's archives and checksums.txt and pin them once they match",
    )  # fmt: skip
    parser.add_argument("--output", type=Path, default=ROOT / PINS_FILE)
    options = parser.parse_args()
    version = options.version.lstrip("v")
    if options.download:
        if options.files or options.checksums:
            raise SystemExit("update_pins: --download takes no files and no --checksums")
        with tempfile.TemporaryDirectory(prefix="update-pins-") as tmp:
            files, checksums = download_release(version, Path(tmp))
            write_pins(version, files, checksums, options.output)
        return
    files = options.files or [
        ROOT / ".cache" / "litestream" / version / target / "litestream" for target in TARGETS
    ]
    checksums = read_checksums(options.checksums) if options.checksums else {}
    write_pins(version, files, checksums, options.output)


if __name__ == "__main__":
    main()
