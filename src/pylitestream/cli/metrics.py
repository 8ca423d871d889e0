"""`metrics` (Prometheus metrics, once or served) and `history` (what checks and verifies saw)."""

from typing import Annotated

import typer

from .options import Config, Database, Json, app


@app.command()
def metrics(
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Serve them over HTTP at /metrics until stopped."),
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 9436,
    config: Config = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another Host header to answer (repeatable; also "
            "PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS). Loopback names and the --host address are "
            "always allowed.",
        ),
    ] = None,
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
    from .dashboard import allowed_hosts, is_loopback

    api.require_metrics()
    wanted = credentials()
    if not is_loopback(host) and wanted is None:
        from ..errors import UsageError

        raise UsageError(
            f"refusing to serve the metrics on {host} without credentials: set "
            "PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD, or use "
            "--host 127.0.0.1"
        )
    config_path = api.show_config(config)["config"]
    gatherer = overview_gatherer(config_path, timeout)
    shown = f"[{host}]" if ":" in host else host
    auth = f"basic auth as {wanted[0]}" if wanted else "no authentication: loopback only"
    output.info(
        f"serving metrics for {config_path} at http://{shown}:{port}/metrics ({auth}); "
        "Ctrl-C stops it"
    )
    try:
        serve_metrics(gatherer, host, port, wanted, allowed_hosts(host, allowed_host or []))
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
