"""`audit`: the check from outside, from replica access alone (no app, daemon or database)."""

import time
from typing import Annotated

import typer

from .options import (
    Config,
    Json,
    NoValidate,
    OutputFormat,
    PingUrl,
    Timeout,
    app,
    chosen_format,
)


@app.command()
def audit(
    url: Annotated[
        str | None,
        typer.Argument(
            help="Replica URL or bucket prefix (s3://bucket/prefix, file:///path) to find the "
            "databases under; default: the databases of the config.",
            show_default=False,
        ),
    ] = None,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            help="Fail each database whose newest restore point is older than this: seconds, "
            "or 90s, 15m, 2h, 1d.",
        ),
    ] = None,
    restore: Annotated[
        bool,
        typer.Option(
            "--restore",
            help="Drill: restore each database into a private temporary directory and run "
            "the full integrity check.",
        ),
    ] = False,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="S3-compatible endpoint for an s3:// URL (default: LITESTREAM_REPLICA_ENDPOINT; "
            "unset for AWS).",
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            help="Region for an s3:// URL (default: LITESTREAM_REPLICA_REGION, AWS_REGION).",
        ),
    ] = None,
    config: Config = None,
    as_json: Json = False,
    output_format: OutputFormat = None,
    ping_url: PingUrl = None,
    timeout: Timeout = None,
    no_validate: NoValidate = False,
) -> None:
    """Audit backups from the replica alone: per database the newest restore point, its age
    and the restore points' span; --restore adds a restore drill. Exit 1 naming each database
    that is stale, unreadable or fails its drill. Never writes to the replica."""
    from .. import api
    from ..errors import PylitestreamError, StorageError
    from . import output
    from .ping import failure_pinged, send
    from .signals import interrupt_on_sigterm

    chosen = chosen_format(as_json, output_format)
    interrupt_on_sigterm()
    started = time.monotonic()
    try:
        with failure_pinged(ping_url), output.status("auditing …", quiet=chosen != "table"):
            rows = api.audit(url, config=config, endpoint=endpoint, region=region,
                             max_age=max_age, restore=restore, timeout=timeout,
                             validate=not no_validate)  # fmt: skip
    except StorageError:
        if chosen == "openmetrics":
            # Metrics that say so, not an empty file that reads as "no databases".
            took = time.monotonic() - started
            output.raw(api.audit_metrics_text([], took, storage_ok=False).decode())
        raise
    line = api.audit_summary(rows)
    ok = all(row["ok"] for row in rows)
    send(ping_url, ok=ok, body=line)
    if chosen == "openmetrics":
        output.raw(api.audit_metrics_text(rows, time.monotonic() - started).decode())
    else:
        output.emit(rows, as_json=chosen == "json", columns=api.columns("audit"),
                    empty="no databases")  # fmt: skip
    if not ok:
        raise PylitestreamError(line)
