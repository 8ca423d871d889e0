"""What `dashboard` and `metrics --serve` share as servers of their own: the --host, --port and
--allowed-host options, the refusal to serve beyond loopback without credentials, and the line
saying where and how they serve."""

from typing import Annotated

import typer

from ..errors import UsageError

Host = Annotated[str, typer.Option("--host", help="Address to listen on.")]
Port = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
AllowedHost = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="Another Host header to answer (repeatable; also "
        "PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS, comma-separated). Loopback names and the --host "
        "address are always allowed.",
    ),
]


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


def allowed_hosts(host: str, extra: list[str] | None) -> list[str]:
    """The Host names a server of ours answers: loopback names, the address it listens on
    (unless a wildcard), --allowed-host and PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS."""
    import os

    from ..web.security import LOOPBACK_HOSTS

    named = os.environ.get("PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS", "").split(",")
    own = [] if host.strip("[]") in ("0.0.0.0", "::", "") else [host.strip("[]")]
    found = [*LOOPBACK_HOSTS, *own, *(extra or []), *named]
    return list(dict.fromkeys(name.strip().lower() for name in found if name.strip()))


def refuse_open_beyond_loopback(what: str, host: str, username: str | None) -> None:
    """Without credentials only loopback is served: the one case a server of ours answers
    everyone who can reach it (only this machine)."""
    if username is None and not is_loopback(host):
        raise UsageError(
            f"refusing to serve {what} on {host} without credentials: set "
            "PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD, or use "
            "--host 127.0.0.1"
        )


def serving_line(what: str, host: str, port: int, path: str, username: str | None) -> str:
    """'serving WHAT at http://HOST:PORT/PATH (basic auth as NAME' (the caller closes it)."""
    shown = f"[{host}]" if ":" in host else host
    auth = f"basic auth as {username}" if username else "no authentication: loopback only"
    return f"serving {what} at http://{shown}:{port}{path} ({auth}"
