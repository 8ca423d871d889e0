"""Hatchling build hook: put the pinned, verified Litestream binary into the wheel.

The wheel target builds either a platform wheel carrying `litestream` as a script (installed on
PATH next to `pylitestream`) or, for PYLITESTREAM_TARGET=none, a py3-none-any wheel without it.

Environment variables:
  PYLITESTREAM_TARGET             linux-x86_64, linux-aarch64, darwin-x86_64, darwin-arm64 or
                                  none; default: this machine's (none where Litestream has no build)
  PYLITESTREAM_LITESTREAM_BINARY  a local litestream binary or release archive (.tar.gz, .tgz, .zip)
  PYLITESTREAM_BUILD_CACHE        where downloaded binaries are kept once verified
                                  (default: ~/.cache/pylitestream-build, ~/Library/Caches on macOS)
  PYLITESTREAM_DOWNLOAD_MIRROR    base URL holding the release archives, instead of GitHub's
  PYLITESTREAM_DOWNLOAD_TIMEOUT   seconds without progress before a download attempt fails (60)

Whatever the source, the binary must match the SHA-256 pinned in vendor/litestream.json, or the
build fails. The cache only ever holds verified binaries.

The metadata hook sets the PEP 639 licence fields. Our own code is MIT (LICENSE); the litestream
binary is Apache-2.0 (vendor/litestream/LICENSE, the Apache License 2.0 text). So the py3-none-any
wheel (PYLITESTREAM_TARGET=none) declares "MIT" and ships LICENSE, and everything else declares
"MIT AND Apache-2.0" and ships both: the platform wheels carry the binary, and the sdist must,
because wheels built from an sdist take their licence fields from its PKG-INFO.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from hatchling.__about__ import __version__ as hatchling_version
from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface


def _load_targets() -> Any:
    """src/pylitestream/litestream/targets.py, by path: the build runs without the package."""
    import importlib.util

    path = Path(__file__).resolve().parent / "src" / "pylitestream" / "litestream" / "targets.py"
    spec = importlib.util.spec_from_file_location("_pylitestream_targets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_targets = _load_targets()
TARGETS: tuple[str, ...] = _targets.TARGETS
host_target = _targets.host_target

PINS_FILE = "vendor/litestream.json"
OWN_LICENSE = "LICENSE"
LITESTREAM_LICENSE = "vendor/litestream/LICENSE"
NO_BINARY = "none"
EXE_NAME = "litestream"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")

TARGET_VAR = "PYLITESTREAM_TARGET"
BINARY_VAR = "PYLITESTREAM_LITESTREAM_BINARY"
CACHE_VAR = "PYLITESTREAM_BUILD_CACHE"
MIRROR_VAR = "PYLITESTREAM_DOWNLOAD_MIRROR"
TIMEOUT_VAR = "PYLITESTREAM_DOWNLOAD_TIMEOUT"

ATTEMPTS = 3
BACKOFF_SECONDS = 0.5


class BuildError(Exception):
    """A build failure, explained in one line."""


# A NamedTuple, not a dataclass: hatchling loads this file without registering it in
# sys.modules, which dataclasses need.
class Pin(NamedTuple):
    version: str
    target: str
    url: str
    archive_sha256: str | None
    binary_sha256: str
    wheel_tag: str


def check_hatchling(version: str) -> None:
    """Hatchling before 1.26 writes shared scripts without their exec bit (1.25 was yanked), and
    before 1.27 it has no PEP 639 licence files."""
    from packaging.version import Version

    if Version(version) < Version("1.27"):
        raise BuildError(
            f"hatchling {version} drops the binary's exec bit and has no PEP 639 licence files: "
            "use hatchling>=1.27"
        )


def licence_fields(environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """(license, license-files) for a build: only an explicit PYLITESTREAM_TARGET=none leaves the
    binary, and so its licence, out. An sdist is always built with both, whatever the host."""
    if environ.get(TARGET_VAR, "").strip() == NO_BINARY:
        return "MIT", [OWN_LICENSE]
    return "MIT AND Apache-2.0", [OWN_LICENSE, LITESTREAM_LICENSE]


def load_pin(root: Path, target: str) -> Pin:
    path = root / PINS_FILE
    try:
        data = json.loads(path.read_text())
        if sorted(data["targets"]) != sorted(TARGETS):
            raise BuildError(
                f"{path} pins {sorted(data['targets'])} but targets.py lists {sorted(TARGETS)}"
            )
        entry = data["targets"][target]
        return Pin(
            version=data["version"],
            target=target,
            url=entry["url"],
            archive_sha256=entry.get("archive_sha256"),
            binary_sha256=entry["binary_sha256"],
            wheel_tag=entry["wheel_tag"],
        )
    except FileNotFoundError:
        raise BuildError(f"{path} is missing: it pins the litestream binaries") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BuildError(f"{path} has no valid pin for {target} ({exc!r})") from None


def select_target(environ: Mapping[str, str]) -> str:
    chosen = environ.get(TARGET_VAR, "").strip()
    if not chosen:
        return host_target() or NO_BINARY
    if chosen not in (*TARGETS, NO_BINARY):
        raise BuildError(
            f"unknown {TARGET_VAR}={chosen!r}: choose one of {', '.join(TARGETS)} or {NO_BINARY}"
        )
    return chosen


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str, what: str) -> None:
    """Fail the build, deleting the file, unless it has the pinned hash."""
    actual = sha256_of(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise BuildError(f"checksum mismatch for {what}: expected sha256 {expected}, got {actual}")


def is_archive(path: Path) -> bool:
    return path.name.endswith(ARCHIVE_SUFFIXES)


def extract_binary(archive: Path, dest: Path) -> None:
    """Copy the one `litestream` file out of a release archive (at its top or one folder down)."""

    def wanted(name: str) -> bool:
        parts = name.strip("/").split("/")
        return parts[-1] == EXE_NAME and len(parts) <= 2

    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                names = [i.filename for i in zipped.infolist() if not i.is_dir()]
                members = [n for n in names if wanted(n)]
                if len(members) == 1:
                    with zipped.open(members[0]) as src, dest.open("wb") as out:
                        shutil.copyfileobj(src, out)
        else:
            with tarfile.open(archive, "r:*") as tarred:
                files = [m for m in tarred.getmembers() if m.isfile() and wanted(m.name)]
                members = [m.name for m in files]
                if len(files) == 1:
                    src_file = tarred.extractfile(files[0])
                    assert src_file is not None  # a regular file always has a stream
                    with src_file, dest.open("wb") as out:
                        shutil.copyfileobj(src_file, out)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        dest.unlink(missing_ok=True)
        raise BuildError(f"cannot read archive {archive}: {exc}") from None
    if len(members) != 1:
        found = "none" if not members else ", ".join(members)
        raise BuildError(f"archive {archive} must hold one '{EXE_NAME}' file (found: {found})")


class _Retry(Exception):
    """A download failure worth another attempt."""


def download(url: str, dest: Path, timeout: float) -> None:
    """Stream url into dest, retrying connection failures, timeouts and 5xx answers."""
    import httpx  # only builds that download need it

    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise _Retry(f"HTTP {response.status_code}")
                if response.status_code != 200:
                    raise BuildError(f"download of {url} failed: HTTP {response.status_code}")
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
            return
        except _Retry as exc:
            problem = str(exc)
        except httpx.TimeoutException:
            problem = f"no answer within {timeout:g} s"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        dest.unlink(missing_ok=True)
        if attempt < ATTEMPTS:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
    raise BuildError(f"download of {url} failed after {ATTEMPTS} attempts: {problem}")


def default_cache_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "pylitestream-build"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pylitestream-build"


def download_timeout(environ: Mapping[str, str]) -> float:
    value = environ.get(TIMEOUT_VAR, "").strip()
    if not value:
        return 60.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise BuildError(f"{TIMEOUT_VAR}={value!r} must be a positive number of seconds")
    return seconds


def download_url(pin: Pin, environ: Mapping[str, str]) -> str:
    mirror = environ.get(MIRROR_VAR, "").strip()
    if not mirror:
        return pin.url
    return f"{mirror.rstrip('/')}/{pin.url.rsplit('/', 1)[-1]}"


def store_in_cache(binary: Path, cached: Path) -> None:
    """Copy a verified binary into the cache; the rename makes a half-written entry impossible."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(dir=cached.parent, prefix=".tmp-")
        os.close(handle)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(binary, tmp)
            tmp.chmod(0o755)
            os.replace(tmp, cached)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache only costs a download next time


