"""`pylitestream dashboard`: serve the web dashboard (pylitestream.web) with uvicorn.

It registers itself on the app; cli/__init__ imports it. The extra's packages are imported only
when the command runs."""

from typing import Annotated

import typer

from ..errors import UsageError
from .options import Config, app
from .serving import (
    AllowedHost,
    Host,
    Port,
    allowed_hosts,
    refuse_open_beyond_loopback,
    serving_line,
)


@app.command()
def dashboard(
    host: Host = "127.0.0.1",
    port: Port = 8765,
    config: Config = None,
    allowed_host: AllowedHost = None,
    actions: Annotated[
        bool | None,
        typer.Option(
            "--actions/--no-actions",
            help="Verify/sync/restore buttons (need credentials; default: "
            "PYLITESTREAM_DASHBOARD_ACTIONS).",
        ),
    ] = None,
) -> None:
    """Serve the web dashboard (needs py-litestream[dashboard]); loopback unless credentials
    are set (PYLITESTREAM_DASHBOARD_USERNAME/PASSWORD or LITESTREAM_USERNAME/PASSWORD)."""
    from .. import web
    from . import output

    web.require_extra()
    from ..web.security import HostAllowList, credentials

    wanted = credentials()
    refuse_open_beyond_loopback("the dashboard", host, None if wanted is None else wanted[0])
    application = web.create_app(config, allow_actions=actions, public=wanted is None)
    served = application.state.settings
    where = serving_line(f"the dashboard for {served['config']}", host, port, "/",
                         served["username"])  # fmt: skip
    output.info(f"{where}; actions {'on' if served['actions'] else 'off'}); Ctrl-C stops it")
    hosts = allowed_hosts(host, allowed_host)
    output.info(f"answering Host: {', '.join(hosts)} (others get 400)")
    import uvicorn

    try:
        uvicorn.run(HostAllowList(application, hosts), host=host, port=port, log_level="warning")
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind, after logging why
        raise UsageError(f"cannot listen on {host}:{port} (see the line above)") from exc
