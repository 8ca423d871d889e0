"""The `pylitestream` command: parses arguments and hands them to the Python API.

Nothing here decides behaviour; each command is a few lines over a function in pylitestream.api
and a call into pylitestream.output. Heavy modules load inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

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
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout", help="Seconds to wait for litestream (default 30, or PYLITESTREAM_TIMEOUT)."
    ),
]


def _show(records: Any, as_json: bool, columns: tuple[str, ...], empty: str) -> None:
    from . import output

    output.emit(records, as_json=as_json, columns=columns, empty=empty)


@app.command(context_settings=PASS_THROUGH)
def replicate(ctx: typer.Context, config: Config = None) -> None:
    """Run `litestream replicate` in place of this process. Arguments after -- go to litestream,
    e.g. pylitestream replicate -- -exec "gunicorn app:app"."""
    from . import api

    api.replicate(config, ctx.args)


@app.command(context_settings=PASS_THROUGH)
def restore(
    ctx: typer.Context,
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
) -> None:
    """Restore a database from its replica. Litestream flags go after --: -o PATH, -timestamp,
    -txid (0.5), -index/-generation/-replica (0.3), -if-db-not-exists, -if-replica-exists, ..."""
    from . import api, output

    restored = api.restore(database, config=config, timeout=timeout, args=ctx.args)
    if as_json:
        output.print_json({"database": database, "restored": restored})
    elif restored is None:
        output.info("nothing restored (the database exists, or the replica has no backup)")
    else:
        output.info(f"restored {restored}")


@app.command()
def databases(config: Config = None, as_json: Json = False, timeout: Timeout = None) -> None:
    """List the databases in the config and their replicas."""
    from . import api, records

    rows = api.databases(config=config, timeout=timeout)
    _show(rows, as_json, records.DATABASE_KEYS, "no databases in the config")


@app.command()
def generations(
    database: Database = None, config: Config = None, as_json: Json = False, timeout: Timeout = None
) -> None:
    """List a database's generations (Litestream 0.3)."""
    from . import api, records

    rows = api.generations(database, config=config, timeout=timeout)
    _show(rows, as_json, records.GENERATION_KEYS, "no generations")


@app.command()
def snapshots(
    database: Database = None, config: Config = None, as_json: Json = False, timeout: Timeout = None
) -> None:
    """List a database's snapshots (on 0.5: LTX level 9)."""
    from . import api, records

    rows = api.snapshots(database, config=config, timeout=timeout)
    _show(rows, as_json, records.SNAPSHOT_KEYS, "no snapshots")


@app.command()
def wal(
    database: Database = None, config: Config = None, as_json: Json = False, timeout: Timeout = None
) -> None:
    """List a database's WAL segments (on 0.5: LTX level 0)."""
    from . import api, records

    rows = api.wal(database, config=config, timeout=timeout)
    _show(rows, as_json, records.WAL_KEYS, "no WAL segments")


@app.command()
def ltx(
    database: Database = None,
    level: Annotated[str, typer.Option("--level", "-level", help="0-9 or 'all'.")] = "0",
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
) -> None:
    """List a database's LTX files (Litestream 0.5)."""
    from . import api, records

    rows = api.ltx(database, level=level, config=config, timeout=timeout)
    _show(rows, as_json, records.LTX_KEYS, "no LTX files")


@app.command()
def status(
    database: Database = None, config: Config = None, as_json: Json = False, timeout: Timeout = None
) -> None:
    """Show each database's local replication status (Litestream 0.5)."""
    from . import api, records

    rows = api.status(database, config=config, timeout=timeout)
    _show(rows, as_json, records.STATUS_KEYS, "no databases")


@app.command()
def version(as_json: Json = False) -> None:
    """Show pylitestream's and litestream's versions, and where the binary came from."""
    from . import api

    _show(api.version(), as_json, (), "")


@app.command()
def env(as_json: Json = False) -> None:
    """Show the LITESTREAM_* and AWS_* variables in effect, secrets masked."""
    from . import api

    _show(api.env_vars(), as_json, ("name", "value"), "no LITESTREAM_* variables are set")


@app.command()
def demo(
    directory: Annotated[
        str | None, typer.Option("--dir", help="Where to put the demo files (default: a temp dir).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Replicate a demo database to a local file replica, restore it, and compare."""
    from . import output
    from .demo import run_demo

    summary = run_demo(None if directory is None else Path(directory))
    if as_json:
        output.print_json(summary)
        return
    output.print_fields(summary)
    output.info(
        f"OK: {summary['rows_restored']} of {summary['rows_written']} rows came back from the "
        f"replica, {summary['seconds_to_replica']} s after they were written."
    )


# --- configuration: init, config check/show/migrate (issue 4) ---------------------------------


# --- verify (issue 5) ---------------------------------------------------------------------------


# --- supervision: run, ps (issue 6) -------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and an exit code (1 litestream
    failed, 2 usage), never a traceback."""
    from .errors import PylitestreamError

    args = sys.argv[1:] if argv is None else argv
    command = typer.main.get_command(app)
    try:
        code = command.main(args, prog_name="pylitestream", standalone_mode=False)
    except PylitestreamError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(1) from None
    except Exception as exc:
        if hasattr(exc, "format_message"):
            # Typer/click usage errors: one line instead of a boxed usage message.
            if not exc.format_message():  # bare `pylitestream`: the help is already printed
                raise SystemExit(getattr(exc, "exit_code", 2)) from None
            hint = " (see --help)" if getattr(exc, "exit_code", 1) == 2 else ""
            _fail(f"{exc.format_message()}{hint}", getattr(exc, "exit_code", 2))
        if type(exc).__name__ in ("Exit", "Abort"):
            raise SystemExit(getattr(exc, "exit_code", 1)) from None
        raise
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    from . import output

    output.error(message)
    raise SystemExit(code)