def obtain_binary(pin: Pin, environ: Mapping[str, str], staging: Path) -> tuple[Path, str]:
    """Put the verified binary at staging/litestream; return it and where it came from."""
    staged = staging / EXE_NAME
    what = f"litestream {pin.version} {pin.target}"

    local = environ.get(BINARY_VAR, "").strip()
    if local:
        source = Path(local).expanduser()
        if not source.is_file():
            raise BuildError(f"{BINARY_VAR}={local}: no such file")
        if is_archive(source):
            extract_binary(source, staged)
        else:
            shutil.copyfile(source, staged)
        check_sha256(staged, pin.binary_sha256, f"{what} from {source}")
        staged.chmod(0o755)
        return staged, str(source)

    cache_root = Path(environ.get(CACHE_VAR, "").strip() or default_cache_dir()).expanduser()
    cached = cache_root / pin.version / pin.target / EXE_NAME
    if cached.is_file():
        # A cache entry that no longer matches (disk fault, tampering) is removed, so the next
        # build downloads a fresh copy; this one still fails, as for any other mismatch.
        check_sha256(cached, pin.binary_sha256, f"{what} in the build cache {cached} (removed it)")
        shutil.copyfile(cached, staged)
        staged.chmod(0o755)
        return staged, str(cached)

    url = download_url(pin, environ)
    archive = staging / url.rsplit("/", 1)[-1]
    if not is_archive(archive):
        raise BuildError(f"{url} does not name a .tar.gz or .zip archive")
    download(url, archive, download_timeout(environ))
    if pin.archive_sha256:
        check_sha256(archive, pin.archive_sha256, f"archive {url}")
    extract_binary(archive, staged)
    archive.unlink()
    check_sha256(staged, pin.binary_sha256, f"{what} from {url}")
    staged.chmod(0o755)
    store_in_cache(staged, cached)
    return staged, url


