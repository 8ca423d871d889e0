"""What the dashboard does for every request before any route sees it: security headers on every
response, a `Host` allow-list on the standalone server (a web page the operator visits cannot
read a loopback dashboard through DNS rebinding), authentication (basic auth, then the host's
`authorize`), and a slow-down after repeated failed basic-auth attempts from one client. Plain
ASGI middlewares, so they wrap every route, static files and error responses alike: a route
added later is authenticated without doing anything."""

from __future__ import annotations

import asyncio
import base64
import hmac
import inspect
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADERS = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class SecurityHeaders:
    """Adds HEADERS to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in HEADERS if name not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: "[::1]:8765" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostAllowList:
    """Refuses, with 400, a request whose Host is not one of `allowed` (names, any port)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = {host_name(name) for name in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if host_name(host) not in self.allowed:
                body = (
                    f"Host {host!r} is not allowed here: pass it with --allowed-host (or "
                    "PYLITESTREAM_DASHBOARD_ALLOWED_HOSTS)\n"
                ).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class FailedLogins:
    """Failed basic-auth attempts per client address within WINDOW seconds. After FREE of
    them, each further attempt waits delay() seconds (doubling, at most MAX_DELAY) before it is
    checked; the right password still gets in, and clears the count. At most CLIENTS addresses
    are remembered (the oldest go first), so memory stays bounded."""

    FREE, WINDOW, FIRST_DELAY, MAX_DELAY, CLIENTS = 10, 300.0, 0.25, 5.0, 4096

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def _count(self, client: str) -> int:
        count, since = self._seen.get(client, (0, 0.0))
        return count if self.clock() - since < self.WINDOW else 0

    def delay(self, client: str) -> float:
        over = self._count(client) - self.FREE
        return 0.0 if over < 0 else min(self.FIRST_DELAY * 2**over, self.MAX_DELAY)

    async def wait(self, client: str) -> None:
        seconds = self.delay(client)
        if seconds:
            await asyncio.sleep(seconds)

    def failed(self, client: str) -> None:
        count = self._count(client)
        since = self._seen[client][1] if count else self.clock()
        self._seen[client] = (count + 1, since)
        self._seen.move_to_end(client)
        while len(self._seen) > self.CLIENTS:
            self._seen.popitem(last=False)

    def succeeded(self, client: str) -> None:
        self._seen.pop(client, None)


def credentials(environ: Any = None) -> tuple[str, str] | None:
    """(username, password) for basic auth: PYLITESTREAM_DASHBOARD_USERNAME/PASSWORD, else the
    Rails gem's LITESTREAM_USERNAME/LITESTREAM_PASSWORD; None when no password is set. The
    dashboard and `pylitestream metrics --serve` both use them."""
    import os

    env = os.environ if environ is None else environ
    for prefix in ("PYLITESTREAM_DASHBOARD_", "LITESTREAM_"):
        password = env.get(f"{prefix}PASSWORD")
        if password:
            return env.get(f"{prefix}USERNAME") or "admin", password
    return None


def same_secret(given: str, wanted: str) -> bool:
    """Constant-time comparison, so the timing says nothing about how much of a guess was right."""
    return hmac.compare_digest(given.encode(), wanted.encode())


def basic_auth_ok(header: str | None, wanted: tuple[str, str]) -> bool:
    """Constant-time check of an Authorization: Basic header against (user, password)."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    # Both compared every time (& not and): the timing says nothing about which one was wrong.
    return bool(sep) & same_secret(user, wanted[0]) & same_secret(password, wanted[1])


class Authentication:
    """Lets a request through only when it brings `wanted` (user, password) as basic auth (when
    a password is set) and then `authorize(request)` (may be async) is true (when given). A
    refusal is 401 with a Basic challenge, or 403 from authorize; failed basic-auth attempts are
    slowed down by `logins`. Only HTTP is checked: the app has no WebSocket route (a test walks
    app.routes), and lifespan events carry no request."""

    def __init__(
        self,
        app: ASGIApp,
        wanted: tuple[str, str] | None,
        authorize: Callable[[Any], Any] | None = None,
        logins: FailedLogins | None = None,
    ) -> None:
        self.app = app
        self.wanted = wanted
        self.authorize = authorize
        self.logins = logins or FailedLogins()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self.refusal(scope, receive)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def refusal(self, scope: Scope, receive: Receive) -> Any:
        """The response that refuses this request, or None to let it through."""
        from starlette.requests import Request  # the dashboard extra, loaded with the app
        from starlette.responses import PlainTextResponse

        request = Request(scope, receive)
        if self.wanted is not None:
            client = request.client.host if request.client else "unknown"
            await self.logins.wait(client)
            if not basic_auth_ok(request.headers.get("authorization"), self.wanted):
                self.logins.failed(client)
                challenge = {"WWW-Authenticate": 'Basic realm="pylitestream"'}
                return PlainTextResponse("authentication required", 401, headers=challenge)
            self.logins.succeeded(client)
        if self.authorize is not None:
            verdict = self.authorize(request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                return PlainTextResponse("forbidden", status_code=403)
        return None
