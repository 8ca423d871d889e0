"""The commands that talk to the running daemon (Litestream 0.5's control socket) and `check`.

They register themselves on cli.options.app when cli/__init__.py imports this module. Like every
command, each is a few lines over a function of pylitestream.api (daemon_info, sync, check, ...)
and cli/output.py.
"""

from collections.abc import Iterator
from typing import Annotated, Any

import typer

from .options import Config, Database, Json, OutputFormat, PingUrl, app, chosen_format

SocketTimeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        help="Seconds to wait for the daemon's answer (default 30, or PYLITESTREAM_TIMEOUT).",
    ),
]


def _emit(data: Any, as_json: bool, columns: tuple[str, ...] = (), empty: str = "") -> None:
    from . import output

    output.emit(data, as_json=as_json, columns=columns, empty=empty)


@app.command()
def info(config: Config = None, as_json: Json = False, timeout: SocketTimeout = None) -> None:
    """Show the running daemon: version, pid, uptime, databases (Litestream 0.5 socket)."""
    from .. import api

    _emit(api.daemon_info(config=config, timeout=timeout), as_json)


@app.command("list")
def list_databases(
    config: Config = None, as_json: Json = False, timeout: SocketTimeout = None
) -> None:
    """List the daemon's databases, their state and last sync (Litestream 0.5 socket)."""
    from .. import api

    rows = api.daemon_databases(config=config, timeout=timeout)
    _emit(rows, as_json, api.columns("list"), "the daemon replicates no database")


@app.command()
def sync(
    database: Database = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Also upload, and return once the replica has it.")
    ] = False,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Sync a database (default: all) now; --wait uploads and waits (Litestream 0.5 socket)."""
    from .. import api

    rows = api.sync(database, wait=wait, config=config, timeout=timeout)
    _emit(rows, as_json, api.columns("sync"), "the daemon replicates no database")


@app.command()
def txid(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Show a database's current TXID in the daemon (Litestream 0.5 socket)."""
    from .. import api

    _emit(api.txid(database, config=config, timeout=timeout), as_json)


@app.command()
def register(
    database: Database = None,
    replica: Annotated[
        str | None, typer.Option("--replica", "-replica", help="Replica URL, e.g. s3://b/path.")
    ] = None,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Start replicating a database in the running daemon, until it restarts (0.5 socket)."""
    from .. import api

    _emit(api.register(database, replica, config=config, timeout=timeout), as_json)


@app.command()
def unregister(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Stop replicating a database and forget it, until the daemon restarts (0.5 socket)."""
    from .. import api

    _emit(api.unregister(database, config=config, timeout=timeout), as_json)


@app.command()
def start(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Resume replicating a stopped database (Litestream 0.5 socket)."""
    from .. import api

    _emit(api.start(database, config=config, timeout=timeout), as_json)


@app.command()
def stop(
    database: Database = None,
    config: Config = None,
    as_json: Json = False,
    timeout: SocketTimeout = None,
) -> None:
    """Pause replicating a database after a final sync (Litestream 0.5 socket)."""
    from .. import api

    _emit(api.stop(database, config=config, timeout=timeout), as_json)


@app.command()
def check(
    database: Database = None,
    max_lag: Annotated[
        float,
        typer.Option(
            "--max-lag", help="Seconds committed data may wait for the replica (default 60)."
        ),
    ] = 60.0,
    config: Config = None,
    as_json: Json = False,
    output_format: OutputFormat = None,
    ping_url: PingUrl = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds each answer from litestream may take (default 5)."),
    ] = None,
) -> None:
    """Are the backups current? Per database: status, TXIDs, lag, last sync, replica reachable.
    Exit 0 when every database is within --max-lag, 1 when any lags, is stalled or stopped, or
    litestream is not running."""
    from .. import api
    from ..errors import PylitestreamError
    from . import output
    from .ping import failure_pinged, send

    chosen = chosen_format(as_json, output_format)
    seen: list[int] = [0]
    failing: list[dict[str, Any]] = []

    def counted(records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        # Only the failing records are kept for the summary: --json streams the rest.
        for record in records:
            seen[0] += 1
            if not record["ok"]:
                failing.append(record)
            yield record

    with failure_pinged(ping_url):
        records = counted(api.iter_check(database, config=config, max_lag=max_lag, timeout=timeout))
        if chosen == "openmetrics":
            rows = list(records)
            overview = api.check_overview(rows, config=config, timeout=timeout or 5.0)
            output.raw(api.metrics_text(overview, openmetrics=True).decode())
        elif chosen == "json":
            output.print_json_stream(records)
        else:
            _emit(list(records), False, api.columns("check"), "no databases")
    line = api.check_summary(failing, total=seen[0])
    ok = not failing
    send(ping_url, ok=ok, body=line)
    if not ok:
        raise PylitestreamError(line)
