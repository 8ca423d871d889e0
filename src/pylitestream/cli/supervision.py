"""`run` and `ps`: litestream beside an app."""

from pathlib import Path
from typing import Annotated

import typer

from .options import (
    PASS_THROUGH,
    Config,
    Json,
    NoValidate,
    Timeout,
    app,
    forwarded_args,
    show,
)


@app.command(context_settings=PASS_THROUGH)
def run(
    ctx: typer.Context,
    database: Annotated[
        list[str] | None,
        typer.Option(
            "--database",
            "-database",
            "-d",
            help="Restore only this database if missing (repeatable).",
        ),
    ] = None,
    on_litestream_exit: Annotated[
        str,
        typer.Option(
            "--on-litestream-exit", help="If litestream dies first: 'stop' the app or 'restart' it."
        ),
    ] = "stop",
    config: Config = None,
    no_validate: NoValidate = False,
    timeout: Timeout = None,
) -> None:
    """Restore missing databases, start litestream, then run the command after -- beside it;
    exits with the command's own exit code, after litestream's final sync."""
    from .. import api
    from ..errors import UsageError

    command = forwarded_args(ctx)
    api.on_exit_mode(on_litestream_exit, "--on-litestream-exit")
    if not command:
        raise UsageError("run needs a command after --, e.g. pylitestream run -- gunicorn app:app")
    _check_app(command[0])
    code = api.run(
        command,
        config=config,
        databases=database,
        on_litestream_exit="restart" if on_litestream_exit == "restart" else "stop",
        validate=not no_validate,
    )
    raise typer.Exit(code)


def _check_app(program: str) -> None:
    """Refuse an app that cannot start, before litestream does: 127 not found, 126 not
    executable, as a shell would."""
    import os
    import shutil

    from ..errors import AppNotExecutable, AppNotFound

    if os.sep not in program:
        if shutil.which(program) is None:
            raise AppNotFound(f"{program}: command not found on PATH; nothing was started")
        return
    path = Path(program)
    if not path.exists():
        raise AppNotFound(f"{program}: no such file; nothing was started")
    if path.is_dir() or not os.access(path, os.X_OK):
        raise AppNotExecutable(
            f"{program}: not executable ({'a directory' if path.is_dir() else 'chmod +x it'}); "
            "nothing was started"
        )


@app.command()
def ps(
    as_json: Json = False,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove the state files of daemons that are gone.")
    ] = False,
) -> None:
    """Show the litestream daemons pylitestream started: state files checked against the live
    processes, and 0.5's control socket when the config enables it."""
    from .. import api

    rows = api.processes(prune=prune)
    columns = ("pid", "status", "started_by", "started_at", "litestream", "config", "socket")
    show(rows, as_json, columns, "no litestream started by pylitestream")


# The daemon's commands (info, list, sync, ...) and check live in their own module.
