"""The Typer app and the options its commands share (the command modules import these)."""

from typing import Annotated

import typer

app = typer.Typer(
    name="pylitestream",
    help="Litestream for Python: continuous SQLite backups, restores, and proof they work.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}

Config = Annotated[
    str | None,
    typer.Option("--config", "-config", "-c", help="litestream.yml to use (default: searched)."),
]
Database = Annotated[
    str | None, typer.Option("--database", "-database", "-d", help="Path of the SQLite database.")
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NoValidate = Annotated[
    bool,
    typer.Option("--no-validate", help="Skip checking the config before litestream runs."),
]


def apply_timeout(value: float | None) -> float | None:
    """--timeout applies to every litestream call of the command, the version check included."""
    from ..litestream.timeouts import use_timeout

    use_timeout(value)
    return value


Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Seconds to wait for litestream, more than 0 and at most 86400 "
        "(default 30, or PYLITESTREAM_TIMEOUT).",
        callback=apply_timeout,
    ),
]
