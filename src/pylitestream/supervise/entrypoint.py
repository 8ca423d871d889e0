"""`pylitestream run`: the container entrypoint that starts litestream, runs the app beside it and
exits with the app's status after litestream's final sync."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from .. import logs
from ..errors import CommandFailed, UsageError
from ..litestream.records import error_line
from .process import FORWARDED, _child_setup, exit_status
from .replicator import OnExit, Replicator

PathLike = str | os.PathLike[str]

log = logs.get(__name__)


# --- run: the container entrypoint --------------------------------------------------------------


def _from_terminal(signum: int) -> bool:
    """Ctrl-C in a terminal reaches the whole foreground process group, the app included:
    forwarding it again would interrupt the app's own shutdown."""
    if signum != signal.SIGINT:
        return False
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def run(
    command: Sequence[str],
    *,
    config: PathLike | None = None,
    databases: Sequence[PathLike] | None = None,
    on_litestream_exit: OnExit = "stop",
    validate: bool = True,
) -> int:
    """Restore missing databases, start litestream, wait until it has opened every database,
    run `command`, forward SIGINT/SIGTERM/SIGHUP to it, and when it exits stop litestream with
    SIGTERM (final sync). Returns the app's exit status (non-zero if litestream died and the
    app was stopped)."""

    if not command:
        raise UsageError("run needs a command after --, e.g. pylitestream run -- gunicorn app:app")
    app: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def stop_app(_code: int) -> None:
        if app and app[0].poll() is None:
            app[0].send_signal(signal.SIGTERM)

    def forward(signum: int, _frame: FrameType | None) -> None:
        if not app:
            pending.append(signum)
        elif not _from_terminal(signum) and app[0].poll() is None:
            app[0].send_signal(signum)

    replicator = Replicator(
        config, databases=databases, on_litestream_exit=on_litestream_exit, on_stop=stop_app,
        started_by="run", validate=validate,
    )  # fmt: skip
    # The handlers go in before litestream starts: a SIGTERM or Ctrl-C while it starts is kept,
    # the app is then never started, and litestream is stopped below like any other time
    # (final sync), instead of this process dying with litestream still starting.
    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        replicator.start()
        stopping = [s for s in pending if s in (signal.SIGTERM, signal.SIGINT)]
        if stopping:
            log.info(f"stopped by signal {stopping[0]} before {command[0]} started")
            return 128 + stopping[0]
        try:
            app.append(subprocess.Popen(list(command), preexec_fn=_child_setup()))
        except OSError as exc:
            raise UsageError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
        log.info(f"started {command[0]} (pid {app[0].pid}) beside litestream")
        for signum in pending:
            app[0].send_signal(signum)
        code = exit_status(app[0].wait())
    finally:
        replicator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if replicator.died_with is not None:
        return code or 1
    if replicator.errors:
        # A database litestream could not sync is a failure, whatever the app's status.
        last = replicator.errors[-1]
        message = (
            f"litestream reported {len(replicator.errors)} error(s) while {command[0]} ran "
            f"(it exited with status {code}); the last: {error_line(last, '') or last}"
        )
        if code == 0:
            raise CommandFailed(message)
        log.info(message)
        return code
    log.info(f"{command[0]} exited with status {code}; litestream stopped after its final sync")
    return code
