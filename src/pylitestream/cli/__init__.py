"""The `pylitestream` command: parses arguments and hands them to the Python API.

Nothing here decides behaviour; each command is a few lines over a function in pylitestream.api
and a call into pylitestream.output. Heavy modules load inside the commands that need them.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import logs
from .options import PASS_THROUGH, Config, Database, Json, NoValidate, Timeout, app, apply_timeout

# The argv main() was given, so pass-through commands can tell what came after `--`.
_argv: list[str] | None = None


def _forwarded(ctx: typer.Context) -> list[str]:
    """The arguments after `--` (for litestream or run's app). Anything else click did not
    recognise came before `--`: a usage error, with a hint when it looks like a typo."""
    raw = _argv if _argv is not None else []
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


def _show(records: Any, as_json: bool, columns: tuple[str, ...], empty: str) -> None:
    from . import output

    output.emit(records, as_json=as_json, columns=columns, empty=empty)


@app.command(context_settings=PASS_THROUGH)
def replicate(
    ctx: typer.Context,
    config: Config = None,
    no_validate: NoValidate = False,
    timeout: Timeout = None,
) -> None:
    """Run `litestream replicate` in place of this process. Arguments after -- go to litestream,
    e.g. pylitestream replicate -- -exec "gunicorn app:app"."""
    from .. import api

    api.replicate(config, _forwarded(ctx), validate=not no_validate)


@app.command(context_settings=PASS_THROUGH)
def restore(
    ctx: typer.Context,
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the restore plan, restore nothing (0.5).")
    ] = False,
) -> None:
    """Restore a database from its replica. Litestream flags go after --: -o PATH, -timestamp,
    -txid (0.5), -index/-generation/-replica (0.3), -if-db-not-exists, -if-replica-exists, ..."""
    from .. import api
    from . import output

    if dry_run:
        from ..services.restore_preview import plan_from_args
        from .daemon import show_restore_plan

        plan = plan_from_args(
            database, ctx.args, config=config, timeout=timeout, validate=not no_validate
        )
        show_restore_plan(plan, as_json)
        return

    restored = api.restore(
        database, config=config, timeout=timeout, args=_forwarded(ctx), validate=not no_validate
    )
    if as_json:
        output.print_json({"database": database, "restored": restored})
    elif restored is None:
        output.info("nothing restored (the database exists, or the replica has no backup)")
    else:
        output.info(f"restored {restored}")


@app.command()
def databases(
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List the databases in the config and their replicas."""
    from .. import api
    from ..litestream import records

    rows = api.databases(config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.DATABASE_KEYS, "no databases in the config")


@app.command()
def generations(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List a database's generations (Litestream 0.3)."""
    from .. import api
    from ..litestream import records

    rows = api.generations(database, config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.GENERATION_KEYS, "no generations")


@app.command()
def snapshots(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List a database's snapshots (on 0.5: LTX level 9)."""
    from .. import api
    from ..litestream import records

    rows = api.snapshots(database, config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.SNAPSHOT_KEYS, "no snapshots")


@app.command()
def wal(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List a database's WAL segments (on 0.5: LTX level 0)."""
    from .. import api
    from ..litestream import records

    rows = api.wal(database, config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.WAL_KEYS, "no WAL segments")


@app.command()
def ltx(
    database: Database = None,
    level: Annotated[str, typer.Option("--level", "-level", help="0-9 or 'all'.")] = "0",
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List a database's LTX files (Litestream 0.5)."""
    from .. import api
    from ..litestream import records

    rows = api.ltx(database, level=level, config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.LTX_KEYS, "no LTX files")


@app.command()
def status(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """Show each database's local replication status (Litestream 0.5)."""
    from .. import api
    from ..litestream import records

    rows = api.status(database, config=config, timeout=timeout, validate=not no_validate)
    _show(rows, as_json, records.STATUS_KEYS, "no databases")


@app.command()
def version(as_json: Json = False, timeout: Timeout = None) -> None:
    """Show pylitestream's and litestream's versions, and where the binary came from."""
    from .. import api

    _show(api.version(), as_json, (), "")


@app.command()
def env(as_json: Json = False) -> None:
    """Show the LITESTREAM_* and AWS_* variables in effect, secrets masked."""
    from .. import api

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

Line = Annotated[
    str | None,
    typer.Option("--line", help="Litestream line, 0.3 or 0.5 (default: the binary in use)."),
]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing file.")]


@app.command()
def init(
    database: Annotated[
        list[str] | None,
        typer.Option("--database", "-database", "-d", help="A database to replicate (repeatable)."),
    ] = None,
    replica: Annotated[
        str | None,
        typer.Option(
            "--replica",
            help="s3://, gs://, abs://, sftp://, file:// URL or a directory "
            "(default: S3 through LITESTREAM_* variables).",
        ),
    ] = None,
    django: Annotated[
        str | None,
        typer.Option("--django", help="Django settings module whose SQLite DATABASES to add."),
    ] = None,
    output_file: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the config.")
    ] = "litestream.yml",
    force: Force = False,
    line: Line = None,
    as_json: Json = False,
) -> None:
    """Write a litestream.yml: each database (--database, else DATABASE_URL=sqlite:///...) with
    its own replica path, in the layout of the Litestream line in use."""
    from .. import api
    from . import output

    result = api.init_config(
        database or [], replica=replica, django=django, output=output_file, force=force, line=line
    )
    if as_json:
        output.print_json(result)
        return
    count = len(result["databases"])
    output.info(f"wrote {result['config']} for Litestream {result['line']} ({count} database(s))")
    output.info("next steps:")
    for number, step in enumerate(result["next_steps"], start=1):
        output.info(f"  {number}. {step}")


config_app = typer.Typer(
    help="Check, show and migrate the litestream config.", no_args_is_help=True
)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(config: Config = None, line: Line = None, as_json: Json = False) -> None:
    """Check the config the way every command does before litestream runs."""
    from .. import api
    from . import output

    result = api.check_config(config, line=line)
    if as_json:
        output.print_json(result)
    else:
        output.info(
            f"OK: {result['config']} is valid for Litestream {result['line']} "
            f"({result['databases']} database(s))"
        )


@config_app.command("show")
def config_show(config: Config = None, as_json: Json = False) -> None:
    """Print the config as litestream reads it, variables expanded, secrets masked."""
    from .. import api
    from ..config import dump_yaml
    from . import output

    result = api.show_config(config)
    if as_json:
        output.print_json(result)
    else:
        output.info(f"# {result['config']}\n{dump_yaml(result['settings']).rstrip()}")


@config_app.command("migrate")
def config_migrate(
    config: Config = None,
    output_file: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write here instead of in place (keeping a .bak)."),
    ] = None,
    force: Force = False,
    as_json: Json = False,
) -> None:
    """Rewrite a 0.3 config (replicas: lists) in the 0.5 layout (one replica: per database)."""
    from .. import api
    from . import output

    result = api.migrate_config(config, output=output_file, force=force)
    if as_json:
        output.print_json(result)
        return
    for note in result["notes"]:
        output.warning(note)
    if not result["changed"]:
        output.info(f"{result['config']} is already in the 0.5 layout; nothing was changed")
    elif result["backup"]:
        output.info(f"rewrote {result['output']} (the original is in {result['backup']})")
    else:
        output.info(f"wrote {result['output']}")


# --- verify (issue 5) ---------------------------------------------------------------------------


@app.command()
def verify(
    database: Database = None,
    all_dbs: Annotated[
        bool, typer.Option("--all", help="Verify every database in the config, concurrently.")
    ] = False,
    config: Config = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Seconds to wait for the sentinel row, more than 0 and at most 86400 "
            "(default 30, or PYLITESTREAM_TIMEOUT).",
            callback=apply_timeout,
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="PRAGMA quick_check instead of integrity_check.")
    ] = False,
    as_json: Json = False,
    no_validate: NoValidate = False,
    ping_url: Annotated[
        str | None,
        typer.Option("--ping-url", help="Ping this URL on success, URL/fail on failure."),
    ] = None,
) -> None:
    """Prove a backup is restorable, fresh and intact: write a sentinel row, restore until it
    shows up, integrity-check the copy. Exit 1 if any database fails."""
    from .. import api, verification
    from ..errors import UsageError, VerificationFailure
    from . import output

    if all_dbs == (database is not None):
        raise UsageError("pass either --database PATH or --all")
    verification.interrupt_on_sigterm()
    failure: VerificationFailure | None = None
    with output.status(f"verifying {'all databases' if all_dbs else database} …", quiet=as_json):
        if all_dbs:
            rows = api.verify_all(
                config=config, timeout=timeout, quick=quick, validate=not no_validate
            )
        else:
            try:
                rows = [
                    api.verify(
                        str(database),
                        config=config,
                        timeout=timeout,
                        quick=quick,
                        validate=not no_validate,
                    )
                ]
            except VerificationFailure as exc:
                failure, rows = exc, [exc.record]
    line = verification.summary(rows)
    if ping_url:
        problem = verification.ping(ping_url, ok=all(r["ok"] for r in rows), body=line)
        if problem:
            output.warning(problem)
    if as_json:
        output.print_json(rows if all_dbs else rows[0])
    elif all_dbs:
        output.print_table(rows, verification.TABLE_KEYS, empty="no databases in the config")
    elif failure is None:
        output.print_fields(rows[0])
    failure = failure or verification.failure_of(rows)
    if failure is not None:
        raise failure


# --- supervision: run, ps (issue 6) -------------------------------------------------------------


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
    from .. import supervise
    from ..errors import UsageError

    command = _forwarded(ctx)
    supervise.on_exit_mode(on_litestream_exit, "--on-litestream-exit")
    if not command:
        raise UsageError("run needs a command after --, e.g. pylitestream run -- gunicorn app:app")
    _check_app(command[0])
    code = supervise.run(
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
def ps(as_json: Json = False) -> None:
    """Show the litestream daemons pylitestream started: state files checked against the live
    processes, and 0.5's control socket when the config enables it."""
    from .. import supervise

    rows = supervise.processes()
    columns = ("pid", "status", "started_by", "started_at", "litestream", "config", "socket")
    _show(rows, as_json, columns, "no litestream started by pylitestream")


# The daemon's commands (info, list, sync, ...) and check live in their own module.
from . import daemon as _cli_daemon  # noqa: E402, F401


def _secrets() -> list[str]:
    from ..config.settings import known_secrets

    return known_secrets()


@app.callback()
def _verbosity(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Show only pylitestream's warnings and errors.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show debug messages too.")
    ] = False,
) -> None:
    """Litestream for Python: continuous SQLite backups, restores, and proof they work."""
    logs.to_terminal(_secrets, logs.WARNING if quiet else logs.DEBUG if verbose else logs.INFO)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and an exit code (see README
    "Errors and exit codes"), never a traceback. Each failure is classified where it happens;
    this only turns the exception into the line."""
    from ..errors import PylitestreamError
    from ..litestream.timeouts import use_timeout

    global _argv
    args = sys.argv[1:] if argv is None else argv
    _argv = list(args)
    use_timeout(None)  # a --timeout is for the command it was given to (main may run again)
    logs.to_terminal(_secrets)  # -q / -v (the callback below) change the level
    command = typer.main.get_command(app)
    try:
        # make_context + invoke rather than command.main: Typer's main turns Ctrl-C and SIGTERM
        # into a silent exit 130, and every failure is ours to report.
        with command.make_context("pylitestream", list(args)) as ctx:
            code = command.invoke(ctx)
    except PylitestreamError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
    except BrokenPipeError:
        _closed_pipe()
    except Exception as exc:
        if hasattr(exc, "format_message"):
            # Typer/click usage errors: one line instead of a boxed usage message.
            if not exc.format_message():  # bare `pylitestream`: the help is already printed
                _fail("no command given; choose one of the commands listed above", 2)
            hint = " (see --help)" if getattr(exc, "exit_code", 1) == 2 else ""
            _fail(f"{exc.format_message()}{hint}", getattr(exc, "exit_code", 2))
        if type(exc).__name__ == "Abort":  # click's form of Ctrl-C
            _interrupted(exc.__cause__ or exc.__context__)
        if type(exc).__name__ == "Exit":
            raise SystemExit(getattr(exc, "exit_code", 1)) from None
        raise
    raise SystemExit(code if isinstance(code, int) else 0)


def _interrupted(exc: BaseException | None) -> None:
    from ..errors import Terminated

    _fail("stopped by SIGTERM" if isinstance(exc, Terminated) else "interrupted", 130)


def _closed_pipe() -> None:
    """The reader went away (`| head`): nothing to say, and nothing more to flush at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (an in-process test runner)
    raise SystemExit(1)


def _fail(message: str, code: int) -> None:
    from ..errors import OutputError
    from . import output

    try:
        output.error(message)
    except (OutputError, BrokenPipeError):
        pass  # stderr itself is gone: the exit code is all that is left
    raise SystemExit(code)
