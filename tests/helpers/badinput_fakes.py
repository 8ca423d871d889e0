"""Fake litestream binaries for a litestream that misbehaves, written by the tests themselves."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_PANIC = (
    "panic: runtime error: invalid memory address or nil pointer dereference\\n"
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]\\n\\n"
    "goroutine 1 [running]:\\nmain.main()\\n\\t/src/main.go:12 +0x1d\\n"
)

# name -> (what `version` does, what every other command does), as sh snippets.
_BEHAVIOUR = {
    "garbage-0.5": ("echo 0.5.17", "echo 'this is not json <<<'"),
    "garbage-0.3": ("echo v0.3.13", "printf 'garbage header here\\nmore  garbage  here\\n'"),
    "shape-dict": ("echo 0.5.17", "echo '{\"dbs\": 3}'"),
    "shape-ints": ("echo 0.5.17", "echo '[1, 2]'"),
    "shape-nested": ("echo 0.5.17", "echo '[[]]'"),
    "shape-number": ("echo 0.5.17", "echo 42"),
    "shape-empty-object": ("echo 0.5.17", "echo '[{}]'"),
    "panic-0.5": ("echo 0.5.17", f"printf '{_PANIC}' >&2; exit 2"),
    "panic-0.3": ("echo v0.3.13", f"printf '{_PANIC}' >&2; exit 2"),
    "non-utf8-output": ("echo 0.5.17", "printf '\\377\\376\\000garbage\\n'"),
    "non-utf8-version": ("printf 'v0.5.\\377\\376\\n'", "echo '[]'"),
    "silent-exit-3": ("echo 0.5.17", "exit 3"),
    "version-fails": ("echo oops >&2; exit 1", "echo '[]'"),
    "version-unsupported": ("echo v0.4.2", "echo '[]'"),
    "version-empty": ("true", "echo '[]'"),
    "version-panic": (f"printf '{_PANIC}' >&2; exit 2", "echo '[]'"),
    "hang-version": ("exec sleep 60", "exec sleep 60"),
    "hang-command": ("echo 0.5.17", "exec sleep 60"),
}
_VERSION_BROKEN = ("version-fails", "version-unsupported", "version-empty", "version-panic",
                   "non-utf8-version", "hang-version")  # fmt: skip
VERSION_WORKS = set(_BEHAVIOUR) - set(_VERSION_BROKEN)


def write_fakes() -> dict[str, Path]:
    """{name: directory holding a `litestream` that behaves that way}, removed at exit."""
    root = Path(tempfile.mkdtemp(prefix="pylitestream-fakes-"))
    atexit.register(shutil.rmtree, root, True)
    dirs = {}
    for name, (version, other) in _BEHAVIOUR.items():
        directory = root / name
        directory.mkdir()
        exe = directory / "litestream"
        exe.write_text(f'#!/bin/sh\nif [ "$1" = version ]; then\n{version}\nexit $?\nfi\n{other}\n')
        exe.chmod(0o755)
        dirs[name] = directory
    return dirs


FAKES = write_fakes()
