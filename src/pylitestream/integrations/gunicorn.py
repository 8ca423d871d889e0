"""Gunicorn server hooks: litestream starts with the arbiter, is watched, and stops after it.

Without a config file of your own:

    gunicorn -c python:pylitestream.gunicorn app:app

or add one line to your gunicorn.conf.py:

    from pylitestream.gunicorn import *

Litestream runs only when PYLITESTREAM_REPLICATE is true, or, when that is unset, when
PYLITESTREAM_ENV=production, so development servers do not replicate. The config is found as
everywhere else (LITESTREAM_CONFIG, ./litestream.yml, ...). PYLITESTREAM_ON_LITESTREAM_EXIT
says what happens if litestream dies: "stop" (the default) stops Gunicorn, "restart" restarts
litestream with backoff.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

from .. import api

if TYPE_CHECKING:
    from ..api import OnExit, Replicator

__all__ = ["on_exit", "when_ready"]

ENABLE_VAR = "PYLITESTREAM_REPLICATE"
ENV_VAR = "PYLITESTREAM_ENV"
ON_EXIT_VAR = "PYLITESTREAM_ON_LITESTREAM_EXIT"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

_replicator: Replicator | None = None


def enabled(environ: dict[str, str] | None = None) -> bool:
    source = os.environ if environ is None else environ
    value = source.get(ENABLE_VAR, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return source.get(ENV_VAR, "").strip().lower() == "production"


def on_exit_mode(environ: dict[str, str] | None = None) -> OnExit:
    source = os.environ if environ is None else environ
    value = source.get(ON_EXIT_VAR, "stop").strip().lower() or "stop"
    return api.on_exit_mode(value, ON_EXIT_VAR)


def when_ready(server: Any) -> None:
    """Start litestream once the arbiter is up, before it forks the workers: missing databases
    are restored first, and workers start only after litestream has opened every database.
    Runs in the arbiter's main thread, after Gunicorn has daemonized (so the process that
    starts litestream is the one that lives)."""
    global _replicator
    from ..errors import PylitestreamError

    if not enabled():
        server.log.info(
            f"pylitestream: litestream not started ({ENABLE_VAR}=1 or {ENV_VAR}=production "
            "turns it on)"
        )
        return
    pid = os.getpid()

    def stop_server(_code: int) -> None:
        os.kill(pid, signal.SIGTERM)

    try:
        replicator = api.Replicator(
            on_litestream_exit=on_exit_mode(), on_stop=stop_server, started_by="gunicorn"
        )
        replicator.start()
    except PylitestreamError as exc:
        from ..masking import redact

        server.log.error(f"pylitestream: {redact(str(exc), api.known_secrets())}")
        raise SystemExit(exc.exit_code) from None
    _replicator = replicator
    server.log.info(
        f"pylitestream: litestream (pid {replicator.pid}) replicating {replicator.config}"
    )


def on_exit(server: Any) -> None:
    """After the workers have stopped: SIGTERM litestream and wait for its final sync. Exit
    non-zero if litestream had died and stopped the server."""
    global _replicator
    replicator, _replicator = _replicator, None
    if replicator is None:
        return
    status = replicator.stop()
    server.log.info(f"pylitestream: litestream stopped (status {status})")
    if replicator.died_with is not None:
        raise SystemExit(1)
