"""The Typer app and the options its commands share (the command modules import these)."""

from typing import Annotated, Any

import typer

app = typer.Typer(
    name="pylitestream",
    help="Litestream for Python: continuous SQLite backups, restores, and proof they work.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help text: Rich markup would swallow "[dashboard]" of "py-litestream[dashboard]".
    rich_markup_mode=None,
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
OutputFormat = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="table (default), json (as --json) or openmetrics (Prometheus metrics, for "
        "node_exporter's textfile collector).",
    ),
]


def chosen_format(as_json: bool, output_format: str | None) -> str:
    """The format asked for by --json and --format: "table", "json" or "openmetrics". A missing
    metrics extra is a usage problem found before any work (a monitor then alarms on the exit
    code, not on half-written metrics)."""
    from ..errors import UsageError

    if output_format not in (None, "table", "json", "openmetrics"):
        raise UsageError(f"--format must be table, json or openmetrics, not {output_format!r}")
    if as_json and output_format not in (None, "json"):
        raise UsageError(f"--json and --format {output_format} ask for two formats: pick one")
    if output_format == "openmetrics":
        from .. import api

        api.require_metrics()
    return "json" if as_json else output_format or "table"


PingUrl = Annotated[
    str | None,
    typer.Option(
        "--ping-url", help="Ping this URL when all is well, URL/fail when not (healthchecks.io)."
    ),
]
NoValidate = Annotated[
    bool,
    typer.Option("--no-validate", help="Skip checking the config before litestream runs."),
]


def apply_timeout(value: float | None) -> float | None:
    """--timeout applies to every litestream call of the command, the version check included."""
    from .. import api

    api.use_timeout(value)
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


# The argv main() was given, so pass-through commands can tell what came after `--`.
argv: list[str] | None = None


def forwarded_args(ctx: typer.Context) -> list[str]:
    """The arguments after `--` (for litestream or run's app). Anything else click did not
    recognise came before `--`: a usage error, with a hint when it looks like a typo."""
    raw = argv if argv is not None else []
    after = len(raw) - raw.index("--") - 1 if "--" in raw else 0
    before, forwarded = ctx.args[: len(ctx.args) - after], ctx.args[len(ctx.args) - after :]
    if before:
        import difflib

        from ..errors import UsageError

        item = before[0]
        if item.startswith("-"):
            names = [n for p in ctx.command.params for n in getattr(p, "opts", [])]
            close = difflib.get_close_matches(item.split("=")[0], names, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise UsageError(f"no such option: {item}{hint} (litestream's own flags go after --)")
        raise UsageError(f"unexpected argument {item!r} (litestream's own flags go after --)")
    return forwarded


def show(records: Any, as_json: bool, columns: tuple[str, ...], empty: str) -> None:
    from . import output

    output.emit(records, as_json=as_json, columns=columns, empty=empty)
