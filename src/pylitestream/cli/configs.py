"""`init` and `config check|show|migrate`."""

from typing import Annotated

import typer

from .options import (
    Config,
    Json,
    app,
)

# --- configuration: init, config check/show/migrate -----------------------------------------------

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
    directory: Annotated[
        str | None,
        typer.Option(
            "--dir",
            help="A directory of databases to replicate, each to its own replica path "
            "(Litestream 0.5).",
        ),
    ] = None,
    pattern: Annotated[
        str | None,
        typer.Option("--pattern", help="Which files in --dir are databases (default '*.db')."),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Also the databases below --dir's subdirectories.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Also the databases created in --dir later.")
    ] = False,
    output_file: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the config.")
    ] = "litestream.yml",
    force: Force = False,
    line: Line = None,
    as_json: Json = False,
) -> None:
    """Write a litestream.yml: each database (--database, else DATABASE_URL=sqlite:///...) with
    its own replica path, and with --dir a directory of them, in the layout of the Litestream
    line in use."""
    from .. import api
    from ..errors import UsageError
    from . import output

    if directory is None and (pattern is not None or recursive or watch):
        raise UsageError("--pattern, --recursive and --watch go with --dir DIRECTORY")
    result = api.init_config(
        database or [], replica=replica, django=django, output=output_file, force=force,
        line=line, directory=directory, pattern=pattern or "*.db", recursive=recursive,
        watch=watch,
    )  # fmt: skip
    if as_json:
        output.print_json(result)
        return
    count = len(result["databases"])
    what = f"{count} database(s)" + (f" and the directory {result['dir']}" if result["dir"] else "")
    output.info(f"wrote {result['config']} for Litestream {result['line']} ({what})")
    output.info("next steps:")
    for number, step in enumerate(result["next_steps"], start=1):
        output.info(f"  {number}. {step}")


config_app = typer.Typer(
    help="Check, show and migrate the litestream config.",
    no_args_is_help=True,
    rich_markup_mode=None,
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
        dirs = result.get("directories") or 0
        also = f" and {dirs} directory entr{'y' if dirs == 1 else 'ies'}" if dirs else ""
        output.info(
            f"OK: {result['config']} is valid for Litestream {result['line']} "
            f"({result['databases']} database(s){also})"
        )


@config_app.command("show")
def config_show(config: Config = None, as_json: Json = False) -> None:
    """Print the config as litestream reads it, variables expanded, secrets masked."""
    from .. import api
    from . import output

    result = api.show_config(config)
    if as_json:
        output.print_json(result)
    else:
        output.info(f"# {result['config']}\n{api.dump_yaml(result['settings']).rstrip()}")


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