class LicenceMetadataHook(MetadataHookInterface):
    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        try:
            check_hatchling(hatchling_version)
        except BuildError as exc:
            raise SystemExit(f"pylitestream build hook: {exc}") from None
        metadata["license"], metadata["license-files"] = licence_fields(os.environ)


class LitestreamBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    staging: Path | None = None

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        # Editable installs are for working on the Python code; they never need a binary.
        if self.target_name != "wheel" or version == "editable":
            return
        try:
            target = select_target(os.environ)
            if target == NO_BINARY:
                build_data["tag"] = "py3-none-any"
                build_data["pure_python"] = True
                self.app.display_info(f"pylitestream: {TARGET_VAR}={NO_BINARY}, no litestream")
                return
            pin = load_pin(Path(self.root), target)
            self.staging = Path(tempfile.mkdtemp(prefix="pylitestream-build-"))
            binary, source = obtain_binary(pin, os.environ, self.staging)
        except BuildError as exc:
            self.cleanup()
            # abort() prints one line and exits, instead of a traceback through hatchling.
            self.app.abort(f"pylitestream build hook: {exc}")
            raise  # abort() exits; this only tells type checkers so
        build_data["shared_scripts"][str(binary)] = EXE_NAME
        build_data["tag"] = pin.wheel_tag
        build_data["pure_python"] = False
        self.app.display_info(f"pylitestream: litestream {pin.version} {target} from {source}")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
