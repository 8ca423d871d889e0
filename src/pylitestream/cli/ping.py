"""--ping-url for `verify`, `check` and `audit`: a healthchecks.io-style ping after the command,
with the URL's secrets kept out of every message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

PING_TIMEOUT = 5.0


def safe_url(url: str) -> str:
    """A ping URL fit to print: scheme and host only (healthchecks URLs carry their token in the
    path, others in userinfo or the query)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<ping URL>"
    return f"{parts.scheme}://{host}{port}/…" if parts.scheme else "<ping URL>"


def ping(url: str, *, ok: bool, body: str = "") -> str | None:
    """POST `body` to `url` on success or `url`/fail on failure (healthchecks.io style).
    Return None when it worked, else a line saying why not, with the URL's secrets left out."""
    from urllib.parse import urlsplit, urlunsplit

    import httpx

    target = url
    if not ok:
        try:
            parts = urlsplit(url)
        except ValueError:
            return f"ping URL {safe_url(url)} is not a valid http(s) URL"
        target = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/fail"))
    try:
        response = httpx.post(target, content=body.encode(), timeout=PING_TIMEOUT)
    except httpx.HTTPError as exc:
        return f"ping to {safe_url(url)} failed: {type(exc).__name__}"
    except (httpx.InvalidURL, ValueError):
        return f"ping URL {safe_url(url)} is not a valid http(s) URL"
    if response.status_code >= 400:
        return f"ping to {safe_url(url)} failed: HTTP {response.status_code}"
    return None


def send(url: str | None, *, ok: bool, body: str) -> None:
    """Ping `url` (nothing without one); a ping that fails is a warning, never the command's
    failure."""
    if url:
        from . import output

        problem = ping(url, ok=ok, body=body)
        if problem:
            output.warning(problem)


@contextmanager
def failure_pinged(url: str | None) -> Iterator[None]:
    """Ping URL/fail when the command fails before it has an outcome to ping (an unreachable
    replica, a daemon that cannot be asked): a monitor hears of it at once rather than from a
    ping that never comes."""
    from ..errors import PylitestreamError

    try:
        yield
    except PylitestreamError as exc:
        send(url, ok=False, body=str(exc))
        raise
