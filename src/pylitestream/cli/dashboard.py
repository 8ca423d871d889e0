"""`pylitestream dashboard`: serve the web dashboard (pylitestream.web) with uvicorn.

It registers itself on the app; cli/__init__ imports it. The extra's packages are imported only
when the command runs."""

from typing import Annotated

import typer

from ..errors import UsageError
from .options import Config, app


def is_loopback(host: str) -> bool:
    """Whether every address `host` names is a loopback one ('localhost' resolves)."""
    import ipaddress  # here, not at the top: every command's start-up would pay for them
    import socket

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0])).is_loopback for i in infos)


@app.command()
def dashboard(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8765,
    config: Config = None,
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

    web.require_extra()
    from ..web.app import credentials

    if not is_loopback(host) and credentials() is None:
        raise UsageError(
            f"refusing to serve the dashboard on {host} without credentials: set "
            "PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD, or use "
            "--host 127.0.0.1"
        )
    application = web.create_app(config, allow_actions=actions)
    import uvicorn

    try:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind, after logging why
        raise UsageError(f"cannot listen on {host}:{port} (see the line above)") from exc
