#!/usr/bin/env python3
"""Build every pylitestream artifact on one machine: four platform wheels, py3-none-any, sdist.

    python scripts/build_wheels.py              # into dist/
    python scripts/build_wheels.py --json       # and print the list as JSON

Each platform wheel takes the litestream binary that scripts/fetch_litestream.py stages in
.cache/litestream/<version>/<target>/litestream (or under $PYLITESTREAM_BIN_CACHE), fetched if
missing and checked against vendor/litestream.json. Builds are reproducible: SOURCE_DATE_EPOCH is
the last commit's time (or a fixed date outside git) unless already set, so the same tree gives
the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatch_build import (  # noqa: E402  (the hook lives at the project root)
    BINARY_VAR,
    NO_BINARY,
    TARGET_VAR,
    TARGETS,
    load_pin,
    sha256_of,
)

FALLBACK_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z, for trees outside git
# Where scripts/fetch_litestream.py stages binaries; it reads the same variable.
STAGED = Path(os.environ.get("PYLITESTREAM_BIN_CACHE", ROOT / ".cache" / "litestream"))


def staged_binary(version: str, target: str, fetch: bool) -> Path:
    """The staged binary for target, fetched if missing, and always checked against its pin."""
    pin = load_pin(ROOT, target)
    if pin.version != version:
        raise SystemExit(f"build_wheels: pins disagree on the version ({pin.version}, {version})")
    path = STAGED / version / target / "litestream"
    if not path.is_file() and fetch:
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "fetch_litestream.py"), version,
             "--platform", target],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not path.is_file():
        raise SystemExit(f"build_wheels: {path} is missing; run scripts/fetch_litestream.py")
    actual = sha256_of(path)
    if actual != pin.binary_sha256:
        raise SystemExit(
            f"build_wheels: {path} does not match its pin: expected sha256 "
            f"{pin.binary_sha256}, got {actual}"
        )
    return path


def source_date_epoch() -> str:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return os.environ["SOURCE_DATE_EPOCH"]
    result = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
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
        raise SystemExit(f"build_wheels: building the {kind} for {out.name} failed")
    (artifact,) = out.iterdir()
    return artifact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument("--json", action="store_true", help="print the artifacts as JSON")
    parser.add_argument("--no-fetch", action="store_true", help="never fetch missing binaries")
    options = parser.parse_args()

    version = load_pin(ROOT, TARGETS[0]).version
    binaries = {t: staged_binary(version, t, fetch=not options.no_fetch) for t in TARGETS}

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PYLITESTREAM_")}
    base_env["SOURCE_DATE_EPOCH"] = source_date_epoch()
    artifacts: list[tuple[str, Path]] = []
    with tempfile.TemporaryDirectory(prefix="pylitestream-dist-") as tmp:
        for target in (*TARGETS, NO_BINARY):
            env = {**base_env, TARGET_VAR: target}
            if target != NO_BINARY:
                env[BINARY_VAR] = str(binaries[target])
            artifacts.append((target, build("wheel", Path(tmp) / target, env)))
        artifacts.append(("sdist", build("sdist", Path(tmp) / "sdist", base_env)))

        options.dist.mkdir(parents=True, exist_ok=True)
        for old in options.dist.glob("pylitestream-*"):
            old.unlink()  # dist/ holds exactly one build, so uploads never mix two
        placed = []
        for kind, path in artifacts:
            dest = options.dist / path.name
            shutil.move(str(path), dest)
            placed.append((kind, dest))

    report = [(kind, p.name, p.stat().st_size, sha256_of(p)) for kind, p in placed]
    if options.json:
        keys = ("kind", "name", "size", "sha256")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in report], indent=2))
        return
    print(f"litestream {version}, SOURCE_DATE_EPOCH={base_env['SOURCE_DATE_EPOCH']}")
    for _kind, name, size, digest in report:
        print(f"{name}  {size / 1e6:.2f} MB ({size} bytes)  sha256 {digest}")


if __name__ == "__main__":
    main()
