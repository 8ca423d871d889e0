"""The listing commands: databases, generations, snapshots, wal, ltx, status."""

from typing import Annotated

import typer

from .options import (
    Config,
    Database,
    Json,
    NoValidate,
    Timeout,
    app,
    show,
)


@app.command()
def databases(
    config: Config = None,
    as_json: Json = False,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """List the databases in the config and their replicas."""
    from .. import api

    rows = api.databases(config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("databases"), "no databases in the config")


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

    rows = api.generations(database, config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("generations"), "no generations")


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

    rows = api.snapshots(database, config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("snapshots"), "no snapshots")


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

    rows = api.wal(database, config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("wal"), "no WAL segments")


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

    rows = api.ltx(database, level=level, config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("ltx"), "no LTX files")


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

    rows = api.status(database, config=config, timeout=timeout, validate=not no_validate)
    show(rows, as_json, api.columns("status"), "no databases")
