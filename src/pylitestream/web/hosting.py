"""What a framework that serves the dashboard itself (pylitestream.django, pylitestream.flask)
hands to it: the WSGI environ of the request, cut down to what the dashboard needs, with the
host's word in it (app.HOST_KEY). Imports nothing of the dashboard's extra, so a host can build
it before the dashboard exists."""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from typing import Any

HOST_KEY = "pylitestream.host"
"""The key by which a host that has already authenticated and authorized a request hands it
over: a dict {"actions": bool} and, when the host checks CSRF itself (Django),
{"csrf_field", "csrf_token"} too; without them the dashboard's own double-submit CSRF applies
(Flask, FastAPI). WSGI hosts put it in the environ, ASGI hosts (pylitestream.fastapi) in the
scope. A client cannot set it: its headers become HTTP_* environ keys and scope["headers"]."""

# The keys passed on: CGI variables and headers. The app's session cookie and any Authorization
# header stay behind: the dashboard never needs them.
CGI_KEYS = ("CONTENT_TYPE", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_PORT", "SERVER_NAME",
            "SERVER_PORT", "SERVER_PROTOCOL")  # fmt: skip
WITHHELD = ("HTTP_COOKIE", "HTTP_AUTHORIZATION")


def wsgi_str(text: str) -> str:
    """A WSGI environ string: the UTF-8 bytes read as latin-1 (PEP 3333)."""
    return text.encode("utf-8").decode("latin-1")


def forwarded_environ(source: Mapping[str, Any], *, method: str, mount: str, rest: str,
                      body: bytes, scheme: str, host: dict[str, Any],
                      cookie: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The environ for the dashboard: `mount` as SCRIPT_NAME (so its links follow it), `rest`
    below it, the body the host has already read, `cookie` as the only cookie, and `host`
    (what the host vouched for) under app.HOST_KEY."""
    environ: dict[str, Any] = {
        key: value for key, value in source.items()
        if isinstance(value, str) and key not in WITHHELD
        and (key.startswith("HTTP_") or key in CGI_KEYS)
    }  # fmt: skip
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    environ.update({
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": wsgi_str(mount),
        "PATH_INFO": wsgi_str("/" + rest),
        "SERVER_NAME": str(source.get("SERVER_NAME") or "localhost"),
        "SERVER_PORT": str(source.get("SERVER_PORT") or "80"),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": source.get("wsgi.errors") or sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        HOST_KEY: host,
    })  # fmt: skip
    return environ
