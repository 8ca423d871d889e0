"""Signal handling for commands that must clean up when stopped."""

from __future__ import annotations

import signal
import threading

from ..errors import Terminated


def interrupt_on_sigterm() -> None:
    """Let SIGTERM (`kill`, systemd stopping a unit that overran) unwind like Ctrl-C, so the
    sentinel row and the temporary files are still removed."""

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
