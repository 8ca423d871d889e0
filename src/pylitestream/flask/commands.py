"""`flask litestream <command> [args]`: the pylitestream command, with the app's
config["LITESTREAM"] as its framework settings. Registered through the `flask.commands` entry
point, so every Flask app's `flask` command has it.

It hands the arguments to pylitestream's own entry point, so flags, output, JSON, the one-line
errors and the exit codes are exactly the `pylitestream` command's. The app is loaded first (a
bad LITESTREAM, or an init_app that refuses, is one `pylitestream: error:` line, exit 2).
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, pass_script_info

from . import use_settings


def run(info: ScriptInfo, argv: list[str]) -> int:
    from ..cli import main

    def prepare(args: list[str]) -> list[str]:
        use_settings(info.load_app())
        return args

    try:
        main(argv, prepare=prepare)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


class Passthrough(click.Command):
    """Every argument, `--` and --help included, goes to pylitestream untouched: click's parser
    would drop the `--` that keeps litestream's flags apart, and turn pylitestream's flags into
    its own usage errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.params["argv"] = list(args)
        return []


@click.command("litestream", cls=Passthrough, add_help_option=False)
@pass_script_info
def litestream(info: ScriptInfo, argv: list[str]) -> None:
    """Run a pylitestream command (databases, restore, verify, init, config check, ...) with
    the app's config["LITESTREAM"]. 'flask litestream --help' lists them."""
    raise SystemExit(run(info, argv))
