"""`version`, `env` and `demo`."""

from pathlib import Path
from typing import Annotated

import typer

from .options import (
    Json,
    Timeout,
    app,
    show,
)


@app.command()
def version(as_json: Json = False, timeout: Timeout = None) -> None:
    """Show pylitestream's and litestream's versions, and where the binary came from."""
    from .. import api

    # The warning is one of the fields, on stdout: it describes this install, like `note`.
    show(api.version(), as_json, (), "")


@app.command()
def env(as_json: Json = False) -> None:
    """Show the LITESTREAM_* and AWS_* variables in effect, secrets masked."""
    from .. import api

    show(api.env_vars(), as_json, ("name", "value"), "no LITESTREAM_* variables are set")


@app.command()
def demo(
    directory: Annotated[
        str | None, typer.Option("--dir", help="Where to put the demo files (default: a temp dir).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Replicate a demo database to a local file replica, restore it, and compare."""
    from .. import api
    from . import output

    summary = api.run_demo(None if directory is None else Path(directory))
    if as_json:
        output.print_json(summary)
        return
    output.print_fields(summary)
    output.info(
        f"OK: {summary['rows_restored']} of {summary['rows_written']} rows came back from the "
        f"replica, {summary['seconds_to_replica']} s after they were written."
    )
