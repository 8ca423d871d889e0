"""The dashboard served by Flask itself (init_app): the app's own login decides who sees it
(`authorize`, called with Flask's request), and the request is then handed to the dashboard's
WSGI app (pylitestream.web.hosted_wsgi_app) in this process, with the host's word in the
environ. Flask has no CSRF of its own, so the dashboard's double-submit token guards every
action (its `pylitestream_csrf` cookie is the one cookie passed on)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, request
from werkzeug.wrappers import Response

from ..errors import UsageError

Rule = Callable[[Any], Any]
NAME = "litestream"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # the dashboard's CSRF cookie (web.app.csrf_cookie)


class Dashboard:
    """One dashboard per app and process, built on first use (its refreshers and jobs live in
    it), so `flask litestream init` runs before any config exists."""

    def __init__(self, config: str | os.PathLike[str] | None) -> None:
        self.config = config
        self._app: Any = None
        self._lock = threading.Lock()

    def wsgi_app(self) -> Any:
        with self._lock:
            if self._app is None:
                from .. import web

                self._app = web.hosted_wsgi_app(self.config)
            return self._app


def _prefix(url_prefix: str) -> str:
    if not isinstance(url_prefix, str) or not url_prefix.strip("/"):
        raise UsageError(
            f"init_app(url_prefix={url_prefix!r}): give the dashboard a path of its own, such "
            "as '/litestream'"
        )
    return "/" + url_prefix.strip("/")


def _check_rules(authorize: Rule | None, actions: Rule | bool | None, public: bool) -> None:
    if authorize is None and not public:
        raise UsageError(
            "init_app: the dashboard would be open to anyone: pass authorize=<a callable taking "
            "Flask's request> (e.g. checking flask-login's current_user), or public=True to "
            "open it on purpose"
        )
    if authorize is not None and public:
        raise UsageError("init_app: pass authorize= or public=True, not both")
    if authorize is not None and not callable(authorize):
        raise UsageError(
            f"init_app(authorize=...) must be a callable taking Flask's request, not "
            f"{type(authorize).__name__}"
        )
    if actions is True and public:
        raise UsageError(
            "init_app: actions=True with public=True would let anyone run verify, sync and "
            "restore; pass actions=<a callable taking Flask's request>"
        )
    if actions is not None and not isinstance(actions, bool) and not callable(actions):
        raise UsageError(
            f"init_app(actions=...) must be a callable taking Flask's request, True or None, "
            f"not {type(actions).__name__}"
        )


def may_act(actions: Rule | bool | None) -> bool:
    if actions is None or isinstance(actions, bool):
        return bool(actions)
    granted = actions(request)
    return bool(granted) and not isinstance(granted, Response)  # a redirect is no yes


def _body() -> bytes:
    body = request.get_data(cache=True)
    if not body and request.form:  # something in the app parsed the form before this view
        body = urlencode(list(request.form.items(multi=True))).encode()
    return body


def environ_for(prefix: str, rest: str, actions: bool) -> dict[str, Any]:
    """The WSGI environ for the dashboard (web.hosting): the dashboard's CSRF cookie is the one
    cookie passed on, and the host's word has no CSRF keys, so the dashboard checks its token."""
    from ..web.app import CSRF_COOKIE
    from ..web.hosting import forwarded_environ

    token = request.cookies.get(CSRF_COOKIE, "")
    return forwarded_environ(
        request.environ, method=request.method, mount=request.script_root + prefix, rest=rest,
        body=_body(), scheme=request.scheme, host={"actions": actions},
        cookie=f"{CSRF_COOKIE}={token}" if TOKEN.fullmatch(token) else None,
    )  # fmt: skip


def mount(
    app: Flask,
    url_prefix: str,
    *,
    authorize: Rule | None,
    actions: Rule | bool | None,
    public: bool,
    config: str | os.PathLike[str] | None,
) -> None:
    """init_app's dashboard: a blueprint named "litestream" with one view for the mount point
    and every path below it, so a route the dashboard adds later goes through the same rules."""
    from .. import web

    prefix = _prefix(url_prefix)
    _check_rules(authorize, actions, public)
    web.require_extra()
    dashboard = Dashboard(config)

    def view(rest: str = "") -> Any:
        if authorize is not None:
            allowed = authorize(request)
            if isinstance(allowed, Response):
                return allowed  # the app's own answer: a redirect to its login page, a 401
            if not allowed:
                abort(403)
        acts = may_act(actions)
        if request.method not in ("GET", "HEAD") and not acts:
            abort(403)
        return Response.from_app(
            dashboard.wsgi_app(), environ_for(prefix, rest, acts), buffered=True
        )

    blueprint = Blueprint(NAME, __name__, url_prefix=prefix)
    methods = ["GET", "HEAD", "POST"]
    blueprint.add_url_rule("/", "dashboard", view, methods=methods)
    blueprint.add_url_rule("/<path:rest>", "dashboard_path", view, methods=methods)
    app.register_blueprint(blueprint)
    app.extensions["pylitestream"] = dashboard
