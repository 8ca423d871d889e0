"""The `pylitestream` command: parses arguments and hands them to the Python API.

Nothing here decides behaviour; each command is a few lines over a function in pylitestream.api
and a call into cli/output.py. Heavy modules load inside the commands that need them. This
module holds the entry point (main) and the global -q/-v; each command group has its module.

The modules that define commands do without `from __future__ import annotations`: Typer would
then evaluate every annotation from its string at each start, 10 ms of every command's start-up
(bench/bench_cli.py; tests/test_package.py keeps it so).
"""

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from .. import logs
from . import options
from .options import app as app

# The commands, in the order `pylitestream --help` lists them: each module registers its own.
# isort: off
from . import replication  # noqa: F401
from . import listings  # noqa: F401
from . import about  # noqa: F401
from . import configs  # noqa: F401
from . import verify  # noqa: F401
from . import supervision  # noqa: F401
from . import daemon  # noqa: F401
from . import audit  # noqa: F401
from . import dashboard  # noqa: F401
from . import metrics  # noqa: F401
# isort: on


def _secrets() -> list[str]:
    from .. import api

    return api.known_secrets()


@app.callback()
def _verbosity(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Show only pylitestream's warnings and errors.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show debug messages too.")
    ] = False,
    django_settings: Annotated[
        str | None,
        typer.Option(
            "--django-settings",
            metavar="MODULE",
            help="Read settings.LITESTREAM from this Django settings module "
            "(as DJANGO_SETTINGS_MODULE does).",
        ),
    ] = None,
) -> None:
    """Litestream for Python: continuous SQLite backups, restores, and proof they work."""
    from .. import api  # here, not in main: `pylitestream --help` need not load the API

    if django_settings is not None:
        # Through the environment, so that what the command starts (run's server and its
        # Gunicorn hooks) reads the same settings.
        api.use_django_settings(django_settings)

    api.use_timeout(None)  # a --timeout is for the command it was given to (main may run again)
    logs.to_terminal(_secrets, logs.WARNING if quiet else logs.DEBUG if verbose else logs.INFO)


def main(
    argv: list[str] | None = None, *, prepare: Callable[[list[str]], list[str]] | None = None
) -> None:
    """Entry point: every failure becomes one line on stderr and an exit code (see docs/errors.md,
    "Errors and exit codes"), never a traceback. Each failure is classified where it happens;
    this only turns the exception into the line. `prepare` rewrites the arguments first (the
    Django command turns database aliases into paths), its errors reported like any other."""
    from ..errors import PylitestreamError

    args = sys.argv[1:] if argv is None else argv
    options.argv = list(args)
    logs.to_terminal(_secrets)  # -q / -v (the callback above) change the level
    command = typer.main.get_command(app)
    try:
        if prepare is not None:
            args = prepare(list(args))
            options.argv = list(args)
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
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `pylitestream` or `config`
                sys.stdout.write(exc.format_message() + "\n")
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
