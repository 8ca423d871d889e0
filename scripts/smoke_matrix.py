#!/usr/bin/env python3
"""Install this machine's wheel on every Python 3.10-3.13 found here and run it.

    .venv/bin/python scripts/smoke_matrix.py

Builds the host's platform wheel once (scripts/build_wheels.py, into a temporary directory),
then for each supported Python found (pyenv's versions, and python3.X on PATH): a fresh venv,
`pip install` of the wheel (its dependencies from the package index), and `pylitestream
version`, `pylitestream demo --dir D` (replicate, restore, compare: exit 0) and `pylitestream
check -c D/litestream.yml` (the demo's config has no control socket, which 0.5's check needs:
exit 2 and one line saying so), never a traceback.
Prints one line per version, ran or skipped and why, and a JSON summary; exits 1 if any
version that was found fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
PYENV = Path.home() / ".pyenv" / "versions"


def host_target() -> str:
    sys.path.insert(0, str(ROOT / "scripts"))
    import fetch_litestream

    return str(fetch_litestream.host_target())


def find_pythons() -> dict[str, str | None]:
    """Each supported minor version: an interpreter for it, or None."""
    found: dict[str, str | None] = dict.fromkeys(SUPPORTED)
    for minor in SUPPORTED:
        for candidate in sorted(PYENV.glob(f"{minor}.*/bin/python{minor}"), reverse=True):
            found[minor] = str(candidate)
            break
        found[minor] = found[minor] or shutil.which(f"python{minor}")
    return found


def run(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, cwd=cwd)


def smoke(python: str, wheel: Path, work: Path) -> str | None:
    """None if every step passes, else what failed."""
    venv = work / "venv"
    made = run([python, "-m", "venv", str(venv)])
    if made.returncode:
        return f"venv: {made.stderr.strip()[-300:]}"
    installed = run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)])
    if installed.returncode:
        return f"pip install: {installed.stderr.strip()[-300:]}"
    cli = str(venv / "bin" / "pylitestream")
    demo_dir = work / "demo"
    steps = [
        ([cli, "version"], 0, "litestream"),
        ([cli, "demo", "--dir", str(demo_dir)], 0, ""),
        # The demo's config has no control socket, which 0.5's check needs: one line, exit 2.
        ([cli, "check", "-c", str(demo_dir / "litestream.yml")], 2, "control socket"),
    ]
    for argv, code, says in steps:
        done = run(argv, cwd=work)
        output = done.stdout + done.stderr
        if done.returncode != code or "Traceback" in output or says not in output:
            return f"{' '.join(argv[1:2])}: exit {done.returncode}: {output.strip()[-300:]}"
    return None


def main() -> int:
    started = time.monotonic()
    target = host_target()
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="smoke-matrix-") as tmp:
        dist = Path(tmp) / "dist"
        built = run([sys.executable, str(ROOT / "scripts" / "build_wheels.py"), "--target",
                     target, "--dist", str(dist), "--json"], cwd=ROOT)  # fmt: skip
        if built.returncode:
            print(f"smoke matrix: the {target} wheel did not build: {built.stderr.strip()}")
            return 1
        wheel = dist / json.loads(built.stdout)[0]["name"]
        for minor, python in find_pythons().items():
            if python is None:
                results[minor] = "skipped: not found on this machine"
            else:
                work = Path(tmp) / minor
                work.mkdir()
                failure = smoke(python, wheel, work)
                results[minor] = f"failed: {failure}" if failure else f"ok ({python})"
            print(f"smoke matrix: Python {minor}: {results[minor]}", flush=True)
    print("smoke matrix: below 3.10 and above 3.13 are not supported, so never tried")
    failed = [m for m, r in results.items() if r.startswith("failed")]
    print(json.dumps({"wheel": wheel.name, "seconds": round(time.monotonic() - started, 1),
                      "results": results}))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
