"""The dashboard as a FastAPI APIRouter: the app's own dependencies decide who sees it and who
acts, then each request is handed, in this process, to the dashboard's ASGI app
(pylitestream.web.hosted_app) with the app's word in the scope (web.hosting.HOST_KEY).

One catch-all route per kind of request takes every path below the prefix (pages, JSON, static
files, actions, jobs, and paths that do not exist), so a route the dashboard adds later goes
through the same dependencies. FastAPI has no CSRF protection of its own, so the dashboard's
double-submit token guards the actions."""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

from fastapi import APIRouter, Depends, Security, params
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ..errors import UsageError
from ..web.app import CSRF_COOKIE
from ..web.hosting import HOST_KEY

READS = ["GET", "HEAD"]
WRITES = ["POST", "PUT", "PATCH", "DELETE"]
# What the dashboard never needs from the app's scope: its session and who is logged in.
WITHHELD_SCOPE = ("session", "user", "auth")


def as_rule(rule: Any, name: str) -> params.Depends | None:
    """`rule` as a FastAPI dependency: Depends(...)/Security(...) as given, a callable wrapped."""
    if rule is None:
        return None
    if isinstance(rule, params.Depends):
        if rule.dependency is None:
            raise UsageError(f"{name}=Depends() needs the dependency itself: {name}=Depends(rule)")
        return rule
    if callable(rule):
        wrapped: params.Depends = Depends(rule)
        return wrapped
    raise UsageError(
        f"{name}= must be a dependency, Depends(rule) or the rule itself, not {type(rule).__name__}"
    )


def _kind(call: Any) -> str:
    """How FastAPI calls the dependency `call`: "yield", "async" or "sync"."""
    target = call
    while isinstance(target, functools.partial):
        target = target.func
    # A class is called to make an instance; an instance is called through its __call__.
    candidates = [target] if inspect.isclass(target) else [target, type(target).__call__]
    if any(inspect.isgeneratorfunction(c) or inspect.isasyncgenfunction(c) for c in candidates):
        return "yield"
    if any(inspect.iscoroutinefunction(c) for c in candidates):
        return "async"
    return "sync"


def asked(rule: params.Depends) -> params.Depends:
    """The actions rule as a page asks it (may this user act?): the rule's own dependency with
    its refusal turned into False, so that a page for a viewer shows no buttons. The actions
    themselves ask the rule as it is, and its refusal stands."""
    call = rule.dependency
    kind = _kind(call)
    if kind == "yield":
        raise UsageError(
            "actions= cannot be a dependency with yield: it must answer before the page is "
            "made; use a plain function that returns or raises"
        )
    try:
        signature = inspect.signature(call, eval_str=True)  # type: ignore[arg-type]
    except NameError:  # an annotation only for type checkers; FastAPI copes the same way
        signature = inspect.signature(call)  # type: ignore[arg-type]

    if kind == "async":

        async def answer(**values: Any) -> bool:
            try:
                return (await call(**values)) is not False  # type: ignore[misc]
            except HTTPException:
                return False
    else:

        def answer(**values: Any) -> bool:  # type: ignore[misc]
            try:
                return call(**values) is not False  # type: ignore[misc]
            except HTTPException:
                return False

    # FastAPI resolves the rule's own parameters (and their dependencies) for the wrapper.
    answer.__signature__ = signature.replace(return_annotation=bool)  # type: ignore[attr-defined]
    if isinstance(rule, params.Security):
        secured: params.Depends = Security(answer, scopes=list(rule.scopes or ()),
                                           use_cache=rule.use_cache)  # fmt: skip
        return secured
    again: params.Depends = Depends(answer, use_cache=rule.use_cache)
    return again


def check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
        raise UsageError(
            f"prefix= must be a path below the app's root, starting with '/' and not ending "
            f"with one, like '/litestream'; not {prefix!r}"
        )
    return prefix


def withheld(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The request's headers without what the dashboard never needs: the Authorization header
    and every cookie but its own CSRF cookie (the app's session stays with the app)."""
    kept = []
    wanted = CSRF_COOKIE.encode()
    for name, value in headers:
        if name == b"authorization":
            continue
        if name == b"cookie":
            own = [p.strip() for p in value.split(b";") if p.strip().split(b"=", 1)[0] == wanted]
            if own:
                kept.append((name, b"; ".join(own)))
            continue
        kept.append((name, value))
    return kept


class Handover(Response):
    """The response that hands the request to the dashboard's ASGI app: the mount point as its
    root_path (so its links follow it), the body the app may already have read, and what the
    app's dependencies vouched for. Headers a dependency set on FastAPI's response (a refreshed
    session cookie) are added to the dashboard's."""

    def __init__(self, dashboard: Any, rest: str, body: bytes, actions: bool,
                 set_by_app: Response) -> None:  # fmt: skip
        super().__init__()
        self.dashboard = dashboard
        self.rest = rest
        self.body_read = body
        self.actions = actions
        self.extra = [(name, value) for name, value in set_by_app.raw_headers
                      if name not in (b"content-length", b"content-type")]  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = str(scope.get("root_path", ""))
        path = str(scope["path"])
        inside = path[len(root):] if root and path.startswith(root) else path  # fmt: skip
        mount = inside[: len(inside) - len(self.rest)].rstrip("/")
        inner = {key: value for key, value in scope.items() if key not in WITHHELD_SCOPE}
        inner.update({
            "root_path": root + mount,
            "path": f"{root}{mount}/{self.rest}",
            "headers": withheld(list(scope.get("headers", []))),
            HOST_KEY: {"actions": self.actions},
        })  # fmt: skip
        extra = self.extra
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": self.body_read, "more_body": False}
            return await receive()

        async def send_with_extra(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.dashboard(inner, replay, send_with_extra)
        if self.background is not None:
            await self.background()


def router(config: str | os.PathLike[str] | None, *, view: Any, actions: Any, public: bool,
           prefix: str) -> APIRouter:  # fmt: skip
    from .. import web

    prefix = check_prefix(prefix)
    view_rule = as_rule(view, "view")
    actions_rule = as_rule(actions, "actions")
    if view_rule is None and not public:
        raise UsageError(
            "the dashboard would be open to anyone: pass view=Depends(...) with your app's "
            "login rule (actions=Depends(...) for who may act), or public=True to open it on "
            "purpose"
        )
    page_asks = asked(actions_rule) if actions_rule is not None else None
    dashboard = web.hosted_app(config)

    async def hand_over(request: Request, actions_on: bool, response: Response) -> Response:
        rest = str(request.path_params.get("rest", ""))
        return Handover(dashboard, rest, await request.body(), actions_on, response)

    # `response` is FastAPI's, the one the dependencies may have set headers on.
    if page_asks is None or actions_rule is None:

        async def read(request: Request, response: Response) -> Response:
            return await hand_over(request, False, response)

        write = read  # the dashboard refuses every action: they are off
    else:

        async def read(  # type: ignore[misc]
            request: Request, response: Response, may_act: Any = page_asks
        ) -> Response:
            return await hand_over(request, bool(may_act), response)

        async def write(request: Request, response: Response,
                        allowed: Any = actions_rule) -> Response:  # fmt: skip
            if allowed is False:
                raise HTTPException(status_code=403)
            return await hand_over(request, True, response)

    found = APIRouter(prefix=prefix, dependencies=[view_rule] if view_rule else [],
                      include_in_schema=False)  # fmt: skip
    found.add_api_route("/{rest:path}", read, methods=READS, include_in_schema=False)
    found.add_api_route("/{rest:path}", write, methods=WRITES, include_in_schema=False)
    return found
