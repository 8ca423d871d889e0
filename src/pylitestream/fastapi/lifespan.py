"""litestream run by the app's lifespan: started (missing databases restored first) before the
app's own lifespan, and stopped after it, when the server shuts down, with its final sync.

For a server of one process (`uvicorn app:app`). With several workers each would run the
lifespan: the first to start litestream holds the config's daemon lock, and every other is
refused (AlreadyRunning), which stops the server. Under a supervisor that already runs
litestream for the config, `pylitestream run -- uvicorn --workers N` or Gunicorn's hooks, the
lifespan finds it among this process's ancestors and starts none."""

from __future__ import annotations

import contextlib
import inspect
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from .. import api, logs
from ..errors import AlreadyRunning, PylitestreamError, UsageError
from ..masking import redact

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]
PathLike = str | os.PathLike[str]

log = logs.get(__name__)


def replicator_lifespan(
    config: PathLike | None = None,
    *,
    lifespan: Callable[[Any], Any] | None = None,
    enabled: bool = True,
    databases: Sequence[PathLike] | None = None,
    restore: bool = True,
    on_litestream_exit: str = "stop",
    ready_timeout: float | None = None,
) -> Lifespan:
    """A lifespan for FastAPI(lifespan=...) or Starlette(lifespan=...) that runs a
    pylitestream.Replicator (same arguments) around `lifespan`, the app's own one, if any.

    enabled=False runs only `lifespan` (say, enabled=os.environ.get("ENV") == "production").
    A Replicator that cannot start stops the server's start-up with its exception."""
    mode = api.on_exit_mode(on_litestream_exit, "on_litestream_exit")
    if config is not None and not isinstance(config, (str, os.PathLike)):
        raise UsageError(f"config= must be a path, not {type(config).__name__}")
    if lifespan is not None and not callable(lifespan):
        raise UsageError(
            f"lifespan= must be the app's own lifespan function, not {type(lifespan).__name__}"
        )
    inner: Callable[[Any], Any] | None = lifespan
    if lifespan is not None and inspect.isasyncgenfunction(lifespan):
        inner = contextlib.asynccontextmanager(lifespan)  # as Starlette takes it

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[Any]:
        replicator = None
        if enabled:
            replicator = await start(api.Replicator(
                config, databases=databases, restore=restore, on_litestream_exit=mode,
                ready_timeout=ready_timeout, started_by="fastapi",
            ))  # fmt: skip
        try:
            if inner is None:
                yield None
            else:
                async with inner(app) as state:
                    yield state
        finally:
            if replicator is not None:
                await in_thread(replicator.stop)

    return run


async def in_thread(work: Callable[[], Any]) -> Any:
    """Start-up and stop wait for litestream; the event loop does not."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(work)


async def start(replicator: Any) -> Any | None:
    """The Replicator started, or None when an ancestor of this process already runs litestream
    for the config. Any other refusal is raised, its message redacted."""
    try:
        await in_thread(replicator.start)
    except AlreadyRunning:
        running = supervised_by_ancestor(replicator.config)
        if running is None:
            raise AlreadyRunning(several_workers(replicator.config)) from None
        log.info(
            f"litestream (pid {running['pid']}) already replicates {replicator.config}, started "
            f"by {running['started_by']} (pid {running['supervisor_pid']}) for this server: "
            "not starting another"
        )
        return None
    except PylitestreamError as exc:
        exc.args = (redact(str(exc), api.known_secrets()),)
        raise
    return replicator


def several_workers(config: Path | None) -> str:
    found = [row for row in api.processes(timeout=1.0) if same_config(row, config)]
    who = (f" (pid {found[0]['pid']}, started by {found[0]['started_by']} in process "
           f"{found[0]['supervisor_pid']})" if found else "")  # fmt: skip
    return (
        f"litestream is already replicating {config}{who}: replicator_lifespan runs it in a "
        "server of one process; with several workers run it once, outside them: "
        "'pylitestream run -- uvicorn --workers N app:app', or Gunicorn's hooks "
        "(-c python:pylitestream.gunicorn)"
    )


def same_config(row: dict[str, Any], config: Path | None) -> bool:
    return config is not None and row.get("config") == str(config) and row["status"] == "running"


def supervised_by_ancestor(config: Path | None) -> dict[str, Any] | None:
    """The running litestream for `config` whose supervisor is this process's parent, or its
    parent, and so on, else None."""
    ancestors = ancestry()
    for row in api.processes(timeout=1.0):
        if same_config(row, config) and row.get("supervisor_pid") in ancestors:
            return row
    return None


def ancestry() -> set[int]:
    found: set[int] = set()
    pid = os.getppid()
    while pid > 1 and pid not in found and len(found) < 64:
        found.add(pid)
        pid = parent_of(pid)
    return found


def parent_of(pid: int) -> int:
    try:  # Linux
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        pass
    try:  # macOS
        out = subprocess.run(["ps", "-o", "ppid=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=5, check=False).stdout  # fmt: skip
        return int(out.strip() or 0)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0
