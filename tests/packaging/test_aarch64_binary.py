"""The linux-aarch64 wheel's litestream, run here under Debian's qemu-user: `version`, then a
real database replicated and restored by the emulated binary. (The wheel carries exactly this
binary: test_wheels.test_platform_wheel checks its kind and its pinned sha256. macOS binaries
are checked there by kind and hash only; nothing here can run them.)"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from conftest import create_db, insert_rows, read_rows, write_config
from wheel_helpers import PINS, VERSION, sha256_file, staged_binary

QEMU = "/usr/bin/qemu-aarch64"


def emulated(binary: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert shutil.which(QEMU), "qemu-user is missing: run scripts/debian_packages (as root)"
    return subprocess.run([QEMU, str(binary), *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, check=False)  # fmt: skip


def test_the_aarch64_binary_replicates_and_restores_under_qemu(tmp_path: Path) -> None:
    binary = staged_binary("linux-aarch64")
    assert sha256_file(binary) == PINS["targets"]["linux-aarch64"]["binary_sha256"]
    version = emulated(binary, "version")
    assert version.returncode == 0 and version.stdout.strip().lstrip("v") == VERSION, version

    db, replica, out = tmp_path / "app.db", tmp_path / "replica", tmp_path / "restored.db"
    create_db(db)
    insert_rows(db, [f"row-{n}" for n in range(100)])
    file_replica = {"type": "file", "path": str(replica)}
    config = write_config(tmp_path / "litestream.yml", "0.5", [(db, file_replica)])
    once = emulated(binary, "replicate", "-config", str(config), "-once")
    assert once.returncode == 0, once.stderr
    assert list(replica.rglob("*.ltx")), "the emulated litestream wrote no LTX file"
    restored = emulated(binary, "restore", "-config", str(config), "-o", str(out), str(db))
    assert restored.returncode == 0, restored.stderr
    assert read_rows(out) == [f"row-{n}" for n in range(100)]
    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_host_binary_is_not_what_qemu_runs() -> None:
    """The check above runs the aarch64 binary, not the host's: qemu refuses an x86-64 one."""
    refused = emulated(staged_binary("linux-x86_64"), "version")
    assert refused.returncode != 0
