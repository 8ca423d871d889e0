"""`replicate` and `restore`: the commands that hand litestream its own flags after --."""

from typing import Annotated

import typer

from .options import (
    PASS_THROUGH,
    Config,
    Database,
    Json,
    NoValidate,
    Timeout,
    app,
    forwarded_args,
)


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

    api.replicate(config, forwarded_args(ctx), validate=not no_validate)


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
        plan = api.restore_plan_from_args(
            database, forwarded_args(ctx), config=config, timeout=timeout, validate=not no_validate
        )
        if as_json:
            output.print_json(plan)
            return
        output.print_fields({key: value for key, value in plan.items() if key != "files"})
        output.print_table(
            plan["files"], api.columns("restore --dry-run"), empty="no files to fetch"
        )
        return

    restored = api.restore(
        database, config=config, timeout=timeout, args=forwarded_args(ctx), validate=not no_validate
    )
    if as_json:
        output.print_json({"database": database, "restored": restored})
    elif restored is None:
        output.info("nothing restored (the database exists, or the replica has no backup)")
    else:
        output.info(f"restored {restored}")
