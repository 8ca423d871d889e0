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


def allowed_hosts(host: str, extra: list[str]) -> list[str]:
    """The Host names the standalone server answers: loopback names, the address it listens on
    (unless a wildcard), --allowed-host and PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS."""
    import os

    from ..web.security import LOOPBACK_HOSTS

    named = os.environ.get("PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS", "").split(",")
    own = [] if host.strip("[]") in ("0.0.0.0", "::", "") else [host.strip("[]")]
    found = [*LOOPBACK_HOSTS, *own, *extra, *named]
    return list(dict.fromkeys(name.strip().lower() for name in found if name.strip()))


@app.command()
def dashboard(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8765,
    config: Config = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another Host header to answer (repeatable; also "
            "PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS, comma-separated). Loopback names and the "
            "--host address are always allowed.",
        ),
    ] = None,
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

    open_to_all = credentials() is None
    if not is_loopback(host) and open_to_all:
        raise UsageError(
            f"refusing to serve the dashboard on {host} without credentials: set "
            "PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD, or use "
            "--host 127.0.0.1"
        )
    # Loopback without a password is served to anyone who can reach it (only this machine),
    # on purpose: the one case the standalone server opens the dashboard to everyone.
    application = web.create_app(config, allow_actions=actions, public=open_to_all)
    served = application.state.settings
    shown = f"[{host}]" if ":" in host else host
    auth = (
        f"basic auth as {served['username']}"
        if served["username"]
        else "no authentication (loopback only)"
    )
    output.info(
        f"serving the dashboard for {served['config']} at http://{shown}:{port}/ ({auth}; "
        f"actions {'on' if served['actions'] else 'off'}); Ctrl-C stops it"
    )
    hosts = allowed_hosts(host, allowed_host or [])
    output.info(f"answering Host: {', '.join(hosts)} (others get 400)")
    import uvicorn

    try:
        uvicorn.run(HostAllowList(application, hosts), host=host, port=port, log_level="warning")
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind, after logging why
        raise UsageError(f"cannot listen on {host}:{port} (see the line above)") from exc
