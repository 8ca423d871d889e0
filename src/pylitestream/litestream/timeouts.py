"""How long pylitestream waits for litestream: --timeout, PYLITESTREAM_TIMEOUT, or 30 s."""

from __future__ import annotations

import os

from ..errors import UsageError

TIMEOUT_VAR = "PYLITESTREAM_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
"""Seconds. 0.5 retries an unreachable replica for about two minutes before it says so."""
MAX_TIMEOUT = 86400.0
"""Seconds (a day): past this a timeout is a typo, and Python's own waits overflow near 1e9."""

_chosen: float | None = None


def check_timeout(value: float | str, source: str) -> float:
    """`value` as seconds, when it is a finite number in (0, MAX_TIMEOUT]; else UsageError
    naming `source` (e.g. '--timeout')."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{source} {value!r} is not a number of seconds") from None
    if not 0 < seconds <= MAX_TIMEOUT:  # also false for nan
        raise UsageError(
            f"{source} must be more than 0 and at most {MAX_TIMEOUT:g} seconds, not {value}"
        )
    return seconds


def use_timeout(seconds: float | None) -> None:
    """The timeout every later litestream call of this process gets by default (the CLI's
    --timeout), the version check included."""
    global _chosen
    _chosen = None if seconds is None else check_timeout(seconds, "--timeout")


def default_timeout() -> float:
    if _chosen is not None:
        return _chosen
    value = os.environ.get(TIMEOUT_VAR)
    if not value:
        return DEFAULT_TIMEOUT
    return check_timeout(value, TIMEOUT_VAR)
