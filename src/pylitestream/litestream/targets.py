"""The platforms the wheels carry a litestream binary for, and this machine's name among them.

The one copy: binary lookup imports it, and hatch_build.py, scripts/fetch_litestream.py and
tests/helpers/wheel_helpers.py load this file by path (a build runs where the package is not
installed), so it imports nothing but the standard library. hatch_build.py checks that TARGETS
matches the pins in vendor/litestream.json.
"""

from __future__ import annotations

import sys

TARGETS = ("linux-x86_64", "linux-aarch64", "darwin-x86_64", "darwin-arm64")


def target_name(system: str | None = None, machine: str | None = None) -> str:
    """`system-machine` spelled as TARGETS spell it: x86_64 for amd64; arm64 on macOS and
    aarch64 on Linux, whichever of the two the machine reports."""
    if machine is None:
        import platform  # only lookups without LITESTREAM_INSTALL_DIR and messages need it

        machine = platform.machine()
    system = sys.platform if system is None else system
    machine = machine.lower()
    if machine in ("amd64", "x86_64"):
        machine = "x86_64"
    elif machine in ("arm64", "aarch64"):
        machine = "arm64" if system == "darwin" else "aarch64"
    return f"{system}-{machine}"


def host_target(system: str | None = None, machine: str | None = None) -> str | None:
    """This machine's target, or None where Litestream publishes no build."""
    target = target_name(system, machine)
    return target if target in TARGETS else None
