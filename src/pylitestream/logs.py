"""Where pylitestream's messages go. Library code logs through the `pylitestream` logger and
never writes to the terminal itself; whoever owns the process decides where the lines go.

The CLI sends them to the terminal (TerminalHandler: one `pylitestream: ...` line each on
stderr, secrets redacted; -q and -v set the level). A Replicator, or the Gunicorn hooks, in a
program that has not configured logging does the same, so litestream's own lines and the
supervisor's events still show where they always did. A program that configures logging gets
them as records instead: events on `pylitestream.*`, litestream's own lines on
`pylitestream.relayed` (attribute `to_stderr`: which stream litestream wrote the line to).

`logging` is imported by the first module that logs, not here: the listing commands never
log, and the import costs about 2 ms of start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .masking import redact

if TYPE_CHECKING:
    import logging

NAME = "pylitestream"
RELAYED = "pylitestream.relayed"
INFO, WARNING, DEBUG = 20, 30, 10  # logging's levels, without importing it

Secrets = Callable[[], list[str]]
_wanted: tuple[int, Secrets] | None = None
_applied: tuple[int, Secrets] | None = None


def get(name: str) -> logging.Logger:
    """The logger of module `name` (a child of `pylitestream`)."""
    import logging

    if _wanted is not None and _wanted != _applied:
        _install(*_wanted)
    return logging.getLogger(name)


def to_terminal(secrets: Secrets, level: int = INFO) -> None:
    """Send pylitestream's log lines to the terminal from now on, redacting `secrets()`."""
    global _wanted
    _wanted = (level, secrets)
    if "logging" in sys.modules:
        _install(level, secrets)


def to_terminal_unless_configured(secrets: Secrets) -> None:
    """to_terminal, unless the program already routes logging somewhere (any handler on the
    root or the `pylitestream` logger)."""
    import logging

    if _wanted is not None or logging.getLogger(NAME).handlers or logging.getLogger().handlers:
        return
    to_terminal(secrets)


def _install(level: int, secrets: Secrets) -> None:
    import logging

    global _applied
    _applied = (level, secrets)

    class TerminalHandler(logging.Handler):
        """Events as one `pylitestream: ...` line on stderr (`pylitestream: warning: ...` from
        WARNING up); litestream's relayed lines verbatim, on the stream it wrote them to."""

        def emit(self, record: logging.LogRecord) -> None:
            text = redact(record.getMessage(), secrets())
            if record.name == RELAYED:
                stream = sys.stderr if getattr(record, "to_stderr", True) else sys.stdout
            else:
                stream = sys.stderr
                warning = record.levelno >= logging.WARNING
                text = ("pylitestream: warning: " if warning else "pylitestream: ") + " ".join(
                    text.split()
                )
            try:
                stream.write(text + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # the terminal has gone; a log line is not worth failing the work for

    logger = logging.getLogger(NAME)
    for handler in logger.handlers:
        if type(handler).__name__ == "TerminalHandler":
            logger.removeHandler(handler)
    logger.addHandler(TerminalHandler())
    logger.setLevel(level)
    logger.propagate = False  # printed once, even when the program also logs to the root
