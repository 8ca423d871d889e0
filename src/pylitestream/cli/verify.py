"""`verify`: prove backups restore, are fresh and intact."""

from typing import Annotated

import typer

from .options import (
    Config,
    Database,
    Json,
    NoValidate,
    PingUrl,
    app,
    apply_timeout,
)


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
    ping_url: PingUrl = None,
) -> None:
    """Prove a backup is restorable, fresh and intact: write a sentinel row, restore until it
    shows up, integrity-check the copy. Exit 1 if any database fails."""
    from .. import api
    from ..errors import UsageError, VerificationFailure
    from . import output
    from .ping import failure_pinged, send
    from .signals import interrupt_on_sigterm

    if all_dbs == (database is not None):
        raise UsageError("pass either --database PATH or --all")
    interrupt_on_sigterm()
    failure: VerificationFailure | None = None
    doing = f"verifying {'all databases' if all_dbs else database} …"
    with failure_pinged(ping_url), output.status(doing, quiet=as_json):
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
    line = api.verify_summary(rows)
    send(ping_url, ok=all(r["ok"] for r in rows), body=line)
    if as_json:
        output.print_json(rows if all_dbs else rows[0])
    elif all_dbs:
        output.print_table(rows, api.columns("verify"), empty="no databases in the config")
    elif failure is None:
        output.print_fields(rows[0])
    failure = failure or api.verify_failure(rows)
    if failure is not None:
        raise failure
