"""`manage.py litestream <command> [args]`: the pylitestream command, with Django's database
aliases accepted wherever it takes a database path.

It hands the arguments to pylitestream's own entry point, so flags, output, JSON, the one-line
errors and the exit codes are exactly the `pylitestream` command's; nothing becomes a Django
CommandError with a traceback.
"""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


def _run(argv: list[str]) -> int:
    from ....cli import main
    from ...aliases import translate

    def prepare(args: list[str]) -> list[str]:
        return translate(args, getattr(settings, "DATABASES", {}))

    try:
        main(argv, prepare=prepare)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


class Command(BaseCommand):  # type: ignore[misc]  # Django has no type information
    help = (
        "Run a pylitestream command (databases, restore, verify, init, config check, ...); "
        "a database alias works wherever a path does. 'manage.py litestream --help' lists them."
    )
    # `litestream init` must run before any config exists, which the checks would refuse.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help="pylitestream's arguments")

    def run_from_argv(self, argv: list[str]) -> None:
        """manage.py's path: argv is [manage.py, litestream, ...]. Django's own parser would
        turn pylitestream's flags into its usage errors, so it is skipped."""
        raise SystemExit(_run(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:
        """call_command's path: a failure (already reported on stderr) becomes a CommandError
        carrying the exit code."""
        code = _run([str(arg) for arg in args])
        if code:
            raise CommandError(f"pylitestream exited with status {code}", returncode=code)
