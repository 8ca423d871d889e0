"""`pylitestream metrics --serve`: check's Prometheus metrics on an HTTP port of their own."""

from typing import Annotated

import typer

from ..errors import UsageError
from .dashboard import is_loopback
from .options import Config, Database, app


@app.command()
def metrics(
    serve: Annotated[bool, typer.Option("--serve", help="Serve them at GET /metrics.")] = False,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", help="Port to listen on.", min=1, max=65535)
    ] = 9436,
    database: Database = None,
    config: Config = None,
    max_lag: Annotated[
        float, typer.Option("--max-lag", help="Seconds of lag check allows (default 60).")
    ] = 60.0,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds each answer from litestream may take (default 5)."),
    ] = None,
) -> None:
    """Prometheus metrics of the backups (needs py-litestream[metrics]): per database lag, last
    sync, TXIDs, stalled, replica reachable, last verify; the daemon's up. Without --serve they
    are printed once (as `check --format openmetrics`). Loopback unless credentials are set
    (PYLITESTREAM_DASHBOARD_USERNAME/PASSWORD)."""
    from .. import api
    from ..web.hosting import credentials
    from . import output

    if max_lag <= 0:
        raise UsageError(f"--max-lag must be more than 0, not {max_lag}")
    if not serve:
        rows = api.check(database, config=config, max_lag=max_lag, timeout=timeout)
        output.print_text(api.metrics(rows, max_lag=max_lag, openmetrics=True)[0].decode())
        return
    wanted = credentials()
    if not is_loopback(host) and wanted is None:
        raise UsageError(
            f"refusing to serve metrics on {host} without credentials: set "
            "PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD, or use "
            "--host 127.0.0.1"
        )
    api.show_config(config)  # found and readable, or one line now rather than at each scrape
    shown = f"[{host}]" if ":" in host else host
    auth = f"basic auth as {wanted[0]}" if wanted else "no authentication (loopback only)"
    output.info(f"serving metrics at http://{shown}:{port}/metrics ({auth}); Ctrl-C stops it")
    try:
        api.serve_metrics(host, port, database=database, config=config, max_lag=max_lag,
                          timeout=timeout, wanted=wanted)  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
