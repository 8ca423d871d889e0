"""`metrics` (Prometheus metrics, once or served) and `history` (what checks and verifies saw)."""

from typing import Annotated

import typer

from .options import Config, Database, Json, app
from .serving import (
    AllowedHost,
    Host,
    Port,
    allowed_hosts,
    refuse_open_beyond_loopback,
    serving_line,
)


@app.command()
def metrics(
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Serve them over HTTP at /metrics until stopped."),
    ] = False,
    host: Host = "127.0.0.1",
    port: Port = 9436,
    config: Config = None,
    allowed_host: AllowedHost = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=0.1, max=60, help="Seconds each answer from litestream may take."
        ),
    ] = 5.0,
) -> None:
    """Prometheus metrics: per database lag, time since sync, TXIDs, stalled, replica reachable,
    restore point age, last verify; the daemon's up state. Printed once (text format, exit 0
    whatever the health), or with --serve at http://HOST:PORT/metrics (loopback unless
    credentials are set, as for the dashboard)."""
    from .. import api
    from . import output

    if not serve:
        records = api.check(config=config, timeout=timeout)
        overview = api.check_overview(records, config=config, timeout=timeout)
        output.raw(api.metrics_text(overview).decode())
        return
    from ..web.metrics_server import overview_gatherer
    from ..web.metrics_server import serve as serve_metrics
    from ..web.security import credentials

    api.require_metrics()
    wanted = credentials()
    username = None if wanted is None else wanted[0]
    refuse_open_beyond_loopback("the metrics", host, username)
    config_path = api.show_config(config)["config"]
    gatherer = overview_gatherer(config_path, timeout)
    where = serving_line(f"metrics for {config_path}", host, port, "/metrics", username)
    output.info(f"{where}); Ctrl-C stops it")
    try:
        serve_metrics(gatherer, host, port, wanted, allowed_hosts(host, allowed_host))
    except OSError as exc:
        from ..errors import UsageError

        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def seconds_of(text: str) -> float:
    """'90', '90s', '15m', '2h', '14d' as seconds; UsageError otherwise."""
    import re

    from ..errors import UsageError

    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    value = (
        float(found[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[found[2]] if found else 0
    )
    if not value > 0:
        raise UsageError(f"--since must be a duration such as 90s, 15m, 2h or 14d, not {text!r}")
    return value


@app.command()
def history(
    database: Database = None,
    since: Annotated[
        str,
        typer.Option("--since", help="How far back: 90s, 15m, 2h, 14d (default 24h)."),
    ] = "24h",
    as_json: Json = False,
) -> None:
    """What every check saw and every verify proved, oldest first (kept 14 days at most, in
    the user state dir, never in the databases)."""
    from .. import api
    from . import output

    rows = api.history(database, since=seconds_of(since))
    output.emit(
        rows,
        as_json=as_json,
        columns=api.columns("history"),
        empty=f"nothing kept in the last {since}",
    )
