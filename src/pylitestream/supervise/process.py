"""One litestream process: starting it under a guard that stops it when its supervisor dies,
pid checks, exit statuses."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..litestream.binary import Binary

PathLike = str | os.PathLike[str]


STOP_TIMEOUT = 30.0
"""Seconds litestream gets for its final sync after SIGTERM before it is killed."""
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# --- processes ----------------------------------------------------------------------------------


def _child_setup(deathsig: bool = True) -> Callable[[], None]:
    """A preexec_fn that unblocks the signals our watcher threads block (a child inherits the
    mask of the thread that forks it) and, on Linux with `deathsig`, makes the child get SIGTERM
    when that thread dies, even by SIGKILL (PR_SET_PDEATHSIG). prctl is looked up here: loading
    a library after fork can deadlock. Not for litestream: see GUARD."""
    prctl: Callable[[int, int], int] | None = None
    if deathsig and sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if prctl is not None:
            prctl(pr_set_pdeathsig, sigterm)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), sigterm)

    return setup


GUARD = """\
import json, os, select, signal, socket, sys, time
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.signal(signal.SIGINT, lambda *_: os._exit(0))
supervisor, litestream = int(sys.argv[1]), os.getppid()
try:
    select.select([os.pidfd_open(supervisor), os.pidfd_open(litestream)], [], [])
except (AttributeError, OSError):
    while os.getppid() == litestream:
        try:
            os.kill(supervisor, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
deadline = time.monotonic() + 10
for db in sys.argv[3:] if os.getppid() == litestream else []:
    left = deadline - time.monotonic()
    if left <= 0:
        break
    body = json.dumps({"path": db, "wait": True, "timeout": max(1, int(left))}).encode()
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(left + 1)
            conn.connect(sys.argv[2])
            conn.sendall(b"POST /sync HTTP/1.0\\r\\nContent-Type: application/json\\r\\n"
                         + b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
            while conn.recv(65536):
                pass
    except OSError:
        pass
"""
"""litestream's `-exec` child: it exits when the supervisor (pid argv[1]) dies, and litestream
then shuts down with its final sync, exactly once. On 0.5 with the control socket (argv[2],
then the databases), it first has litestream sync each database and waits for the upload
(10 s in all): the final sync covers only databases litestream has looked at, once per monitor
interval. It also exits when litestream itself dies (SIGKILL), so it never outlives it holding
litestream's log pipes open. PR_SET_PDEATHSIG is not used for litestream: in a multi-threaded
supervisor killed by SIGKILL, the kernel re-parents the child to each dying thread in turn and
sends the signal every time, and Litestream 0.5 takes a second SIGTERM as "skip the shutdown
sync" (it logs "shutdown sync skipped, interrupted by signal")."""


def guarded_argv(binary: Binary, config: Path, supervisor: int) -> list[str]:
    import shlex

    from ..config import configured_databases, socket_path

    socket = socket_path(config) if binary.profile.control_socket else None
    synced = [socket, *map(str, configured_databases(config))] if socket else []
    guard = shlex.join([sys.executable, "-c", GUARD, str(supervisor), *synced])
    return [str(binary.path), "replicate", "-config", str(config), "-exec", guard]


def _cmdline(pid: int) -> list[str] | None:
    """The argv of a live process, or None if it is gone or a zombie."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return None
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, IndexError):
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
    try:
        result = subprocess.run(
            ["ps", "-p", str(pid), "-o", "stat=", "-o", "command="],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    fields = result.stdout.split()
    if result.returncode != 0 or not fields or fields[0].startswith("Z"):
        return None
    return fields[1:]


def is_litestream(pid: int | None, config: PathLike | None = None) -> bool:
    """Whether `pid` is alive and is `litestream replicate` (for `config`, when given)."""
    if not pid or pid <= 0:
        return False
    argv = _cmdline(pid)
    if not argv or Path(argv[0]).name != "litestream" or "replicate" not in argv:
        return False
    # Joined: `ps` on macOS splits a config path that has spaces in it.
    return config is None or str(config) in " ".join(argv)


def pid_alive(pid: int | None) -> bool:
    return bool(pid) and _cmdline(int(pid or 0)) is not None


def exit_status(returncode: int) -> int:
    """A Popen returncode as a shell exit status: killed by signal N -> 128 + N."""
    return 128 - returncode if returncode < 0 else returncode
